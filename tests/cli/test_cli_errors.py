"""A user's mistake ends the run quickly with one line naming what to fix (issue 12's table), run as a user does.

Each test runs `tap-dockerdvp` as a subprocess at the default log level and checks the exit code, the ERROR line,
the number of lines on stderr, that no traceback is printed and, where the table sets one, the time taken. The
timed cases keep the tap's default retry settings: the time limit must hold for what a user runs.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cli_support import closed_port, html_server, run_cli

from dockerdvp_simulator import SimConfig
from dockerdvp_simulator.catalog import select_only
from tap_dockerdvp.errors import StateError
from tap_dockerdvp.http.urls import DEFAULT_HUB_URL
from tap_dockerdvp.tap import TapDockerDVP

END = dt.date(2026, 11, 18)
# "exit 1 within 30 s" (the table).
TIME_LIMIT = 30.0
# Lines a failing run may print before its error: version, env parsing, login, a few retry lines.
MAX_LINES = 10


def small() -> SimConfig:
    return SimConfig(weeks=1, rows_per_week=20, end_date=END, include_partial=False, namespaces=("acme",))


def credentials(sim) -> dict:
    return {"username": sim.config.username, "password": sim.config.password}


def fast(sim, **overrides) -> dict:
    """Settings for the simulator, with quick retries for the cases that are not about time."""
    return {
        **credentials(sim),
        "api_url": sim.api_url,
        "hub_url": sim.hub_url,
        "timespan_types": ["weeks"],
        "retry_base_seconds": 0.01,
        **overrides,
    }


# -- files ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{'username': 'x'}", "is not valid JSON: Expecting property name enclosed in double quotes at line 1"),
        ("", "is empty"),
        ('["username"]', "must hold a JSON object"),
        (None, "was not found"),
    ],
    ids=["not-json", "empty", "array", "missing"],
)
def test_a_bad_config_file_is_one_line_naming_it(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "my-config.json"
    if content is not None:
        path.write_text(content)
    run = run_cli("--config", path)
    line = run.assert_fails_in_one_line(f"config file {path}", problem, max_lines=1)
    assert line.startswith("config file ")
    assert run.stdout == ""


def test_a_bad_config_file_is_named_before_discovery_too(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{")
    run = run_cli("--discover", "--config", path)
    run.assert_fails_in_one_line(f"config file {path} is not valid JSON", max_lines=1)


def test_a_catalog_that_is_not_json_is_one_line_naming_it(simulator, tmp_path: Path) -> None:
    sim = simulator(small())
    catalog = tmp_path / "catalog.json"
    catalog.write_text('{"streams": [')
    run = run_cli("--catalog", catalog, config=fast(sim), tmp_path=tmp_path)
    run.assert_fails_in_one_line(f"catalog file {catalog} is not valid JSON", max_lines=1)
    assert sim.stats["requests_total"] == 0


def test_a_catalog_of_the_wrong_shape_is_one_line_naming_it(simulator, tmp_path: Path) -> None:
    sim = simulator(small())
    catalog = tmp_path / "catalog.json"
    catalog.write_text('{"streams": [{"stream": "namespaces"}]}')
    run = run_cli("--catalog", catalog, config=fast(sim), tmp_path=tmp_path)
    run.assert_fails_in_one_line(f"catalog file {catalog}", "`tap_stream_id`", max_lines=1)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{bookmarks}", "is not valid JSON"),
        ('{"bookmarks": "x"}', '`bookmarks` must be an object with one entry per stream, not "x"'),
        ('{"bookmarks": {"timespans": []}}', "`bookmarks.timespans` must be an object"),
        ('{"bookmarks": {"timespans": {"partitions": [1]}}}', "`bookmarks.timespans.partitions` must be a list"),
        ('{"singer_state": {"bookmarks": {}}}', "pass the object under `singer_state`"),
        ("[]", "must hold a JSON object"),
        (
            '{"bookmarks": {"timespans": {"partitions": [{"context": {}, "replication_key_value": "2026-47"}]}}}',
            '`bookmarks.timespans.partitions[0].replication_key_value` is not a date: "2026-47"',
        ),
        ('{"bookmarks": {"reports": {"replication_key_value": "last week"}}}', "`bookmarks.reports.replication"),
        (
            '{"bookmarks": {"timespans": {"partitions": [{"context": {}, "replication_key_value": "2026-11-31"}]}}}',
            "is not a date",
        ),
    ],
    ids=[
        "not-json",
        "bookmarks-string",
        "stream-list",
        "partition-int",
        "meltano-wrapper",
        "array",
        "week-bookmark",
        "words-bookmark",
        "no-such-day",
    ],
)
def test_a_bad_state_file_is_one_line_naming_it(simulator, tmp_path: Path, content: str, problem: str) -> None:
    sim = simulator(small())
    state = tmp_path / "state.json"
    state.write_text(content)
    run = run_cli("--state", state, config=fast(sim), tmp_path=tmp_path)
    run.assert_fails_in_one_line(f"state file {state}", problem, max_lines=1)
    assert sim.stats["requests_total"] == 0


def test_a_state_of_the_wrong_shape_is_refused_however_it_arrives() -> None:
    with pytest.raises(StateError, match="`bookmarks` must be an object"):
        TapDockerDVP(config={"username": "u", "password": "p"}, state={"bookmarks": "x"})


def test_a_catalog_selecting_an_unknown_stream_is_a_warning_naming_it(simulator, tmp_path: Path) -> None:
    sim = simulator(small())
    config = fast(sim)
    catalog = select_only(TapDockerDVP(config=dict(config)).catalog_dict, ["namespaces"])
    catalog["streams"].append(
        {
            "tap_stream_id": "pull_event",
            "stream": "pull_event",
            "schema": {"type": "object", "properties": {}},
            "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}],
        }
    )
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    run = run_cli("--catalog", path, config=config, tmp_path=tmp_path)
    assert run.code == 0, run.stderr
    warnings = run.at("WARNING")
    assert len(warnings) == 1 and "'pull_event'" in warnings[0] and "does not have" in warnings[0], run.stderr
    assert run.records() == {"namespaces": 1}


# -- URLs where nothing answers, or something that is not Docker Hub ---------------------------------
def test_api_url_where_nothing_listens_fails_within_30_s_naming_it(simulator, tmp_path: Path) -> None:
    sim = simulator(small())
    port = closed_port()
    api_url = f"http://127.0.0.1:{port}/api/publisher/analytics/v1"
    run = run_cli(config={**credentials(sim), "api_url": api_url, "hub_url": sim.hub_url}, tmp_path=tmp_path)
    run.assert_fails_in_one_line("`api_url`", api_url, "connection refused", max_lines=MAX_LINES)
    assert run.seconds < TIME_LIMIT
    assert not [line for line in run.messages() if line.startswith("Backing off")]  # the backoff library's own


def test_api_url_alone_where_nothing_listens_names_api_url_the_setting_given(tmp_path: Path) -> None:
    port = closed_port()
    api_url = f"http://127.0.0.1:{port}/api/publisher/analytics/v1"
    run = run_cli(config={"username": "me", "password": "dckr_pat_x", "api_url": api_url}, tmp_path=tmp_path)
    line = run.assert_fails_in_one_line(f"127.0.0.1:{port}", "origin of `api_url`", max_lines=MAX_LINES)
    assert "connection refused" in line and line.endswith("check `api_url`")
    assert run.seconds < TIME_LIMIT


def test_hub_url_where_nothing_listens_fails_within_30_s_naming_it(simulator, tmp_path: Path) -> None:
    sim = simulator(small())
    hub_url = f"http://127.0.0.1:{closed_port()}"
    run = run_cli(config={**credentials(sim), "api_url": sim.api_url, "hub_url": hub_url}, tmp_path=tmp_path)
    run.assert_fails_in_one_line(f"`hub_url` {hub_url}", "connection refused", max_lines=MAX_LINES)
    assert run.seconds < TIME_LIMIT
    assert sim.stats["requests_total"] == 0


def test_an_unknown_host_name_fails_within_30_s_naming_the_setting(simulator, tmp_path: Path) -> None:
    sim = simulator(small())
    api_url = "http://dvp-proxy.invalid/api/publisher/analytics/v1"  # .invalid never resolves (RFC 2606)
    run = run_cli(config={**credentials(sim), "api_url": api_url, "hub_url": sim.hub_url}, tmp_path=tmp_path)
    line = run.assert_fails_in_one_line("`api_url`", api_url, max_lines=MAX_LINES)
    assert "does not resolve" in line or "no connection" in line or "timed out" in line, line
    assert run.seconds < TIME_LIMIT


@pytest.mark.parametrize("path", ["/api/publisher/analytics/v1", ""])
def test_api_url_answering_html_fails_at_once_naming_it(simulator, tmp_path: Path, path: str) -> None:
    sim = simulator(small())
    with html_server() as (url, seen):
        run = run_cli(config={**credentials(sim), "api_url": url + path, "hub_url": sim.hub_url}, tmp_path=tmp_path)
    line = run.assert_fails_in_one_line(f"`api_url` {url}{path}", "answered an HTML page, not the DVP API", max_lines=6)
    assert "Expecting value" not in run.stderr
    assert len(seen) == 1, seen  # not retried
    assert run.seconds < TIME_LIMIT
    assert "check `api_url`" in line


def test_hub_url_answering_html_fails_at_once_naming_it(simulator, tmp_path: Path) -> None:
    sim = simulator(small())
    with html_server() as (url, seen):
        run = run_cli(config={**credentials(sim), "api_url": sim.api_url, "hub_url": url}, tmp_path=tmp_path)
    run.assert_fails_in_one_line(f"`hub_url` {url}", "HTML", "not Docker Hub", max_lines=MAX_LINES)
    assert seen == ["POST /v2/users/login", "POST /v2/auth/token"]  # each login tried once, 501 not retried
    assert run.seconds < TIME_LIMIT
    assert sim.stats["requests_total"] == 0


# -- where the credentials go -----------------------------------------------------------------------
def test_hub_url_defaults_to_the_origin_of_a_non_default_api_url(simulator, tmp_path: Path) -> None:
    sim = simulator(small())
    config = {**credentials(sim), "api_url": sim.api_url, "timespan_types": ["weeks"]}  # no hub_url
    run = run_cli(config=config, tmp_path=tmp_path)
    assert run.code == 0, run.stderr
    assert sim.stats["logins"] == 1  # logged in at the simulator, not at hub.docker.com
    assert f"`hub_url` is not set: logging in at {sim.hub_url}, the origin of `api_url`" in run.messages()
    assert f"Logging in to {sim.hub_url} as {sim.config.username}" in run.messages()


def test_hub_url_default_rule_in_the_tap() -> None:
    def hub_url(**config: str) -> str:
        return TapDockerDVP(config={"username": "u", "password": "p", **config}).urls.hub_url

    assert hub_url() == DEFAULT_HUB_URL
    assert hub_url(api_url="http://proxy.example:8080/dvp/api/publisher/analytics/v1") == "http://proxy.example:8080"
    assert hub_url(api_url="https://proxy.example/x", hub_url="https://hub.example") == "https://hub.example"  # chosen


# -- statuses that cannot get better, retries logged once --------------------------------------------
@pytest.mark.parametrize("status", [501, 505, 400])
def test_an_answer_that_cannot_get_better_is_not_retried(simulator, tmp_path: Path, status: int) -> None:
    sim = simulator(small())
    sim.add_fault({"match": "years", "kind": "status", "status": status, "times": None})
    run = run_cli(config=fast(sim), tmp_path=tmp_path)
    run.assert_fails_in_one_line(f"{status} ", "/namespaces/acme/pulls/exports/years", max_lines=12)
    assert sim.stats["faults_injected"] == 1
    assert not [m for m in run.messages() if m.startswith("Waiting")]


def test_a_login_answer_that_cannot_get_better_is_not_retried(simulator, tmp_path: Path) -> None:
    sim = simulator(small())
    sim.add_fault({"match": "login", "kind": "status", "status": 501, "times": None})
    run = run_cli(config=fast(sim), tmp_path=tmp_path)
    line = run.assert_fails_in_one_line("/v2/users/login answered HTTP 501", "/v2/auth/token answered HTTP 501")
    assert "check `hub_url`" in line
    assert sim.stats["endpoints"]["users-login"] == 1 and sim.stats["endpoints"]["auth-token"] == 1


def test_every_retry_is_logged_once_with_endpoint_wait_and_reason(simulator, tmp_path: Path) -> None:
    sim = simulator(small())
    sim.add_fault({"match": "years", "kind": "status", "status": 503, "times": 2})
    sim.add_fault({"match": "users-login", "kind": "status", "status": 502, "times": 1})
    run = run_cli(config=fast(sim), tmp_path=tmp_path)
    assert run.code == 0, run.stderr
    waits = [m for m in run.messages() if "retrying" in m.lower() or "backing off" in m.lower()]
    assert len(waits) == 3, waits
    assert waits[0].startswith("Waiting ") and "retrying /v2/users/login after HTTP 502 (attempt 1 of 9)" in waits[0]
    for attempt, line in enumerate(waits[1:], 1):
        assert f"retrying /namespaces/acme/pulls/exports/years after HTTP 503 (attempt {attempt} of 9)" in line


# -- settings ---------------------------------------------------------------------------------------
def test_an_empty_password_asks_for_a_personal_access_token(simulator, tmp_path: Path) -> None:
    sim = simulator(small())
    run = run_cli(config=fast(sim, password=""), tmp_path=tmp_path)
    run.assert_fails_in_one_line("setting `password` is empty", "personal access token", max_lines=MAX_LINES)
    assert sim.stats["requests_total"] == 0


# -- `--test`: the connection check ------------------------------------------------------------------
def test_connection_test_passes_with_a_one_line_verdict(simulator, tmp_path: Path) -> None:
    sim = simulator(small())
    run = run_cli("--test", config=fast(sim), tmp_path=tmp_path)
    assert run.code == 0, run.stderr
    assert "Traceback" not in run.stderr and not run.at("ERROR"), run.stderr
    verdict = run.messages()[-1]
    assert verdict.startswith(f"Connection test passed: logged in at {sim.hub_url} as {sim.config.username}; ")
    assert "lists namespace(s) acme" in verdict
    # a row or so a stream: no new table version, which would let a target delete the rest
    messages = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert {m["stream"] for m in messages if m["type"] == "RECORD"} >= {"namespaces", "repositories"}
    assert not [m for m in messages if m["type"] == "ACTIVATE_VERSION"]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_connection_test_with_batch_config_reads_a_record_a_stream_and_writes_no_file(
    simulator, tmp_path: Path, fmt: str
) -> None:
    # The SDK's record limit stops only its record path: with batch_config its BATCH path read every period and
    # left every file in the storage, and the verdict still said "one record read per stream".
    sim = simulator(small())
    root = tmp_path / "batches"
    config = {**fast(sim), "batch_config": {"encoding": {"format": fmt}, "storage": {"root": root.as_uri()}}}
    run = run_cli("--test", config=config, tmp_path=tmp_path)
    assert run.code == 0, run.stderr
    assert run.messages()[-1].startswith("Connection test passed: "), run.stderr
    messages = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert not [m for m in messages if m["type"] in ("BATCH", "ACTIVATE_VERSION")]
    per_stream = Counter(m["stream"] for m in messages if m["type"] == "RECORD")
    assert per_stream["pull_events"] == 1 and per_stream["namespaces"] == 1, per_stream
    assert max(per_stream.values()) <= 2, per_stream  # a parent's record and its first child's, at most
    assert root.is_dir() and not [p for p in root.rglob("*") if p.is_file()]  # the probe file written, then deleted


@pytest.mark.parametrize("case", ["wrong-password", "dead-api-url"])
def test_connection_test_fails_with_a_one_line_verdict(simulator, tmp_path: Path, case: str) -> None:
    sim = simulator(small())
    if case == "wrong-password":
        config, needles = fast(sim, password="dckr_pat_not-it"), ("`username` and `password`",)
    else:
        api_url = f"http://127.0.0.1:{closed_port()}/api/publisher/analytics/v1"
        config, needles = {**credentials(sim), "api_url": api_url, "hub_url": sim.hub_url}, ("`api_url`", api_url)
    run = run_cli("--test", config=config, tmp_path=tmp_path)
    line = run.assert_fails_in_one_line("Connection test failed: ", *needles, max_lines=MAX_LINES)
    assert "dckr_pat_not-it" not in run.stderr
    assert line.startswith("Connection test failed: ")
    assert run.seconds < TIME_LIMIT


# -- DEBUG may say more -----------------------------------------------------------------------------
def test_debug_shows_the_traceback_of_an_api_error(simulator, tmp_path: Path) -> None:
    sim = simulator(small())
    with html_server() as (url, _seen):
        config = {**credentials(sim), "api_url": url, "hub_url": sim.hub_url}
        quiet = run_cli(config=config, tmp_path=tmp_path)
        debug = run_cli(config=config, tmp_path=tmp_path, level="DEBUG")
    quiet.assert_fails_in_one_line("`api_url`")
    assert debug.code == 1 and "Traceback" in debug.stderr


def test_every_stream_with_a_bookmark_has_its_bookmarks_checked() -> None:
    from tap_dockerdvp.tap import DATED_STREAMS, STREAMS

    incremental = {s.name for s in STREAMS if isinstance(getattr(s, "replication_key", None), str)}
    assert incremental == DATED_STREAMS


# -- credentials never follow a redirect ------------------------------------------------------------------
class _Recorder(BaseHTTPRequestHandler):
    """Another host: records what reaches it."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.seen.append((self.path, self.rfile.read(length)))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"token": "x", "access_token": "x"}')

    def log_message(self, *_args: object) -> None:
        pass


