"""The fast record path of `pull_events` writes exactly what the SDK's record path writes.

Three levels: the fast parser + encoder against `iter_csv_records` + the SDK's pruning on awkward files (every
rule of the reader, errors included); the whole tap against the simulator serving a hand-made file, fast path
against SDK path; and the fall back to the SDK path, logged, when stream maps or flattening are configured.
"""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import io
import json
import logging
import re

import pytest
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.singerlib.catalog import SelectionMask
from tap_harness import catalog_selecting, run_tap, tap_config

from dockerdvp_simulator import SimConfig
from dockerdvp_simulator import data as simdata
from tap_dockerdvp import fast_path
from tap_dockerdvp.csv_reader import CsvFormatError, TruncatedFileError, iter_csv_records
from tap_dockerdvp.fast_path import RecordEncoder, StdoutSink, iter_row_batches
from tap_dockerdvp.streams.pull_events import FAST_PATH_ENV
from tap_dockerdvp.views import VIEWS

SPEC = VIEWS["raw"]
END = dt.date(2026, 11, 18)
SCHEMA = SPEC.json_schema()
CONTEXT = {
    "file_index": 0,
    "namespace": "acme",
    "timespan_type": "weeks",
    "year": 2026,
    "timespan": 46,
    "timespan_start": "2026-11-09T00:00:00Z",
    "timespan_end": "2026-11-15T00:00:00Z",
}
HEADER = (
    "Action,Action day,Country,Digest,HTTP method,Host,Namespace,Reference,Repository,Tag,Timestamp,Type,"
    "User agent tool,User agent version,Domain,Owner,IP hash,Mystery"
)
PLAIN = (
    "pull_by_tag,2026-11-09,US,sha256:ab,GET,aws,acme,latest,server,latest,2026-11-09 00:00:00,isp,docker,27.3.1,"
    "x.io,Acme,h1,m"
)

# Every awkward value: quotes, commas and newlines inside quotes, null spellings, empty and blank fields,
# backslashes, a tab, non-ASCII, U+2028 and a vertical tab (line breaks for str.splitlines, not for csv).
AWKWARD_ROWS = [
    PLAIN,
    'pull_by_digest,2026-11-09,\\N,,GET,\\N,acme,"say ""hi""","Acme, Inc.",\\N,2026-11-09T01:02:03,null,'
    'containerd,v1.7.22,,"Acme, Inc.",h2,',
    'version_check,2026-11-10 10:00:00,DE,"multi\nline",HEAD,NULL,acme,"a\r\nb",web,"  ",'
    '2026-11-10 05:06:07.25+02:00,Null,\\\\N,C:\\path\\x,dömäin,"Ünïcode, GmbH",h3,x',
    "pull_by_tag,2026-11-11,FR,sha256:cd,GET,gcp,acme,1.2,api,1.2,2026-11-11,business,podman,4.9.3,"
    "tab\there,O\u2028wner,h4,\x0bvt",
    PLAIN.replace("h1", "h5"),
]


def csv_bytes(
    rows: list[str], *, header: str = HEADER, newline: str = "\n", bom: bool = False, end: bool = True
) -> bytes:
    text = newline.join([header, *rows]) + (newline if end else "")
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def reference(data: bytes, *, chunk: int = 1 << 20, skip: int = 0) -> tuple[list[dict], str | None]:
    """Records as the SDK path builds them (reader, then `_read_file` and `get_records`), and the error."""
    out: list[dict] = []
    try:
        for record in iter_csv_records(chunked(data, chunk), SPEC, label="f.csv"):
            if record["row_number"] > skip:
                record.update(CONTEXT)
                out.append(record)
    except (CsvFormatError, TruncatedFileError) as exc:
        return out, f"{type(exc).__name__}: {exc}"
    return out, None


