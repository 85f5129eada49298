"""Time windows (`start_date`, `end_date`) and `lookback_timespans`: which periods a run extracts, and the state it
leaves, for the export timespans and the report periods."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

import pytest
from tap_harness import TapOutput, catalog_selecting, run_tap, tap_config
from test_reports import sim_config as reports_sim_config

from dockerdvp_simulator import SimConfig
from dockerdvp_simulator import data as simdata
from dockerdvp_simulator import reports as simreports
from tap_dockerdvp.streams.completed_periods import PeriodWindow

END = dt.date(2026, 11, 18)  # a fixed clock in the past: every listed timespan is complete for the tap too
PULL_KEY = ("namespace", "timespan_type", "year", "timespan", "file_index", "row_number")
REPORT_KEY = ("namespace", "report_type", "granularity", "period_start", "file_index", "row_number")


def sim_config(**overrides) -> SimConfig:
    values = dict(weeks=8, rows_per_week=70, end_date=END, include_partial=False)
    values.update(overrides)
    return SimConfig(**values)


def starts(cfg: SimConfig, namespace: str, timespan_type: str = "weeks") -> list[dt.date]:
    """The first days of the complete timespans the simulator lists, oldest first."""
    return [first for _year, _number, first, _last in simdata.complete_timespans(cfg, namespace, timespan_type)]


def iso(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def timespans(out: TapOutput) -> list[tuple[str, str, dt.date]]:
    """(namespace, timespan type, start) of every timespan record, in the order emitted."""
    return [
        (r["namespace"], r["timespan_type"], dt.date.fromisoformat(r["timespan_start"][:10]))
        for r in out.records.get("timespans", [])
    ]


def rows_by_week(out: TapOutput) -> dict[tuple[str, dt.date], dict[tuple, dict]]:
    """pull_events records by (namespace, week start), each by its key."""
    found: dict[tuple[str, dt.date], dict[tuple, dict]] = defaultdict(dict)
    for r in out.records.get("pull_events", []):
        found[r["namespace"], dt.date.fromisoformat(r["timespan_start"][:10])][tuple(r[k] for k in PULL_KEY)] = r
    return found


def bookmarks(state: dict, stream: str = "timespans") -> dict[tuple, str]:
    """The bookmark of every partition of ``stream`` in a state."""
    return {
        tuple(sorted(p["context"].items())): p.get("replication_key_value")
        for p in state["bookmarks"].get(stream, {}).get("partitions", [])
    }


def raw_rows(cfg: SimConfig, namespace: str, week: dt.date) -> int:
    year, number, _ = week.isocalendar()
    return simdata.expected_rows(cfg, namespace, "raw", "weeks", year, number)


# -- the window rule itself ------------------------------------------------------------------------------
D = [dt.date(2026, 1, 5) + dt.timedelta(weeks=n) for n in range(8)]  # eight Mondays


@pytest.mark.parametrize(
    ("window", "again", "new"),
    [
        (PeriodWindow(bookmark=None), [], D),
        (PeriodWindow(bookmark=None, start_date=D[2], end_date=D[5]), [], D[2:5]),
        (PeriodWindow(bookmark=D[3]), [], D[4:]),
        (PeriodWindow(bookmark=D[3], lookback=2), D[2:4], D[4:]),
        (PeriodWindow(bookmark=D[3], lookback=9), D[:4], D[4:]),
        (PeriodWindow(bookmark=D[3], lookback=3, start_date=D[2]), D[2:4], D[4:]),  # not before start_date
        (PeriodWindow(bookmark=D[3], end_date=D[6], lookback=1), D[3:4], D[4:6]),
        (PeriodWindow(bookmark=None, lookback=2), [], D),  # no bookmark: nothing to look back at
        # a bookmark at or after end_date is not the window's own: the whole window, again
        (PeriodWindow(bookmark=D[6], start_date=D[1], end_date=D[4], lookback=1), D[1:4], []),
        (PeriodWindow(bookmark=D[4], end_date=D[4]), D[:4], []),
    ],
)
def test_the_window_rule(window: PeriodWindow, again: list, new: list) -> None:
    assert window.select(D, lambda day: day) == (again, new)


# -- end_date ---------------------------------------------------------------------------------------------
def test_end_date_window_is_exact_and_a_later_run_goes_on_from_it(simulator) -> None:
    cfg = sim_config(weeks=10)
    sim = simulator(cfg)
    weeks = starts(cfg, "acme")
    start, end = weeks[2], weeks[6]
    config = tap_config(sim, start_date=start.isoformat(), end_date=end.isoformat())
    catalog = catalog_selecting(config, ["timespans", "pull_events"])
    out = run_tap(config, catalog=catalog)

    listed = {(ns, tt): starts(cfg, ns, tt) for ns in cfg.namespaces for tt in ("weeks", "months")}
    inside = {(ns, tt, s) for (ns, tt), days in listed.items() for s in days if start <= s < end}
    assert any(tt == "months" for _ns, tt, _s in inside)
    assert sorted(timespans(out)) == sorted(inside)
    by_week = rows_by_week(out)
    assert set(by_week) == {(ns, s) for ns, tt, s in inside if tt == "weeks"}
    assert all(len(rows) == raw_rows(cfg, ns, week) for (ns, week), rows in by_week.items())
    # the bookmark moved within the window only: to the last timespan that starts before end_date
    last_inside = {(ns, tt): max(s for n, t, s in inside if (n, t) == (ns, tt)) for ns, tt in listed}
    expected = {(("namespace", ns), ("timespan_type", tt)): iso(day) for (ns, tt), day in last_inside.items()}
    assert bookmarks(out.final_state) == expected

    # a later run from that state, without the window's end, goes on from where the window ended
    later = run_tap(tap_config(sim, start_date=start.isoformat()), catalog=catalog, state=out.final_state)
    after = {(ns, tt, s) for (ns, tt), days in listed.items() for s in days if s > last_inside[ns, tt]}
    assert after and sorted(timespans(later)) == sorted(after)
    assert {s for ns, tt, s in after if tt == "weeks"} == set(weeks[6:])


def test_a_window_behind_the_bookmark_is_extracted_and_the_bookmark_stays(simulator, caplog) -> None:
    """The shard of an earlier window run after a later one, in the same state: it extracts its whole window and
    leaves the later bookmark alone, so an unwindowed run from that state skips nothing."""
    cfg = sim_config(namespaces=("acme",))
    sim = simulator(cfg)
    weeks = starts(cfg, "acme")
    catalog = catalog_selecting(tap_config(sim), ["timespans", "pull_events"])
    recent = tap_config(sim, timespan_types=["weeks"], start_date=weeks[4].isoformat())
    later = run_tap(recent, catalog=catalog)
    assert [s for _ns, _tt, s in timespans(later)] == weeks[4:]
    newest = {(("namespace", "acme"), ("timespan_type", "weeks")): iso(weeks[-1])}
    assert bookmarks(later.final_state) == newest

    window = tap_config(sim, timespan_types=["weeks"], start_date=weeks[0].isoformat(), end_date=weeks[4].isoformat())
    with caplog.at_level(logging.WARNING):
        earlier = run_tap(window, catalog=catalog, state=later.final_state)
    assert [s for _ns, _tt, s in timespans(earlier)] == weeks[:4]
    assert {week for _ns, week in rows_by_week(earlier)} == set(weeks[:4])
    assert sum(len(rows) for rows in rows_by_week(earlier).values()) == sum(raw_rows(cfg, "acme", w) for w in weeks[:4])
    assert all(bookmarks(state) == newest for state in earlier.states), "the bookmark moved back"
    warned = [r.getMessage() for r in caplog.records if "is not before end_date" in r.getMessage()]
    assert warned == [
        f"acme weeks: the bookmark {weeks[-1]} is not before end_date {weeks[4]}, so it is not this window's: the "
        f"window's 4 timespans ({weeks[0]} to {weeks[3]}) are extracted again and the bookmark stays at {weeks[-1]}. "
        "Give each window its own state ID (meltano run --state-id-suffix ...)"
    ]

    unwindowed = run_tap(tap_config(sim, timespan_types=["weeks"]), catalog=catalog, state=earlier.final_state)
    assert timespans(unwindowed) == []


# -- lookback_timespans ---------------------------------------------------------------------------------
@pytest.mark.parametrize("selected", [["timespans", "pull_events"], ["pull_events"]])
def test_lookback_reads_again_exactly_n_timespans_then_the_new_ones(simulator, caplog, selected) -> None:
    cfg = sim_config(weeks=6)
    sim = simulator(cfg)
    weeks = {ns: starts(cfg, ns) for ns in cfg.namespaces}
    assert all(len(days) == 6 for days in weeks.values())
    config = tap_config(sim, timespan_types=["weeks"])
    catalog = catalog_selecting(config, selected)
    first = run_tap(tap_config(sim, timespan_types=["weeks"], end_date=weeks["acme"][4].isoformat()), catalog=catalog)
    marked = {(("namespace", ns), ("timespan_type", "weeks")): iso(days[3]) for ns, days in weeks.items()}
    assert bookmarks(first.final_state) == marked  # week W is weeks[3]

    with caplog.at_level(logging.INFO):
        second = run_tap(tap_config(sim, timespan_types=["weeks"], lookback_timespans=2), catalog=catalog,
                         state=first.final_state)  # fmt: skip
    again = rows_by_week(second)
    for ns, days in weeks.items():
        # W-1 and W again, oldest first, then the new weeks
        if "timespans" in selected:
            assert [s for n, _tt, s in timespans(second) if n == ns] == days[2:]
        assert {week for n, week in again if n == ns} == set(days[2:])
        for week in days[2:4]:  # the same rows, by key, as the first run read
            assert again[ns, week] == rows_by_week(first)[ns, week]
        for week in days[4:]:
            assert len(again[ns, week]) == raw_rows(cfg, ns, week)
    final = {(("namespace", ns), ("timespan_type", "weeks")): iso(days[-1]) for ns, days in weeks.items()}
    assert bookmarks(second.final_state) == final
    # the bookmark never moved back while W-1 and W were read again
    for state in second.states:
        for partition, value in bookmarks(state).items():
            assert value >= marked[partition], (partition, value)
    lines = [r.getMessage() for r in caplog.records if "extracting again" in r.getMessage()]
    assert (
        f"acme weeks: extracting again the 2 most recent timespans up to the bookmark {weeks['acme'][3]} " in (lines[0])
    )

    # lookback 0 (the default): nothing is read again
    plain = run_tap(tap_config(sim, timespan_types=["weeks"]), catalog=catalog, state=first.final_state)
    assert {(n, w) for n, w in rows_by_week(plain)} == {(ns, w) for ns, days in weeks.items() for w in days[4:]}
    assert bookmarks(plain.final_state) == final


def test_lookback_on_a_state_with_nothing_new_reads_the_last_timespans_again(simulator) -> None:
    cfg = sim_config(namespaces=("acme",), weeks=4)
    sim = simulator(cfg)
    weeks = starts(cfg, "acme")
    config = tap_config(sim, timespan_types=["weeks"], lookback_timespans=1)
    catalog = catalog_selecting(config, ["timespans", "pull_events"])
    first = run_tap(config, catalog=catalog)  # no bookmark: the lookback changes nothing
    assert [s for _n, _t, s in timespans(first)] == weeks
    second = run_tap(config, catalog=catalog, state=first.final_state)
    assert [s for _n, _t, s in timespans(second)] == weeks[-1:]
    assert second.final_state == first.final_state


def test_lookback_reaches_into_the_year_before(simulator) -> None:
    """The lookback asks for an earlier year's listing when the bookmark's year has too few timespans."""
    cfg = sim_config(namespaces=("acme",), weeks=6, end_date=dt.date(2026, 1, 14))
    sim = simulator(cfg)
    weeks = starts(cfg, "acme")
    assert weeks[-3:] == [dt.date(2025, 12, 22), dt.date(2025, 12, 29), dt.date(2026, 1, 5)]  # 2025-W52, 2026-W01/02
    config = tap_config(sim, timespan_types=["weeks"])
    catalog = catalog_selecting(config, ["timespans", "pull_events"])
    first = run_tap(config, catalog=catalog)
    second = run_tap(tap_config(sim, timespan_types=["weeks"], lookback_timespans=3), catalog=catalog,
                     state=first.final_state)  # fmt: skip
    assert [(r["year"], r["timespan"]) for r in second.records["timespans"]] == [(2025, 52), (2026, 1), (2026, 2)]
    assert {week for _ns, week in rows_by_week(second)} == set(weeks[-3:])
    assert second.final_state == first.final_state


# -- report periods -----------------------------------------------------------------------------------------
def report_sim_config(**overrides) -> SimConfig:
    """test_reports' publisher (globex: reports only), with one report type and five months kept."""
    values = dict(
        weeks=8,
        rows_per_week=70,
        end_date=END,
        root_namespaces="accessible",
        report_types=("trend",),
        unknown_report_types=(),
        report_retention=5,
    )
    return reports_sim_config(**{**values, **overrides})


