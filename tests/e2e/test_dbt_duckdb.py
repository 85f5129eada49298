"""The dbt package (transform/) on a small DuckDB load made by hand, with the dbt of meltano's dbt-duckdb utility.

The load is what a partial, repeated extraction leaves behind, built row by row so every expectation is exact:

- three streams only (`pull_events`, `repo_summary`, `report_trends`): every other staging model must build empty,
  and say so;
- `pull_events` lacks some columns (`http_method`, `timestamp`, ...): null in staging;
- one key loaded twice (an older and a newer load, `_sdc_batched_at`): the newer row wins; a row a target marked
  deleted (`_sdc_deleted_at`) is left out;
- raw weekly files for ISO weeks 5 to 9 of 2026 (26 January to 1 March): February is covered completely, January
  and March in part; `repo_summary` holds the same pulls per week and for February, a January total, and a
  namespace (`initech`) with summaries only, and one (`hooli`) on the DVP program with a trends report only.

Then the same package must flag what is wrong: one raw event deleted makes the reconciliation warn, with the
difference in its stored failures; a later "today" makes the freshness test warn.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb")

from dbt_support import Dbt, assert_all_passed, require_dbt  # noqa: E402

pytestmark = pytest.mark.e2e

SOURCE = "dvp"
MARTS = "dvp_marts"
WEEKS = [dt.date(2026, 1, 26) + dt.timedelta(weeks=i) for i in range(5)]  # ISO weeks 5..9 of 2026
AS_OF = "2026-03-04"  # the Wednesday after the last week: it is the last completed week
NEW, OLD = dt.datetime(2026, 3, 3, 12), dt.datetime(2026, 3, 2, 12)
# (repository namespace, repository, action, tag, reference) of the events of a day, in turn
TARGETS = [
    ("acme", "server", "pull_by_tag", "latest", "latest"),
    ("acme", "server", "pull_by_digest", None, "sha256:aa"),
    ("acme", "agent", "pull_by_tag", "1.2", "1.2"),
    ("acme", "server", "version_check", None, "latest"),
    ("otherns", "legacy", "pull_by_tag", "2.0", "2.0"),
]


def raw_events() -> list[dict]:
    """The pull events of the five weekly files: day i of a week has i % 4 + 2 events."""
    rows = []
    for week in WEEKS:
        number = 0
        for offset in range(7):
            day = week + dt.timedelta(days=offset)
            for k in range(offset % 4 + 2):
                ns_col, repo, action, tag, reference = TARGETS[(offset + k) % len(TARGETS)]
                number += 1
                rows.append(
                    {
                        "namespace": "acme",
                        "timespan_type": "weeks",
                        "year": 2026,
                        "timespan": week.isocalendar()[1],
                        "timespan_start": dt.datetime.combine(week, dt.time()),
                        "timespan_end": dt.datetime.combine(week + dt.timedelta(days=6), dt.time()),
                        "file_index": 0,
                        "row_number": number,
                        "action": action,
                        "action_day": day.isoformat(),  # target-duckdb loads dates as text
                        "repository_namespace": ns_col,
                        "repository": repo,
                        "reference": reference,
                        "tag": tag,
                        "country": ["US", "DE", None][k % 3],
                        "host": ["aws", None][k % 2],
                        "type": "hosting" if k % 2 == 0 else "isp",
                        "domain": "example-corp.com",
                        "owner": "Acme, Inc.",
                        "user_agent_tool": "docker",
                        "_sdc_batched_at": NEW,
                        "_sdc_deleted_at": None,
                    }
                )
    return rows


def summary_rows(events: list[dict]) -> list[dict]:
    """repo_summary: the events' pulls per repository and week, and for February; a January total; initech."""
    rows: list[dict] = []

    def add(namespace: str, kind: str, number: int, start: dt.date, end: dt.date, counts: dict) -> None:
        for index, ((ns_col, repo), (by_tag, by_digest, checks)) in enumerate(sorted(counts.items()), 1):
            rows.append(
                {
                    "namespace": namespace,
                    "timespan_type": kind,
                    "year": start.year,
                    "timespan": number,
                    "timespan_start": dt.datetime.combine(start, dt.time()),
                    "timespan_end": dt.datetime.combine(end, dt.time()),
                    "file_index": 0,
                    "row_number": index,
                    "repository_namespace": ns_col,
                    "repository": repo,
                    "unique_ip_count": 7,
                    "pull_by_tag": by_tag,
                    "pull_by_digest": by_digest,
                    "version_check": checks,
                    "owner": "Acme, Inc.",
                }
            )

    def counts(selected: list[dict]) -> dict:
        tally: Counter = Counter((e["repository_namespace"], e["repository"], e["action"]) for e in selected)
        repos = {(ns, repo) for ns, repo, _action in tally}
        return {r: tuple(tally[(*r, a)] for a in ("pull_by_tag", "pull_by_digest", "version_check")) for r in repos}

    for week in WEEKS:
        add("acme", "weeks", week.isocalendar()[1], week, week + dt.timedelta(days=6), counts(
            [e for e in events if e["timespan_start"].date() == week]
        ))  # fmt: skip
        add(
            "initech",
            "weeks",
            week.isocalendar()[1],
            week,
            week + dt.timedelta(days=6),
            {("initech", "tool"): (3, 2, 1)},
        )
    february = [e for e in events if e["action_day"].startswith("2026-02")]
    add("acme", "months", 2, dt.date(2026, 2, 1), dt.date(2026, 2, 28), counts(february))
    add("acme", "months", 1, dt.date(2026, 1, 1), dt.date(2026, 1, 31), {("acme", "server"): (100, 50, 10)})
    return rows


