"""The DVP program's report catalogue: report streams, the data_source choice, incremental state, retention."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import Counter

import pytest
from tap_harness import catalog_selecting, run_tap, run_tap_until_error, tap_config

from dockerdvp_simulator import SimConfig
from dockerdvp_simulator import data as simdata
from dockerdvp_simulator import reports as simreports
from tap_dockerdvp.dvp.catalogue import parse_catalogue
from tap_dockerdvp.dvp.report_views import ReportPeriod, file_name_of, period_of, report_type_of

END = dt.date(2026, 11, 18)  # a fixed clock in the past: every listed report is complete for the tap too
REPORT_STREAMS = (
    "report_summary",
    "report_trends",
    "report_technographic",
    "report_technographic_companies",
    "report_tracked_companies",
    "report_other",
)
STREAM_OF_TYPE = {
    "summary": "report_summary",
    "trend": "report_trends",
    "technographic": "report_technographic",
    "technographic-companies": "report_technographic_companies",
    "tracked_companies": "report_tracked_companies",
}


def sim_config(**overrides) -> SimConfig:
    values = dict(
        weeks=6,
        rows_per_week=140,
        end_date=END,
        include_partial=False,
        report_namespaces=("globex",),
        empty_export_namespaces=("globex",),  # globex: reports only, like the publisher in the issue
    )
    values.update(overrides)
    return SimConfig(**values)


def expected_report_rows(cfg: SimConfig, namespaces=None) -> Counter:
    """Rows per report stream, and periods for `reports`, of every report the catalogues list."""
    expected: Counter = Counter()
    for ns in namespaces or cfg.report_namespaces:
        periods = set()
        for entry in simreports.catalogue_entries(cfg, ns):
            _header, rows = simreports.report_table(cfg, ns, entry["type"], entry["granularity"], entry["start"])
            expected[STREAM_OF_TYPE.get(entry["type"], "report_other")] += len(rows)
            periods.add((entry["type"], entry["granularity"], entry["start"]))
        expected["reports"] += len(periods)
    return expected


def report_counts(out) -> Counter:
    return Counter({k: v for k, v in out.counts().items() if k == "reports" or k.startswith("report_")})


def assert_unique_keys(out) -> None:
    schemas = out.schemas()
    for stream, rows in out.records.items():
        keys = schemas[stream]["key_properties"]
        assert len({tuple(r[k] for k in keys) for r in rows}) == len(rows), f"duplicate keys in {stream}"


def test_auto_reads_each_namespace_where_its_data_is(simulator, caplog) -> None:
    cfg = sim_config()
    sim = simulator(cfg)
    with caplog.at_level(logging.INFO):
        out = run_tap(tap_config(sim))

    assert report_counts(out) == expected_report_rows(cfg)
    for stream in (*REPORT_STREAMS, "reports"):
        assert {r["namespace"] for r in out.records[stream]} == {"globex"}, stream
    for stream in ("timespans", "pull_events", "repo_summary"):
        assert {r["namespace"] for r in out.records[stream]} == {"acme"}, stream
    assert_unique_keys(out)
    log = caplog.text
    assert "Namespace acme: data_source=auto: the legacy export lists years: reading the legacy export" in log
    assert "Namespace globex: data_source=auto: the report catalogue lists reports: reading the report catalogue" in log


def test_report_records_are_typed_and_keep_every_row(simulator) -> None:
    cfg = sim_config(report_namespaces=("acme",), empty_export_namespaces=())
    sim = simulator(cfg)
    config = tap_config(sim, data_source="reports", namespaces=["acme"])
    records = run_tap(config, catalog=catalog_selecting(config, ["reports", *REPORT_STREAMS])).records

    for stream in REPORT_STREAMS:
        for row in records[stream]:
            assert row["period_start"][:10] == (row.get("date_reference") or row["period_start"][:10])
            assert row["granularity"] in ("week", "month")
            assert not re.search(r"[?&]X-Amz|/", row["file_name"])
            assert row["publisher_name" if stream != "report_other" else "values"]
    # `\N` and `\\N` are null, never strings; the publisher name keeps its quoted comma.
    for stream in REPORT_STREAMS:
        for row in records[stream]:
            values = row["values"].values() if stream == "report_other" else row.values()
            assert not any(isinstance(v, str) and v.endswith("\\N") for v in values), stream
    trends = records["report_trends"]
    assert {r["publisher_name"] for r in trends} == {"Acme, Inc."}
    assert any(r["tag"] is None for r in trends) and any(r["tag"] for r in trends)  # null tag: pulls by digest
    for row in trends:
        assert isinstance(row["pulls"], int) and row["pulls"] == row["data_downloads"] + row["version_checks"]
        assert "/" in row["image_repository"] and row["repository_namespace"] in ("acme", "otherns")
    # A week's trend PULLS add up to the raw pull rows of that week.
    week = min(r["period_start"] for r in trends if r["granularity"] == "week")
    year, number, _ = dt.date.fromisoformat(week[:10]).isocalendar()
    raw = simdata.expected_rows(cfg, "acme", "raw", "weeks", year, number)
    assert sum(r["pulls"] for r in trends if r["period_start"] == week and r["granularity"] == "week") == raw

    # LEVEL values are not settled (docs vs mezmo): every row is kept with its LEVEL.
    assert {r["level"] for r in records["report_summary"]} == {"namespace", "publisher", "repository", "tag", "digest"}
    assert all(r["event_count"] == r["data_downloads"] + r["version_checks"] for r in records["report_summary"])

    techno = records["report_technographic"]
    assert all(isinstance(r["pct_users"], (int, float)) and isinstance(r["total_pullers"], int) for r in techno)
    # Monthly files have no PUBLISHER_ID column: mapped by header name, the column is null, nothing shifts.
    assert {r["publisher_id"] is None for r in techno if r["granularity"] == "month"} == {True}
    assert all(r["publisher_id"] for r in techno if r["granularity"] == "week")
    assert all(r["paired_image"].startswith(("library/", "bitnami/")) for r in techno)
    tracked = records["report_tracked_companies"]
    assert {r["inferred_use_case"] for r in tracked} <= {"Local Dev", "CI/CD", "Prod", "Unknown"}

    months = [r for r in records["reports"] if r["granularity"] == "month"]
    october = [r for r in months if r["period_start"][:7] == "2026-10"]
    assert october and all(r["period_end"] == "2026-10-31T00:00:00Z" for r in october)


@pytest.mark.parametrize("style", ["hub", "presigned"])
def test_report_files_of_every_type_under_one_name_are_all_read(simulator, style: str) -> None:
    """Docker's `<name>` in `<name>_weekly_YYYY_MM_DD.csv` is unknown: with a folder per type and one file name
    for every type, each type's rows come from its own file (the catalogue kept one type per name)."""
    cfg = sim_config(report_namespaces=("acme",), empty_export_namespaces=(), report_file_names="folders",
                     report_url_style=style)  # fmt: skip
    sim = simulator(cfg)
    config = tap_config(sim, data_source="reports", namespaces=["acme"])
    out = run_tap(config, catalog=catalog_selecting(config, ["reports", *REPORT_STREAMS]))
    assert report_counts(out) == expected_report_rows(cfg, ["acme"])
    assert_unique_keys(out)
    assert {r["file_name"] for r in out.records["report_trends"]} == {
        r["file_name"] for r in out.records["report_summary"]
    }  # one name, two types
    assert all(r["level"] for r in out.records["report_summary"])
    assert all(r["pulls"] for r in out.records["report_trends"])


