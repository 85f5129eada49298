"""Reading one file on every core gives exactly what reading it in the tap's process gives.

The chunks are made tiny here, so every file is cut into many: line breaks inside quoted values, blank lines,
quotes that open across a cut, bytes that are not UTF-8, a bad value and a cut last line all meet a chunk edge.
"""

from __future__ import annotations

import datetime as dt
import gzip
import logging

import pytest

from dockerdvp_simulator import SimConfig
from dockerdvp_simulator import data as simdata
from tap_dockerdvp.dvp.views import VIEWS
from tap_dockerdvp.files import chunks as parallel
from tap_dockerdvp.files.encoders import Encoding
from tap_dockerdvp.files.reader import CsvFormatError, ReadStats, TruncatedFileError, read_batches

SPEC = VIEWS["raw"]
KEYS = tuple(SPEC.json_schema()["properties"])
CONSTANTS = (("namespace", "acme"), ("timespan_type", "weeks"), ("year", 2026), ("timespan", 46),
             ("timespan_start", "2026-11-09T00:00:00Z"), ("timespan_end", "2026-11-15T00:00:00Z"),
             ("file_index", 0))  # fmt: skip
HEADER = "Action,Action day,Country,Digest,Owner,User agent tool,IP hash\n"
ROW = 'pull_by_tag,2026-11-09,US,sha256:ab,"Acme, Inc.",docker,h{}\n'
LOG = logging.getLogger("test-parallel")


@pytest.fixture(scope="module")
def pool():
    with parallel.start_pool(2) as executor:
        yield executor


@pytest.fixture
def spool(tmp_path):
    directory = tmp_path / "spool"
    directory.mkdir()
    yield str(directory)
    assert not list(directory.iterdir()), "chunk files left behind"


def serial(data: bytes, encoding: Encoding, *, skip: int = 0, gzip_pieces: bool = False):
    stats = ReadStats()
    out: list[bytes] = []
    error = None
    try:
        batches = read_batches([data], SPEC, label="f", skip=skip, stats=stats, logger=LOG)
        for piece in parallel.serial_pieces(batches, encoding, gzip=gzip_pieces):
            out.append(gzip.decompress(piece.data) if gzip_pieces else piece.data)
    except (CsvFormatError, TruncatedFileError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    return b"".join(out), error, stats


def in_parallel(pool, spool, data: bytes, encoding: Encoding, *, skip: int = 0, gzip_pieces: bool = False, step=7):
    read = parallel.ParallelRead(
        pool, 2, spool=spool, spec=SPEC, label="f", encoding=encoding, gzip=gzip_pieces, logger=LOG
    )
    out: list[bytes] = []
    error = None
    try:
        for piece in read.pieces([data[i : i + step] for i in range(0, len(data), step)], skip=skip):
            out.append(gzip.decompress(piece.data) if gzip_pieces else bytes(piece.data))
    except (CsvFormatError, TruncatedFileError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    return b"".join(out), error, read.stats, read


def jsonl(cut_every: int = 0) -> Encoding:
    return Encoding("jsonl", KEYS, CONSTANTS, cut_every=cut_every)


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
    "a cut last line": HEADER + "".join(ROW.format(i) for i in range(150)) + "pull_by_tag,2026-11",
    "ends inside quotes": HEADER + "".join(ROW.format(i) for i in range(150)) + 'pull_by_tag,2026-11-09,US,x,"Acme\n',
    "header only": HEADER,
    "a literal quote in a value": HEADER + "".join(ROW.format(i) for i in range(60))
    + 'pull_by_tag,2026-11-09,US,x,Acme "Big" Corp,docker,q\n' + "".join(ROW.format(i) for i in range(60)),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("chunk", [64, 700, 1 << 20])
def test_the_same_lines_as_the_serial_reader(pool, spool, monkeypatch, name: str, chunk: int) -> None:
    monkeypatch.setattr(parallel, "CHUNK_BYTES", chunk)
    data = CASES[name].encode()
    for encoding in (jsonl(), Encoding("record", KEYS, CONSTANTS, stream="pull_events"), jsonl(cut_every=37)):
        expected, error, stats = serial(data, encoding)
        got, got_error, got_stats, _read = in_parallel(pool, spool, data, encoding)
        if encoding.kind == "record":  # time_extracted differs between the two runs
            expected, got = _untimed(expected), _untimed(got)
        assert got_error == error
        assert got == expected
        assert (got_stats.rows, got_stats.short, got_stats.long, got_stats.blank) == (
            stats.rows, stats.short, stats.long, stats.blank,
        )  # fmt: skip


def _untimed(data: bytes) -> list[bytes]:
    return [line.rsplit(b',"time_extracted"', 1)[0] for line in data.splitlines()]


def test_plain_chunks_stay_in_the_workers(pool, spool, monkeypatch) -> None:
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 700)
    _got, error, _stats, read = in_parallel(pool, spool, CASES["plain rows"].encode(), jsonl())
    assert error is None and read.serial_from is None
    _got, error, _stats, read = in_parallel(pool, spool, CASES["a value with a line break"].encode(), jsonl())
    assert error is None and read.serial_from is not None  # the rest went serial: the same lines still


@pytest.mark.parametrize("skip", [0, 1, 99, 150, 299, 300])
def test_rows_written_by_an_earlier_attempt_are_left_out(pool, spool, monkeypatch, skip: int) -> None:
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 500)
    data = CASES["blank lines"].encode()
    assert in_parallel(pool, spool, data, jsonl(), skip=skip)[:2] == serial(data, jsonl(), skip=skip)[:2]


