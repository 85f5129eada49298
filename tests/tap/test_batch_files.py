"""BATCH files hold exactly the rows RECORD messages carry: gzip JSONL as the same JSON, parquet typed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow.parquet as pq
import pytest
from tap_harness import VERSIONED_STREAMS, TapOutput, catalog_selecting, run_tap, tap_config

from dockerdvp_simulator import SimConfig

END = dt.date(2026, 11, 18)
STREAMS = [
    "pull_events",
    "summary",
    "timespans",
    "reports",
    "report_trends",
    "report_other",
    "namespaces",
    "repositories",
    "namespace_pull_stats",
]


def plain(value):
    """A parquet value as the RECORD message writes it."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _set(record: dict, schema: dict) -> dict:
    """The record's non-null values; date-times as instants (files and messages may write them differently)."""
    out = {}
    for key, value in record.items():
        if value is None:
            continue
        if schema["properties"][key].get("format") == "date-time":
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        out[key] = value
    return out


def rows_of(out: TapOutput, fmt: str) -> dict[str, list[dict]]:
    """The rows in the files the BATCH messages name, by stream (parquet values as RECORD messages write them)."""
    batched = out.batch_records()
    if fmt == "parquet":
        return {stream: [{k: plain(v) for k, v in r.items()} for r in rows] for stream, rows in batched.items()}
    return batched


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_batch_files_hold_the_rows_of_the_record_messages(simulator, tmp_path, fmt: str) -> None:
    cfg = SimConfig(namespaces=("acme", "globex"), weeks=2, rows_per_week=5000, end_date=END, include_partial=False,
                    row_shape="wide", report_only_namespaces=("globex",))  # fmt: skip
    sim = simulator(cfg)
    config = tap_config(sim, timespan_types=["weeks"])
    catalog = catalog_selecting(config, STREAMS)
    expected = run_tap(config, catalog=catalog)
    batch = {
        "encoding": {"format": fmt, **({"compression": "gzip"} if fmt == "jsonl" else {})},
        "storage": {"root": (tmp_path / "batches").as_uri(), "prefix": "dvp-"},
        "batch_size": 2000,
    }
    out = run_tap({**config, "batch_config": batch}, catalog=catalog)
    # the full-table streams that announce a table version send RECORD messages carrying it; the rest BATCH files
    versioned = {m["stream"] for m in expected.messages if m["type"] == "ACTIVATE_VERSION"}
    assert versioned == VERSIONED_STREAMS & set(STREAMS)
    records = [m for m in out.messages if m["type"] == "RECORD"]
    assert {m["stream"] for m in records} == versioned and all(m.get("version") for m in records)
    got = {**rows_of(out, fmt), **out.records}
    assert not set(rows_of(out, fmt)) & versioned
    assert set(got) == set(expected.records)
    key = {m["stream"]: m["key_properties"] for m in expected.messages if m["type"] == "SCHEMA"}
    schemas = {m["stream"]: m["schema"] for m in expected.messages if m["type"] == "SCHEMA"}
    for stream, records in expected.records.items():
        # a key missing from a record is null in a file's column (parquet has every column)
        by_key = {tuple(r[k] for k in key[stream]): _set(r, schemas[stream]) for r in records}
        got_by_key = {tuple(r[k] for k in key[stream]): _set(r, schemas[stream]) for r in got[stream]}
        assert len(got_by_key) == len(got[stream]) == len(records), stream
        assert got_by_key == by_key, stream
    files = [Path(urlsplit(u).path) for m in out.messages if m["type"] == "BATCH" for u in m["manifest"]]
    assert all(f.name.startswith("dvp-") and f.exists() for f in files)
    if fmt == "parquet":
        assert max(pq.ParquetFile(f).metadata.num_rows for f in files) == 2000  # batch_size, at most
        schema = pq.read_schema(next(f for f in files if "pull_events" in f.name))
        assert str(schema.field("timestamp").type) == "timestamp[us, tz=UTC]"
        assert str(schema.field("action_day").type) == "date32[day]"
        assert str(schema.field("row_number").type) == "int64"
        assert schema.field("extra_columns").type.num_fields == 1  # a struct of the file's unknown headers
    assert out.final_state == expected.final_state  # the bookmarks move the same way


def test_a_local_root_under_the_home_folder_is_written_there(simulator, tmp_path, monkeypatch) -> None:
    # `~/batches` was taken as it is: a folder named `~` in the working folder held the files
    sim = simulator(SimConfig(namespaces=("acme",), weeks=1, rows_per_week=30, end_date=END, include_partial=False))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    encoding = {"format": "jsonl", "compression": "gzip"}
    config = tap_config(sim, batch_config={"encoding": encoding, "storage": {"root": "~/batches"}})
    out = run_tap(config, catalog=catalog_selecting(config, ["timespans", "pull_events"]))
    assert len(out.batch_records()["pull_events"]) == 30
    written = sorted(p.name for p in (tmp_path / "home" / "batches").iterdir())
    assert written and all(name.endswith(".jsonl.gz") for name in written)
    assert not (tmp_path / "work" / "~").exists()
