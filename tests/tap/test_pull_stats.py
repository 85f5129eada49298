"""Pull statistics: the aggregated JSON endpoints, per namespace and per repository (batches of 50)."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from tap_harness import catalog_selecting, run_tap, tap_config

from dockerdvp_simulator import SimConfig
from dockerdvp_simulator import data as simdata

END = dt.date(2026, 11, 18)
STREAMS = ["namespace_pull_stats", "repository_pull_stats"]
KEY = ["namespace", "repo", "country", "start", "timespan_type"]


def sim_config(**overrides) -> SimConfig:
    values = dict(weeks=5, rows_per_week=140, end_date=END, include_partial=False)
    values.update(overrides)
    return SimConfig(**values)


def run(sim, streams=STREAMS, **settings):
    config = tap_config(sim, **settings)
    return run_tap(config, catalog=catalog_selecting(config, streams))


def test_namespace_totals_by_week(simulator) -> None:
    cfg = sim_config()
    sim = simulator(cfg)
    out = run(sim, ["namespace_pull_stats"])
    rows = out.records["namespace_pull_stats"]
    schema = out.schemas()["namespace_pull_stats"]
    assert schema["key_properties"] == KEY
    assert not schema.get("bookmark_properties")  # FULL_TABLE: the windows are rolling
    weeks = simdata.complete_timespans(cfg, "acme", "weeks")
    assert len(rows) == len(weeks) * len(cfg.namespaces)
    for row in rows:
        assert row["repo"] == "*" and row["country"] == "*"  # never null or "" in a key column
        assert row["timespan_type"] == "weeks" and row["group"] == "namespace" and row["api"] == "legacy"
        start = dt.date.fromisoformat(row["start"][:10])
        agg = simdata.aggregates(cfg, row["namespace"], start, start + dt.timedelta(days=6))
        assert (row["pull_count"], row["ip_count"]) == agg.total
        assert row["end"] == f"{start + dt.timedelta(days=6)}T00:00:00Z"  # the API's inclusive Sunday
    assert "replication_key_value" not in str(out.final_state["bookmarks"].get("namespace_pull_stats", {}))


def test_repository_rows_come_in_batches_of_at_most_50(simulator) -> None:
    cfg = sim_config(namespaces=("acme",), repos_per_namespace=60)
    sim = simulator(cfg)
    out = run(sim, ["repository_pull_stats"])
    # 60 repositories + 1 extraRepos entry: two requests (the simulator refuses more than 50 repos in one).
    assert sim.stats["endpoints"]["pulls"] == 2
    rows = out.records["repository_pull_stats"]
    weeks = simdata.complete_timespans(cfg, "acme", "weeks")
    pulled = {row["repo"] for row in rows}
    assert pulled <= {f"acme/{name}" for name in simdata.repo_names(cfg, "acme")}
    assert len(rows) == sum(
        1
        for _y, _n, start, end in weeks
        for (ns_col, _repo) in simdata.aggregates(cfg, "acme", start, end).repo_totals
        if ns_col == "acme"
    )
    assert len({tuple(r[k] for k in KEY) for r in rows}) == len(rows)
    assert all(r["group"] == "repo" and r["country"] == "*" for r in rows)


def test_group_timespan_and_period_settings(simulator) -> None:
    cfg = sim_config(weeks=12)
    sim = simulator(cfg)
    out = run(
        sim,
        ["namespace_pull_stats"],
        namespaces=["acme"],
        pull_stats_group="repo",
        pull_stats_timespan="months",
        pull_stats_period="last-2-months",
    )
    rows = out.records["namespace_pull_stats"]
    assert rows and all(r["repo"] and r["timespan_type"] == "months" for r in rows)
    assert {r["start"][:7] for r in rows} == {"2026-09", "2026-10"}  # complete months in the last two
    assert {r["period"] for r in rows} == {"last-2-months"}
    assert len({tuple(r[k] for k in KEY) for r in rows}) == len(rows)


def test_a_reports_only_namespace_is_asked_on_proxylytics(simulator, caplog) -> None:
    cfg = sim_config(report_namespaces=("globex",), empty_export_namespaces=("globex",))
    sim = simulator(cfg)
    out = run(sim)
    by_api = {(r["namespace"], r["api"]) for s in STREAMS for r in out.records[s]}
    assert by_api == {("acme", "legacy"), ("globex", "proxylytics")}

    # Forced onto the legacy export, the same namespace has no statistics there (`pulls` is null): no rows.
    with caplog.at_level(logging.INFO):
        forced = run(sim, data_source="export", namespaces=["globex"])
    assert forced.counts() == {}
    assert "no pull statistics" in caplog.text


def _repos_answer(keys: list[str]) -> dict:
    row = {"start": "2026-11-02T00:00:00Z", "end": "2026-11-08T00:00:00Z", "pullCount": 5, "ipCount": 2}
    return {"repos": {key: {"pulls": [dict(row, pullCount=5 + n)]} for n, key in enumerate(keys)}}


@pytest.mark.parametrize("form", ["bare", "upper case"])
def test_repository_statistics_keyed_by_another_spelling_of_the_name_are_kept(simulator, form: str) -> None:
    # The spec's own example writes `repo` bare: keyed so, the answer gave no row, and the table version deleted
    # the target's rows.
    cfg = sim_config(namespaces=("acme",), repos_per_namespace=2)
    sim = simulator(cfg)
    first, second = simdata.repo_names(cfg, "acme")
    keys = [first, second] if form == "bare" else [f"ACME/{first.upper()}", f"acme/{second.upper()}"]
    sim.add_fault(
        {"match": "/repos/pulls", "kind": "status", "status": 200, "body": _repos_answer(keys), "times": None}
    )
    out = run(sim, ["repository_pull_stats"])
    rows = sorted((r["repo"], r["pull_count"]) for r in out.records["repository_pull_stats"])
    assert rows == [(f"acme/{first}", 5), (f"acme/{second}", 6)]


def test_repository_statistics_of_a_repository_not_asked_for_stop_the_run(simulator) -> None:
    from tap_harness import run_tap_until_error

    from tap_dockerdvp.errors import UnexpectedAnswerError

    cfg = sim_config(namespaces=("acme",), repos_per_namespace=2)
    sim = simulator(cfg)
    sim.add_fault({"match": "/repos/pulls", "kind": "status", "status": 200, "body": _repos_answer(["other/thing"]),
                   "times": None})  # fmt: skip
    config = tap_config(sim)
    out, error = run_tap_until_error(config, catalog=catalog_selecting(config, ["repository_pull_stats"]))
    assert isinstance(error, UnexpectedAnswerError) and '"other/thing", a repository not asked for' in str(error)
    assert not out.by_stream("ACTIVATE_VERSION", "version")
