"""The Arrow lane gives exactly the reader's rows: the same values, the same errors after the same rows.

Every awkward case of the reader's tests goes through both, with chunks small enough that every case meets a chunk
edge: as tables (parquet), against the reader's records typed into Arrow (`ArrowRows.from_batch`); as RECORD
messages and JSONL lines, against the reader's encoder, byte for byte.
"""

from __future__ import annotations

import gzip
import json
import logging
import re

import pytest
from test_record_outputs import CASES, CONTEXT, SCHEMA, SPEC

from tap_dockerdvp.files import chunks
from tap_dockerdvp.files.arrow.lane import ArrowLane
from tap_dockerdvp.files.arrow.tables import ArrowRows
from tap_dockerdvp.files.encoders import Encoder, Output
from tap_dockerdvp.files.reader import CsvFormatError, Reading, TruncatedFileError, read_batches

KEYS = tuple(SCHEMA["properties"])
LOG = logging.getLogger("test-arrow-lane")


def reference(data: bytes):
    rows = ArrowRows(KEYS, SCHEMA)
    out, error = [], None
    try:
        for batch in read_batches([data], SPEC, label="f.csv", logger=LOG):
            out += rows.from_batch(batch, CONTEXT).to_pylist()
    except (CsvFormatError, TruncatedFileError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    return out, error


def lane(data: bytes, *, skip: int = 0, step: int = 5):
    reading = Reading("f.csv", LOG, "action_day")
    stats, edges = reading.stats, reading.edges
    reader = ArrowLane(SPEC, Output("parquet", KEYS, tuple(CONTEXT.items()), schema=SCHEMA), reading)
    out, error = [], None
    try:
        for part in reader.tables([data[i : i + step] for i in range(0, len(data), step)], skip=skip):
            assert part.table.num_rows == part.count
            out += part.table.to_pylist()
    except (CsvFormatError, TruncatedFileError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    return out, error, stats, edges


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("chunk", [80, 1 << 20])
def test_the_arrow_lane_gives_the_readers_rows(monkeypatch, name: str, compress: bool, chunk: int) -> None:
    monkeypatch.setattr(chunks, "CHUNK_BYTES", chunk)
    data = gzip.compress(CASES[name]) if compress and CASES[name] else CASES[name]
    expected, error = reference(data)
    got, got_error, _stats, _edges = lane(data)
    assert got_error == error
    assert got == expected


def test_plain_rows_stay_in_the_arrow_lane(monkeypatch) -> None:
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 200)
    calls = []
    original = ArrowLane._reader
    monkeypatch.setattr(ArrowLane, "_reader", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    plain = (
        CASES["awkward"].split(b"\n")[0]
        + b"\n"
        + b"".join(
            b"pull_by_tag,2026-11-09,US,sha256:ab,GET,aws,acme,latest,server,latest,2026-11-09 00:00:00,isp,docker,"
            b'27.3.1,x.io,"Acme, Inc.",h%d,m\n' % i
            for i in range(40)
        )
    )
    got, error, stats, edges = lane(plain)
    assert error is None and len(got) == 40 and not calls and stats.rows == 40
    assert got[0]["timestamp"].isoformat() == "2026-11-09T00:00:00+00:00" and got[0]["extra_columns"] == {
        "IP hash": "h0",
        "Mystery": "m",
    }
    assert edges.values == ["2026-11-09", "2026-11-09"]
    assert [r["row_number"] for r in lane(plain, skip=25)[0]] == list(range(26, 41))


def _plain_rows(count: int, *, odd: dict[int, bytes] | None = None) -> bytes:
    odd = odd or {}
    return CASES["awkward"].split(b"\n")[0] + b"\n" + b"".join(
        odd.get(i, b"pull_by_tag,2026-11-09,US,sha256:ab,GET,aws,acme,latest,server,latest,2026-11-09 00:00:00,isp,"
                b'docker,27.3.1,x.io,"Acme, Inc.",h%d,m' % i) + b"\n"
        for i in range(count)
    )  # fmt: skip


@pytest.mark.parametrize("where", [0, 30, 80, 119])
def test_a_chunk_the_lane_cannot_read_goes_to_the_reader_with_every_chunk_cut_after_it(monkeypatch, where) -> None:
    """The parser works ahead of the caller: from a chunk the lane cannot read (a ragged row here, then a bad date)
    the reader reads on, with every chunk cut after it, and gives the same rows and error."""
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 200)  # about one row a chunk: a dozen chunks cut after the odd one
    calls = []
    original = ArrowLane._reader
    monkeypatch.setattr(ArrowLane, "_reader", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    data = _plain_rows(120, odd={where: b"pull_by_tag,2026-11-09,US", min(where + 12, 119): b"x,9th Nov,US"})
    expected, error = reference(data)
    got, got_error, _stats, _edges = lane(data)
    assert got_error == error and error is not None and "9th Nov" in error
    assert got == expected and len(got) == min(where + 12, 119) and len(calls) == 1


# printable ASCII that JSON escapes (quotes, backslashes, null tokens with a backslash) stays in the Arrow lane
PRINTABLE = (
    CASES["awkward"].split(b"\n")[0]
    + b"\n"
    + b"".join(
        b'pull_by_tag,2026-11-09,%s,sha256:ab,GET,aws,acme,"say ""hi"" %d",server,%s,2026-11-09 13:%02d:59,isp,'
        b'docker/28.0.1 UpstreamClient(Docker-Client/28.0.1 \\(linux\\)),27.3.1,%s,"Acme, Inc.",h%d,%s\n'
        % (
            b"\\N" if i % 3 else b"US",
            i,
            b"" if i % 2 else b"latest",
            i,
            b"NULL" if i == 7 else b"x.io",
            i,
            b'q\\"' if i % 5 else b"null",
        )
        for i in range(30)
    )
)
IMPOSSIBLE_DAY = PRINTABLE.replace(b"2026-11-09 13:17:59", b"2026-02-30 13:17:59")  # Arrow would make it March 2
# ASCII only, so nothing but the quoted line break sends a chunk to the reader (Arrow's parser would take a chunk
# cut inside the quotes as a whole row)
QUOTED_LINE_BREAK = (
    PRINTABLE.replace(b'"say ""hi"" 5"', b'"say\nhi 5"')
    .replace(b'"say ""hi"" 20"', b'"say\r\nhi"')
    .replace(b',h12,q\\"\n', b',h12,"last\ncolumn"\n')  # a cut here leaves a row of full width
)
LINE_CASES = {
    **CASES,
    "printable escapes": PRINTABLE,
    "an impossible day in a plain date-time": IMPOSSIBLE_DAY,
    "ASCII line breaks in quoted values": QUOTED_LINE_BREAK,
}
TIME = re.compile(rb',"time_extracted":"[^"]+"')


def encoded(data: bytes, kind: str, *, arrow: bool, skip: int = 0, every: int = 0):
    output = Output(kind, KEYS, tuple(CONTEXT.items()), stream="pull_events", cut_every=every)
    out, error = [], None
    try:
        if arrow:
            reader = ArrowLane(SPEC, output, Reading("f.csv", LOG))
            pieces = reader.pieces([data[i : i + 7] for i in range(0, len(data), 7)], skip=skip)
        else:
            pieces = Encoder(output).pieces(read_batches([data], SPEC, label="f.csv", logger=LOG, skip=skip))
        for piece in pieces:
            text = TIME.sub(b"", bytes(piece.data))
            assert text.count(b"\n") == piece.count
            assert not every or (piece.first_row - 1) // every == (piece.last_row - 1) // every
            out.append((piece.first_row, text))
    except (CsvFormatError, TruncatedFileError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    lines = b"".join(text for _first, text in out)
    return lines, out[0][0] if out else None, error


@pytest.mark.parametrize("name", list(LINE_CASES))
@pytest.mark.parametrize("kind", ["record", "jsonl"])
@pytest.mark.parametrize("chunk", [80, 200, 1 << 20])
def test_the_arrow_lanes_lines_are_the_readers_byte_for_byte(monkeypatch, name: str, kind: str, chunk: int) -> None:
    monkeypatch.setattr(chunks, "CHUNK_BYTES", chunk)
    data = LINE_CASES[name]
    for skip, every in ((0, 0), (4, 0), (0, 3)):
        assert encoded(data, kind, arrow=True, skip=skip, every=every) == encoded(
            data, kind, arrow=False, skip=skip, every=every
        )


def test_escapes_stay_in_the_arrow_lane(monkeypatch) -> None:
    calls = []
    original = ArrowLane._reader
    monkeypatch.setattr(ArrowLane, "_reader", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    lines, first, error = encoded(PRINTABLE, "jsonl", arrow=True)
    assert error is None and first == 1 and not calls
    rows = [json.loads(line) for line in lines.splitlines()]
    assert len(rows) == 30
    assert rows[1]["reference"] == 'say "hi" 1' and rows[1]["country"] is None and rows[1]["tag"] is None
    assert rows[0]["country"] == "US" and rows[0]["tag"] == "latest" and rows[7]["domain"] is None
    assert rows[0]["user_agent_tool"].endswith("(Docker-Client/28.0.1 \\(linux\\))")
    assert rows[13]["timestamp"] == "2026-11-09T13:13:59Z"  # Docker's plain date-times, typed by Arrow
    assert rows[1]["extra_columns"] == {"IP hash": "h1", "Mystery": 'q\\"'}
    assert rows[0]["extra_columns"]["Mystery"] is None


def test_plain_date_times_are_typed_by_arrow_and_checked(monkeypatch) -> None:
    """Docker's `YYYY-MM-DD HH:MM:SS` timestamps (one per pull, mostly distinct) never go through Python one by one;
    one that is not a real moment sends the chunk to the reader, which names it."""
    from tap_dockerdvp.files import reader as csv_reader

    parsed = []
    original = csv_reader.PARSERS["date-time"]
    monkeypatch.setitem(csv_reader.PARSERS, "date-time", lambda v: parsed.append(v) or original(v))
    got_plain, error, _stats, _edges = lane(PRINTABLE, step=1 << 20)
    got = got_plain
    assert error is None and len(got) == 30 and not parsed
    assert got[13]["timestamp"].isoformat() == "2026-11-09T13:13:59+00:00"
    assert (got, error) == reference(PRINTABLE)
    for bad in ("2026-02-30 13:17:59", "0000-01-01 13:17:59", "2026-11-09 24:17:59", "2026-11-09 13:17:60"):
        data = PRINTABLE.replace(b"2026-11-09 13:17:59", bad.encode())
        got, error, _stats, _edges = lane(data, step=1 << 20)
        assert error == f"CsvFormatError: f.csv: data row 18, column 'timestamp': {bad!r} is not a valid date-time"
        assert (got, error) == reference(data) and len(got) == 17
    with_t = PRINTABLE.replace(b"2026-11-09 13:", b"2026-11-09T13:")  # ISO's T: the same moments
    parsed.clear()
    assert lane(with_t, step=1 << 20)[0] == got_plain and not parsed


#: What `plain_form` checks, as a pattern (ASCII digits, as the lane's regular expression had them): the oracle
#: its byte-position checks must agree with
PLAIN_TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d", re.ASCII)


def _near_misses(value: str) -> list[str]:
    """``value`` with one byte changed, added or dropped, at every position, by each byte that could confuse a
    position check: digits, the marks, a letter, a line break, a non-ASCII letter."""
    out = []
    for at in range(len(value) + 1):
        for byte in "0 9-: Tx\né\u0663":  # the last an Arabic-Indic digit: a digit to Unicode, not to ASCII
            out += [value[:at] + byte + value[at + 1 :], value[:at] + byte + value[at:]]
        out.append(value[:at] + value[at + 1 :])
    return out


def test_the_plain_form_check_agrees_with_the_pattern_value_by_value() -> None:
    """`plain_form` checks Docker's `YYYY-MM-DD HH:MM:SS` a byte position at a time over a column's values end to
    end; one odd value anywhere in the column (first, middle, last, in a slice) must fail the column exactly when
    the pattern fails it."""
    import pyarrow as pa

    from tap_dockerdvp.files.arrow.json_lines import plain_form

    good = ["2026-11-09 13:17:59", "2026-11-09T00:00:00", "1999-12-31 23:59:59"]
    assert plain_form(pa.array(good)) and plain_form(pa.array(["x", *good]).slice(1))
    checked = failed = 0
    for odd in _near_misses("2026-11-09 13:17:59"):
        expected = PLAIN_TIME.fullmatch(odd) is not None
        for values in ([odd], [odd, *good], [*good, odd], [good[0], odd, good[1]]):
            assert plain_form(pa.array(values)) is expected, values
            assert plain_form(pa.array(["2026-11-09 13:17:59", *values]).slice(1)) is expected, values
            checked += 1
        failed += not expected
    assert failed > 300 and checked - failed * 4 > 100  # both answers were asked for, many times


PROCESS_SETTINGS = ("ARROW_DEFAULT_MEMORY_POOL", "JE_ARROW_MALLOC_CONF", "OPENBLAS_NUM_THREADS")


@pytest.mark.parametrize("set_by_user", [None, "system"])
def test_arrow_buffers_go_to_jemalloc_unless_the_user_chose(set_by_user) -> None:
    """pyarrow reads ARROW_DEFAULT_MEMORY_POOL and jemalloc JE_ARROW_MALLOC_CONF when they load: the command line
    sets both as it starts (Linux x86_64), never over the user's own values."""
    import os
    import platform
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in PROCESS_SETTINGS}
    if set_by_user:
        env["ARROW_DEFAULT_MEMORY_POOL"] = set_by_user
        env["JE_ARROW_MALLOC_CONF"] = "narenas:2"
    code = (
        "import os, tap_dockerdvp.__main__ as m; m.prepare_process(); import pyarrow; "
        "pyarrow.allocate_buffer(1 << 20); "
        "print(pyarrow.default_memory_pool().backend_name); "
        "print(os.environ.get('JE_ARROW_MALLOC_CONF'))"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    ours = sys.platform.startswith("linux") and platform.machine() == "x86_64"
    expected = set_by_user or ("jemalloc" if ours else None)
    assert done.stderr == ""  # jemalloc names a setting it does not know on stderr
    pool, conf = done.stdout.split()
    if expected:
        assert pool == expected
    if set_by_user:
        assert conf == "narenas:2"
    elif ours:
        assert conf == "narenas:1,muzzy_decay_ms:0,tcache:false"


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="threads counted in /proc")
@pytest.mark.parametrize("set_by_user", [None, "2"])
def test_the_command_starts_no_blas_threads_unless_the_user_asked(set_by_user) -> None:
    """numpy loads with the SDK, and its OpenBLAS starts threads that spin: the command sets one BLAS thread
    before the tap (and so numpy) loads, never over the user's own value. A process without the set-up has more
    threads on a machine of several cores (the check can fail)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in PROCESS_SETTINGS}
    if set_by_user:
        env["OPENBLAS_NUM_THREADS"] = set_by_user

    def threads(set_up: bool) -> tuple[int, str]:
        code = (
            "import os, sys\n"
            "if sys.argv[1] == 'yes':\n"
            "    import tap_dockerdvp.__main__ as m; m.prepare_process()\n"
            "import tap_dockerdvp.tap\n"
            "print(len(os.listdir('/proc/self/task')), os.environ.get('OPENBLAS_NUM_THREADS'))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, "yes" if set_up else "no"], env=env, capture_output=True, text=True, check=True
        )
        count, value = done.stdout.split()
        return int(count), value

    count, value = threads(set_up=True)
    assert value == (set_by_user or "1")
    if set_by_user is None:
        assert count == 1
        if len(os.sched_getaffinity(0)) > 1:
            assert threads(set_up=False)[0] > 1  # the control: numpy's threads are there without the set-up


def test_the_lanes_kernels_are_given_arrow_scalars_so_no_import_is_tried_per_chunk(monkeypatch) -> None:
    """A kernel given a Python ``str`` has pyarrow infer its type, which imports ``dateutil``; where that is not
    installed (a user's venv) the failed import was tried again at every chunk, stat calls along ``sys.path`` on
    the thread that writes the lines. The lane's lines (nulls too, which take the quoting kernel) try none."""
    import sys

    tried: list[str] = []

    class Absent:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "dateutil":
                tried.append(name)
                raise ModuleNotFoundError(name)
            return None

    for name in [m for m in sys.modules if m.split(".")[0] == "dateutil"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [Absent(), *sys.meta_path])
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 200)  # a chunk a row or two: some 20 chunks
    lines, _first, error = encoded(PRINTABLE, "record", arrow=True)
    assert error is None and lines.count(b"\n") == 30
    assert tried == []
    import pyarrow.compute as pc

    pc.binary_join_element_wise("a", "b", "")  # the positive control: a Python str tries it
    assert tried