def test_unknown_report_type_goes_to_report_other_and_is_logged(simulator, caplog) -> None:
    cfg = sim_config(report_types=("trend",), unknown_report_types=("benchmark",))
    sim = simulator(cfg)
    config = tap_config(sim, namespaces=["globex"])
    with caplog.at_level(logging.INFO):
        out = run_tap(config, catalog=catalog_selecting(config, ["report_other", "report_trends"]))
    assert "report type 'benchmark' is not known to this tap" in caplog.text
    other = out.records["report_other"]
    assert len(other) == expected_report_rows(cfg)["report_other"]
    assert {r["report_type"] for r in other} == {"benchmark"} == {r["catalogue_type"] for r in other}
    first = other[0]["values"]
    assert list(first)[:3] == ["DATE_GRANULARITY", "DATE_REFERENCE", "PUBLISHER_NAME"]  # headers as written
    assert any(r["values"]["PEER_GROUP"] == "all, publishers" and r["values"]["PEER_RANK"] is None for r in other)
    # Its own bookmark, like any report type.
    contexts = [p["context"] for p in out.final_state["bookmarks"]["reports"]["partitions"]]
    assert {"namespace": "globex", "report_type": "benchmark", "granularity": "week"} in contexts


def test_report_type_map_names_a_type_the_tap_does_not_know(simulator) -> None:
    cfg = sim_config(report_types=(), unknown_report_types=("companies",), report_granularities=("weekly",))
    sim = simulator(cfg)
    config = tap_config(sim, namespaces=["globex"], report_type_map={"companies": "tracked_companies"})
    out = run_tap(config, catalog=catalog_selecting(config, list(REPORT_STREAMS)))
    assert set(out.counts()) == {"report_tracked_companies"}
    assert out.counts()["report_tracked_companies"] == expected_report_rows(cfg)["report_other"]
    assert "PEER_GROUP" in out.records["report_tracked_companies"][0]["extra_columns"]

    _out, error = run_tap_until_error(tap_config(sim, report_type_map={"companies": "nonsense"}))
    assert error is not None and "report_type_map" in str(error)