def report_periods(out: TapOutput) -> list[tuple[str, dt.date]]:
    return [(r["granularity"], dt.date.fromisoformat(r["period_start"][:10])) for r in out.records.get("reports", [])]


def trend_rows(out: TapOutput) -> dict[tuple[str, dt.date], dict[tuple, dict]]:
    found: dict[tuple[str, dt.date], dict[tuple, dict]] = defaultdict(dict)
    for r in out.records.get("report_trends", []):
        found[r["granularity"], dt.date.fromisoformat(r["period_start"][:10])][tuple(r[k] for k in REPORT_KEY)] = r
    return found


def test_report_periods_window_and_lookback(simulator, caplog) -> None:
    cfg = report_sim_config()
    sim = simulator(cfg)
    listed = {
        g: sorted({e["start"] for e in simreports.catalogue_entries(cfg, "globex") if e["granularity"] == g})
        for g in cfg.report_granularities
    }
    weekly = listed["weekly"]
    assert len(weekly) == 5
    config = tap_config(sim, namespaces=["globex"])
    catalog = catalog_selecting(config, ["reports", "report_trends"])

    # the window [weekly[1], weekly[4]): exactly the periods listed in it, of both granularities
    windowed = tap_config(sim, namespaces=["globex"], start_date=weekly[1].isoformat(), end_date=weekly[4].isoformat())
    first = run_tap(windowed, catalog=catalog)
    inside = {(g.removesuffix("ly"), s) for g, days in listed.items() for s in days if weekly[1] <= s < weekly[4]}
    assert sorted(report_periods(first)) == sorted(inside)
    assert set(trend_rows(first)) == inside
    assert bookmarks(first.final_state, "reports")[
        (("granularity", "week"), ("namespace", "globex"), ("report_type", "trends"))
    ] == iso(weekly[3])

    # lookback 2 from there: the two most recent weekly periods up to the bookmark again, then the new one
    with caplog.at_level(logging.INFO):
        second = run_tap(tap_config(sim, namespaces=["globex"], lookback_timespans=2), catalog=catalog,
                         state=first.final_state)  # fmt: skip
    weeks_read = [s for g, s in report_periods(second) if g == "week"]
    assert weeks_read == weekly[2:5]
    rows = trend_rows(second)
    for start in weekly[2:4]:
        assert rows["week", start] == trend_rows(first)["week", start]
    assert bookmarks(second.final_state, "reports")[
        (("granularity", "week"), ("namespace", "globex"), ("report_type", "trends"))
    ] == iso(weekly[4])
    before = bookmarks(first.final_state, "reports")
    for state in second.states:
        for partition, value in bookmarks(state, "reports").items():
            assert before.get(partition) is None or value >= before[partition], (partition, value)
    assert any(
        "globex trends week: extracting again the 2 most recent report periods" in r.getMessage()
        for r in caplog.records
    )