def test_gzip_members_per_batch_file_segment(pool, spool, monkeypatch) -> None:
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 900)
    data = CASES["plain rows"].encode()
    read = parallel.ParallelRead(
        pool, 2, spool=spool, spec=SPEC, label="f", encoding=jsonl(cut_every=50), gzip=True, logger=LOG
    )
    pieces = [(p.first_row, p.last_row, p.gzip, gzip.decompress(p.data)) for p in read.pieces([data])]
    assert all(g for _f, _l, g, _d in pieces)
    # no piece holds rows of two batch files (rows 1-50, 51-100, ...)
    assert all((first - 1) // 50 == (last - 1) // 50 for first, last, _g, _d in pieces)
    assert b"".join(d for _f, _l, _g, d in pieces) == serial(data, jsonl(cut_every=50))[0]


def test_a_generated_wide_file(pool, spool, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 1 << 16)
    cfg = SimConfig(namespaces=("acme",), weeks=1, rows_per_week=3000, end_date=dt.date(2026, 11, 18),
                    row_shape="wide", latin1_rows=2)  # fmt: skip
    ((year, week, _s, _e),) = simdata.complete_timespans(cfg, "acme", "weeks")
    path = tmp_path / "raw.csv.gz"
    simdata.write_export_file(cfg, "acme", "raw", "weeks", year, week, 0, path)
    data = path.read_bytes()
    expected, error, stats = serial(data, jsonl())
    got, got_error, got_stats, read = in_parallel(pool, spool, data, jsonl(), step=1 << 14)
    assert error is None is got_error and read.serial_from is None
    assert got == expected and got_stats.rows == 3000 and got_stats.recoded == stats.recoded == 2


@pytest.mark.parametrize("lane", ["workers", "arrow"])
def test_the_tap_writes_the_same_records_and_batch_files_on_every_core(simulator, monkeypatch, tmp_path, lane) -> None:
    """Large files through worker processes (no pyarrow) or the Arrow lane: the records and batch files of the
    reader in the tap's own process, with one worker or thread and with several."""
    import json

    from tap_harness import catalog_selecting, run_tap, tap_config

    from tap_dockerdvp.files.arrow import lane as arrow_lane
    from tap_dockerdvp.streams import period_files

    used = []
    if lane == "workers":
        monkeypatch.setenv(period_files.ARROW_LANE_ENV, "0")
        reader_class = parallel.ParallelRead
    else:
        monkeypatch.setattr(arrow_lane, "CHUNK_BYTES", 1 << 15)
        reader_class = arrow_lane.ArrowLane
    original = reader_class.pieces
    monkeypatch.setattr(reader_class, "pieces", lambda self, *a, **k: used.append(1) or original(self, *a, **k))
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 1 << 15)
    cfg = SimConfig(namespaces=("acme",), weeks=2, rows_per_week=4000, end_date=dt.date(2026, 11, 18),
                    include_partial=False, row_shape="wide", latin1_rows=2)  # fmt: skip
    sim = simulator(cfg)

    def run(workers: int, batch: str | None = None, *, large: bool = True) -> list[dict]:
        monkeypatch.setattr(parallel, "MIN_FILE_BYTES", 0 if large else 1 << 40)  # large: every file is
        used.clear()
        config = tap_config(sim, timespan_types=["weeks"], parallel_workers=workers)
        if batch:
            root = tmp_path / f"{batch}-{workers}-{large}"
            config["batch_config"] = {"encoding": {"format": "jsonl", "compression": batch},
                                      "storage": {"root": root.as_uri()}, "batch_size": 1000}  # fmt: skip
        out = run_tap(config, catalog=catalog_selecting(config, ["pull_events", "summary"]))
        assert bool(used) == (large and (lane == "arrow" or workers > 1))  # the lane under test read the files
        if not batch:
            return [{k: v for k, v in r.items()} for r in out.records["pull_events"]]
        rows = []
        files = sorted(root.glob("*pull_events*"))
        assert files and all(path.suffix == (".gz" if batch == "gzip" else ".jsonl") for path in files)
        for path in files:
            opener = gzip.open if batch == "gzip" else open
            with opener(path, "rt") as lines:
                in_file = [json.loads(line) for line in lines]
            assert len(in_file) == 1000  # batch_size, exactly: 4000 rows a week cut in four files
            rows += in_file
        return sorted(rows, key=lambda r: (r["year"], r["timespan"], r["file_index"], r["row_number"]))

    expected = run(1, large=False)  # the reader in the tap's process
    assert len(expected) == 8000
    assert run(2) == expected
    assert run(2, "gzip") == run(1, "gzip") == run(1, "gzip", large=False) == expected
    assert run(2, "none") == expected
    if lane == "arrow":
        assert run(1) == expected