def test_second_run_emits_nothing_and_a_new_week_exactly_once(simulator, caplog) -> None:
    cfg = sim_config()
    sim = simulator(cfg)
    config = tap_config(sim, namespaces=["globex"])
    first = run_tap(config)
    assert report_counts(first) == expected_report_rows(cfg)

    second = run_tap(config, state=first.final_state)
    assert report_counts(second) == Counter()
    assert second.final_state["bookmarks"]["reports"] == first.final_state["bookmarks"]["reports"]

    sim.set_end_date(END + dt.timedelta(days=7))
    with caplog.at_level(logging.WARNING):
        third = run_tap(config, state=second.final_state)
    new_week = (END - dt.timedelta(days=END.weekday())).isoformat()
    periods = {(r["report_type"], r["granularity"], r["period_start"][:10]) for r in third.records["reports"]}
    types = ("summary", "trends", "technographic", "technographic_companies", "tracked_companies", "benchmark")
    assert periods == {(t, "week", new_week) for t in types}
    expected = sum(
        len(simreports.report_table(sim.config, "globex", t, "weekly", dt.date.fromisoformat(new_week))[1])
        for t in (*cfg.report_types, *cfg.unknown_report_types)
    )
    assert sum(len(third.records.get(s, [])) for s in REPORT_STREAMS) == expected
    assert "can no longer be extracted" not in caplog.text


def test_a_bookmark_older_than_the_catalogue_warns_of_the_gap(simulator, caplog) -> None:
    start = END - dt.timedelta(weeks=8)  # the clock moves six weeks and must stay in the past
    sim = simulator(sim_config(end_date=start, report_retention=4, report_types=("trend",), unknown_report_types=()))
    config = tap_config(sim, namespaces=["globex"])
    first = run_tap(config)
    last_week = max(r["period_start"][:10] for r in first.records["reports"] if r["granularity"] == "week")

    sim.set_end_date(start + dt.timedelta(weeks=6))  # six new weeks; the catalogue keeps the newest four
    with caplog.at_level(logging.WARNING):
        second = run_tap(config, state=first.final_state)
    gaps = [r for r in caplog.records if "can no longer be extracted" in r.getMessage()]
    assert len(gaps) == 1 and gaps[0].levelno == logging.WARNING
    missing_from = (dt.date.fromisoformat(last_week) + dt.timedelta(weeks=1)).isoformat()
    assert f"globex trends weekly reports: no report for {missing_from} to " in gaps[0].getMessage()
    weeks = sorted(r["period_start"][:10] for r in second.records["reports"] if r["granularity"] == "week")
    assert len(weeks) == 4 and weeks[0] == (dt.date.fromisoformat(last_week) + dt.timedelta(weeks=3)).isoformat()


