"""Credentials that really expire: a presigned URL past its lifetime and a JWT the Hub stopped trusting.

The simulator's one-time faults are not enough here: a tap that fetched a fresh URL (or logged in again) but
went on using the old one would pass them, since the second request with the old credential is not faulted.
So the URL expires for real (``url_ttl``: the storage checks its signature date), and the token is one an
``expire_token`` fault expired (it stays refused, as an expired token does, while the tap's clock still reads
it as valid).
"""

from __future__ import annotations

import datetime as dt

import pytest
from tap_harness import TapOutput, catalog_selecting, run_tap, run_tap_until_error, tap_config, weekly_trends

from dockerdvp_simulator import SimConfig
from dockerdvp_simulator import data as simdata
from dockerdvp_simulator import reports as simreports

END = dt.date(2026, 11, 18)
URL_TTL = 3  # seconds; a URL signed at t is refused from floor(t) + 3 on: a fresh one lasts 2 s at least
STALL = URL_TTL + 0.3  # storage takes this long to answer the first download: its URL has expired by then


def export_config(**overrides: object) -> SimConfig:
    values: dict[str, object] = dict(
        namespaces=("acme",), weeks=1, rows_per_week=300, end_date=END, include_partial=False
    )
    values.update(overrides)
    return SimConfig(**values)  # type: ignore[arg-type]


def report_config(**overrides: object) -> SimConfig:
    return weekly_trends(**overrides)


def assert_every_export_row_once(out: TapOutput, cfg: SimConfig) -> None:
    keys = [(r["year"], r["timespan"], r["file_index"], r["row_number"]) for r in out.records["pull_events"]]
    expected = {
        (y, n, index, row)
        for y, n, _s, _e in simdata.complete_timespans(cfg, "acme", "weeks")
        for index in range(cfg.files_per_timespan)
        for row in range(1, simdata.expected_rows(cfg, "acme", "raw", "weeks", y, n, index) + 1)
    }
    assert len(keys) == len(set(keys)), "a row was emitted twice"
    assert set(keys) == expected


def assert_every_report_row_once(out: TapOutput, cfg: SimConfig) -> None:
    [entry] = [e for e in simreports.catalogue_entries(cfg, "globex") if e["type"] == "trend"]
    _header, rows = simreports.report_table(cfg, "globex", "trend", "weekly", entry["start"])
    got = out.records["report_trends"]
    assert [r["row_number"] for r in got] == list(range(1, len(rows) + 1))
    assert {r["period_start"][:10] for r in got} == {entry["start"].isoformat()}
    assert [r["image_repository"] for r in got] == [row[3] for row in rows]


def run_exports(sim, **settings: object) -> TapOutput:
    config = tap_config(sim, timespan_types=["weeks"], **settings)
    return run_tap(config, catalog=catalog_selecting(config, ["timespans", "pull_events"]))


def run_reports(sim, **settings: object) -> TapOutput:
    config = tap_config(sim, data_source="reports", **settings)
    return run_tap(config, catalog=catalog_selecting(config, ["reports", "report_trends"]))


def test_an_export_url_that_expired_is_replaced_and_the_fresh_one_used(simulator) -> None:
    cfg = export_config(url_ttl=URL_TTL, files_per_timespan=2)
    sim = simulator(cfg)
    sim.add_fault({"match": "download", "kind": "slow", "seconds": STALL})  # the first file's URL expires
    out = run_exports(sim, request_timeout=30)
    assert sim.stats["storage_denied"] == 1  # refused once; the fresh URL was taken, never the old one again
    assert_every_export_row_once(out, cfg)
    # positive control: without the stall the URLs are used within their lifetime
    plain = simulator(cfg)
    run_exports(plain, request_timeout=30)
    assert plain.stats["storage_denied"] == 0
    assert sim.stats["endpoints"]["exports"] == plain.stats["endpoints"]["exports"] + 1  # one listing for a fresh URL


