"""The outputs made from the one reader's row batches: records, RECORD lines, and what the tap writes.

Three levels: the reader's batches are the same rows whatever the chunk and batch sizes (errors after the same
rows); the RECORD lines and JSON rows of a batch are exactly ``json.dumps`` of its records; the whole tap writes
the same records through its RECORD lines and through the SDK's record path, and falls back to the SDK path,
logged, when stream maps or flattening are configured.
"""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import io
import json
import logging

import pytest
from tap_harness import catalog_selecting, run_tap, tap_config

from dockerdvp_simulator import SimConfig
from dockerdvp_simulator import data as simdata
from tap_dockerdvp.dvp.views import VIEWS
from tap_dockerdvp.files.encoders import JsonRows, RecordMessages, StdoutSink
from tap_dockerdvp.files.reader import BATCH_ROWS, CsvFormatError, TruncatedFileError, read_batches, records
from tap_dockerdvp.streams.period_files import PeriodFilesStream
from tap_dockerdvp.streams.schemas import export_schema

SPEC = VIEWS["raw"]
END = dt.date(2026, 11, 18)
SCHEMA = export_schema(SPEC)
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


ORDER = tuple(SCHEMA["properties"])


def rows_of(
    data: bytes, *, chunk: int = 1 << 20, batch_rows: int = BATCH_ROWS, skip: int = 0, keys=ORDER
) -> tuple[list[dict], list[str], str | None]:
    """The reader's rows as records and as RECORD lines (each checked against the other), and the error."""
    constants = {k: v for k, v in CONTEXT.items() if k in keys}
    messages = RecordMessages("pull_events", keys)
    out: list[dict] = []
    lines: list[str] = []
    try:
        for batch in read_batches(chunked(data, chunk), SPEC, label="f.csv", batch_rows=batch_rows, skip=skip):
            batch_records = records(batch, keys, constants)
            text = messages.encode(batch, constants).decode("ascii")  # ASCII only, as the SDK writes
            assert text.endswith("\n")
            batch_lines = text[:-1].split("\n")  # JSON strings escape newlines; U+2028 is escaped too
            assert len(batch_lines) == batch.count == len(batch_records)
            for line, record in zip(batch_lines, batch_records, strict=True):
                message = json.loads(line)
                assert list(message) == ["type", "stream", "record", "time_extracted"]
                assert message["type"] == "RECORD" and message["stream"] == "pull_events"
                dt.datetime.fromisoformat(message["time_extracted"])
                assert list(message["record"].items()) == list(record.items())  # values, types, key order
                assert line.startswith(
                    '{"type":"RECORD","stream":"pull_events","record":'
                    + json.dumps(record, separators=(",", ":"))
                    + ',"time_extracted":'
                )
            out += batch_records
            lines += batch_lines
    except (CsvFormatError, TruncatedFileError) as exc:
        return out, lines, f"{type(exc).__name__}: {exc}"
    return out, lines, None


LEAP_AND_ENDS = ("2024-02-29 23:59:59", "2000-02-29T00:00:00", "2026-04-30 12:00:00", "2026-12-31 00:00:59",
                 "0001-01-01 00:00:00")  # fmt: skip