def fast(
    data: bytes,
    *,
    chunk: int = 1 << 20,
    batch_rows: int = fast_path.BATCH_ROWS,
    skip: int = 0,
    selected=lambda breadcrumb: True,
) -> tuple[list[dict], str | None]:
    """Records of the fast path's RECORD lines, and the error."""
    encoder = RecordEncoder("pull_events", selected=selected)
    out: list[dict] = []
    try:
        for batch in iter_row_batches(chunked(data, chunk), SPEC, label="f.csv", batch_rows=batch_rows, skip=skip):
            batch["file_index"] = CONTEXT["file_index"]  # as `_read_file` and `get_records` do
            batch.update({k: v for k, v in CONTEXT.items() if k != "file_index"})
            text = encoder.encode(batch).decode("ascii")  # ASCII only, as the SDK's simplejson writes
            assert text.endswith("\n")
            lines = text[:-1].split("\n")  # JSON strings escape newlines; U+2028 stays as it is
            assert len(lines) == batch.count
            for line in lines:
                message = json.loads(line)
                assert list(message) == ["type", "stream", "record", "time_extracted"]
                assert message["type"] == "RECORD" and message["stream"] == "pull_events"
                dt.datetime.fromisoformat(message["time_extracted"])
                out.append(message["record"])
    except (CsvFormatError, TruncatedFileError) as exc:
        return out, f"{type(exc).__name__}: {exc}"
    return out, None


def assert_same(expected: tuple[list[dict], str | None], got: tuple[list[dict], str | None]) -> None:
    if expected[1] and "not valid UTF-8" in expected[1]:
        # Where a decoding error is found depends on how the text is cut into pieces ("near data row N,
        # approximate"): the rows before it are the reference's, or a few more.
        approximate = re.compile(r"near data row \d+")
        assert got[1] is not None and approximate.sub("", got[1]) == approximate.sub("", expected[1])
        assert got[0][: len(expected[0])] == expected[0]
        return
    assert got[1] == expected[1]
    assert [list(r.items()) for r in got[0]] == [list(r.items()) for r in expected[0]]  # values, types, key order