def test_a_fresh_listing_in_another_order_still_gives_each_file_its_own_url(simulator) -> None:
    """Docker does not document the order of a timespan's files: a fresh listing (for an expired URL) that lists
    them otherwise must still give the file being read its own URL (by position, one file was read twice and
    the other lost, and the bookmark moved past it)."""
    cfg = export_config(files_per_timespan=2)
    sim = simulator(cfg)
    [(year, week, _start, _end)] = simdata.complete_timespans(cfg, "acme", "weeks")
    listed = [{"url": f["url"], "size": f["size"]} for f in sim.export_files("acme", "raw", "weeks", year, week)]
    sim.add_fault([
        {"match": "download", "kind": "expire_url", "after": 1, "times": 1},  # the second file's URL
        {"match": rf"/weeks/{week}/raw$", "kind": "status", "status": 200, "body": {"data": listed[::-1]},
         "after": 1, "times": None},  # every listing after the first, in reverse order
    ])  # fmt: skip
    out = run_exports(sim)
    assert sim.stats["faults_injected"] >= 2
    assert_every_export_row_once(out, cfg)
    clean = run_exports(simulator(cfg)).records["pull_events"]  # the same data, no fault: the same rows
    key = lambda r: (r["file_index"], r["row_number"])  # noqa: E731
    assert sorted(out.records["pull_events"], key=key) == sorted(clean, key=key)


def test_a_timespan_listed_in_another_order_gives_its_rows_the_same_keys(simulator) -> None:
    """`file_index` is in the rows' keys: the same files listed in another order (a re-read: lookback, a late
    file) must give the same keys, so a target upserts them (by listing position, two files swapped keys)."""
    cfg = export_config(files_per_timespan=3, rows_per_week=301)
    sim = simulator(cfg)
    [(year, week, _start, _end)] = simdata.complete_timespans(cfg, "acme", "weeks")
    listed = [{"url": f["url"], "size": f["size"]} for f in sim.export_files("acme", "raw", "weeks", year, week)]
    sim.add_fault({"match": rf"/weeks/{week}/raw$", "kind": "status", "status": 200,
                   "body": {"data": [listed[2], listed[0], listed[1]]}, "times": None})  # fmt: skip
    out = run_exports(sim)
    assert sim.stats["faults_injected"] >= 1
    clean = run_exports(simulator(cfg)).records["pull_events"]  # listed in the simulator's own order
    key = lambda r: (r["file_index"], r["row_number"])  # noqa: E731
    assert sorted(out.records["pull_events"], key=key) == sorted(clean, key=key)


@pytest.mark.parametrize("names", ["typed", "folders"])
def test_a_presigned_report_url_that_expired_is_replaced_and_the_fresh_one_used(simulator, names: str) -> None:
    """With ``folders`` the summary's file has the trends' name: the fresh URL must be the trends' own."""
    cfg = report_config(url_ttl=URL_TTL, report_url_style="presigned", report_file_names=names,
                        report_types=("trend", "summary"))  # fmt: skip
    sim = simulator(cfg)
    sim.add_fault({"match": "report-download", "kind": "slow", "seconds": STALL})
    out = run_reports(sim, request_timeout=30)
    assert sim.stats["storage_denied"] == 1
    assert sim.stats["endpoints"]["reports"] == 2  # the catalogue again, for a fresh URL
    assert_every_report_row_once(out, cfg)


@pytest.mark.parametrize("style", ["hub", "redirect"])
def test_a_report_refused_with_an_expired_token_is_fetched_with_a_fresh_one(simulator, style: str) -> None:
    """The Hub answers 401 for a token it no longer accepts, although its `exp` is an hour away: the tap logs in
    again and asks for the file with the new token (the old one would be refused again)."""
    cfg = report_config(token_ttl=3600, report_url_style=style)
    sim = simulator(cfg)
    sim.add_fault({"match": "report-download", "kind": "expire_token"})
    out = run_reports(sim)
    assert sim.stats["faults"] == {"expire_token": 1}
    assert sim.stats["logins"] == 2
    assert sim.stats["unauthorized"] == 1  # the stale token was never sent again
    assert_every_report_row_once(out, cfg)