CASES = {
    "awkward": csv_bytes(AWKWARD_ROWS),
    "awkward, CRLF and a BOM": csv_bytes(AWKWARD_ROWS, newline="\r\n", bom=True),
    "CR line ends": csv_bytes([PLAIN, PLAIN.replace("h1", "h2")], newline="\r"),
    "blank lines and ragged rows": csv_bytes(["", PLAIN, "a,b", "", PLAIN + ",surplus,more", "  ", PLAIN]),
    "unknown and duplicate headers": csv_bytes([PLAIN + ",z"], header=HEADER + ",Country"),
    "missing columns": csv_bytes(["pull_by_tag,x", '"q,r","s"'], header="Action,Other"),
    "control character": csv_bytes([PLAIN.replace("server", "ser\x01ver")]),
    "bad date-time after two rows": csv_bytes([PLAIN, PLAIN, PLAIN.replace("-09 00:00:00", "-45 00:00:00")]),
    # Docker's own form, checked a column at a time: month ends, leap days, with a T or without
    "month ends and leap days": csv_bytes([PLAIN.replace("2026-11-09 00:00:00", moment) for moment in LEAP_AND_ENDS]),
    "a 29th of February in 2026 after two rows": csv_bytes(
        [PLAIN, PLAIN, PLAIN.replace("2026-11-09 00:00:00", "2026-02-29 00:00:00"), PLAIN]
    ),
    "a 31st of April after a row": csv_bytes([PLAIN, PLAIN.replace("2026-11-09 00:00:00", "2026-04-31 00:00:00")]),
    "a year 0 after a row": csv_bytes([PLAIN, PLAIN.replace("2026-11-09 00:00:00", "0000-01-01 00:00:00")]),
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
def test_the_same_rows_and_lines_whatever_the_chunk_and_batch_sizes(name: str, compress: bool) -> None:
    data = gzip.compress(CASES[name]) if compress and CASES[name] else CASES[name]
    expected, _lines, error = rows_of(data)
    for chunk in (1 << 20, 7, 1):
        for batch_rows in (1, 2, 3, 256):
            got, _lines, got_error = rows_of(data, chunk=chunk, batch_rows=batch_rows)
            assert got_error == error
            assert got == expected


def test_the_awkward_values_are_typed_and_kept() -> None:
    recs, _lines, error = rows_of(CASES["awkward, CRLF and a BOM"])
    assert error is None and len(recs) == 5
    second, third, fourth = recs[1], recs[2], recs[3]
    assert second["country"] is None and second["digest"] is None and second["type"] is None
    assert second["reference"] == 'say "hi"' and second["repository"] == "Acme, Inc."
    assert second["timestamp"] == "2026-11-09T01:02:03Z"
    assert second["extra_columns"] == {"IP hash": "h2", "Mystery": None}
    assert third["digest"] == "multi\nline" and third["reference"] == "a\r\nb" and third["tag"] == "  "
    assert third["action_day"] == "2026-11-10" and third["timestamp"] == "2026-11-10T03:06:07.25Z"
    assert third["user_agent_tool"] is None and third["user_agent_version"] == "C:\\path\\x"
    assert fourth["timestamp"] == "2026-11-11T00:00:00Z" and fourth["domain"] == "tab\there"
    assert fourth["owner"] == "O\u2028wner" and fourth["extra_columns"]["Mystery"] == "\x0bvt"
    assert recs[0]["action"] == "pull_by_tag" and "Action" not in recs[0]  # the header's BOM is gone
    assert [r["row_number"] for r in recs] == [1, 2, 3, 4, 5]


def test_errors_come_after_the_same_rows() -> None:
    for name, good in (("a 29th of February in 2026 after two rows", 2), ("a 31st of April after a row", 1),
                       ("a year 0 after a row", 1)):  # fmt: skip
        recs, _lines, error = rows_of(CASES[name])
        assert len(recs) == good and error is not None and "column 'timestamp'" in error, (name, error)
    assert [r["timestamp"] for r in rows_of(CASES["month ends and leap days"])[0]] == [
        "2024-02-29T23:59:59Z", "2000-02-29T00:00:00Z", "2026-04-30T12:00:00Z", "2026-12-31T00:00:59Z",
        "0001-01-01T00:00:00Z",
    ]  # fmt: skip
    assert rows_of(CASES["bad date-time after two rows"])[2] == (
        "CsvFormatError: f.csv: data row 3, column 'timestamp': '2026-11-45 00:00:00' is not a valid date-time"
    )
    assert len(rows_of(CASES["bad date-time after two rows"], batch_rows=256)[0]) == 2
    assert rows_of(CASES["cut last line"])[2].startswith("UnendedLineError: f.csv: the last line does not end")
    assert len(rows_of(CASES["cut last line"])[0]) == 2  # the cut row is never emitted
    assert len(rows_of(CASES["ends inside a quoted field"])[0]) == 1
    assert rows_of(CASES["empty file"]) == ([], [], None) and rows_of(CASES["header only"]) == ([], [], None)


@pytest.mark.parametrize("skip", [0, 1, 2, 3, 5, 9])
def test_rows_emitted_by_an_earlier_attempt_are_left_out(skip: int) -> None:
    rows = [PLAIN.replace("h1", f"h{i}") for i in range(8)]
    for data in (csv_bytes(rows), csv_bytes(["", *rows[:3], "x,y", *rows[3:]]), csv_bytes([*rows[:4], "a"], end=False)):
        everything, _lines, error = rows_of(data)
        for batch_rows in (1, 3, 256):
            got, _lines, got_error = rows_of(data, skip=skip, batch_rows=batch_rows)
            assert got_error == error
            assert got == [r for r in everything if r["row_number"] > skip]


def test_generated_files_cross_batches_and_gzip_members(tmp_path) -> None:
    cfg = SimConfig(namespaces=("acme", "globex"), weeks=1, rows_per_week=3000, end_date=END, row_shape="wide")
    ((year, week, _s, _e),) = simdata.complete_timespans(cfg, "acme", "weeks")
    for namespace in cfg.namespaces:
        path = tmp_path / f"{namespace}.csv.gz"
        simdata.write_export_file(cfg, namespace, "raw", "weeks", year, week, 0, path)
        data = path.read_bytes()
        expected, _lines, error = rows_of(data)
        assert error is None and len(expected) == 3000
        assert [r["row_number"] for r in expected] == list(range(1, 3001))
        assert rows_of(data, chunk=1 << 16, batch_rows=64)[0] == expected
    text = gzip.decompress(data)
    half = text.index(b"\n", len(text) // 2) + 1
    members = gzip.compress(text[:half]) + b"\0\0" + gzip.compress(text[half:]) + b"\0"
    assert rows_of(members, chunk=4096)[0] == expected


def test_only_the_selected_keys_in_schema_order() -> None:
    keys = tuple(k for k in ORDER if k not in ("host", "timespan_start", "file_index"))
    recs, lines, error = rows_of(
        csv_bytes([*AWKWARD_ROWS, "", "pull_by_tag,2026-11-12"], newline="\r\n", bom=True), keys=keys
    )
    assert error is None and len(recs) == 6
    assert all(list(json.loads(line)["record"]) == list(keys) for line in lines)
    no_extras = tuple(k for k in ORDER if k != "extra_columns")
    assert all("extra_columns" not in r for r in rows_of(csv_bytes(AWKWARD_ROWS), keys=no_extras)[0])


def test_json_rows_are_plain_records_for_jsonl_batch_files() -> None:
    data = csv_bytes(AWKWARD_ROWS)
    for batch in read_batches([data], SPEC, label="f.csv", batch_rows=2):
        text = JsonRows(ORDER).encode(batch, CONTEXT)
        expected = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records(batch, ORDER, CONTEXT))
        assert text == expected


def test_a_broken_download_or_gzip_reaches_the_caller() -> None:
    data = gzip.compress(csv_bytes([PLAIN] * 5000))

    class Broken(Exception):
        pass

    def chunks():
        yield data[:1000]
        yield data[1000:2000]
        raise Broken("connection reset")

    with pytest.raises(Broken):
        for _ in read_batches(chunks(), SPEC, label="f.csv"):
            pass

    corrupt = bytearray(data)
    corrupt[len(corrupt) // 2] ^= 0xFF
    with pytest.raises((TruncatedFileError, CsvFormatError)):
        for _ in read_batches(chunked(bytes(corrupt), 4096), SPEC, label="f.csv"):
            pass
    with pytest.raises(TruncatedFileError, match=r"corrupt or truncated gzip data|ends before the end"):
        for _ in read_batches(chunked(data[: len(data) // 2], 4096), SPEC, label="f.csv"):
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
    sdk_path(monkeypatch, not fast_path_on)
    return run_tap(config, catalog=catalog)


def test_the_tap_writes_the_same_records_on_both_paths(simulator, monkeypatch) -> None:
    rows = [*AWKWARD_ROWS, "", *(PLAIN.replace("h1", f"r{i}") for i in range(600)), "pull_by_tag,2026-11-12,JP"]
    config, catalog = serve_file(simulator, csv_bytes(rows, newline="\r\n", bom=True))
    calls = record_lines_written(monkeypatch)

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
    for record in plain:  # the unknown columns stay, as JSON text (declared as a string in the SCHEMA)
        extras = record["extra_columns"]
        record["extra_columns"] = None if extras is None else json.dumps(extras)
        expected.append(record)
    assert [json.loads(r["extra_columns"]) for r in flat.records["pull_events"]] == [
        json.loads(r["extra_columns"]) for r in expected
    ]
    assert [{k: v for k, v in r.items() if k != "extra_columns"} for r in flat.records["pull_events"]] == [
        {k: v for k, v in r.items() if k != "extra_columns"} for r in expected
    ]
    schema = flat.schemas()["pull_events"]["schema"]["properties"]
    assert schema["extra_columns"]["type"] in (["string", "null"], "string")
    assert all(set(r) <= set(schema) for r in flat.records["pull_events"])


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
    calls = record_lines_written(monkeypatch)
    other = {**config, "stream_maps": {"repo_summary": {"x": "1"}}}  # a map of a selected stream (SDK rule)
    out = run(other, catalog_selecting(other, ["pull_events", "repo_summary"]), monkeypatch)
    assert len(out.records["pull_events"]) == 5 and all(r["x"] == 1 for r in out.records["repo_summary"])
    assert sum(calls) == 5
    assert not any("SDK's record path" in line for line in tap_log)


_REASON = PeriodFilesStream.sdk_path_reason


def sdk_path(monkeypatch, on: bool) -> None:
    """Send every file-backed row through the SDK's record path (as stream maps would), or not."""
    monkeypatch.setattr(PeriodFilesStream, "sdk_path_reason", (lambda self: "the test asks for it") if on else _REASON)


def record_lines_written(monkeypatch) -> list[int]:
    """The rows the tap writes as RECORD lines itself (not through the SDK), one count per piece, filled as it runs
    (whichever way the engine reads the file)."""
    from tap_dockerdvp.files import engine

    calls: list[int] = []
    original = engine.read

    def read(blocks, spec, output, **kwargs):
        for item in original(blocks, spec, output, **kwargs):
            if output.kind == "record":
                calls.append(item.count)
            yield item

    monkeypatch.setattr(engine, "read", read)
    return calls


def test_a_gzip_batch_file_holds_one_member_a_piece_in_order(tmp_path) -> None:
    """BATCH gzip JSONL: each piece the engine makes becomes one gzip member as it is added (in the reading thread,
    since a thread of its own bought no speed), in order, and the file is one gzip file of them; a piece a stream
    map emptied opens no file."""
    from pathlib import Path
    from types import SimpleNamespace
    from urllib.parse import urlsplit

    from tap_dockerdvp.files.batch_files import BatchFiles
    from tap_dockerdvp.files.encoders import Piece

    config = SimpleNamespace(
        encoding=SimpleNamespace(format="jsonl", compression="gzip"),
        storage=SimpleNamespace(root=tmp_path.as_uri(), prefix="", params=None),
        batch_size=1_000,
    )
    writer = BatchFiles(config, tap_name="tap-dockerdvp", stream_name="pull_events")
    assert writer.add(Piece(b"", 1, 3)) == [] and not list(tmp_path.iterdir())
    for index in range(7):
        assert writer.add(Piece(f'{{"row": {index}}}\n'.encode(), index + 4, 1)) == []
    (url,) = writer.close()
    data = Path(urlsplit(url).path).read_bytes()
    assert data.count(b"\x1f\x8b\x08") == 7  # a member a piece
    assert gzip.decompress(data) == b"".join(f'{{"row": {i}}}\n'.encode() for i in range(7))