def _redirecting_to(target: str, status: int) -> type[BaseHTTPRequestHandler]:
    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(status)
            self.send_header("Location", target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    return Redirect


@pytest.mark.parametrize("status", [307, 308])
def test_a_login_redirected_to_another_host_sends_it_no_credentials(simulator, tmp_path: Path, status: int) -> None:
    # requests re-sends a 307/308's body: the password went to whatever host the login endpoint pointed at
    sim = simulator(small())
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)]
    servers[0].seen = []  # type: ignore[attr-defined]
    other = f"http://127.0.0.1:{servers[0].server_address[1]}"
    servers.append(ThreadingHTTPServer(("127.0.0.1", 0), _redirecting_to(other, status)))
    for server in servers:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    hub_url = f"http://127.0.0.1:{servers[1].server_address[1]}"
    try:
        run = run_cli(config={**credentials(sim), "api_url": sim.api_url, "hub_url": hub_url}, tmp_path=tmp_path)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    line = run.assert_fails_in_one_line(f"with a redirect (HTTP {status}) to {other}", "check `hub_url`")
    assert servers[0].seen == []  # type: ignore[attr-defined]
    assert sim.config.password not in run.stderr and sim.config.password not in line


class _Refuses(BaseHTTPRequestHandler):
    """Another host: answers 401 to every request, and records the Authorization headers it got."""

    def do_GET(self) -> None:
        self.server.seen.append(self.headers.get("Authorization"))  # type: ignore[attr-defined]
        body = b'{"detail": "Authentication credentials were not provided."}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


