"""The demo's last step: what the dbt marts answer, and a picture of them (scripts/demo.py calls this).

- `dbt_outcome`: what `dbt build` did (target/run_results.json): models built, tests passed, and every test that
  warned or failed, by name;
- `answers`: three questions the DVP dashboard answers, asked of the marts (dvp_pulls_weekly,
  dvp_tag_adoption_weekly, dvp_pulls_by_*_weekly), and the reconciliation's verdict (dvp_reconciliation);
- `draw`: weekly pulls of the top repositories and the tag adoption of the first one, as a PNG (matplotlib) and
  as a chart in the terminal (plotext).

Everything is read back from the DuckDB file with the duckdb of .venv; matplotlib and plotext are dev
dependencies (`pip install -e '.[dev]'`), never the tap's.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

TOP_REPOSITORIES = 5
TOP_TAGS = 4
MART_TABLES = (
    "dvp_pulls_weekly",
    "dvp_pulls_monthly",
    "dvp_tag_adoption_weekly",
    "dvp_pulls_by_client_weekly",
    "dvp_pulls_by_country_weekly",
    "dvp_pulls_by_cloud_weekly",
    "dvp_pulls_by_company_weekly",
    "dvp_unique_ips",
    "dvp_image_pairings",
    "dvp_reconciliation",
)


class MartsError(RuntimeError):
    """The marts are missing or empty, or dbt did not run: the message says which."""


# -------------------------------------------------------------------------------------------------
# dbt's outcome
# -------------------------------------------------------------------------------------------------
def dbt_outcome(target_path: Path) -> tuple[str, list[str]]:
    """(one line on what `dbt build` did, a line per test that did not pass) from run_results.json."""
    path = target_path / "run_results.json"
    try:
        results = json.loads(path.read_text())["results"]
    except (OSError, ValueError, KeyError) as exc:
        raise MartsError(f"dbt wrote no readable {path} ({exc}): did `dbt build` run?") from None
    models = [r for r in results if r["unique_id"].startswith("model.")]
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    built = sum(r["status"] == "success" for r in models)
    passed = sum(r["status"] == "pass" for r in tests)
    problems = [
        f"{r['status'].upper()}: {r['unique_id'].split('.')[2]}: {(r.get('message') or '').strip()}"
        for r in results
        if r["status"] not in ("success", "pass")
    ]
    return f"dbt build: {built} of {len(models)} models built, {passed} of {len(tests)} tests passed", problems


# -------------------------------------------------------------------------------------------------
# The answers
# -------------------------------------------------------------------------------------------------
@dataclass
class Marts:
    """A read-only connection to the marts schema of a DuckDB file."""

    con: Any
    schema: str

    @classmethod
    def open(cls, db_path: Path, schema: str) -> Marts:
        import duckdb

        con = duckdb.connect(str(db_path), read_only=True)
        found = {
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [schema]
            ).fetchall()
        }
        missing = [t for t in MART_TABLES if t not in found]
        if missing:
            con.close()
            raise MartsError(f"no mart {', '.join(missing)} in schema {schema} of {db_path}: did `dbt build` run?")
        return cls(con, schema)

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        return self.con.execute(sql.replace("{s}", self.schema), params or []).fetchall()

    def close(self) -> None:
        self.con.close()


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _top(marts: Marts, mart: str, dimension: str, repository: str, week: date, label: str, none: str) -> str:
    """The largest known group of a dimension mart for one repository and week, and the share of the unknown one
    (``none`` says what a null means there), as `label value share (none: share)`."""
    rows = marts.rows(
        f"SELECT {dimension}, sum(pulls) FROM {{s}}.{mart} WHERE repository = ? AND week_start = ? "  # noqa: S608
        "GROUP BY 1 ORDER BY 2 DESC, 1",
        [repository, week],
    )
    total = sum(int(pulls) for _value, pulls in rows)
    known = [(value, int(pulls)) for value, pulls in rows if value is not None]
    unknown = total - sum(pulls for _value, pulls in known)
    text = f"{label} {known[0][0]} {_share(known[0][1], total)}" if known else f"{label} -"
    return text + (f" ({none}: {_share(unknown, total)})" if unknown else "")


def answers(db_path: Path, schema: str) -> list[str]:
    """Three answers from the marts, and the reconciliation's verdict, as printable lines."""
    marts = Marts.open(db_path, schema)
    try:
        ((week,),) = marts.rows("SELECT max(week_start) FROM {s}.dvp_pulls_weekly")
        if week is None:
            raise MartsError(f"{schema}.dvp_pulls_weekly is empty")
        top = marts.rows(
            """SELECT repository, pulls, pulls_by_tag, pulls_by_digest, version_checks, source
               FROM {s}.dvp_pulls_weekly WHERE week_start = ? ORDER BY pulls DESC, repository LIMIT 3""",
            [week],
        )
        first = top[0][0]
        lines = [f"1. Which repositories were pulled most in the week of {week}? (dvp_pulls_weekly)"]
        for repository, pulls, by_tag, by_digest, checks, source in top:
            lines.append(
                f"     {repository:<28} {pulls:>7,} pulls: {by_tag:,} by tag, {by_digest:,} by digest, "
                f"{checks:,} version checks (from {source})"
            )
        tags = marts.rows(
            """SELECT tag, pulls, share_of_pulls FROM {s}.dvp_tag_adoption_weekly
               WHERE repository = ? AND week_start = ? ORDER BY pulls DESC, tag NULLS LAST LIMIT 4""",
            [first, week],
        )
        lines.append(f"2. Which tags of {first} were pulled that week? (dvp_tag_adoption_weekly)")
        lines.append(
            "     "
            + ", ".join(f"{tag if tag is not None else '(by digest)'} {100 * share:.0f}%" for tag, _p, share in tags)
        )
        lines.append(f"3. Who pulled {first} that week? (dvp_pulls_by_client/country/cloud/company_weekly)")
        lines.append(
            "     "
            + "; ".join(
                [
                    _top(marts, "dvp_pulls_by_client_weekly", "user_agent_tool", first, week, "client", "unknown"),
                    _top(marts, "dvp_pulls_by_country_weekly", "country", first, week, "country", "unknown"),
                    _top(marts, "dvp_pulls_by_cloud_weekly", "cloud_provider", first, week, "cloud", "none"),
                    _top(marts, "dvp_pulls_by_company_weekly", "domain", first, week, "company", "unknown"),
                ]
            )
        )
        compared = marts.rows(
            """SELECT summary_source, count(*), count(*) FILTER (WHERE NOT matches)
               FROM {s}.dvp_reconciliation GROUP BY 1 ORDER BY 1"""
        )
        checked = ", ".join(f"{n} with {source}" for source, n, _bad in compared) or "none"
        differing = sum(int(bad) for _s, _n, bad in compared)
        verdict = "all match" if differing == 0 else f"{differing} DIFFER (see docs/reconciliation.md)"
        lines.append(
            f"Reconciliation (dvp_reconciliation): raw pull events against the summaries per repository and "
            f"period ({checked}): {verdict}"
        )
        return lines
    finally:
        marts.close()