def trend_rows() -> list[dict]:
    """report_trends of hooli for the week of 23 February: 5 pulls of `latest`, 3 by digest, 2 version checks."""
    week = WEEKS[-1]
    rows = []
    for number, (tag, downloads, checks, csp) in enumerate([("latest", 5, 2, "aws"), (None, 3, 0, "no csp")], 1):
        rows.append(
            {
                "namespace": "hooli",
                "report_type": "trends",
                "granularity": "week",
                "period_start": dt.datetime.combine(week, dt.time()),
                "period_end": dt.datetime.combine(week + dt.timedelta(days=6), dt.time()),
                "file_index": 0,
                "row_number": number,
                "image_repository": "hooli/app",
                "repository_namespace": "hooli",
                "ip_country": "US",
                "cloud_service_provider": csp,
                "user_agent": "docker",
                "tag": tag,
                "data_downloads": downloads,
                "version_checks": checks,
                "pulls": downloads + checks,
            }
        )
    return rows


def write_table(con: object, table: str, rows: list[dict]) -> None:
    columns = list(rows[0])
    types = {
        "timespan_start": "TIMESTAMP",
        "timespan_end": "TIMESTAMP",
        "_sdc_batched_at": "TIMESTAMP",
        "_sdc_deleted_at": "TIMESTAMP",
        "period_start": "TIMESTAMP",
        "period_end": "TIMESTAMP",
    }
    numbers = {"year", "timespan", "file_index", "row_number", "unique_ip_count", "pull_by_tag", "pull_by_digest"}
    numbers.update({"version_check", "data_downloads", "version_checks", "pulls"})
    ddl = ", ".join(f'"{c}" {types.get(c, "HUGEINT" if c in numbers else "VARCHAR")}' for c in columns)
    con.execute(f"CREATE TABLE {SOURCE}.{table} ({ddl})")  # type: ignore[attr-defined]
    placeholders = ", ".join("?" for _ in columns)
    con.executemany(  # type: ignore[attr-defined]
        f"INSERT INTO {SOURCE}.{table} VALUES ({placeholders})",  # noqa: S608 - test names
        [[row[c] for c in columns] for row in rows],
    )


@pytest.fixture(scope="module")
def load(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[dict]]]:
    """The hand-made load: (DuckDB file, the raw events that count)."""
    path = tmp_path_factory.mktemp("dbt-duckdb") / "load.duckdb"
    events = raw_events()
    duplicate = {**events[0], "action": "version_check", "_sdc_batched_at": OLD}  # an older load of the same key
    deleted = {**events[1], "row_number": 9999, "_sdc_deleted_at": NEW}  # gone from the source since
    con = duckdb.connect(str(path))
    try:
        con.execute(f"CREATE SCHEMA {SOURCE}")
        write_table(con, "pull_events", [duplicate, *events, deleted])
        write_table(con, "repo_summary", summary_rows(events))
        write_table(con, "report_trends", trend_rows())
    finally:
        con.close()
    yield path, events


