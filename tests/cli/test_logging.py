"""What a person reads at the default log level (issue 12, "Logs a person wants to read"), run as a user does.

One weekly run of 2 namespaces (3 weeks and 1 month each: 8 timespans, 42 files) as a subprocess at the default
level; the tests read its stderr. The SDK's METRIC lines are for Meltano and are not counted.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from cli_support import LOG_LINE, CliRun, run_cli

from dockerdvp_simulator import SimConfig, Simulator
from dockerdvp_simulator import data as simdata
from tap_dockerdvp.dvp.periods import Timespan, utc_today
from tap_dockerdvp.tap import TapDockerDVP

ROOT = Path(__file__).resolve().parents[2]
END = dt.date(2026, 11, 18)
NAMESPACES = ("acme", "globex")
# The issue's budget for this run, METRIC lines aside.
MAX_LINES = 100
# Per-file lines ("acme raw weeks 2026/44 file 1/1: ...").
PER_FILE_LINE = re.compile(r" file \d+/\d+: ")


def weekly_config() -> SimConfig:
    return SimConfig(
        namespaces=NAMESPACES,
        extension_namespaces=("globex",),  # acme does not offer the ext-summary view, globex does
        weeks=3,
        rows_per_week=300,
        end_date=END,
        include_partial=False,
    )


@pytest.fixture(scope="module")
def weekly_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[CliRun, Simulator]:
    sim = Simulator(weekly_config()).start()
    try:
        config = {
            "username": sim.config.username,
            "password": sim.config.password,
            "api_url": sim.api_url,
        }  # every other setting at its default, hub_url included (the origin of api_url)
        yield run_cli(config=config, tmp_path=tmp_path_factory.mktemp("weekly")), sim
    finally:
        sim.stop()


def files_served(cfg: SimConfig) -> int:
    count = 0
    for namespace in cfg.namespaces:
        views = ["raw", "summary", "repo-summary", "namespace-summary", "geo-repo-summary"]
        views += ["ext-summary"] if namespace in cfg.extension_namespaces else []
        for timespan_type in ("weeks", "months"):
            timespans = simdata.complete_timespans(cfg, namespace, timespan_type)
            per_timespan = len(views) - (1 if timespan_type == "months" else 0)  # raw: weeks only
            count += len(timespans) * per_timespan * cfg.files_per_timespan
    return count


def test_the_run_is_the_one_the_issue_describes(weekly_run) -> None:
    run, sim = weekly_run
    assert run.code == 0, run.stderr[-3000:]
    timespans = sum(
        len(simdata.complete_timespans(sim.config, ns, t)) for ns in NAMESPACES for t in ("weeks", "months")
    )
    assert timespans == 8
    assert len([m for m in run.messages() if re.fullmatch(r"\S+ (weeks|months) \d+/\d+ done: .*", m)]) == 8


def test_a_weekly_run_prints_at_most_100_lines_besides_metrics(weekly_run) -> None:
    run, sim = weekly_run
    assert len(run.log_lines) <= MAX_LINES, "\n".join(run.log_lines)
    # files read within progress_interval_seconds say nothing at INFO; only what a file is about to be
    # read differently (unknown columns kept) is said per file
    per_file = [line for line in run.log_lines if PER_FILE_LINE.search(line)]
    assert all("keeping unknown columns" in line for line in per_file), per_file
    assert len(per_file) < files_served(sim.config)


def test_no_child_stream_lines_on_any_command(weekly_run, tmp_path: Path) -> None:
    run, sim = weekly_run
    config = {"username": "u", "password": "p", "api_url": sim.api_url}
    discover = run_cli("--discover", config=config, tmp_path=tmp_path)
    assert discover.code == 0, discover.stderr
    for printed in (run, discover):
        assert not [line for line in printed.lines if "as child stream" in line]
    debug = run_cli("--discover", config=config, tmp_path=tmp_path, level="DEBUG")
    added = [line for line in debug.lines if "as child stream to" in line]
    children = [s for s in TapDockerDVP(config=dict(config)).streams.values() if s.parent_stream_type]
    assert len(added) == len(children) and all("| DEBUG " in line for line in added), added


def test_beginning_sync_once_per_stream_and_never_for_a_view_not_offered(weekly_run) -> None:
    run, _sim = weekly_run
    messages = run.at("INFO")
    beginnings = [m for m in messages if m.startswith("Beginning sync of ")]
    streams = [re.match(r"Beginning sync of '(\w+)'", m)[1] for m in beginnings]  # type: ignore[index]
    assert len(streams) == len(set(streams)), streams
    # ext_premium_* are offered to no namespace; ext_summary only to globex, synced after acme.
    assert not {"ext_premium_summary", "ext_premium_geo"} & set(streams)
    ext = messages.index(next(m for m in beginnings if "'ext_summary'" in m))
    last_acme = max(i for i, m in enumerate(messages) if m.startswith("acme ") and " done: " in m)
    assert ext > last_acme


def test_one_summary_at_the_end_with_rows_mb_duration_and_what_was_skipped(weekly_run) -> None:
    run, _sim = weekly_run
    summary = [m for m in run.messages() if m.startswith("Run summary: ")]
    assert run.messages()[-len(summary) :] == summary, "the summary ends the run"
    totals = re.fullmatch(r"Run summary: ([\d,]+) rows in ([\d.]+) s; (\d+) files, ([\d.]+) MB downloaded", summary[0])
    assert totals, summary[0]
    records = run.records()
    assert int(totals[1].replace(",", "")) == sum(records.values())
    assert int(totals[3]) == 42 and float(totals[4]) > 0
    per_stream = dict(
        (name, int(rows.replace(",", "")))
        for name, rows in re.findall(r"(\w+) ([\d,]+)", summary[1].removeprefix("Run summary: rows per stream: "))
    )
    assert per_stream == records
    skipped = summary[2]
    # acme: ext_summary and ext_premium_*, globex: ext_premium_*, for weeks and months; the first 6 named
    assert skipped.startswith("Run summary: skipped, the namespace does not offer the data view: 10 (")
    assert "acme ext_summary weeks" in skipped and skipped.endswith(" and 4 more)")
    assert "globex ext_summary" not in skipped


def test_what_is_not_complete_yet_is_held_back_and_said_once(simulator, tmp_path: Path) -> None:
    today = utc_today()  # the tap's clock; the simulator's "today" is the same, and lists the open week
    sim = simulator(SimConfig(namespaces=("acme",), weeks=1, rows_per_week=20, end_date=today, include_partial=True))
    config = {**_credentials(sim), "api_url": sim.api_url, "timespan_types": ["weeks"]}
    run = run_cli(config=config, tmp_path=tmp_path)
    assert run.code == 0, run.stderr
    year, week, _ = today.isocalendar()
    assert not Timespan.of("weeks", year, week).is_complete(today)
    held = [m for m in run.messages() if m.startswith("Run summary: held back")]
    assert held == [f"Run summary: held back, not complete yet, left for a later run: 1 (acme weeks {year}/{week})"]
    assert not [m for m in run.messages() if "is not complete yet" in m]  # said once, in the summary


def _credentials(sim: Simulator) -> dict:
    return {"username": sim.config.username, "password": sim.config.password}


# -- the README says what the tap prints -----------------------------------------------------------------
def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_the_readme_names_the_log_settings() -> None:
    section = readme_section("Logging")
    for name in ("LOGLEVEL", "TAP_DOCKERDVP_LOGLEVEL", "SINGER_SDK_LOG_CONFIG", "DEBUG", "INFO", "WARNING", "METRIC"):
        assert name in section, name


def test_the_readme_sample_run_is_what_the_tap_prints(weekly_run) -> None:
    run, _sim = weekly_run
    sample = readme_section("Logging").split("```text\n", 1)[1].split("```", 1)[0]
    printed = [(m["level"], m["logger"], m["message"]) for m in map(LOG_LINE.match, run.log_lines) if m]
    checked = 0
    for line in sample.splitlines():
        if line.strip() in ("", "..."):
            continue
        level, logger, message = (part.strip() for part in line.split("|", 2))
        shape = re.escape(message)
        # numbers vary; so do versions (a pre-release SDK prints "v0.55.0b7")
        shape = re.sub(r"\d+(?:[.,]\d+)*", r"\\d+(?:[.,]\\d+)*(?:(?:a|b|rc|\\.dev)\\d+)?", shape)
        assert any(lv == level and lg == logger and re.fullmatch(shape, msg) for lv, lg, msg in printed), (
            f"README line not printed by the tap: {line}"
        )
        checked += 1
    assert checked >= 10


def test_the_readme_log_config_example_works(weekly_run, tmp_path: Path) -> None:
    _run, sim = weekly_run
    example = readme_section("Logging").split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "logging.yml"
    path.write_text(example)
    config = {**_credentials(sim), "api_url": sim.api_url, "timespan_types": ["weeks"]}
    run = run_cli(config=config, tmp_path=tmp_path, env={"SINGER_SDK_LOG_CONFIG": str(path)})
    assert run.code == 0, run.stderr
    assert "METRIC" not in run.stderr
    # the example's format: "%(asctime)s %(levelname)s %(name)s: %(message)s"
    assert any(re.fullmatch(r"\S+ \S+ INFO tap-dockerdvp: Run summary: [\d,]+ rows in .*", line) for line in run.lines)


def test_a_long_file_says_rows_and_mb_out_of_its_size(simulator, caplog) -> None:
    """Progress lines on a file read longer than `progress_interval_seconds`: rows, MB done out of the file's
    size and a percentage; a file of one row says "1 row"; a file read faster says nothing at INFO."""
    from tap_harness import catalog_selecting, run_tap, tap_config

    sim = simulator(SimConfig(namespaces=("acme",), weeks=1, rows_per_week=40_000, end_date=END,
                              include_partial=False, row_shape="wide"))  # fmt: skip
    config = tap_config(sim, timespan_types=["weeks"], progress_interval_seconds=0)
    with caplog.at_level("INFO"):
        run_tap(config, catalog=catalog_selecting(config, ["pull_events", "namespace_summary"]))
    lines = [m for m in caplog.messages if " file 1/1: " in m]
    ticks = [
        m for m in lines if re.search(r"raw weeks \d+/\d+ file 1/1: [\d,]+ rows, [\d.,]+ of [\d.,]+ MB \(\d+%\)", m)
    ]
    assert ticks, lines
    assert any(re.search(r"file 1/1: 40,000 rows, [\d.,]+ MB in [\d.]+ s$", m) for m in lines), lines
    assert any(re.search(r"namespace-summary weeks \d+/\d+ file 1/1: 1 row, ", m) for m in lines), lines
    assert not any(" 1 rows" in m for m in caplog.messages)

    caplog.clear()
    with caplog.at_level("INFO"):  # the default interval (30 s): these files are read within it
        run_tap(tap_config(sim, timespan_types=["weeks"]), catalog=catalog_selecting(config, ["namespace_summary"]))
    assert not [m for m in caplog.messages if " file 1/1: " in m and "rows" in m]
