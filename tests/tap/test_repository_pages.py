"""A namespace with more repositories than one page of the Hub's listing (100 at most): every page is read."""

from __future__ import annotations

import datetime as dt

import pytest
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


def listing_sim(simulator):
    cfg = SimConfig(namespaces=("acme",), repos_per_namespace=150, weeks=1, rows_per_week=20,
                    end_date=dt.date(2026, 11, 18), include_partial=False)  # fmt: skip
    return cfg, simulator(cfg)


# page 2 answers as if the listing had shrunk under the reader: what a repository deleted mid-listing does
SHRUNK_PAGE = {"count": 150, "next": None, "previous": None, "results": []}


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (200, SHRUNK_PAGE, "it changed while it was read: reading it again"),
        # the Hub answers 404 for a page past the last: a repository deleted while the pages were read failed the run
        (404, {"detail": "Not found."}, "answered 404 for /v2/namespaces/acme/repositories"),
    ],
    ids=["shrunk page", "page past the end"],
)
def test_a_listing_that_changes_while_it_is_read_is_read_again_whole(simulator, caplog, status, body, said) -> None:
    cfg, sim = listing_sim(simulator)
    sim.add_fault({"match": "repositories.*page=2", "kind": "status", "status": status, "body": body, "times": 1})
    config = tap_config(sim, timespan_types=["weeks"])
    out = run_tap(config, catalog=catalog_selecting(config, ["repositories"]))
    hub = [r["name"] for r in out.records["repositories"] if r["source"] == "hub"]
    assert sorted(hub) == sorted(simdata.repo_names(cfg, "acme"))  # all 150, each once
    assert sim.stats["faults_injected"] == 1
    assert said in caplog.text and "reading it again" in caplog.text
    assert sim.stats["endpoints"]["repositories"] == 2 + 2  # the first read's two pages, then both again


def test_a_listing_that_keeps_changing_stops_the_run_before_anything_is_deleted(simulator) -> None:
    from tap_harness import run_tap_until_error

    from tap_dockerdvp.errors import UnexpectedAnswerError

    _cfg, sim = listing_sim(simulator)
    sim.add_fault({"match": "page=2", "kind": "status", "status": 200, "body": SHRUNK_PAGE, "times": None})
    config = tap_config(sim, timespan_types=["weeks"])
    out, error = run_tap_until_error(config, catalog=catalog_selecting(config, ["repositories"]))
    assert isinstance(error, UnexpectedAnswerError)
    assert "acme: the Hub's repository listing gave 100 rows" in str(error) and "3 times" in str(error)
    assert not out.by_stream("ACTIVATE_VERSION", "version") and not out.records


def test_the_listing_is_asked_for_in_name_order(simulator) -> None:
    _cfg, sim = listing_sim(simulator)
    # a request without `ordering=name` is refused (400), so the run would fail without it
    sim.add_fault({"match": r"/repositories\?(?!.*ordering=name)", "kind": "status", "status": 400, "times": None})
    config = tap_config(sim, timespan_types=["weeks"])
    out = run_tap(config, catalog=catalog_selecting(config, ["repositories"]))
    assert len([r for r in out.records["repositories"] if r["source"] == "hub"]) == 150
    assert sim.stats["faults_injected"] == 0 and sim.stats["endpoints"]["repositories"] == 2