CASES = {
    "awkward": csv_bytes(AWKWARD_ROWS),
    "awkward, CRLF and a BOM": csv_bytes(AWKWARD_ROWS, newline="\r\n", bom=True),
    "CR line ends": csv_bytes([PLAIN, PLAIN.replace("h1", "h2")], newline="\r"),
    "blank lines and ragged rows": csv_bytes(["", PLAIN, "a,b", "", PLAIN + ",surplus,more", "  ", PLAIN]),
    "unknown and duplicate headers": csv_bytes([PLAIN + ",z"], header=HEADER + ",Country"),
    "missing columns": csv_bytes(["pull_by_tag,x", '"q,r","s"'], header="Action,Other"),
    "control character": csv_bytes([PLAIN.replace("server", "ser\x01ver")]),
    "bad date-time after two rows": csv_bytes([PLAIN, PLAIN, PLAIN.replace("-09 00:00:00", "-45 00:00:00")]),
    "bad date in a ragged batch": csv_bytes(["", PLAIN, PLAIN.replace("2026-11-09,US", "9th Nov,US")]),
    "cut last line": csv_bytes([PLAIN, PLAIN, PLAIN[:40]], end=False),
    "ends without a newline": csv_bytes([PLAIN, PLAIN], end=False),
    "ends inside a quoted field": csv_bytes([PLAIN, PLAIN + ',"open\n']),
    "ends inside the quoted header": b'Action,"Tag\n',
    "empty file": b"",
    "only a BOM": b"\xef\xbb\xbf",
    "header only": csv_bytes([]),
    "header only, no newline": csv_bytes([], end=False),
    "no header": b"\n" + csv_bytes([PLAIN]),
    "an HTML error page": b"<html><body>Access Denied</body></html>\n",
    "not UTF-8": csv_bytes([PLAIN, PLAIN]) + b"\xff\xfe,\n",
    "no known column": b"foo,bar\n1,2\n",
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_parser_and_encoder_match_the_reader_and_the_sdk_path(name: str, compress: bool) -> None:
    data = gzip.compress(CASES[name]) if compress and CASES[name] else CASES[name]
    expected = reference(data)
    for chunk in (1 << 20, 7, 1):
        for batch_rows in (1, 2, 3, 256):
            assert_same(expected, fast(data, chunk=chunk, batch_rows=batch_rows))


def test_the_awkward_values_are_typed_and_kept() -> None:
    records, error = fast(CASES["awkward, CRLF and a BOM"])
    assert error is None and len(records) == 5
    second, third, fourth = records[1], records[2], records[3]
    assert second["country"] is None and second["digest"] is None and second["type"] is None
    assert second["reference"] == 'say "hi"' and second["repository"] == "Acme, Inc."
    assert second["timestamp"] == "2026-11-09T01:02:03Z"
    assert second["extra_columns"] == {"IP hash": "h2", "Mystery": None}
    assert third["digest"] == "multi\nline" and third["reference"] == "a\r\nb" and third["tag"] == "  "
    assert third["action_day"] == "2026-11-10" and third["timestamp"] == "2026-11-10T03:06:07.25Z"
    assert third["user_agent_tool"] is None and third["user_agent_version"] == "C:\\path\\x"
    assert fourth["timestamp"] == "2026-11-11T00:00:00Z" and fourth["domain"] == "tab\there"
    assert fourth["owner"] == "O\u2028wner" and fourth["extra_columns"]["Mystery"] == "\x0bvt"
    assert records[0]["action"] == "pull_by_tag" and "Action" not in records[0]  # the header's BOM is gone
    assert [r["row_number"] for r in records] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("skip", [0, 1, 2, 3, 5, 9])
def test_rows_emitted_by_an_earlier_attempt_are_left_out(skip: int) -> None:
    rows = [PLAIN.replace("h1", f"h{i}") for i in range(8)]
    for data in (csv_bytes(rows), csv_bytes(["", *rows[:3], "x,y", *rows[3:]]), csv_bytes([*rows[:4], "a"], end=False)):
        for batch_rows in (1, 3, 256):
            assert_same(reference(data, skip=skip), fast(data, skip=skip, batch_rows=batch_rows))


def test_generated_files_cross_batches_and_gzip_members(tmp_path) -> None:
    cfg = SimConfig(namespaces=("acme", "globex"), weeks=1, rows_per_week=3000, end_date=END)
    ((year, week, _s, _e),) = simdata.complete_timespans(cfg, "acme", "weeks")
    for namespace in cfg.namespaces:  # acme quotes every Owner ("Acme, Inc."), globex none
        path = tmp_path / f"{namespace}.csv.gz"
        simdata.write_export_file(cfg, namespace, "raw", "weeks", year, week, 0, path)
        data = path.read_bytes()
        expected = reference(data)
        assert expected[1] is None and len(expected[0]) == 3000
        assert_same(expected, fast(data, chunk=1 << 16, batch_rows=64))
        assert_same(expected, fast(data, chunk=1 << 16))
    text = gzip.decompress(data)
    half = text.index(b"\n", len(text) // 2) + 1
    members = gzip.compress(text[:half]) + b"\0\0" + gzip.compress(text[half:]) + b"\0"
    assert_same(reference(members), fast(members, chunk=4096))


def test_deselected_properties_are_absent_as_on_the_sdk_path() -> None:
    deselected = [
        ("properties", "host"),
        ("properties", "timespan_start"),
        ("properties", "file_index"),
        ("properties", "extra_columns", "properties", "Mystery"),
    ]
    mask = SelectionMask({(): True, **dict.fromkeys(deselected, False)})
    data = csv_bytes([*AWKWARD_ROWS, "", "a,b"], newline="\r\n", bom=True)
    expected_records, error = reference(data)
    for record in expected_records:
        pop_deselected_record_properties(record, SCHEMA, mask)
    got = fast(data, selected=mask.__getitem__, batch_rows=2)
    assert_same((expected_records, error), got)
    assert all("host" not in r and "timespan_start" not in r and "Mystery" not in r["extra_columns"] for r in got[0])

    no_extras = SelectionMask({(): True, ("properties", "extra_columns"): False})
    assert all("extra_columns" not in r for r in fast(data, selected=no_extras.__getitem__)[0])


def test_a_broken_download_or_gzip_reaches_the_caller() -> None:
    data = gzip.compress(csv_bytes([PLAIN] * 5000))

    class Broken(Exception):
        pass

    def chunks():
        yield data[:1000]
        yield data[1000:2000]
        raise Broken("connection reset")

    with pytest.raises(Broken):
        for _ in iter_row_batches(chunks(), SPEC, label="f.csv"):
            pass

    corrupt = bytearray(data)
    corrupt[len(corrupt) // 2] ^= 0xFF
    with pytest.raises((TruncatedFileError, CsvFormatError)):
        for _ in iter_row_batches(chunked(bytes(corrupt), 4096), SPEC, label="f.csv"):
            pass
    with pytest.raises(TruncatedFileError, match=r"corrupt or truncated gzip data|ends before the end"):
        for _ in iter_row_batches(chunked(data[: len(data) // 2], 4096), SPEC, label="f.csv"):
            pass


def test_the_sink_writes_everything_to_an_unbuffered_stdout() -> None:
    class Raw(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b) -> int:  # a pipe may take less than asked
            piece = bytes(b[:7])
            self.data += piece
            return len(piece)

    raw = Raw()
    text = io.TextIOWrapper(raw, write_through=True)  # what PYTHONUNBUFFERED=1 gives
    text.write("first\n")
    sink = StdoutSink(text)
    sink.write(b'{"a":1}\n' * 10)
    text.write("last\n")
    sink.flush()
    assert bytes(raw.data) == b"first\n" + b'{"a":1}\n' * 10 + b"last\n"

    plain = io.StringIO()
    StdoutSink(plain).write("ü\n".encode())
    assert plain.getvalue() == "ü\n"


# --------------------------------------------------------------------------------------------------
# the whole tap


def serve_file(simulator, data: bytes):
    """A simulator whose only raw export (acme, one week) is ``data``; its tap config and catalog."""
    cfg = SimConfig(namespaces=("acme",), weeks=1, rows_per_week=50, end_date=END, include_partial=False)
    sim = simulator(cfg)
    ((year, week, _s, _e),) = simdata.complete_timespans(cfg, "acme", "weeks")
    (export,) = sim.export_files("acme", "raw", "weeks", year, week)
    with open(export["path"], "wb") as out:
        out.write(gzip.compress(data))
    config = tap_config(sim, timespan_types=["weeks"])
    return config, catalog_selecting(config, ["pull_events"])


def run(config: dict, catalog: dict, monkeypatch, *, fast_path_on: bool = True):
    monkeypatch.setenv(FAST_PATH_ENV, "1" if fast_path_on else "0")
    return run_tap(config, catalog=catalog)


def test_the_tap_writes_the_same_records_on_both_paths(simulator, monkeypatch) -> None:
    rows = [*AWKWARD_ROWS, "", *(PLAIN.replace("h1", f"r{i}") for i in range(600)), "pull_by_tag,2026-11-12,JP"]
    config, catalog = serve_file(simulator, csv_bytes(rows, newline="\r\n", bom=True))
    calls = []
    original = RecordEncoder.encode
    monkeypatch.setattr(RecordEncoder, "encode", lambda self, batch: calls.append(batch.count) or original(self, batch))

    fast_out = run(config, catalog, monkeypatch)
    assert sum(calls) == 606  # the fast path wrote every record
    calls.clear()
    sdk_out = run(config, catalog, monkeypatch, fast_path_on=False)
    assert not calls

    fast_records, sdk_records = fast_out.records["pull_events"], sdk_out.records["pull_events"]
    assert len(fast_records) == 606
    assert [list(r.items()) for r in fast_records] == [list(r.items()) for r in sdk_records]
    for out in (fast_out, sdk_out):
        messages = [m for m in out.messages if m["type"] == "RECORD"]
        assert all(list(m) == ["type", "stream", "record", "time_extracted"] for m in messages)
    assert [m["type"] for m in fast_out.messages] == [m["type"] for m in sdk_out.messages]
    assert fast_out.final_state == sdk_out.final_state


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def tap_log():
    handler = _Lines()
    logger = logging.getLogger("tap-dockerdvp.pull_events")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def test_stream_maps_fall_back_to_the_sdk_path_with_the_same_records(simulator, monkeypatch, tap_log) -> None:
    config, catalog = serve_file(simulator, csv_bytes(AWKWARD_ROWS * 3))
    plain = run(config, catalog, monkeypatch).records["pull_events"]
    assert not any("SDK's record path" in line for line in tap_log)

    mapped_config = {**config, "stream_maps": {"pull_events": {"action_copy": "action", "host": "__NULL__"}}}
    mapped = run(mapped_config, catalog, monkeypatch).records["pull_events"]
    assert any("stream maps apply to it" in line and "SDK's record path" in line for line in tap_log)
    expected = []
    for record in copy.deepcopy(plain):
        record.pop("host")
        record["action_copy"] = record["action"]
        expected.append(record)
    assert mapped == expected


def test_flattening_falls_back_to_the_sdk_path_with_the_same_records(simulator, monkeypatch, tap_log) -> None:
    config, catalog = serve_file(simulator, csv_bytes(AWKWARD_ROWS))
    plain = run(config, catalog, monkeypatch).records["pull_events"]
    flat = run({**config, "flattening_enabled": True, "flattening_max_depth": 1}, catalog, monkeypatch)
    assert any("flattening is enabled" in line for line in tap_log)
    expected = []
    for record in plain:
        extras = record.pop("extra_columns")
        record.update({f"extra_columns__{key}": value for key, value in extras.items()})
        expected.append(record)
    assert flat.records["pull_events"] == expected


def test_deselected_properties_are_absent_from_the_tap_output_on_both_paths(simulator, monkeypatch) -> None:
    config, catalog = serve_file(simulator, csv_bytes([*AWKWARD_ROWS, "", "pull_by_tag,2026-11-12"]))
    (entry,) = [e for e in catalog["streams"] if e["tap_stream_id"] == "pull_events"]
    deselected = (["properties", "host"], ["properties", "extra_columns"], ["properties", "timespan_end"])
    for item in entry["metadata"]:
        if item["breadcrumb"] in deselected:
            item["metadata"]["selected"] = False
    fast_records = run(config, catalog, monkeypatch).records["pull_events"]
    sdk_records = run(config, catalog, monkeypatch, fast_path_on=False).records["pull_events"]
    assert [list(r.items()) for r in fast_records] == [list(r.items()) for r in sdk_records]
    assert len(fast_records) == 6
    assert not any({"host", "extra_columns", "timespan_end"} & r.keys() for r in fast_records)
    assert all({"namespace", "year", "row_number", "file_index"} <= r.keys() for r in fast_records)  # keys stay


def test_stream_maps_of_other_streams_keep_the_fast_path(simulator, monkeypatch, tap_log) -> None:
    config, _catalog = serve_file(simulator, csv_bytes(AWKWARD_ROWS))
    calls = []
    original = RecordEncoder.encode
    monkeypatch.setattr(RecordEncoder, "encode", lambda self, batch: calls.append(batch.count) or original(self, batch))
    other = {**config, "stream_maps": {"repo_summary": {"x": "1"}}}  # a map of a selected stream (SDK rule)
    out = run(other, catalog_selecting(other, ["pull_events", "repo_summary"]), monkeypatch)
    assert len(out.records["pull_events"]) == 5 and all(r["x"] == 1 for r in out.records["repo_summary"])
    assert sum(calls) == 5
    assert not any("SDK's record path" in line for line in tap_log)