def test_an_api_request_redirected_to_another_host_is_one_line_not_a_login_loop(simulator, tmp_path: Path) -> None:
    # requests drops the token on a redirect to another host, which then answers 401: the tap logged in again and
    # again, and ended with "401 ...: logging in again (gave up after 4 tries)"
    sim = simulator(small())
    other = ThreadingHTTPServer(("127.0.0.1", 0), _Refuses)
    other.seen = []  # type: ignore[attr-defined]
    threading.Thread(target=other.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    elsewhere = f"127.0.0.1:{other.server_address[1]}"
    location = f"http://{elsewhere}/api/publisher/analytics/v1/namespaces/acme/pulls"
    sim.add_fault({"match": "/exports/years", "kind": "status", "status": 302, "body": "", "times": None,
                   "headers": {"Location": location}})  # fmt: skip
    try:
        run = run_cli(config=fast(sim, timespan_types=["weeks"]), tmp_path=tmp_path)
    finally:
        other.shutdown()
        other.server_close()
    line = run.assert_fails_in_one_line(f"to another host ({elsewhere}), which answered HTTP 401", "check `api_url`")
    assert "logging in again" not in run.stderr and run.stderr.count("Logging in") == 1
    assert other.seen and not any(other.seen)  # type: ignore[attr-defined]  # reached, and never given the token
    assert line