@pytest.mark.parametrize("block", [1, 7, 64, 1000])
def test_line_chunks_are_whole_lines_cut_without_losing_a_byte(block: int) -> None:
    """However the blocks fall, the chunks are whole lines of about the chunk size in order (a line longer than
    that is a chunk of its own), and what is left is the last line without its line break."""
    lines = [b"a,b,c\n", b"x" * 150 + b"\n", b"\n", b"1,2,3\n" * 9, b'"q\nuoted",2,3\n', b"tail,no,break"]
    data = b"".join(lines)
    cutter = parallel.LineChunks(iter([data[i : i + block] for i in range(0, len(data), block)]), b"", 40)
    chunks = []
    while (pieces := cutter.next()) is not None:
        chunks.append(b"".join(pieces))
    assert cutter.exhausted and cutter.next() is None
    assert b"".join(chunks) + b"".join(cutter.rest()) == data
    assert b"".join(cutter.rest()) == b"tail,no,break"
    assert all(chunk.endswith(b"\n") for chunk in chunks)
    assert all(len(chunk) < 40 + block + 152 for chunk in chunks)  # about the size: no chunk grows unbounded
    assert b"x" * 150 + b"\n" in b"".join(chunks)
    assert len(chunks) > 1 or block > len(data)  # one block holding the whole file: one chunk


def test_quotes_closed_counts_the_quote_characters() -> None:
    assert parallel.quotes_closed(b'a,"b, c",d\n')
    assert not parallel.quotes_closed(b'a,"b\n')
    assert parallel.quotes_closed(b'a,"say ""hi""",d\n')
