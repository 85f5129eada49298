"""With `batch_config`, the full-table streams that announce a table version still send RECORD messages.

A target deletes the rows of older versions by the version each row carries; rows it loads from BATCH files carry
none (MeltanoLabs target-snowflake never deletes them). So `namespaces`, `repositories` and the pull statistics
send RECORD messages stamped with the run's version while every other stream writes BATCH files; with
`emit_activate_version_messages: false` they write BATCH files like the rest. tests/e2e/test_e2e_deletes.py loads both
modes into target-snowflake (on fakesnow) and target-postgres.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from tap_harness import VERSIONED_STREAMS, TapOutput, catalog_selecting, run_tap, tap_config

from dockerdvp_simulator import SimConfig

LINE = ": sent as RECORD messages although batch_config is set: they carry the table version"


def batch_config(tmp_path: Path) -> dict:
    return {"encoding": {"format": "jsonl", "compression": "gzip"}, "storage": {"root": (tmp_path / "b").as_uri()}}


def streams_of(messages: list[dict], kind: str) -> set[str]:
    return {m["stream"] for m in messages if m["type"] == kind}


def batch_rows(out: TapOutput) -> dict[str, int]:
    return {stream: len(rows) for stream, rows in out.batch_records().items()}


@pytest.fixture
def sim(simulator):
    end = dt.date(2026, 11, 18)
    return simulator(SimConfig(weeks=1, rows_per_week=40, end_date=end, include_partial=False))


def test_the_full_table_streams_send_versioned_records_the_others_batch_files(sim, tmp_path, caplog) -> None:
    config = tap_config(sim, timespan_types=["weeks"])
    records = run_tap(config)
    with caplog.at_level(logging.INFO):
        out = run_tap({**config, "batch_config": batch_config(tmp_path)})

    announced = {m["stream"]: m["version"] for m in out.messages if m["type"] == "ACTIVATE_VERSION"}
    assert set(announced) == VERSIONED_STREAMS
    assert streams_of(out.messages, "RECORD") == VERSIONED_STREAMS
    batched = streams_of(out.messages, "BATCH")
    assert not batched & VERSIONED_STREAMS and {"pull_events", "timespans", "repo_summary"} <= batched
    for message in out.messages:
        if message["type"] == "RECORD":
            assert message["version"] == announced[message["stream"]], message["stream"]
    # the same rows as a RECORD-only run, in RECORD messages or in the files
    assert {s: len(r) for s, r in out.records.items()} == {s: records.counts()[s] for s in VERSIONED_STREAMS}
    assert batch_rows(out) == {s: n for s, n in records.counts().items() if s not in VERSIONED_STREAMS}
    said = [r for r in caplog.records if LINE in r.getMessage()]  # once per stream and run
    assert sorted(r.getMessage().split(":")[0] for r in said) == sorted(VERSIONED_STREAMS)
    assert {r.levelno for r in said} == {logging.INFO}


def test_without_versions_every_stream_writes_batch_files(sim, tmp_path, caplog) -> None:
    config = tap_config(sim, timespan_types=["weeks"], emit_activate_version_messages=False)
    with caplog.at_level(logging.INFO):
        out = run_tap({**config, "batch_config": batch_config(tmp_path)})
    assert streams_of(out.messages, "RECORD") == set() and streams_of(out.messages, "ACTIVATE_VERSION") == set()
    assert streams_of(out.messages, "BATCH") >= VERSIONED_STREAMS
    assert all(n > 0 for n in batch_rows(out).values())
    assert not [r for r in caplog.records if LINE in r.getMessage()]  # the other test sees it when it is said


def test_an_unselected_full_table_stream_is_not_named(sim, tmp_path, caplog) -> None:
    config = tap_config(sim, timespan_types=["weeks"])
    catalog = catalog_selecting(config, ["repositories", "timespans", "pull_events"])
    with caplog.at_level(logging.INFO):
        out = run_tap({**config, "batch_config": batch_config(tmp_path)}, catalog=catalog)
    assert streams_of(out.messages, "RECORD") == {"repositories"}
    assert streams_of(out.messages, "BATCH") == {"timespans", "pull_events"}
    (said,) = [r.getMessage() for r in caplog.records if LINE in r.getMessage()]
    assert said.startswith("repositories: sent as RECORD messages")
