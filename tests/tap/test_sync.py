"""The tap against the simulator: every stream's records, their types and keys, and state across runs."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
from tap_harness import catalog_selecting, run_tap, tap_config

from dockerdvp_simulator import SimConfig
from dockerdvp_simulator import data as simdata
from tap_dockerdvp.dvp.views import VIEWS

# A fixed clock in the past: every timespan the simulator lists is complete for the tap too.
END = dt.date(2026, 11, 18)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def base_config(**overrides) -> SimConfig:
    values = dict(weeks=3, rows_per_week=140, end_date=END, include_partial=False)
    values.update(overrides)
    return SimConfig(**values)


def expected_counts(cfg: SimConfig, *, raw_type: str = "weeks", types=("weeks", "months")) -> Counter:
    """Rows per stream the simulator serves for every complete timespan."""
    expected: Counter = Counter()
    for namespace in cfg.namespaces:
        views = ["raw", "summary", "repo-summary", "namespace-summary", "geo-repo-summary"]
        if namespace in cfg.extension_namespaces:
            views.append("ext-summary")
        for timespan_type in types:
            spans = simdata.complete_timespans(cfg, namespace, timespan_type)
            expected["timespans"] += len(spans)
            for view in views:
                if view == "raw" and timespan_type != raw_type:
                    continue
                for year, number, _start, _end in spans:
                    expected[VIEWS[view].stream_name] += simdata.expected_rows(
                        cfg, namespace, view, timespan_type, year, number
                    )
    expected["namespaces"] = len(cfg.namespaces)
    return expected


@pytest.mark.parametrize("header_style", ["title", "snake", "upper"])
def test_every_row_of_every_file_is_emitted_once(simulator, header_style: str) -> None:
    cfg = base_config(files_per_timespan=3, header_style=header_style, extension_namespaces=("globex",))
    sim = simulator(cfg)
    out = run_tap(tap_config(sim))

    counts = out.counts()
    repositories = counts.pop("repositories")
    for stream in ("namespace_pull_stats", "repository_pull_stats"):  # tests/tap/test_pull_stats.py checks these
        assert counts.pop(stream) > 0
    assert repositories == sum(
        cfg.repos_per_namespace + len(simdata.extra_repos(cfg, ns) or []) for ns in cfg.namespaces
    )
    assert counts == {k: v for k, v in expected_counts(cfg).items() if v}
    # Raw rows of weeks and months are the same pulls: only weeks were fetched.
    assert {r["timespan_type"] for r in out.records["pull_events"]} == {"weeks"}

    schemas = out.schemas()
    for stream, rows in out.records.items():
        keys = schemas[stream]["key_properties"]
        assert len({tuple(r[k] for k in keys) for r in rows}) == len(rows), f"duplicate keys in {stream}"


def test_records_are_typed_and_keep_unknown_columns(simulator) -> None:
    sim = simulator(base_config(metadata_extras=True))  # publisherType is asserted below
    records = run_tap(tap_config(sim, timespan_types=["weeks"])).records

    event = records["pull_events"][0]
    assert RFC3339.match(event["timestamp"]) and RFC3339.match(event["timespan_start"])
    assert re.match(r"^\d{4}-\d{2}-\d{2}$", event["action_day"])
    assert event["extra_columns"].keys() == {"IP hash"}  # unknown columns keep the header as written
    assert {e["action"] for e in records["pull_events"]} <= {"pull_by_tag", "pull_by_digest", "version_check"}
    assert all(e["namespace"] in ("acme", "globex") for e in records["pull_events"])
    # Rows of an extraRepos repository keep their own namespace; the key keeps the exported one.
    assert {e["repository_namespace"] for e in records["pull_events"] if e["namespace"] == "acme"} == {
        "acme",
        "otherns",
    }
    # \N is null, never the string.
    assert not any(v == "\\N" for e in records["pull_events"] for v in e.values())

    for row in records["repo_summary"]:
        for column in ("pull_by_tag", "pull_by_digest", "version_check", "unique_ip_count"):
            assert isinstance(row[column], int)
    # Summaries agree with the raw rows they summarise.
    pulls_by_tag = sum(1 for e in records["pull_events"] if e["action"] == "pull_by_tag")
    assert sum(r["pull_by_tag"] for r in records["repo_summary"]) == pulls_by_tag

    repo = records["repositories"][0]
    assert {"namespace", "name", "pull_count", "source"} <= repo.keys()
    namespace = records["namespaces"][0]
    assert namespace["publisher_type"] == "DVP"
    assert "raw" in namespace["datasets"][0]["views"]


def test_iso_weeks_across_a_year_boundary(simulator) -> None:
    sim = simulator(base_config(end_date=dt.date(2026, 1, 20), weeks=5))
    out = run_tap(tap_config(sim), catalog=catalog_selecting(tap_config(sim), ["timespans"]))
    weeks = sorted(
        (r["year"], r["timespan"], r["timespan_start"], r["timespan_end"])
        for r in out.records["timespans"]
        if r["namespace"] == "acme" and r["timespan_type"] == "weeks"
    )
    assert weeks == [
        (2025, 51, "2025-12-15T00:00:00Z", "2025-12-21T00:00:00Z"),
        (2025, 52, "2025-12-22T00:00:00Z", "2025-12-28T00:00:00Z"),
        (2026, 1, "2025-12-29T00:00:00Z", "2026-01-04T00:00:00Z"),
        (2026, 2, "2026-01-05T00:00:00Z", "2026-01-11T00:00:00Z"),
        (2026, 3, "2026-01-12T00:00:00Z", "2026-01-18T00:00:00Z"),
    ]
    months = {(r["year"], r["timespan"]) for r in out.records["timespans"] if r["timespan_type"] == "months"}
    assert months == {(2025, 12)}  # January 2026 is not complete on the simulator's 2026-01-20


def test_incomplete_timespans_are_never_emitted(simulator) -> None:
    today = dt.datetime.now(dt.timezone.utc).date()
    sim = simulator(base_config(end_date=today, include_partial=True))
    out = run_tap(tap_config(sim))
    for row in out.records["timespans"]:
        assert dt.date.fromisoformat(row["timespan_end"][:10]) < today
    current_week = today.isocalendar()
    assert not any((r["year"], r["timespan"]) == (current_week[0], current_week[1]) for r in out.records["pull_events"])


def test_second_run_emits_nothing_and_a_new_week_is_emitted_exactly_once(simulator) -> None:
    cfg = base_config()
    sim = simulator(cfg)
    config = tap_config(sim, timespan_types=["weeks"])
    first = run_tap(config)
    assert first.counts()["pull_events"] == expected_counts(cfg, types=("weeks",))["pull_events"]

    second = run_tap(config, state=first.final_state)
    assert "timespans" not in second.counts() and "pull_events" not in second.counts()
    assert second.final_state["bookmarks"]["timespans"] == first.final_state["bookmarks"]["timespans"]

    sim.set_end_date(END + dt.timedelta(days=7))
    third = run_tap(config, state=second.final_state)
    new_weeks = {(r["namespace"], r["year"], r["timespan"]) for r in third.records["timespans"]}
    year, week, _ = (END - dt.timedelta(days=END.weekday())).isocalendar()
    assert new_weeks == {("acme", year, week), ("globex", year, week)}
    assert len(third.records["pull_events"]) == sum(
        simdata.expected_rows(sim.config, ns, "raw", "weeks", year, week) for ns in cfg.namespaces
    )


def test_child_only_selection_still_moves_the_bookmark(simulator) -> None:
    sim = simulator(base_config())
    config = tap_config(sim, timespan_types=["weeks"])
    catalog = catalog_selecting(config, ["pull_events"])
    first = run_tap(config, catalog=catalog)
    assert set(first.counts()) == {"pull_events"}
    partitions = first.final_state["bookmarks"]["timespans"]["partitions"]
    assert len(partitions) == 2 and all(p["replication_key_value"] for p in partitions)
    # State stays small: no partition per timespan anywhere.
    assert first.final_state["bookmarks"]["pull_events"] in ({}, {"partitions": []})

    second = run_tap(config, catalog=catalog, state=first.final_state)
    assert second.counts() == {}


def test_bookmark_in_state_messages_never_passes_unemitted_rows(simulator) -> None:
    sim = simulator(base_config(weeks=4))
    config = tap_config(sim, timespan_types=["weeks"], namespaces=["acme"])
    out = run_tap(config)
    emitted_weeks: set[str] = set()
    bookmarks_seen: list[str] = []
    for message in out.messages:
        if message["type"] == "RECORD" and message["stream"] == "pull_events":
            emitted_weeks.add(message["record"]["timespan_start"])
        if message["type"] == "STATE":
            partitions = message["value"]["bookmarks"].get("timespans", {}).get("partitions", [])
            for partition in partitions:
                bookmark = partition.get("replication_key_value")
                if bookmark:
                    assert bookmark in emitted_weeks, "bookmark moved past a week whose rows were not emitted"
                    if not bookmarks_seen or bookmarks_seen[-1] != bookmark:
                        bookmarks_seen.append(bookmark)
    # the bookmark was announced after each of the four weeks, in order, and the test saw it move
    weeks = [f"{start}T00:00:00Z" for _y, _n, start, _e in simdata.complete_timespans(sim.config, "acme", "weeks")]
    assert bookmarks_seen == weeks and len(weeks) == 4


def test_start_date_skips_older_timespans_on_the_first_run(simulator) -> None:
    sim = simulator(base_config(weeks=4))
    start = END - dt.timedelta(days=END.weekday() + 14)  # the Monday two weeks before the current week
    out = run_tap(tap_config(sim, timespan_types=["weeks"], start_date=start.isoformat()))
    starts = {r["timespan_start"][:10] for r in out.records["timespans"]}
    assert min(starts) == start.isoformat()
    assert len(starts) == 2


def test_namespaces_setting_limits_the_extraction(simulator) -> None:
    sim = simulator(base_config())
    out = run_tap(tap_config(sim, namespaces=["globex"], timespan_types=["months"], raw_timespan_type="months"))
    assert {r["namespace"] for rows in out.records.values() for r in rows} == {"globex"}
    assert {r["timespan_type"] for r in out.records["pull_events"]} == {"months"}


def test_raw_timespan_type_months(simulator) -> None:
    cfg = base_config()
    sim = simulator(cfg)
    out = run_tap(tap_config(sim, raw_timespan_type="months", namespaces=["acme"]))
    assert {r["timespan_type"] for r in out.records["pull_events"]} == {"months"}
    months = simdata.complete_timespans(cfg, "acme", "months")
    assert len(out.records["pull_events"]) == sum(
        simdata.expected_rows(cfg, "acme", "raw", "months", y, n) for y, n, _s, _e in months
    )


def test_progress_lines_per_file_timespan_and_run(simulator, caplog) -> None:
    cfg = base_config(namespaces=("acme",), weeks=2)
    sim = simulator(cfg)
    with caplog.at_level("INFO"):
        out = run_tap(tap_config(sim, timespan_types=["weeks"], progress_interval_seconds=0))
    lines = [r.getMessage() for r in caplog.records]
    events = out.counts()["pull_events"]
    (year, week, _s, _e), _ = simdata.complete_timespans(cfg, "acme", "weeks")
    first_week_rows = simdata.expected_rows(cfg, "acme", "raw", "weeks", year, week)
    assert f"acme raw weeks {year}/{week} file 1/1: {first_week_rows:,} rows, " in "\n".join(lines)
    assert any(
        line.startswith(f"acme weeks {year}/{week} done: ") and f"pull_events {first_week_rows}," in line
        for line in lines
    )
    assert any(
        line.startswith("Run summary: rows per stream: ") and f"pull_events {events:,}," in line for line in lines
    )


def test_batch_messages_carry_every_row_and_the_bookmark_still_moves(simulator, tmp_path) -> None:
    cfg = base_config(namespaces=("acme",), weeks=2)
    sim = simulator(cfg)
    config = tap_config(
        sim,
        timespan_types=["weeks"],
        batch_config={
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": tmp_path.as_uri(), "prefix": "pull-events-"},
        },
    )
    out = run_tap(config, catalog=catalog_selecting(config, ["pull_events"]))
    batches = [m for m in out.messages if m["type"] == "BATCH"]
    assert batches and not out.records
    rows = [row for rows in out.batch_records().values() for row in rows]
    assert len(rows) == expected_counts(cfg, types=("weeks",))["pull_events"]
    assert len({(r["year"], r["timespan"], r["file_index"], r["row_number"]) for r in rows}) == len(rows)
    last_week = simdata.complete_timespans(cfg, "acme", "weeks")[-1][2].isoformat()
    partitions = out.final_state["bookmarks"]["timespans"]["partitions"]
    assert partitions[0]["replication_key_value"] == f"{last_week}T00:00:00Z"
