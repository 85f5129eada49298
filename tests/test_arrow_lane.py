"""The Arrow lane (parquet) gives exactly the reader's rows: the same values, the same errors after the same rows.

Every awkward case of the reader's tests goes through both: the reader's records typed into Arrow
(`ArrowRows.from_batch`, the reference) and the Arrow lane (pyarrow's CSV parser, the reader's rules), with chunks
small enough that every case meets a chunk edge.
"""

from __future__ import annotations

import gzip
import logging

import pytest
from test_record_outputs import CASES, CONTEXT, SCHEMA, SPEC

from tap_dockerdvp import parallel
from tap_dockerdvp.arrow_lane import ArrowLane
from tap_dockerdvp.csv_reader import CsvFormatError, ReadStats, TruncatedFileError, read_batches
from tap_dockerdvp.encoders import ArrowRows
from tap_dockerdvp.parallel import Edges

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
    stats = ReadStats()
    edges = Edges("action_day")
    reader = ArrowLane(
        SPEC, label="f.csv", keys=KEYS, schema=SCHEMA, constants=CONTEXT, stats=stats, edges=edges, logger=LOG
    )
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
    monkeypatch.setattr(parallel, "CHUNK_BYTES", chunk)
    data = gzip.compress(CASES[name]) if compress and CASES[name] else CASES[name]
    expected, error = reference(data)
    got, got_error, _stats, _edges = lane(data)
    assert got_error == error
    assert got == expected


def test_plain_rows_stay_in_the_arrow_lane(monkeypatch) -> None:
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 200)
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
