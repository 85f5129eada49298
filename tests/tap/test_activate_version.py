"""ACTIVATE_VERSION: the full-table streams announce one new table version per run (so a target can delete rows
that disappeared); the incremental streams never do. tests/e2e/test_e2e_postgres.py checks it with target-postgres'
`hard_delete`."""

from __future__ import annotations

import datetime as dt

import pytest
from tap_harness import VERSIONED_STREAMS, TapOutput, run_tap, run_tap_until_error, tap_config

from dockerdvp_simulator import SimConfig
from dockerdvp_simulator import data as simdata
from tap_dockerdvp.tap import TapDockerDVP

END = dt.date(2026, 11, 18)


def sim_config(**overrides) -> SimConfig:
    values = dict(weeks=2, rows_per_week=35, end_date=END, include_partial=False)
    values.update(overrides)
    return SimConfig(**values)


def versions(out: TapOutput) -> dict[str, list[int]]:
    """The versions each stream's ACTIVATE_VERSION messages announce."""
    return out.by_stream("ACTIVATE_VERSION", "version")


def test_full_table_streams_announce_one_version_per_run_before_their_records(simulator) -> None:
    cfg = sim_config(report_namespaces=("globex",))
    sim = simulator(cfg)
    out = run_tap(tap_config(sim))

    announced = versions(out)
    assert set(announced) == VERSIONED_STREAMS  # no incremental stream, no period file stream
    assert all(len(v) == 1 for v in announced.values()), announced
    (version,) = {v[0] for v in announced.values()}  # one version for the whole run
    for stream in VERSIONED_STREAMS:
        positions = [i for i, m in enumerate(out.messages) if m.get("stream") == stream]
        kinds = [out.messages[i]["type"] for i in positions]
        first_record = kinds.index("RECORD")
        assert kinds.index("ACTIVATE_VERSION") < first_record, stream
        records = [out.messages[i] for i in positions if out.messages[i]["type"] == "RECORD"]
        assert records and all(m.get("version") == version for m in records), stream
    # repositories: every namespace's rows carry the run's one version
    repositories = [m for m in out.messages if m["type"] == "RECORD" and m["stream"] == "repositories"]
    assert {m["record"]["namespace"] for m in repositories} == set(cfg.namespaces)
    # incremental streams and their children: no version on the records
    for message in out.messages:
        if message["type"] == "RECORD" and message["stream"] not in VERSIONED_STREAMS:
            assert message.get("version") is None, message["stream"]


def test_emit_activate_version_messages_false_sends_none(simulator) -> None:
    sim = simulator(sim_config())
    out = run_tap(tap_config(sim, emit_activate_version_messages=False))
    assert versions(out) == {}
    assert out.counts()["repositories"] > 0
    assert all(m.get("version") is None for m in out.messages if m["type"] == "RECORD")


def test_a_failed_request_ends_the_run_before_any_version_is_announced(simulator) -> None:
    """Every row of the full-table streams is fetched before the first sync: a request that fails cannot leave a
    target that already deleted the old rows with half a table."""
    sim = simulator(sim_config())
    sim.add_fault({"match": "/repos/pulls", "kind": "status", "status": 400, "times": -1})
    out, error = run_tap_until_error(tap_config(sim))
    assert error is not None and "400 Client Error for /api/publisher/analytics/v1/repos/pulls" in str(error)
    assert [m for m in out.messages if m["type"] in ("ACTIVATE_VERSION", "RECORD")] == []


def test_a_catalog_that_forces_full_table_on_a_period_stream_sends_no_version(simulator) -> None:
    sim = simulator(sim_config(namespaces=("acme",)))
    config = tap_config(sim, timespan_types=["weeks"])
    catalog = TapDockerDVP(config=config).catalog_dict
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] in ("timespans", "pull_events"):
            entry["replication_method"] = "FULL_TABLE"
    out = run_tap(config, catalog=catalog)
    assert out.counts()["timespans"] == 2
    assert set(versions(out)) == VERSIONED_STREAMS


@pytest.mark.parametrize("deleted", [("acme/{first}",), ()])
def test_the_simulator_drops_a_deleted_repository_from_the_listing_only(simulator, deleted) -> None:
    cfg = sim_config(namespaces=("acme",))
    first = simdata.repo_names(cfg, "acme")[0]
    sim = simulator(cfg)
    sim.reconfigure(deleted_repositories=[name.format(first=first) for name in deleted])
    out = run_tap(tap_config(sim, timespan_types=["weeks"]))
    names = {r["name"] for r in out.records["repositories"] if r["source"] == "hub"}
    assert (first in names) == (not deleted)
    assert len(names) == cfg.repos_per_namespace - len(deleted)
    # its past pulls are still in the exports
    assert first in {r["repository"] for r in out.records["repo_summary"]}
