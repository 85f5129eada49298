"""Run the tap in-process against a simulator and collect what it prints."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import gzip
import io
import json
import typing as t

from dockerdvp_simulator import SimConfig, Simulator
from dockerdvp_simulator import data as simdata
from dockerdvp_simulator.catalog import select_only
from tap_dockerdvp.tap import TapDockerDVP

#: The full-table streams that announce a table version: in BATCH mode they still send RECORD messages, which carry
#: the version a target deletes older rows by.
VERSIONED_STREAMS = frozenset({"namespaces", "repositories", "namespace_pull_stats", "repository_pull_stats"})


@dataclasses.dataclass
class TapOutput:
    messages: list[dict]

    @property
    def records(self) -> dict[str, list[dict]]:
        return self.by_stream("RECORD", "record")

    def by_stream(self, kind: str, field: str) -> dict[str, list[t.Any]]:
        """``field`` of each message of type ``kind``, by stream (``by_stream("ACTIVATE_VERSION", "version")``)."""
        out: dict[str, list[t.Any]] = {}
        for message in self.messages:
            if message["type"] == kind:
                out.setdefault(message["stream"], []).append(message[field])
        return out

    def versioned_records_only(self) -> bool:
        """Whether every RECORD message is of a stream that announces versions, and carries its version."""
        records = [m for m in self.messages if m["type"] == "RECORD"]
        return all(m["stream"] in VERSIONED_STREAMS and m.get("version") for m in records)

    def batch_records(self) -> dict[str, list[dict]]:
        """The records in the files the BATCH messages name, by stream, each file read as its message's `encoding`
        says."""
        out: dict[str, list[dict]] = {}
        for message in self.messages:
            if message["type"] == "BATCH":
                for url in message["manifest"]:
                    out.setdefault(message["stream"], []).extend(read_batch_file(url, message["encoding"]["format"]))
        return out

    def counts(self) -> dict[str, int]:
        return {stream: len(rows) for stream, rows in self.records.items()}

    @property
    def states(self) -> list[dict]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict:
        return self.states[-1]

    def schemas(self) -> dict[str, dict]:
        return {m["stream"]: m for m in self.messages if m["type"] == "SCHEMA"}


def read_batch_file(url: str, fmt: str) -> list[dict[str, t.Any]]:
    """The records of one local batch file (``jsonl``: gzip JSON lines; ``parquet``), as an SDK target reads them
    (`Sink.process_batch_files`)."""
    assert url.startswith("file://"), url
    path = url.removeprefix("file://")
    if fmt == "jsonl":
        with gzip.open(path, "rb") as handle:
            return [json.loads(line) for line in handle]
    import pyarrow.parquet as pq  # only here: the tests that write parquet need pyarrow, the others do not

    return t.cast("list[dict[str, t.Any]]", pq.read_table(path).to_pylist())


def tap_config(sim: Simulator, **overrides: t.Any) -> dict[str, t.Any]:
    config = {
        "username": sim.config.username,
        "password": sim.config.password,
        "api_url": sim.api_url,
        "hub_url": sim.hub_url,
        "retry_base_seconds": 0.01,
        "max_retries": 3,
    }
    config.update(overrides)
    return config


def raw_rows_served(cfg: SimConfig) -> int:
    """The pull_events rows the simulator serves for the complete weeks of all its namespaces (a run's total with
    `timespan_types: ["weeks"]`)."""
    return sum(
        simdata.expected_rows(cfg, ns, "raw", "weeks", y, n)
        for ns in cfg.namespaces
        for y, n, _s, _e in simdata.complete_timespans(cfg, ns, "weeks")
    )


def catalog_selecting(config: dict[str, t.Any], streams: t.Iterable[str]) -> dict[str, t.Any]:
    """A discovered catalog with only ``streams`` selected."""
    return select_only(TapDockerDVP(config=config).catalog_dict, streams)


def run_tap(
    config: dict[str, t.Any],
    *,
    state: dict | None = None,
    catalog: dict | None = None,
) -> TapOutput:
    output, error = run_tap_until_error(config, state=state, catalog=catalog)
    if error is not None:
        raise error
    return output


def run_tap_until_error(
    config: dict[str, t.Any],
    *,
    state: dict | None = None,
    catalog: dict | None = None,
) -> tuple[TapOutput, Exception | None]:
    """Run the tap; return what it printed and the exception that stopped it, if any."""
    buffer = io.StringIO()
    error = None
    with contextlib.redirect_stdout(buffer):
        try:
            tap = TapDockerDVP(config=config, state=copy.deepcopy(state) if state else None, catalog=catalog)
            tap.sync_all()
        except Exception as exc:
            error = exc
    return TapOutput([json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]), error


def weekly_trends(**overrides: t.Any) -> SimConfig:
    """A simulator with one namespace read from the report catalogue only (`globex`), which lists weekly trends
    reports and nothing else: two complete weeks of 300 rows before 2026-11-18, the last one kept."""
    values: dict[str, t.Any] = {
        "namespaces": ("globex",),
        "report_only_namespaces": ("globex",),
        "report_types": ("trend",),
        "unknown_report_types": (),
        "report_granularities": ("weekly",),
        "report_retention": 1,
        "weeks": 2,
        "rows_per_week": 300,
        "end_date": dt.date(2026, 11, 18),
        "include_partial": False,
        **overrides,
    }
    return SimConfig(**values)
