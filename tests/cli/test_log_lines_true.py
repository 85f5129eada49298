"""Every count a log line gives is the count of what the tap sent: each period's "done" line counts that namespace's
and that period's rows only, and the run summary counts every stream's rows, as the RECORD messages do."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path

from cli_support import run_cli
from tap_harness import tap_config

from dockerdvp_simulator import SimConfig

END = dt.date(2026, 11, 18)
DONE = re.compile(r"^(?P<label>.+) done: (?P<counts>.+); [\d.]+ MB in [\d.]+ s$")


def period_of(stream: str, record: dict) -> str:
    """The label of the period a record belongs to, as the tap's "done" lines write it."""
    if "timespan" in record and "year" in record and stream != "timespans":
        return f"{record['namespace']} {record['timespan_type']} {record['year']}/{record['timespan']}"
    start = str(record["period_start"])[:10]
    return f"{record['namespace']} {record['report_type']} {record['granularity']}ly report {start}"


def test_period_lines_and_the_summary_count_exactly_the_rows_sent(simulator, tmp_path: Path) -> None:
    cfg = SimConfig(namespaces=("acme", "globex"), report_only_namespaces=("globex",), weeks=2, rows_per_week=300,
                    end_date=END, include_partial=False, files_per_timespan=2)  # fmt: skip
    sim = simulator(cfg)
    run = run_cli(config=tap_config(sim, timespan_types=["weeks"]), tmp_path=tmp_path)
    assert run.code == 0, run.stderr[-3000:]

    sent: Counter[str] = Counter()
    by_period: dict[str, Counter[str]] = {}
    for line in run.stdout.splitlines():
        message = json.loads(line)
        if message["type"] != "RECORD":
            continue
        stream, record = message["stream"], message["record"]
        sent[stream] += 1
        if "file_index" in record:  # a row of a period's files
            by_period.setdefault(period_of(stream, record), Counter())[stream] += 1
    assert {"pull_events", "summary", "report_trends"} <= set(sent)

    logged: dict[str, Counter[str]] = {}
    for message in run.messages():
        match = DONE.match(message)
        if match:
            assert match["label"] not in logged, f"two lines for {match['label']}"
            counts = Counter()
            if match["counts"] != "no rows":
                for part in match["counts"].split(", "):
                    name, rows = part.rsplit(" ", 1)
                    counts[name] = int(rows)
            logged[match["label"]] = counts
    assert by_period and set(by_period) <= set(logged)
    for label, counts in logged.items():
        assert counts == by_period.get(label, Counter()), label  # that namespace and period, nothing else

    [summary] = [m for m in run.messages() if m.startswith("Run summary: rows per stream: ")]
    said = {
        name: int(rows.replace(",", ""))
        for name, rows in (
            part.rsplit(" ", 1) for part in summary.removeprefix("Run summary: rows per stream: ").split(", ")
        )
    }
    assert said == dict(sent)
    [total] = [m for m in run.messages() if m.startswith("Run summary: ") and " rows in " in m]
    assert total.startswith(f"Run summary: {sum(sent.values()):,} rows in ")