@pytest.fixture(scope="module")
def dbt(load: tuple[Path, list[dict]], tmp_path_factory: pytest.TempPathFactory) -> Dbt:
    path, _events = load
    # what the dbt-duckdb utility's settings become (tests/e2e/test_demo_marts.py runs it through meltano)
    env = {"DBT_DUCKDB_PATH": str(path), "DOCKERDVP_SCHEMA": SOURCE, "DBT_DUCKDB_SCHEMA": MARTS}
    return Dbt(require_dbt("dbt-duckdb"), "dbt-duckdb", tmp_path_factory.mktemp("dbt-run"), env)


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_a_partial_repeated_load_builds_staging_and_marts_exactly(dbt: Dbt, load: tuple[Path, list[dict]]) -> None:
    path, events = load
    output = dbt.direct("build", "--vars", f"{{dockerdvp_as_of_date: '{AS_OF}'}}", name="build", profile="duckdb")
    assert_all_passed(dbt.results())

    # -- staging: the streams that were not loaded build empty, and the log says why ----------------------
    staging = f"{MARTS}_staging"
    assert query(path, f"SELECT count(*) FROM {staging}.stg_dockerdvp__report_summary") == [(0,)]  # noqa: S608
    assert f'"{SOURCE}"."report_summary" does not exist (stream report_summary not loaded)' in output, output[-3000:]
    assert re.search(
        r'"pull_events" has no column [^:]*\bhttp_method\b[^:]*: null in stg_dockerdvp__pull_events', output
    )
    # one row per key, the newer load of a key, no deleted row, missing columns null, types as documented
    ((rows, keys, nulls),) = query(
        path,
        f"SELECT count(*), count(DISTINCT (timespan, file_index, row_number)), count(http_method) "  # noqa: S608
        f"FROM {staging}.stg_dockerdvp__pull_events",
    )
    assert (rows, keys, nulls) == (len(events), len(events), 0)
    first = events[0]
    assert query(
        path,
        f"SELECT action, action_day, period_start FROM {staging}.stg_dockerdvp__pull_events "  # noqa: S608
        f"WHERE timespan = {first['timespan']} AND row_number = 1",
    ) == [(first["action"], WEEKS[0], WEEKS[0])]
    assert query(path, f"SELECT count(*) FROM {staging}.stg_dockerdvp__pull_events WHERE row_number = 9999") == [(0,)]  # noqa: S608

    # -- weekly: acme from its raw events (every one of them), initech from its summaries, hooli from its report --
    weekly = query(
        path,
        f"SELECT namespace, source, is_complete, count(*), sum(pulls), "  # noqa: S608
        f"sum(pulls_by_tag + pulls_by_digest + version_checks) FROM {MARTS}.dvp_pulls_weekly GROUP BY ALL ORDER BY 1",
    )
    assert weekly == [
        ("acme", "pull_events", True, 15, len(events), len(events)),
        ("hooli", "report_trends", True, 1, 10, 10),
        ("initech", "repo_summary", True, 5, 30, 30),
    ]
    assert query(
        path,
        f"SELECT pulls_by_tag, pulls_by_digest, version_checks, week_start FROM {MARTS}.dvp_pulls_weekly "  # noqa: S608
        "WHERE namespace = 'hooli'",
    ) == [(5, 3, 2, WEEKS[-1])]
    # the report's `no csp` is no cloud provider, as a null host is in the raw events
    assert query(
        path,
        f"SELECT cloud_provider, pulls FROM {MARTS}.dvp_pulls_by_cloud_weekly WHERE namespace = 'hooli' ORDER BY 1",  # noqa: S608
    ) == [("aws", 7), (None, 3)]
    assert query(path, f"SELECT DISTINCT repository FROM {MARTS}.dvp_pulls_weekly ORDER BY 1") == [  # noqa: S608
        ("acme/agent",),
        ("acme/server",),
        ("hooli/app",),
        ("initech/tool",),
        ("otherns/legacy",),  # an extra repository: its own namespace in its name
    ]

    # -- monthly: February from the raw events (covered), January from the summary, March in part ------------
    monthly = query(
        path,
        f"SELECT namespace, month_start, source, is_complete, sum(pulls) FROM {MARTS}.dvp_pulls_monthly "  # noqa: S608
        "GROUP BY ALL ORDER BY 1, 2",
    )
    february = sum(e["action_day"].startswith("2026-02") for e in events)
    march = sum(e["action_day"].startswith("2026-03") for e in events)
    assert monthly == [
        ("acme", dt.date(2026, 1, 1), "repo_summary", True, 160),
        ("acme", dt.date(2026, 2, 1), "pull_events", True, february),
        ("acme", dt.date(2026, 3, 1), "pull_events", False, march),
    ]

    # -- tags: shares of a repository and week add up to 1; a version check counts for the tag it checked ----
    tags = query(
        path,
        f"SELECT tag, sum(pulls_by_tag), sum(pulls_by_digest), sum(version_checks) "  # noqa: S608
        f"FROM {MARTS}.dvp_tag_adoption_weekly WHERE repository = 'acme/server' GROUP BY ALL ORDER BY 1",
    )
    actions = Counter(e["action"] for e in events if e["repository"] == "server")
    assert tags == [
        ("latest", actions["pull_by_tag"], 0, actions["version_check"]),
        (None, 0, actions["pull_by_digest"], 0),
    ]
    sums = query(
        path,
        f"SELECT DISTINCT round(sum(share_of_pulls), 9) FROM {MARTS}.dvp_tag_adoption_weekly "  # noqa: S608
        "GROUP BY namespace, repository, week_start",
    )
    assert sums == [(1.0,)]

    # -- the reconciliation compared every covered week and February, and all match -----------------------
    compared = query(
        path,
        f"SELECT period_type, count(*), bool_and(matches) FROM {MARTS}.dvp_reconciliation GROUP BY ALL ORDER BY 1",  # noqa: S608
    )
    assert compared == [("month", 3, True), ("week", 15, True)]