def test_lookback_in_batch_mode(simulator, tmp_path) -> None:
    """BATCH files carry the timespans read again and the new ones; the bookmark never moves back."""
    cfg = sim_config(namespaces=("acme",), weeks=5)
    sim = simulator(cfg)
    weeks = starts(cfg, "acme")
    batch = {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": tmp_path.as_uri(), "prefix": "lookback-"},
    }
    config = tap_config(sim, timespan_types=["weeks"], batch_config=batch)
    catalog = catalog_selecting(config, ["timespans", "pull_events"])
    first = run_tap(tap_config(sim, timespan_types=["weeks"], end_date=weeks[3].isoformat()), catalog=catalog)
    second = run_tap(tap_config(sim, timespan_types=["weeks"], batch_config=batch, lookback_timespans=2),
                     catalog=catalog, state=first.final_state)  # fmt: skip
    read = second.batch_records()
    assert [r["timespan_start"][:10] for r in read["timespans"]] == [w.isoformat() for w in weeks[1:]]
    by_week = defaultdict(int)
    for row in read["pull_events"]:
        by_week[dt.date.fromisoformat(row["timespan_start"][:10])] += 1
    assert by_week == {week: raw_rows(cfg, "acme", week) for week in weeks[1:]}
    key = (("namespace", "acme"), ("timespan_type", "weeks"))
    assert all(bookmarks(state)[key] >= iso(weeks[2]) for state in second.states)
    assert bookmarks(second.final_state) == {key: iso(weeks[-1])}