# -------------------------------------------------------------------------------------------------
# The picture
# -------------------------------------------------------------------------------------------------
@dataclass
class ChartData:
    weeks: list[date]
    pulls: dict[str, list[int]]  # top repository -> pulls per week (0 where none)
    repository: str  # the first one
    tag_shares: dict[str, list[float]]  # its top tags, "(by digest)" and "(other tags)" -> share per week


def chart_data(db_path: Path, schema: str) -> ChartData:
    marts = Marts.open(db_path, schema)
    try:
        weeks = [r[0] for r in marts.rows("SELECT DISTINCT week_start FROM {s}.dvp_pulls_weekly ORDER BY 1")]
        top = [
            r[0]
            for r in marts.rows(
                "SELECT repository FROM {s}.dvp_pulls_weekly GROUP BY 1 ORDER BY sum(pulls) DESC, 1 LIMIT ?",
                [TOP_REPOSITORIES],
            )
        ]
        if not top:
            raise MartsError(f"{schema}.dvp_pulls_weekly is empty: nothing to draw")
        pulls = {repository: [0] * len(weeks) for repository in top}
        for repository, week, count in marts.rows(
            "SELECT repository, week_start, sum(pulls) FROM {s}.dvp_pulls_weekly GROUP BY 1, 2"
        ):
            if repository in pulls:
                pulls[repository][weeks.index(week)] = int(count)
        first = top[0]
        tag_rows = marts.rows(
            "SELECT tag, week_start, share_of_pulls FROM {s}.dvp_tag_adoption_weekly WHERE repository = ?", [first]
        )
        totals: dict[str | None, float] = {}
        for tag, _week, share in tag_rows:
            totals[tag] = totals.get(tag, 0.0) + float(share or 0)
        named = [tag for tag in sorted((t for t in totals if t is not None), key=lambda t: -totals[t])][:TOP_TAGS]
        shares = {tag: [0.0] * len(weeks) for tag in [*named, "(by digest)", "(other tags)"]}
        for tag, week, share in tag_rows:
            key = tag if tag in named else "(by digest)" if tag is None else "(other tags)"
            shares[key][weeks.index(week)] += float(share or 0)
        return ChartData(weeks=weeks, pulls=pulls, repository=first, tag_shares=shares)
    finally:
        marts.close()