def test_child_only_selection_still_moves_the_bookmark(simulator) -> None:
    sim = simulator(sim_config())
    config = tap_config(sim, namespaces=["globex"])
    catalog = catalog_selecting(config, ["report_trends"])
    first = run_tap(config, catalog=catalog)
    assert set(first.counts()) == {"report_trends"}
    partitions = first.final_state["bookmarks"]["reports"]["partitions"]
    assert partitions and all(p["replication_key_value"] for p in partitions)
    # only the trends partitions: the other types' rows went nowhere, so their bookmarks did not move
    assert {p["context"]["report_type"] for p in partitions} == {"trends"}
    assert first.final_state["bookmarks"]["report_trends"] in ({}, {"partitions": []})
    assert run_tap(config, catalog=catalog, state=first.final_state).counts() == {}


def test_a_report_stream_selected_later_still_gets_the_reports_docker_keeps(simulator) -> None:
    cfg = sim_config()
    sim = simulator(cfg)
    config = tap_config(sim, namespaces=["globex"])
    first = run_tap(config, catalog=catalog_selecting(config, ["report_trends"]))
    later = run_tap(
        config, catalog=catalog_selecting(config, ["report_trends", "report_summary"]), state=first.final_state
    )
    assert set(later.counts()) == {"report_summary"}  # every summary report, none of the trends again
    assert later.counts()["report_summary"] == expected_report_rows(cfg)["report_summary"]


def test_bookmark_in_state_messages_never_passes_unemitted_rows(simulator) -> None:
    sim = simulator(sim_config(report_types=("trend",), unknown_report_types=()))
    out = run_tap(tap_config(sim, namespaces=["globex"]))
    emitted: set[tuple] = set()
    for message in out.messages:
        if message["type"] == "RECORD" and message["stream"] == "report_trends":
            record = message["record"]
            emitted.add((record["granularity"], record["period_start"]))
        if message["type"] == "STATE":
            for partition in message["value"]["bookmarks"].get("reports", {}).get("partitions", []):
                bookmark = partition.get("replication_key_value")
                if bookmark:
                    assert (partition["context"]["granularity"], bookmark) in emitted


@pytest.mark.parametrize("style", ["hub", "presigned", "redirect"])
def test_report_urls_on_the_hub_or_presigned_elsewhere(simulator, style: str) -> None:
    """The Bearer token goes to the Hub's host only; storage refuses a request that carries it (400)."""
    cfg = sim_config(report_url_style=style)
    sim = simulator(cfg)
    out = run_tap(tap_config(sim, namespaces=["globex"]))
    assert report_counts(out) == expected_report_rows(cfg)
    assert sim.stats["storage_denied"] == 0
    downloads = sim.stats["endpoints"]["report-download"]
    assert downloads == len(simreports.catalogue_entries(cfg, "globex")) * (2 if style == "redirect" else 1)


def test_faults_on_the_catalogue_and_report_files_lose_nothing(simulator) -> None:
    cfg = sim_config()
    sim = simulator(cfg)
    sim.add_fault(
        [
            {"match": "reports", "kind": "status", "status": 502, "times": 2},
            {"match": "report-download", "kind": "rate_limit", "retry_after": 0, "after": 1},
            {"match": "report-download", "kind": "truncate", "fraction": 0.4, "after": 3},
            {"match": "report-download", "kind": "cut_csv", "after": 5},
            {"match": "report-download", "kind": "reset", "after": 7},
            {"match": "report-download", "kind": "expire_url", "after": 9},
            {"match": "report-download", "kind": "status", "status": 404, "after": 11},
            {"match": "report-download", "kind": "html", "after": 13},
        ]
    )
    out = run_tap(tap_config(sim, namespaces=["globex"]))
    assert sim.stats["faults_injected"] == 9
    assert report_counts(out) == expected_report_rows(cfg)
    assert_unique_keys(out)