def test_the_reconciliation_and_the_freshness_test_warn_when_they_should(
    dbt: Dbt, load: tuple[Path, list[dict]]
) -> None:
    """A raw event lost makes the reconciliation warn, with the difference stored; a month later, so does the
    freshness test. Both passed on the same models just before (the positive control)."""
    path, events = load
    watched = ("dockerdvp_raw_pulls_match_summaries", "dockerdvp_recent_weeks_dvp_pulls_weekly_week_start")
    select = ("--select", "+dvp_reconciliation", "+dvp_pulls_weekly")
    dbt.direct("build", *select, "--vars", f"{{dockerdvp_as_of_date: '{AS_OF}'}}", name="before", profile="duckdb")
    assert {name: dbt.results()[name].status for name in watched} == dict.fromkeys(watched, "pass")

    # one pull by tag of acme/server in the week of 9 February lost from the raw events; a month passes
    victim = next(
        e
        for e in events
        if e["action"] == "pull_by_tag" and e["repository"] == "server" and e["timespan_start"].day == 9
    )
    con = duckdb.connect(str(path))
    try:
        con.execute(
            f"DELETE FROM {SOURCE}.pull_events WHERE timespan = ? AND row_number = ?",  # noqa: S608
            [victim["timespan"], victim["row_number"]],
        )
    finally:
        con.close()
    dbt.direct("build", *select, "--vars", "{dockerdvp_as_of_date: '2026-04-01'}", name="after", profile="duckdb")
    results = dbt.results()
    reconciliation, freshness = (results[name] for name in watched)
    assert (reconciliation.status, reconciliation.failures) == ("warn", 2), reconciliation  # its week and February
    differences = query(
        path,
        f"SELECT period_type, period_start, repository, summary_source, pulls_by_tag_difference, "  # noqa: S608
        f"pulls_by_digest_difference, version_checks_difference "
        f"FROM {MARTS}_dbt_test__audit.dockerdvp_raw_pulls_match_summaries ORDER BY 1",
    )
    assert differences == [
        ("month", dt.date(2026, 2, 1), "acme/server", "repo_summary", 1, 0, 0),
        ("week", dt.date(2026, 2, 9), "acme/server", "repo_summary", 1, 0, 0),
    ]
    assert (freshness.status, freshness.failures) == ("warn", 3), freshness  # acme, initech and hooli
    others = {n: r.status for n, r in results.items() if n not in watched}
    assert set(others.values()) <= {"success", "pass"}, others
