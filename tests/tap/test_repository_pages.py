"""A namespace with more repositories than one page of the Hub's listing (100 at most): every page is read."""

from __future__ import annotations

import datetime as dt

from tap_harness import catalog_selecting, run_tap, tap_config

from dockerdvp_simulator import SimConfig
from dockerdvp_simulator import data as simdata

REPOSITORIES = 230  # three pages of 100


def test_every_page_of_repositories_is_read_and_their_pull_statistics_fetched(simulator) -> None:
    cfg = SimConfig(
        namespaces=("acme", "globex"),
        repos_per_namespace=REPOSITORIES,
        weeks=1,
        rows_per_week=20,
        end_date=dt.date(2026, 11, 18),
        include_partial=False,
    )
    sim = simulator(cfg)
    config = tap_config(sim, timespan_types=["weeks"])
    out = run_tap(config, catalog=catalog_selecting(config, ["repositories", "repository_pull_stats"]))

    weeks = simdata.complete_timespans(cfg, "acme", "weeks")
    for namespace in cfg.namespaces:
        hub = [r["name"] for r in out.records["repositories"] if r["namespace"] == namespace and r["source"] == "hub"]
        assert len(hub) == len(set(hub)) == REPOSITORIES, namespace
        assert set(hub) == set(simdata.repo_names(cfg, namespace))
        # every repository with pulls has its statistics, those listed on the last pages too
        pulled = {
            repo
            for _y, _n, start, end in weeks
            for (owner, repo) in simdata.aggregates(cfg, namespace, start, end).repo_totals
            if owner == namespace
        }
        later_pages = set(sorted(hub)[100:])
        assert pulled & later_pages, "the data should have pulls of repositories past the first page"
        stats = {r["repo"] for r in out.records["repository_pull_stats"] if r["namespace"] == namespace}
        assert stats == {f"{namespace}/{repo}" for repo in pulled}, namespace
    assert sim.stats["endpoints"]["repositories"] == 2 * 3  # three pages per namespace, each once