@pytest.mark.parametrize(
    ("setting", "reports", "exports"),
    [("export", False, True), ("reports", True, False), ("both", True, True), ("auto", True, True)],
)
def test_data_source_setting(simulator, setting: str, reports: bool, exports: bool) -> None:
    cfg = sim_config(report_namespaces=("acme",), empty_export_namespaces=(), report_types=("summary",))
    sim = simulator(cfg)
    config = tap_config(sim, namespaces=["acme"], timespan_types=["weeks"], data_source=setting)
    out = run_tap(config, catalog=catalog_selecting(config, ["reports", "report_summary", "timespans"]))
    assert ("report_summary" in out.counts()) is reports
    assert ("timespans" in out.counts()) is exports
    if setting == "export":
        assert sim.stats["endpoints"].get("reports", 0) == 0  # the catalogue is not even asked


def test_an_unreadable_catalogue_falls_back_to_the_export_in_auto_mode(simulator, caplog) -> None:
    sim = simulator(sim_config(report_namespaces=(), empty_export_namespaces=()))
    sim.add_fault({"match": "reports", "kind": "status", "status": 403, "times": None})
    config = tap_config(sim, namespaces=["acme"], timespan_types=["weeks"])
    catalog = catalog_selecting(config, ["timespans", "reports", "report_trends"])
    with caplog.at_level(logging.INFO):
        out = run_tap(config, catalog=catalog)
    assert out.counts() == {"timespans": 6}
    assert "the report catalogue is not readable" in caplog.text

    _out, error = run_tap_until_error(tap_config(sim, namespaces=["acme"], data_source="reports"), catalog=catalog)
    assert error is not None and "403" in str(error)


def test_catalogue_types_file_names_and_periods() -> None:
    for spelling, expected in [
        ("trend", "trends"),
        ("Trends", "trends"),
        ("summary_report", "summary"),
        ("technographic", "technographic"),
        ("technographic-companies", "technographic_companies"),
        ("TechnographicCompanies", "technographic_companies"),
        ("tracked companies", "tracked_companies"),
        ("tracked-companies-report", "tracked_companies"),
    ]:
        assert report_type_of(spelling) == (expected, True), spelling
    assert report_type_of("companies") == ("companies", False)  # ambiguous: report_other unless mapped
    assert report_type_of("Benchmark") == ("benchmark", False)
    assert report_type_of("companies", {"companies": "tracked-companies"}) == ("tracked_companies", True)

    url = "https://hub.example/r/acme_trend_weekly_2026_08_31.csv?X-Amz-Signature=abc&X-Amz-Expires=60"
    assert file_name_of(url) == "acme_trend_weekly_2026_08_31.csv"
    week = period_of({}, file_name_of(url))
    assert week == ReportPeriod(dt.date(2026, 8, 31), dt.date(2026, 9, 6), "week")
    monthly = ReportPeriod(dt.date(2024, 2, 1), dt.date(2024, 2, 29), "month")
    assert period_of({}, "x_monthly_2024_02_01.csv") == monthly
    assert period_of({"granularity": "monthly", "periodStart": "2026-03-01"}, "report.csv") == ReportPeriod(
        dt.date(2026, 3, 1), dt.date(2026, 3, 31), "month"
    )
    assert period_of({"type": "trend"}, "report.csv") is None


WEEK_OF_9TH = ReportPeriod(dt.date(2026, 11, 9), dt.date(2026, 11, 15), "week")


@pytest.mark.parametrize(
    ("entry", "name"),
    [
        # an instant with an offset is its UTC day: its first ten characters filed it under the week before
        ({"granularity": "weekly", "start": "2026-11-08T23:00:00-01:00"}, "report.csv"),
        ({"granularity": "weekly", "start": "2026-11-09T01:00:00+01:00"}, "report.csv"),  # the same instant
        ({"granularity": "weekly", "periodEnd": "2026-11-15"}, "download"),  # the end alone names the period
        ({}, "globex_trend_weekly_2026_11_09_part1.csv"),  # a part's number after the date
        ({}, "globex_trend_weekly_2026_11_09_0_0_0.csv.gz"),
        ({"date": "2026-11-09"}, "globex_trend_weekly.csv"),  # the granularity in the name, the day in the fields
    ],
    ids=["negative offset", "positive offset", "end only", "part suffix", "unload suffix", "granularity in name"],
)
def test_a_report_period_in_other_plausible_forms_is_placed(entry: dict, name: str) -> None:
    # each was skipped (with a WARNING) or filed under another week
    assert period_of(entry, name) == WEEK_OF_9TH