def draw_png(data: ChartData, path: Path, subtitle: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [week.strftime("%d %b") for week in data.weeks]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [1.35, 1]})
    for repository, counts in data.pulls.items():
        left.plot(labels, counts, marker="o", linewidth=2, label=repository)
    left.set_title(f"Weekly pulls, top {len(data.pulls)} repositories")
    left.set_ylabel("pulls (by tag + by digest + version checks)")
    left.set_xlabel("week starting")
    left.set_ylim(0, max(max(counts) for counts in data.pulls.values()) * 1.35)
    left.grid(axis="y", alpha=0.3)
    left.legend(fontsize=8, frameon=False, loc="upper left", ncol=2)
    bottom = [0.0] * len(labels)
    for tag, shares in data.tag_shares.items():
        percent = [100 * s for s in shares]
        right.bar(labels, percent, bottom=bottom, label=tag, width=0.7)
        bottom = [b + p for b, p in zip(bottom, percent, strict=True)]
    right.set_title(f"Tag adoption: {data.repository}")
    right.set_ylabel("share of the repository's pulls (%)")
    right.set_xlabel("week starting")
    right.set_ylim(0, 100)
    right.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(f"Docker Hub pulls from the dbt marts ({subtitle})", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw_terminal(data: ChartData, width: int = 100, height: int = 22) -> str:
    """The weekly pulls of the top repositories, and the first one's tag shares in the last week, as terminal text
    (without colours when stdout is not a terminal)."""
    import plotext as plt

    labels = [week.strftime("%d %b") for week in data.weeks]
    plt.clf()
    plt.plotsize(width, height)
    for (repository, counts), marker in zip(data.pulls.items(), "ox+*#", strict=False):
        # a marker each: the lines stay apart without colours too
        plt.plot(list(range(len(labels))), counts, label=repository, marker=marker)
    plt.xticks(list(range(len(labels))), labels)
    plt.ylim(0, max(max(counts) for counts in data.pulls.values()) * 1.6)  # room for the legend
    plt.title("Weekly pulls, top repositories (dvp_pulls_weekly)")
    lines = plt.build()
    plt.clf()
    latest = {tag: round(100 * shares[-1], 1) for tag, shares in data.tag_shares.items()}
    title = f"Tag adoption of {data.repository}, week of {data.weeks[-1]} (% of its pulls)"
    plt.simple_bar(list(latest), list(latest.values()), width=width, title=title)
    bars = plt.build()
    plt.clf()
    text = f"{lines}\n\n{bars}"
    return text if sys.stdout.isatty() else plt.uncolorize(text)
