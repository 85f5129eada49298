"""The file engine gives the same rows however a file is read: through the Arrow lane (pyarrow installed) or the
reader and its encoder (without pyarrow).

The chunks are made tiny here, so every file is cut into many: line breaks inside quoted values, blank lines,
quotes that open across a cut, bytes that are not UTF-8, a bad value (also one in a column typed after another's) and
a cut last line all meet a chunk edge.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import random

import pytest

from dockerdvp_simulator import SimConfig
from dockerdvp_simulator import data as simdata
from tap_dockerdvp.dvp.report_views import REPORT_SPECS
from tap_dockerdvp.dvp.views import VIEWS, Column, ViewSpec
from tap_dockerdvp.files import chunks, engine
from tap_dockerdvp.files.encoders import Output
from tap_dockerdvp.files.reader import NULL_TOKENS, CsvFormatError, Reading, TruncatedFileError
from tap_dockerdvp.streams.schemas import export_schema

SPEC = VIEWS["raw"]
KEYS = tuple(export_schema(SPEC)["properties"])
CONSTANTS = (("namespace", "acme"), ("timespan_type", "weeks"), ("year", 2026), ("timespan", 46),
             ("timespan_start", "2026-11-09T00:00:00Z"), ("timespan_end", "2026-11-15T00:00:00Z"),
             ("file_index", 0))  # fmt: skip
HEADER = "Action,Action day,Country,Digest,Owner,User agent tool,IP hash\n"
ROW = 'pull_by_tag,2026-11-09,US,sha256:ab,"Acme, Inc.",docker,h{}\n'
LOG = logging.getLogger("test-engine")


def read(monkeypatch, data: bytes, output: Output, *, arrow: bool, skip: int = 0, step: int = 7, spec: ViewSpec = SPEC):
    """(the lines, the error, the reader's counts, the pieces' (first, last) rows) of ``data`` read by the engine,
    with or without pyarrow."""
    monkeypatch.setattr(engine, "has_pyarrow", lambda: arrow)
    reading = Reading("f", LOG)
    out: list[bytes] = []
    rows: list[tuple[int, int]] = []
    error = None
    try:
        blocks = [data[i : i + step] for i in range(0, len(data), step)]
        for piece in engine.read(blocks, spec, output, skip=skip, reading=reading):
            out.append(bytes(piece.data))
            rows.append((piece.first_row, piece.last_row))
    except (CsvFormatError, TruncatedFileError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    return b"".join(out), error, reading.stats, rows


def jsonl(cut_every: int = 0) -> Output:
    return Output("jsonl", KEYS, CONSTANTS, cut_every=cut_every)


CASES = {
    "plain rows": HEADER + "".join(ROW.format(i) for i in range(300)),
    "a value with a line break": HEADER + "".join(ROW.format(i) for i in range(50))
    + 'version_check,2026-11-10,DE,sha256:cd,"Multi\nLine, GmbH",podman,x\n'
    + "".join(ROW.format(i) for i in range(50)),
    "blank lines": HEADER + "".join(ROW.format(i) + ("\n" if i % 40 == 0 else "") for i in range(200)),
    "CRLF": (HEADER + "".join(ROW.format(i) for i in range(120))).replace("\n", "\r\n"),
    "ragged rows": HEADER + "".join(ROW.format(i) if i % 30 else "a,2026-11-09\n" for i in range(150)),
    "a bad value": HEADER + "".join(ROW.format(i) for i in range(100)) + "pull_by_tag,9th Nov,US,x,y,z,w\n"
    + "".join(ROW.format(i) for i in range(100)),
    "bad values in two columns, the later column's first": "Action,Action day,Timestamp\n"
    + "".join(f"pull_by_tag,2026-11-09,2026-11-09 10:00:{i:02d}\n" for i in range(40)) + "pull_by_tag,2026-11-09,noon\n"
    + "".join(f"pull_by_tag,2026-11-10,2026-11-10 10:00:{i:02d}\n" for i in range(40))
    + "pull_by_tag,9th Nov,2026-11-10 11:00:00\n",
    "a cut last line": HEADER + "".join(ROW.format(i) for i in range(150)) + "pull_by_tag,2026-11",
    "ends inside quotes": HEADER + "".join(ROW.format(i) for i in range(150)) + 'pull_by_tag,2026-11-09,US,x,"Acme\n',
    "header only": HEADER,
    "a row of empty values": HEADER + "".join(ROW.format(i) for i in range(50)) + ",,,,,,\n"
    + "".join(ROW.format(i) for i in range(50)),
    "a literal quote in a value": HEADER + "".join(ROW.format(i) for i in range(60))
    + 'pull_by_tag,2026-11-09,US,x,Acme "Big" Corp,docker,q\n' + "".join(ROW.format(i) for i in range(60)),
    # a header ended by a lone CR: the lane took the rows before the first LF for part of the header, and lost them
    "a header ended by a CR": HEADER.replace("\n", "\r") + "".join(ROW.format(i) for i in range(80)),
    "CR line ends": (HEADER + "".join(ROW.format(i) for i in range(80))).replace("\n", "\r") + "\n",
    # the bounds of printable ASCII, which the lane checks as a column's least and greatest byte: a space and a
    # tilde are written as they are, a tab, a DEL and a unit separator escaped
    "printable ASCII's bounds": HEADER + "".join(ROW.format(i) for i in range(40))
    + "pull_by_tag,2026-11-09,US,x,Acme ~ Co,docker,~ \n" + "".join(ROW.format(i) for i in range(40))
    + "pull_by_tag,2026-11-09,US,x,Acme\tCo,dock\x7fer,\x1f\n" + "".join(ROW.format(i) for i in range(40)),
    # longer than Python's csv limit (131,072): the reader failed where the lane read it
    "a value of 140,000 characters": HEADER + "".join(ROW.format(i) for i in range(30))
    + "pull_by_tag,2026-11-09,US,x,Acme," + "Mozilla/5.0 " * 11_667 + ",z\n"
    + "".join(ROW.format(i) for i in range(30)),
}  # fmt: skip


OUTPUTS = {
    "jsonl": jsonl(),
    "record": Output("record", KEYS, CONSTANTS, stream="pull_events"),
    "jsonl cut every 37 rows": jsonl(cut_every=37),
    "jsonl cut every 50 rows": jsonl(cut_every=50),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("chunk", [64, 700, 1 << 20])
@pytest.mark.parametrize("output", list(OUTPUTS))
def test_the_same_lines_with_and_without_pyarrow(monkeypatch, name: str, chunk: int, output: str) -> None:
    monkeypatch.setattr(chunks, "CHUNK_BYTES", chunk)
    data = CASES[name].encode()
    expected, error, stats, rows = read(monkeypatch, data, OUTPUTS[output], arrow=False)
    got, got_error, got_stats, got_rows = read(monkeypatch, data, OUTPUTS[output], arrow=True)
    if output == "record":  # time_extracted differs between the two reads
        expected, got = _untimed(expected), _untimed(got)
    assert got_error == error
    assert got == expected
    assert (got_stats.rows, got_stats.short, got_stats.long, got_stats.blank) == (
        stats.rows, stats.short, stats.long, stats.blank,
    )  # fmt: skip
    every = OUTPUTS[output].cut_every
    for first, last in rows + got_rows:  # no piece holds rows of two batch files (rows 1-B, B+1-2B, ...)
        assert not every or (first - 1) // every == (last - 1) // every


@pytest.mark.parametrize("arrow", [False, True])
def test_a_value_longer_than_pythons_csv_limit_is_read(monkeypatch, arrow: bool) -> None:
    got, error, stats, _rows = read(monkeypatch, CASES["a value of 140,000 characters"].encode(), jsonl(), arrow=arrow)
    assert error is None and stats.rows == 61
    assert b"Mozilla/5.0 " * 11_667 in got


def _random_file(seed: int) -> tuple[ViewSpec, bytes]:
    """A file of a random view: its columns in a random order and spelling, maybe an unknown one; values quoted
    or not, null tokens, commas, quotes, line breaks, non-ASCII text, blank and ragged rows, CRLF, a bad value
    now and then, a byte that is not UTF-8, gzip in one or two members."""
    rng = random.Random(seed)
    spec = rng.choice(list(VIEWS.values()))
    columns: list[Column | None] = rng.sample(spec.columns, rng.randint(1, len(spec.columns)))
    names = [rng.choice(sorted(column.spellings)) for column in columns if column is not None]
    if rng.random() < 0.3:
        columns.append(None)
        names.append("Later column")
    good = {
        "integer": lambda: str(rng.randint(0, 10**9)),
        "date": lambda: f"2026-11-{rng.randint(1, 28):02d}",
        "date-time": lambda: f"2026-11-{rng.randint(1, 28):02d} 1{rng.randint(0, 9)}:0{rng.randint(0, 9)}:59",
    }
    bad = {"integer": ["12.5", "1e3", "x"], "date": ["2026-11-9", "9th Nov"], "date-time": ["noon", "2026-11-10 25:00"]}

    def value(column: Column | None) -> str:
        kind = column.kind if column is not None else "string"
        draw = rng.random()
        if draw < 0.08:
            return rng.choice(sorted(NULL_TOKENS))
        if kind in good:
            return good[kind]() if draw < 0.995 else rng.choice(bad[kind])
        return "".join(rng.choice('ab9 ,"\né€😀') for _ in range(rng.randint(0, 9)))

    def field(text: str) -> str:
        quoted = any(c in text for c in ',"\r\n') or rng.random() < 0.05
        return '"' + text.replace('"', '""') + '"' if quoted else text

    lines = [",".join(map(field, names))]
    for _ in range(rng.randint(0, 300)):
        draw = rng.random()
        row = [value(column) for column in columns]
        row = [] if draw < 0.01 else row[:-1] if draw < 0.02 else [*row, "surplus"] if draw < 0.03 else row
        lines.append(",".join(map(field, row)))
    end = rng.choice(["\n", "\n", "\r\n"])
    data = (end.join(lines) + end).encode()
    if rng.random() < 0.05:
        at = rng.randrange(len(data))
        data = data[:at] + b"\xff" + data[at:]
    if rng.random() < 0.3:
        half = len(data) // 2
        data = gzip.compress(data) if rng.random() < 0.7 else gzip.compress(data[:half]) + gzip.compress(data[half:])
    return spec, data


@pytest.mark.parametrize("seed", range(150))
def test_the_same_lines_with_and_without_pyarrow_for_random_files(monkeypatch, seed: int) -> None:
    """The case table above, widened: random files of every view, cut into random chunks and blocks. Left out, as
    different by design: a gzip file cut short (both raise the same error, after different numbers of whole rows,
    which the file's next read skips), and a bare CR outside quotes (a line break, as in Python's csv and Arrow)."""
    spec, data = _random_file(seed)
    rng = random.Random(-seed)
    monkeypatch.setattr(chunks, "CHUNK_BYTES", rng.choice([64, 700, 4096, 1 << 20]))
    keys = tuple(export_schema(spec)["properties"])
    output = Output("jsonl", keys, CONSTANTS, extra_key=spec.extra_key, cut_every=rng.choice([0, 7, 100]))
    step, skip = rng.choice([7, 100, 1000, 1 << 20]), rng.choice([0, 0, 3, 40])
    expected = read(monkeypatch, data, output, arrow=False, skip=skip, step=step, spec=spec)
    got = read(monkeypatch, data, output, arrow=True, skip=skip, step=step, spec=spec)
    assert got[1] == expected[1]
    assert got[0] == expected[0]
    assert vars(got[2]) == vars(expected[2])


EVERY_OUTPUT = [("jsonl", True), ("jsonl", False), ("parquet", True)]


def typed_rows(monkeypatch, spec: ViewSpec, data: bytes, kind: str, arrow: bool, columns: list[str]):
    """The values of ``columns`` in each row the engine makes of ``data`` as ``kind`` output, with or without
    pyarrow: Arrow's values for parquet, JSON's for JSONL."""
    monkeypatch.setattr(engine, "has_pyarrow", lambda: arrow)
    schema = export_schema(spec)
    output = Output(kind, tuple(schema["properties"]), (), schema=schema, extra_key=spec.extra_key)
    for part in engine.read([data], spec, output, skip=0, reading=Reading("f", LOG)):
        if kind == "parquet":
            yield from part.table.select(columns).to_pylist()
        else:
            for line in bytes(part.data).splitlines():
                record = json.loads(line)
                yield {column: record[column] for column in columns}


@pytest.mark.parametrize(("kind", "arrow"), EVERY_OUTPUT)
def test_a_count_beyond_64_bits_is_a_bad_value_in_every_output(monkeypatch, kind: str, arrow: bool) -> None:
    """Parquet and the warehouses hold 64 bits: a count beyond them ends the read in one line, after the rows
    before it, whatever the output (it used to pass in JSON and end a parquet batch file with a traceback)."""
    data = b"Repository,Pull by tag\nweb,9223372036854775807\napi,9223372036854775808\n"
    rows = []
    with pytest.raises(CsvFormatError, match=r"^f: data row 2, column 'pull_by_tag': '9223372036854775808' is not"):
        for row in typed_rows(monkeypatch, VIEWS["repo-summary"], data, kind, arrow, ["pull_by_tag"]):
            rows.append(row)
    assert len(rows) == 1


@pytest.mark.parametrize(("kind", "arrow"), EVERY_OUTPUT)
def test_a_number_beyond_64_bits_is_a_double_in_every_output(monkeypatch, kind: str, arrow: bool) -> None:
    """A whole number too large for 64 bits in a number column is the double parquet holds, in every output (it
    ended a parquet batch file with a traceback)."""
    data = b"Publisher name,Pct users,Pct domains\nacme,12,0.5\nacme,100000000000000000000000000000,7\n"
    columns = ["pct_users", "pct_domains"]
    rows = list(typed_rows(monkeypatch, REPORT_SPECS["technographic"], data, kind, arrow, columns))
    assert rows == [{"pct_users": 12, "pct_domains": 0.5}, {"pct_users": 1e29, "pct_domains": 7}]


@pytest.mark.parametrize(("kind", "arrow"), EVERY_OUTPUT)
def test_a_time_to_the_100_nanoseconds_is_kept_to_the_microsecond_in_every_output(monkeypatch, kind, arrow) -> None:
    """.NET writes seven digits of a second: JSON kept them, and the parquet batch file ended with a traceback."""
    data = b"Action,Timestamp\npull_by_tag,2026-11-10 00:00:01\npull_by_tag,2026-11-10T10:11:12.1234567Z\n"
    times = [row["timestamp"] for row in typed_rows(monkeypatch, SPEC, data, kind, arrow, ["timestamp"])]
    if kind == "parquet":
        times = [f"{moment:%Y-%m-%dT%H:%M:%S.%fZ}" for moment in times]
    second = "2026-11-10T10:11:12.123456Z"
    assert times == (["2026-11-10T00:00:01.000000Z", second] if kind == "parquet" else ["2026-11-10T00:00:01Z", second])


def _untimed(data: bytes) -> list[bytes]:
    return [line.rsplit(b',"time_extracted"', 1)[0] for line in data.splitlines()]


@pytest.mark.parametrize("skip", [0, 1, 99, 150, 299, 300])
@pytest.mark.parametrize("arrow", [True, False], ids=["arrow", "reader"])
def test_rows_written_by_an_earlier_attempt_are_left_out(monkeypatch, skip: int, arrow: bool) -> None:
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 500)
    data = CASES["blank lines"].encode()
    lines, error, _stats, rows = read(monkeypatch, data, jsonl(), arrow=arrow, skip=skip)
    everything = read(monkeypatch, data, jsonl(), arrow=False)[0].splitlines(keepends=True)
    assert error is None
    assert lines == b"".join(everything[skip:])
    assert not rows or rows[0][0] == skip + 1


def test_a_generated_wide_file(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 1 << 16)
    cfg = SimConfig(namespaces=("acme",), weeks=1, rows_per_week=3000, end_date=dt.date(2026, 11, 18),
                    row_shape="wide", latin1_rows=2)  # fmt: skip
    ((year, week, _s, _e),) = simdata.complete_timespans(cfg, "acme", "weeks")
    path = tmp_path / "raw.csv.gz"
    simdata.write_export_file(cfg, "acme", "raw", "weeks", year, week, 0, path)
    data = path.read_bytes()
    expected, error, stats, _rows = read(monkeypatch, data, jsonl(), arrow=False, step=1 << 14)
    got, got_error, got_stats, _rows = read(monkeypatch, data, jsonl(), arrow=True, step=1 << 14)
    assert error is None is got_error
    assert got == expected and got_stats.rows == 3000 and got_stats.recoded == stats.recoded == 2


@pytest.mark.parametrize("chunk", [1 << 15, chunks.CHUNK_BYTES], ids=["many chunks a file", "one chunk a file"])
def test_the_tap_writes_the_same_records_and_batch_files_with_and_without_pyarrow(
    simulator, monkeypatch, tmp_path, chunk
) -> None:
    """Every file through the Arrow lane (pyarrow installed) or the reader in the tap's process (without): the same
    records and batch files, a file cut in one chunk or in many."""
    import json

    from tap_harness import catalog_selecting, run_tap, tap_config

    from tap_dockerdvp.files.arrow.lane import ArrowLane

    used = []
    original = ArrowLane._parts
    monkeypatch.setattr(ArrowLane, "_parts", lambda self, *a, **k: used.append(1) or original(self, *a, **k))
    monkeypatch.setattr(chunks, "CHUNK_BYTES", chunk)
    cfg = SimConfig(namespaces=("acme",), weeks=2, rows_per_week=4000, end_date=dt.date(2026, 11, 18),
                    include_partial=False, row_shape="wide", latin1_rows=2, files_per_timespan=3)  # fmt: skip
    sim = simulator(cfg)

    def run(arrow: bool, batch: str | None = None) -> list[dict]:
        monkeypatch.setattr(engine, "has_pyarrow", lambda: arrow)
        used.clear()
        config = tap_config(sim, timespan_types=["weeks"])
        if batch:
            root = tmp_path / f"{batch}-{arrow}-{chunk}"
            config["batch_config"] = {"encoding": {"format": "jsonl", "compression": batch},
                                      "storage": {"root": root.as_uri()}, "batch_size": 1000}  # fmt: skip
        out = run_tap(config, catalog=catalog_selecting(config, ["pull_events", "summary"]))
        assert bool(used) == arrow  # the Arrow lane read the files exactly when pyarrow is there
        if not batch:
            return [dict(r) for r in out.records["pull_events"]]
        rows = []
        files = sorted(root.glob("*pull_events*"))
        assert files and all(path.suffix == (".gz" if batch == "gzip" else ".jsonl") for path in files)
        for path in files:
            opener = gzip.open if batch == "gzip" else open
            with opener(path, "rt") as lines:
                in_file = [json.loads(line) for line in lines]
            assert len(in_file) <= 1000  # batch_size; a batch file never spans two source files
            rows += in_file
        return sorted(rows, key=lambda r: (r["year"], r["timespan"], r["file_index"], r["row_number"]))

    expected = run(False)  # the reader in the tap's process
    assert len(expected) == 8000
    assert run(True) == expected
    assert run(True, "gzip") == run(False, "gzip") == expected
    assert run(True, "none") == expected


@pytest.mark.parametrize("block", [1, 7, 64, 1000])
def test_line_chunks_are_whole_lines_cut_without_losing_a_byte(block: int) -> None:
    """However the blocks fall, the chunks are whole lines of about the chunk size in order (a line longer than
    that is a chunk of its own), and what is left is the last line without its line break."""
    lines = [b"a,b,c\n", b"x" * 150 + b"\n", b"\n", b"1,2,3\n" * 9, b'"q\nuoted",2,3\n', b"tail,no,break"]
    data = b"".join(lines)
    cutter = chunks.LineChunks(iter([data[i : i + block] for i in range(0, len(data), block)]), b"", 40)
    out = []
    while (pieces := cutter.next()) is not None:
        out.append(b"".join(pieces))
    assert cutter.exhausted and cutter.next() is None
    assert b"".join(out) + b"".join(cutter.rest()) == data
    assert b"".join(cutter.rest()) == b"tail,no,break"
    assert all(chunk.endswith(b"\n") for chunk in out)
    assert all(len(chunk) < 40 + block + 152 for chunk in out)  # about the size: no chunk grows unbounded
    assert b"x" * 150 + b"\n" in b"".join(out)
    assert len(out) > 1 or block > len(data)  # one block holding the whole file: one chunk


def test_quotes_closed_counts_the_quote_characters() -> None:
    assert chunks.quotes_closed(b'a,"b, c",d\n')
    assert not chunks.quotes_closed(b'a,"b\n')
    assert chunks.quotes_closed(b'a,"say ""hi""",d\n')