def test_two_report_types_may_share_a_file_name() -> None:
    """Docker's file names are `<name>_weekly_YYYY_MM_DD.csv` with `<name>` unknown: a folder per type with one
    name for every type must keep every type's file (one of them was dropped), and a fresh URL comes from its own
    type's entry."""
    body = {
        "reports": [
            {"type": "trend", "url": "/r/trend/acme_weekly_2026_08_31.csv?X-Amz-Signature=a"},
            {"type": "summary", "url": "/r/summary/acme_weekly_2026_08_31.csv?X-Amz-Signature=b"},
            {"type": "trend", "url": "/r/trend/acme_weekly_2026_08_31.csv?X-Amz-Signature=c"},  # listed twice
        ]
    }
    catalogue = parse_catalogue("acme", body, hub_url="https://hub.example", overrides={}, log=logging.getLogger("t"))
    assert sorted((e.report_type, e.url.split("?")[0]) for e in catalogue.entries) == [
        ("summary", "https://hub.example/r/summary/acme_weekly_2026_08_31.csv"),
        ("trends", "https://hub.example/r/trend/acme_weekly_2026_08_31.csv"),
    ]
    for report_type, folder in (("summary", "summary"), ("trends", "trend")):
        renewed = f"https://hub.example/r/{folder}/acme_weekly_2026_08_31.csv?X-Amz-Signature=z"
        entry = catalogue.entry(report_type, "week", dt.date(2026, 8, 31), renewed)
        assert entry is not None and f"/r/{folder}/" in entry.url
        assert catalogue.files(report_type, "week", dt.date(2026, 8, 31)) == [entry]


@pytest.mark.parametrize(
    "urls",
    [
        ["/dl/part-0/globex_trend_weekly_2026_11_09.csv", "/dl/part-1/globex_trend_weekly_2026_11_09.csv"],
        ["/dl/get?id=7&X-Amz-Signature=a", "/dl/get?id=8&X-Amz-Signature=b"],
    ],
    ids=["a folder per part", "an id in the query"],
)
def test_two_files_of_one_period_that_share_a_name_are_both_kept(urls: list[str]) -> None:
    # keyed by file name, one of them was dropped without a word, and the bookmark moved past its rows
    body = {"reports": [{"type": "trend", "url": url, "granularity": "weekly", "periodStart": "2026-11-09"}
                        for url in urls]}  # fmt: skip
    body["reports"].append(dict(body["reports"][0], url=urls[0].replace("=a", "=renewed")))  # one file listed twice
    catalogue = parse_catalogue("acme", body, hub_url="https://hub.example", overrides={}, log=logging.getLogger("t"))
    files = catalogue.files("trends", "week", dt.date(2026, 11, 9))
    assert sorted(f.url.split("X-Amz")[0] for f in files) == sorted(
        f"https://hub.example{u}".split("X-Amz")[0] for u in urls
    )
    for url in urls:  # a renewed URL finds its own file
        renewed = f"https://hub.example{url}".replace("=a", "=x").replace("=b", "=y")
        found = catalogue.entry("trends", "week", dt.date(2026, 11, 9), renewed)
        assert found is not None and found.url.split("X-Amz")[0] == f"https://hub.example{url}".split("X-Amz")[0]