def test_an_api_request_refused_with_an_expired_token_is_sent_again_with_a_fresh_one(simulator) -> None:
    cfg = export_config(token_ttl=3600)
    sim = simulator(cfg)
    sim.add_fault({"match": "exports", "kind": "expire_token"})
    out = run_exports(sim)
    assert sim.stats["faults"] == {"expire_token": 1}
    assert (sim.stats["logins"], sim.stats["unauthorized"]) == (2, 1)
    assert_every_export_row_once(out, cfg)


def test_a_token_that_expires_after_a_relogin_is_renewed_again(simulator) -> None:
    """The token from the login after a 401 is judged "refused" only when it never passed: once accepted, a later
    401 for it is an expiry like the first (say, a clock behind the Hub's by more than the refresh margin)."""
    cfg = export_config(weeks=3, token_ttl=3600)
    sim = simulator(cfg)
    sim.add_fault(
        [{"match": "exports", "kind": "expire_token"}, {"match": "exports", "kind": "expire_token", "after": 2}]
    )
    out = run_exports(sim)
    assert sim.stats["faults"] == {"expire_token": 2}
    assert (sim.stats["logins"], sim.stats["unauthorized"]) == (3, 2)
    assert_every_export_row_once(out, cfg)


def test_a_fresh_token_refused_at_once_ends_the_run_in_one_line(simulator) -> None:
    """The control: a token refused on its first use after a re-login is not retried forever."""
    sim = simulator(export_config())
    sim.add_fault({"match": "exports", "kind": "status", "status": 401, "times": None})
    _out, error = run_tap_until_error(tap_config(sim, timespan_types=["weeks"]))
    assert error is not None and "refused a freshly issued token" in str(error), error
    assert sim.stats["logins"] == 2


def _s3_error(code: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>...</Message></Error>'


@pytest.mark.parametrize(
    ("status", "code", "fresh_listing"),
    [(400, "ExpiredToken", True), (400, "TokenRefreshRequired", True), (401, "", True), (400, "RequestTimeout", False)],
)
def test_a_storage_answer_a_fresh_url_or_a_retry_heals_is_healed(simulator, status, code, fresh_listing) -> None:
    # S3 answers 400 ExpiredToken when the credentials that signed a URL expire before the URL (role-signed URLs):
    # the run failed at once, where a fresh URL heals it; 400 RequestTimeout is worth another try.
    cfg = export_config(files_per_timespan=2)
    plain = simulator(cfg)
    run_exports(plain)
    sim = simulator(cfg)
    body = _s3_error(code) if code else ""
    fault = {"match": "download", "kind": "status", "status": status, "body": body, "times": 1}
    sim.add_fault({**fault, "headers": {"Content-Type": "application/xml"}})
    out = run_exports(sim, retry_base_seconds=0.01)
    assert sim.stats["faults_injected"] == 1
    assert_every_export_row_once(out, cfg)
    assert sim.stats["endpoints"]["exports"] == plain.stats["endpoints"]["exports"] + fresh_listing


def test_a_storage_400_of_another_kind_ends_the_run_naming_its_code(simulator) -> None:
    sim = simulator(export_config())
    sim.add_fault({"match": "download", "kind": "status", "status": 400, "body": _s3_error("InvalidArgument"),
                   "times": None})  # fmt: skip
    config = tap_config(sim, timespan_types=["weeks"], retry_base_seconds=0.01)
    _out, error = run_tap_until_error(config, catalog=catalog_selecting(config, ["timespans", "pull_events"]))
    assert "storage answered HTTP 400 (InvalidArgument)" in str(error)
