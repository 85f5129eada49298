"""The tap held to Docker's published contract (issue 9): what the spec says, and what it leaves open.

Each test runs the tap against the simulator configured the way Docker's spec allows (its defaults follow the
spec; every behaviour the spec leaves open is a named option) and asserts on records, state and log lines.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
from collections import Counter
from pathlib import Path

import pytest
from tap_harness import catalog_selecting, run_tap, run_tap_until_error, tap_config

from dockerdvp_simulator import SimConfig
from dockerdvp_simulator import data as simdata
from dockerdvp_simulator import reports as simreports
from tap_dockerdvp.dvp.views import KEY_PROPERTIES
from tap_dockerdvp.errors import NamespaceNotFoundError
from tap_dockerdvp.streams.period_files import PeriodFilesStream

END = dt.date(2026, 11, 18)  # a Wednesday: weeks up to the one ending on the 15th are complete


def small(**overrides) -> SimConfig:
    values = dict(weeks=3, rows_per_week=80, end_date=END, include_partial=False, namespaces=("acme", "globex"))
    values.update(overrides)
    return SimConfig(**values)


def weeks_of(cfg: SimConfig, namespace: str = "acme") -> list[tuple[int, int, dt.date, dt.date]]:
    return simdata.complete_timespans(cfg, namespace, "weeks")


def bookmark(state: dict, stream: str, **context: str) -> str | None:
    for partition in state["bookmarks"][stream].get("partitions", []):
        if partition["context"] == context:
            return partition.get("replication_key_value")
    return None


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def keyed(rows: list[dict]) -> dict[tuple, dict]:
    return {tuple(r[k] for k in KEY_PROPERTIES): r for r in rows}


# -- 1. namespaces: GET /namespaces is the access list, GET / only those with export data -----------------------


def test_a_current_program_namespace_is_extracted_from_its_reports(simulator) -> None:
    """globex is on the current DVP program: readable (in GET /namespaces) but not in GET / (no export data)."""
    sim = simulator(small(report_only_namespaces=("globex",), weeks=2))
    out = run_tap(tap_config(sim))  # every namespace the account can read
    assert {r["namespace"] for r in out.records["namespaces"]} == {"acme", "globex"}
    assert {r["namespace"] for r in out.records["report_trends"]} == {"globex"}
    assert {r["namespace"] for r in out.records["pull_events"]} == {"acme"}
    assert sim.stats["endpoints"].get("namespace", 0) == 0  # GET /namespaces carried the metadata

    configured = run_tap(tap_config(sim, namespaces=["globex"]))  # today's code: "namespace not visible"
    assert {r["namespace"] for r in configured.records["namespaces"]} == {"globex"}
    assert configured.counts()["report_trends"] > 0 and "pull_events" not in configured.counts()


def test_a_namespace_the_account_cannot_read_is_one_line(simulator) -> None:
    sim = simulator(small(report_only_namespaces=("globex",)))
    _out, error = run_tap_until_error(tap_config(sim, namespaces=["acme", "initech"]))
    assert isinstance(error, NamespaceNotFoundError)
    assert str(error) == (
        "namespace 'initech' is not readable by Docker Hub user 'demo' (it can read: acme, globex); "
        "fix the `namespaces` setting"
    )


@pytest.mark.parametrize("status", ["404", "405"])
def test_without_get_namespaces_the_tap_falls_back_to_get_root(simulator, caplog, status: str) -> None:
    sim = simulator(small(report_only_namespaces=("globex",), namespaces_endpoint=status, weeks=1))
    with caplog.at_level(logging.INFO):
        everything = run_tap(tap_config(sim))
    assert "GET /namespaces is not available here: discovering namespaces from GET /" in caplog.messages
    # GET / lists only the namespaces with export data (the spec): globex is not found without the setting
    assert {r["namespace"] for r in everything.records["namespaces"]} == {"acme"}
    configured = run_tap(tap_config(sim, namespaces=["globex"]))  # asked for directly: GET /namespaces/globex
    assert {r["namespace"] for r in configured.records["namespaces"]} == {"globex"}
    assert configured.counts()["report_trends"] > 0


# -- 2. a late file holds its partition's bookmark back, within late_data_grace_days ---------------------------


@pytest.mark.parametrize("style", ["404", "empty"])
def test_a_late_view_holds_back_its_partition_and_the_next_run_gets_the_rows(simulator, caplog, style) -> None:
    cfg = small()
    sim = simulator(cfg)
    (_y0, _n0, first, _e0), (year, week, _s1, late_end), (_y2, _n2, last, _e2) = weeks_of(cfg)
    grace = (dt.datetime.now(dt.timezone.utc).date() - late_end).days + 1  # the late week is within it
    sim.add_fault(
        {
            "match": f"/acme/pulls/exports/years/{year}/weeks/{week}/raw$",
            "kind": "late_view",
            "style": style,
            "times": None,
        }
    )
    config = tap_config(sim, timespan_types=["weeks"], late_data_grace_days=grace)
    catalog = catalog_selecting(config, ["pull_events", "summary"])
    with caplog.at_level(logging.WARNING):
        first_run = run_tap(config, catalog=catalog)
    late = [w for w in warnings_of(caplog) if f"acme raw weeks {year}/{week}" in w]
    assert len(late) == 1 and "the next run tries again" in late[0] and f"late_data_grace_days {grace})" in late[0]
    state = first_run.final_state
    # acme/weeks stops before the late week; globex goes on to the last week
    assert bookmark(state, "timespans", namespace="acme", timespan_type="weeks") == f"{first}T00:00:00Z"
    assert bookmark(state, "timespans", namespace="globex", timespan_type="weeks") == f"{last}T00:00:00Z"
    acme_weeks = {(r["year"], r["timespan"]) for r in first_run.records["pull_events"] if r["namespace"] == "acme"}
    assert acme_weeks == {(_y0, _n0)}

    sim.clear_faults()  # the file is ready now
    caplog.clear()
    second_run = run_tap(config, catalog=catalog, state=state)
    assert not [w for w in warnings_of(caplog) if "late" in w]
    union = keyed(first_run.records["pull_events"]) | keyed(second_run.records["pull_events"])
    expected = sum(
        simdata.expected_rows(cfg, ns, "raw", "weeks", y, n) for ns in cfg.namespaces for y, n, _s, _e in weeks_of(cfg)
    )
    assert len(union) == expected  # every row of every week, each key once
    assert {(r["year"], r["timespan"]) for r in second_run.records["pull_events"]} == {(year, week), (_y2, _n2)}
    assert bookmark(second_run.final_state, "timespans", namespace="acme", timespan_type="weeks") == f"{last}T00:00:00Z"
    # a key emitted twice (summary rows of the late week, read in both runs) carries the same row
    both = keyed(first_run.records["summary"]).keys() & keyed(second_run.records["summary"]).keys()
    assert both and all(keyed(first_run.records["summary"])[k] == keyed(second_run.records["summary"])[k] for k in both)


def test_past_the_grace_period_a_late_view_is_taken_as_empty(simulator, caplog) -> None:
    cfg = small()
    sim = simulator(cfg)
    (_y, _n, _s, _e), (year, week, _s1, late_end), (_y2, _n2, last, _e2) = weeks_of(cfg)
    sim.add_fault({"match": f"/acme/pulls/exports/years/{year}/weeks/{week}/raw$", "kind": "late_view", "times": None})
    grace = (dt.datetime.now(dt.timezone.utc).date() - late_end).days  # the late week ended that long ago
    config = tap_config(sim, timespan_types=["weeks"], late_data_grace_days=grace)
    with caplog.at_level(logging.WARNING):
        out = run_tap(config, catalog=catalog_selecting(config, ["pull_events"]))
    (warning,) = [w for w in warnings_of(caplog) if f"acme raw weeks {year}/{week}" in w]
    assert f"past late_data_grace_days ({grace}): taken as empty" in warning
    assert bookmark(out.final_state, "timespans", namespace="acme", timespan_type="weeks") == f"{last}T00:00:00Z"
    assert (year, week) not in {
        (r["year"], r["timespan"]) for r in out.records["pull_events"] if r["namespace"] == "acme"
    }


def test_a_late_report_file_holds_back_its_partition(simulator, caplog) -> None:
    cfg = small(
        report_only_namespaces=("globex",),
        report_types=("trend",),
        unknown_report_types=(),
        report_granularities=("weekly",),
    )
    sim = simulator(cfg)
    sim.add_fault({"match": "report-download", "kind": "late_report", "times": None, "after": 1})
    config = tap_config(sim, namespaces=["globex"], late_data_grace_days=400)
    with caplog.at_level(logging.WARNING):
        first = run_tap(config, catalog=catalog_selecting(config, ["reports", "report_trends"]))
    late = [w for w in warnings_of(caplog) if "globex trends weekly report" in w]
    assert len(late) == 1 and "answers HTTP 404 (not ready yet?)" in late[0] and "tries again" in late[0]
    assert len(first.records["reports"]) == 1  # the first period; the second is held back, and all after it
    sim.clear_faults()
    second = run_tap(config, catalog=catalog_selecting(config, ["reports", "report_trends"]), state=first.final_state)
    periods = {r["period_start"] for r in first.records["reports"] + second.records["reports"]}
    assert len(periods) == len({e["start"] for e in simreports.catalogue_entries(cfg, "globex")})


# -- 3. bytes that are not UTF-8 -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["record lines", "sdk", "batch", "parquet"])
def test_a_latin1_byte_keeps_its_row_on_every_path(simulator, caplog, monkeypatch, tmp_path, path) -> None:
    cfg = small(namespaces=("acme",), latin1_rows=3)
    sim = simulator(cfg)
    sdk_path(monkeypatch, path == "sdk")
    config = tap_config(sim, timespan_types=["weeks"])
    if path in ("batch", "parquet"):
        encoding = {"format": "jsonl", "compression": "gzip"} if path == "batch" else {"format": "parquet"}
        config["batch_config"] = {"encoding": encoding, "storage": {"root": tmp_path.as_uri()}}
    with caplog.at_level(logging.WARNING):
        out = run_tap(config, catalog=catalog_selecting(config, ["pull_events"]))
    if path == "parquet":
        import pyarrow.parquet as pq

        rows = [r for f in sorted(Path(tmp_path).glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    elif path == "batch":
        rows = []
        for name in sorted(Path(tmp_path).glob("*.gz")):
            with gzip.open(name, "rt") as lines:
                rows += [json.loads(line) for line in lines]
    else:
        rows = out.records["pull_events"]
    by_key = keyed(rows)
    expected = 0
    for year, week, _s, _e in weeks_of(cfg):
        for cell in simdata.latin1_cells(cfg, "acme", "weeks", year, week, 0):
            row = by_key[("acme", "weeks", year, week, 0, cell["row_number"])]
            assert row["user_agent_tool"] == cell["text"] == "Mozilla/5.0 (Macintosh; café)"
            expected += 1
        assert len([r for r in rows if r["timespan"] == week]) == simdata.expected_rows(
            cfg, "acme", "raw", "weeks", year, week
        )
    assert expected == 3 * len(weeks_of(cfg))
    byte_warnings = [w for w in warnings_of(caplog) if "not UTF-8" in w]
    assert len(byte_warnings) == len(weeks_of(cfg))  # one per file
    assert all("3 lines held bytes that are not UTF-8; they were read as Windows-1252" in w for w in byte_warnings)


# -- 7. week numbers ------------------------------------------------------------------------------------------


def test_week_numbers_the_iso_calendar_lacks_are_skipped_with_a_warning(simulator, caplog) -> None:
    sim = simulator(small(namespaces=("acme",), extra_listed_weeks=((2025, 53), (2026, 0))))
    config = tap_config(sim, timespan_types=["weeks"])
    with caplog.at_level(logging.WARNING):
        out = run_tap(config, catalog=catalog_selecting(config, ["timespans", "pull_events"]))
    warnings = warnings_of(caplog)
    assert any(w.startswith("acme weeks 2025: the API lists 53, which is not a week of that year") for w in warnings)
    assert any(w.startswith("acme weeks 2026: the API lists 0, which is not a week of that year") for w in warnings)
    assert len(out.records["timespans"]) == 3  # the real weeks, all of them


def test_rows_outside_their_week_say_the_calendar_may_differ(simulator, caplog) -> None:
    cfg = small(namespaces=("acme",), week_numbering="first-monday")  # 2026 starts on a Thursday: %W != ISO
    sim = simulator(cfg)
    config = tap_config(sim, timespan_types=["weeks"])
    with caplog.at_level(logging.WARNING):
        out = run_tap(config, catalog=catalog_selecting(config, ["pull_events"]))
    calendar = [w for w in warnings_of(caplog) if "outside the timespan" in w]
    assert len(calendar) == len(weeks_of(cfg))  # one per timespan
    assert all("Docker may number weeks differently from ISO 8601" in w for w in calendar)
    assert out.counts()["pull_events"] > 0  # the rows are kept


def test_iso_weeks_give_no_calendar_warning(simulator, caplog) -> None:
    sim = simulator(small(namespaces=("acme",)))
    config = tap_config(sim, timespan_types=["weeks"])
    with caplog.at_level(logging.WARNING):
        run_tap(config, catalog=catalog_selecting(config, ["pull_events"]))
    assert not [w for w in warnings_of(caplog) if "outside the timespan" in w]


# -- 8. the Hub repository listing, once per namespace --------------------------------------------------------


def test_the_repository_listing_is_fetched_once_per_namespace(simulator) -> None:
    sim = simulator(small())
    config = tap_config(sim)
    out = run_tap(config, catalog=catalog_selecting(config, ["repositories", "repository_pull_stats"]))
    assert sim.stats["endpoints"]["repositories"] == 2  # one page each for acme and globex; today's code: 4
    assert Counter(r["namespace"] for r in out.records["repositories"]) == Counter(
        {
            ns: len(simdata.repo_names(sim.config, ns)) + len(simdata.extra_repos(sim.config, ns) or [])
            for ns in ("acme", "globex")
        }
    )


# -- 9. extension views under their dataset's path -------------------------------------------------------------


def test_extension_views_are_found_under_their_dataset_path(simulator, caplog) -> None:
    cfg = small(extension_namespaces=("globex",), extension_view_path="dataset")
    sim = simulator(cfg)
    sim.add_fault({"match": r"/pulls/exports/.*/ext-summary$", "kind": "slow", "seconds": 0, "times": None})
    config = tap_config(sim, namespaces=["globex"], timespan_types=["weeks"])
    with caplog.at_level(logging.INFO):
        out = run_tap(config, catalog=catalog_selecting(config, ["ext_summary"]))
    expected = sum(
        simdata.expected_rows(cfg, "globex", "ext-summary", "weeks", y, n) for y, n, _s, _e in weeks_of(cfg, "globex")
    )
    assert out.counts()["ext_summary"] == expected > 0
    assert sim.stats["faults"].get("slow") == 1  # /pulls/ was asked once, then the path that worked is kept
    assert (
        "Views of the extensions dataset answer under /extensions/exports/ (not /pulls/): using it this run"
        in caplog.messages
    )


_REASON = PeriodFilesStream.sdk_path_reason


def sdk_path(monkeypatch, on: bool) -> None:
    """Send every file-backed row through the SDK's record path (as stream maps would), or not."""
    monkeypatch.setattr(PeriodFilesStream, "sdk_path_reason", (lambda self: "the test asks for it") if on else _REASON)