@pytest.mark.parametrize("style", ["hub", "redirect"])
def test_no_token_or_signature_in_any_output_at_debug(simulator, tmp_path, style: str) -> None:
    from cli_support import JWT, SIGNED_PARAM, run_at_debug

    sim = simulator(sim_config(report_url_style=style, weeks=2, report_types=("trend",), namespaces=("globex",)))
    sim.add_fault(
        [
            {"match": "report-download", "kind": "expire_url", "after": 1},
            {"match": "report-download", "kind": "truncate", "after": 2},
        ]
    )
    code, stdout, stderr = run_at_debug(tap_config(sim), tmp_path, style)
    assert code == 0, stderr[-2000:]
    assert sim.stats["faults_injected"] == 2
    assert "DEBUG" in stderr and '"stream":"report_trends"' in stdout.replace(" ", "")
    for text in (stdout, stderr):
        assert sim.config.password not in text
        assert not JWT.search(text) and not SIGNED_PARAM.search(text)


@pytest.mark.parametrize("max_retries", [None, 0])
def test_a_plain_report_file_without_a_last_line_break_is_read_whole(simulator, caplog, max_retries) -> None:
    """Many CSV writers leave out the last line break. A plain body that arrives whole by its Content-Length, the
    same in a second download, is not cut: its last row counts (it was taken for a cut file, retried for minutes,
    and the run failed every time). A cut in transit does not repeat: test_batch_faults' cut_csv cases. The
    second download is a check, not a retry: with `max_retries: 0` the run failed on such a file."""
    import csv
    import io

    cfg = sim_config(report_types=("trend",), unknown_report_types=(), report_granularities=("weekly",))
    sim = simulator(cfg)
    entry = simreports.catalogue_entries(cfg, "globex")[0]
    header, rows = simreports.report_table(cfg, "globex", "trend", "weekly", entry["start"])
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows([header, *rows])
    body = text.getvalue().removesuffix("\r\n")  # the file as such a writer leaves it
    sim.add_fault({"match": "report-download", "kind": "status", "status": 200, "body": body, "times": None})
    config = tap_config(sim, namespaces=["globex"])
    if max_retries is not None:
        config["max_retries"] = max_retries
    with caplog.at_level(logging.INFO):
        out = run_tap(config, catalog=catalog_selecting(config, ["report_trends"]))
    periods = len(simreports.catalogue_entries(cfg, "globex"))
    assert len(out.records["report_trends"]) == periods * len(rows)
    assert sim.stats["faults_injected"] == 2 * periods  # each file read twice: the second settles it
    assert caplog.text.count("the last line has no line break in two downloads of") == periods


def test_entries_whose_urls_end_alike_are_told_apart_by_their_periods() -> None:
    """URLs that name no period (`.../files/<id>/download`), the period in the entry's fields: each entry is a
    report of its own (they collapsed into one per type, and the others' rows were lost)."""
    body = {
        "reports": [
            {"type": "trend", "url": f"/files/{n}/download", "granularity": "weekly", "periodStart": start}
            for n, start in enumerate(["2026-08-17", "2026-08-24", "2026-08-31"])
        ]
    }
    catalogue = parse_catalogue("acme", body, hub_url="https://hub.example", overrides={}, log=logging.getLogger("t"))
    periods = catalogue.periods("trends", "week")
    assert [p.start for p, _files in periods] == [dt.date(2026, 8, 17), dt.date(2026, 8, 24), dt.date(2026, 8, 31)]
    entry = catalogue.entry("trends", "week", dt.date(2026, 8, 24), "https://hub.example/files/1/download")
    assert entry is not None and entry.url == "https://hub.example/files/1/download"


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("acme_monthly_2026_04_30.csv", dt.date(2026, 4, 1), dt.date(2026, 4, 30)),  # named for its last day
        ("acme_weekly_2026_11_15.csv", dt.date(2026, 11, 9), dt.date(2026, 11, 15)),  # named for its Sunday
        ("acme_weekly_2026_11_09.csv", dt.date(2026, 11, 9), dt.date(2026, 11, 15)),
    ],
)
def test_a_report_named_for_another_day_of_its_period_still_names_its_period(name, start, end) -> None:
    period = period_of({}, name)
    assert period is not None and (period.start, period.end) == (start, end)


LEGACY_GONE = [  # the legacy API's namespace list, root and export years; its pull statistics stay
    {
        "match": rf"analytics/v1{path}/?(\?|$)",
        "kind": "status",
        "status": 410,
        "body": {"detail": "Gone"},
        "times": None,
    }
    for path in ("/namespaces", "", "/namespaces/globex/pulls/exports/years")
]


