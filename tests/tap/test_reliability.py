"""Docker Hub misbehaving: every fault is retried or ends the run clearly, and nothing is lost or repeated."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time

import pytest
from tap_harness import TapOutput, catalog_selecting, raw_rows_served, run_tap, run_tap_until_error, tap_config

from dockerdvp_simulator import SimConfig
from dockerdvp_simulator import data as simdata
from tap_dockerdvp.errors import DownloadError

END = dt.date(2026, 11, 18)


def sim_config(**overrides) -> SimConfig:
    values = dict(
        weeks=2, rows_per_week=210, end_date=END, include_partial=False, namespaces=("acme",), files_per_timespan=2
    )
    values.update(overrides)
    return SimConfig(**values)


def assert_exactly_once(out: TapOutput, cfg: SimConfig) -> None:
    events = out.records.get("pull_events", [])
    keys = [(e["namespace"], e["year"], e["timespan"], e["file_index"], e["row_number"]) for e in events]
    assert len(keys) == len(set(keys)), "a row was emitted twice"
    assert len(keys) == raw_rows_served(cfg), "a row was lost"


def weeks_only(sim, **overrides):
    return tap_config(sim, timespan_types=["weeks"], **overrides)


@pytest.mark.parametrize(
    "fault",
    [
        {"match": "exports", "kind": "rate_limit", "retry_after": 1, "retry_after_style": "seconds"},
        {"match": "years", "kind": "rate_limit", "retry_after": 1, "retry_after_style": "epoch"},
        {"match": "download", "kind": "rate_limit", "retry_after_style": "none"},
        {"match": "api", "kind": "status", "status": 502, "times": 2},
        {"match": "download", "kind": "status", "status": 503},
        {"match": "repositories", "kind": "status", "status": 500},
        {"match": "download", "kind": "reset"},
        {"match": "exports", "kind": "reset"},
        {"match": "download", "kind": "truncate", "fraction": 0.4},
        {"match": "download", "kind": "corrupt_gzip"},
        {"match": "download", "kind": "cut_csv"},
        {"match": "download", "kind": "html"},
        # a maintenance or CDN page where the API answered JSON before: retried (it ended the run, naming api_url)
        {"match": "exports", "kind": "html", "after": 2},
        {"match": "download", "kind": "status", "status": 200, "body": ""},  # an empty body for a listed file
        {"match": "download", "kind": "expire_url", "after": 1},
        {"match": "exports", "kind": "expire_token"},
        {"match": "login", "kind": "status", "status": 503},
    ],
    ids=lambda f: f"{f['match']}-{f['kind']}-{f.get('retry_after_style', f.get('status', ''))}",
)
def test_a_fault_is_retried_and_every_row_arrives_exactly_once(simulator, fault, caplog) -> None:
    cfg = sim_config()
    sim = simulator(cfg)
    sim.add_fault(fault)
    with caplog.at_level(logging.INFO):
        out = run_tap(weeks_only(sim))
    assert sim.stats["faults_injected"] == fault.get("times", 1)
    assert_exactly_once(out, cfg)
    assert "X-Amz-Signature=" not in caplog.text and "?X-Amz" not in caplog.text
    if fault["match"] == "download" and fault["kind"] != "expire_url":  # the file once, the reason, the attempt
        waits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Waiting ")]
        assert len(waits) == 1, waits
        label = waits[0].split(" before retrying ", 1)[1].split(": ", 1)[0]
        assert re.fullmatch(r"acme raw weeks \d{4}/\d+ file \d/2", label), waits
        assert waits[0].count(label) == 1 and re.search(r" \(attempt 1 of [34]\)$", waits[0]), waits  # bad content: 3


def test_a_429_wait_is_logged_with_the_endpoint_and_honours_retry_after(simulator, caplog) -> None:
    sim = simulator(sim_config())
    sim.add_fault({"match": "years", "kind": "rate_limit", "retry_after": 1, "retry_after_style": "seconds"})
    with caplog.at_level(logging.INFO):
        run_tap(weeks_only(sim))
    waits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Waiting")]
    assert waits == [
        "Waiting 1.0 s before retrying /namespaces/acme/pulls/exports/years after HTTP 429 (attempt 1 of 4)"
    ]


def test_a_download_429_with_an_epoch_retry_after_waits_until_then(simulator, caplog) -> None:
    sim = simulator(sim_config())
    sim.add_fault({"match": "download", "kind": "rate_limit", "retry_after": 2, "retry_after_style": "epoch"})
    with caplog.at_level(logging.INFO):
        run_tap(weeks_only(sim))
    waits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Waiting")]
    assert len(waits) == 1 and "HTTP 429 from storage" in waits[0]
    seconds = float(waits[0].split()[1])
    assert 0.5 <= seconds <= 2.5


def test_a_read_timeout_mid_run_is_retried(simulator) -> None:
    cfg = sim_config()
    sim = simulator(cfg)
    sim.add_fault({"match": "download", "kind": "slow", "seconds": 2.5})
    out = run_tap(weeks_only(sim, request_timeout=1))
    assert_exactly_once(out, cfg)


def test_expired_urls_are_refreshed_and_the_run_continues_with_the_same_file(simulator) -> None:
    cfg = sim_config()
    sim = simulator(cfg)
    sim.add_fault({"match": "download", "kind": "expire_url", "after": 1})
    out = run_tap(weeks_only(sim))
    assert_exactly_once(out, cfg)
    listings = sim.stats["endpoints"]["exports"]
    plain = simulator(cfg)
    run_tap(weeks_only(plain))
    assert listings == plain.stats["endpoints"]["exports"] + 1  # one extra listing for fresh URLs


def test_a_persistent_failure_stops_the_run_before_the_bookmark_moves(simulator) -> None:
    cfg = sim_config(weeks=3)
    sim = simulator(cfg)
    # Every download of the second week's files breaks off: the first week completes, the second cannot.
    weeks = simdata.complete_timespans(cfg, "acme", "weeks")
    sim.pregenerate(views=["raw"], timespan_types=["weeks"])
    second = {f["id"] for f in sim.export_files("acme", "raw", "weeks", weeks[1][0], weeks[1][1])}
    sim.add_fault({"match": "|".join(sorted(second)), "kind": "truncate", "times": None})
    out, error = run_tap_until_error(weeks_only(sim))
    assert isinstance(error, DownloadError)
    message = str(error)
    assert "gave up after 4 tries" in message and "run again to resume" in message
    assert "\n" not in message and "X-Amz" not in message

    bookmarks = [
        p.get("replication_key_value")
        for state in out.states
        for p in state["bookmarks"].get("timespans", {}).get("partitions", [])
    ]
    first_week_start = f"{weeks[0][2].isoformat()}T00:00:00Z"
    assert set(filter(None, bookmarks)) <= {first_week_start}

    # Docker recovers; resuming from the last state emits the second and third weeks, nothing earlier.
    sim.clear_faults()
    resumed = run_tap(weeks_only(sim), state=out.final_state)
    assert {(r["year"], r["timespan"]) for r in resumed.records["pull_events"]} == {w[:2] for w in weeks[1:]}


def test_bad_content_that_stays_bad_fails_with_a_clear_error(simulator) -> None:
    sim = simulator(sim_config())
    sim.add_fault({"match": "download", "kind": "html", "times": None})
    _out, error = run_tap_until_error(weeks_only(sim))
    assert isinstance(error, DownloadError)
    assert "looks like an HTML or JSON error page" in str(error)
    assert sim.stats["faults_injected"] == 3  # bad content is tried three times, not max_retries
    # not "run again to resume", which a file that is bad as written never passes
    assert "a file that stays so is one the tap cannot read: please report it" in str(error)


def test_giving_up_on_the_api_names_the_endpoint(simulator) -> None:
    sim = simulator(sim_config())
    sim.add_fault({"match": "years", "kind": "status", "status": 500, "times": None})
    _out, error = run_tap_until_error(weeks_only(sim, max_retries=1))
    assert error is not None
    assert "500 Server Error for /api/publisher/analytics/v1/namespaces/acme/pulls/exports/years" in str(error)


@pytest.mark.parametrize("kind", ["truncate", "read_timeout"])
def test_a_broken_download_resumes_where_it_stopped(simulator, kind) -> None:
    cfg = sim_config(rows_per_week=2100, files_per_timespan=1)
    sim = simulator(cfg)
    if kind == "truncate":
        sim.add_fault({"match": "download", "kind": "truncate", "fraction": 0.5})
    else:
        sim.add_fault({"match": "download", "kind": "slow", "seconds": 2.5})  # read timeout after the headers
    out = run_tap(weeks_only(sim, request_timeout=1))
    assert_exactly_once(out, cfg)
    if kind == "truncate":
        assert sim.stats["range_requests"] == 1  # resumed with a Range request, not downloaded again


def test_short_lived_jwts_are_refreshed_during_a_long_run(simulator) -> None:
    cfg = sim_config(token_ttl=2)
    sim = simulator(cfg)
    sim.add_fault({"match": "download", "kind": "slow", "seconds": 1.0, "times": None})
    started = time.monotonic()
    config = weeks_only(sim)
    out = run_tap(config, catalog=catalog_selecting(config, ["pull_events"]))
    elapsed = time.monotonic() - started
    assert_exactly_once(out, cfg)
    assert sim.stats["unauthorized"] == 0  # refreshed before expiry, never refused
    assert 2 <= sim.stats["logins"] <= elapsed / 2 + 2  # not a login per request