@pytest.mark.parametrize("source", ["reports", "auto"])
def test_reports_are_read_when_the_legacy_api_is_retired(simulator, caplog, source: str) -> None:
    """Docker says the legacy DVP Data API "will be retired"; the DVP program's reports do not depend on it."""
    cfg = sim_config()
    sim = simulator(cfg)
    sim.add_fault(LEGACY_GONE)
    config = tap_config(sim, namespaces=["globex"], data_source=source)
    with caplog.at_level(logging.INFO):
        out = run_tap(config)
    assert report_counts(out) == expected_report_rows(cfg)
    assert "answers neither GET /namespaces nor GET / (retired?)" in caplog.text


def test_a_namespace_the_legacy_api_does_not_list_is_read_from_its_reports(simulator) -> None:
    cfg = sim_config()
    sim = simulator(cfg)
    sim.add_fault([
        {"match": r"v1/namespaces/?(\?|$)", "kind": "status", "status": 200, "body": {"namespaces": []},
         "times": None},
        {"match": r"v1/namespaces/globex/?(\?|$)", "kind": "status", "status": 404, "times": None},
    ])  # fmt: skip
    out = run_tap(tap_config(sim, namespaces=["globex"], data_source="reports"))
    assert report_counts(out) == expected_report_rows(cfg)
    _out, error = run_tap_until_error(tap_config(sim, namespaces=["globex"], data_source="export"))
    assert "namespace 'globex' is not readable" in str(error)  # a typo stays an error where exports are read


def test_a_paged_catalogue_is_read_whole(simulator) -> None:
    """Undocumented, but should the catalogue come in pages (`next` beside `reports`), every page is read."""
    cfg = sim_config()
    sim = simulator(cfg)
    config = tap_config(sim, namespaces=["globex"])
    whole = run_tap(config)
    import requests

    login = {"username": "demo", "password": config["password"]}
    token = requests.post(f"{sim.hub_url}/v2/users/login", json=login, timeout=10).json()["token"]
    listed = requests.get(
        f"{sim.hub_url}/api/publisher/proxylytics/v1/namespaces/globex/reports",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    reports = listed.json()["reports"]
    half = len(reports) // 2
    first = {"count": len(reports), "next": "/api/publisher/proxylytics/v1/namespaces/globex/reports?page=2",
             "reports": reports[:half]}  # fmt: skip
    second = {"count": len(reports), "next": None, "reports": reports[half:]}
    sim.add_fault([
        {"match": r"/globex/reports\?page=2", "kind": "status", "status": 200, "body": second, "times": None},
        {"match": r"/globex/reports/?$", "kind": "status", "status": 200, "body": first, "times": None},
    ])  # fmt: skip
    paged = run_tap(config)
    assert report_counts(paged) == report_counts(whole) == expected_report_rows(cfg)
    assert sim.stats["faults_injected"] >= 2


@pytest.mark.parametrize("style", ["hub", "presigned"])
def test_a_report_download_the_hub_refuses_says_so_with_its_reason(simulator, style: str) -> None:
    # A Hub-hosted report refused (403) was taken for an expired presigned URL: fresh URLs asked four times, then a
    # line blaming "storage" without Docker's reason. A presigned URL refused is still renewed (the control).
    cfg = sim_config(report_types=("trend",), unknown_report_types=(), report_url_style=style)
    sim = simulator(cfg)
    detail = {"detail": "You do not have permission to perform this action."}
    sim.add_fault({"match": "report-download", "kind": "status", "status": 403, "body": detail, "times": None})
    config = tap_config(sim, namespaces=["globex"])
    _out, error = run_tap_until_error(config, catalog=catalog_selecting(config, ["report_trends"]))
    if style == "hub":
        assert "Docker Hub refused the report download" in str(error)
        assert "You do not have permission" in str(error) and "'demo' (setting `username`)" in str(error)
        assert sim.stats["faults_injected"] == 1
    else:
        assert "storage refused the download URL (HTTP 403" in str(error) and "fresh URLs did not help" in str(error)
