"""A 200 whose JSON is not the documented shape is never read as "nothing there".

Read as empty, an error object in place of the namespace list would make the full-table streams tell the target to
delete every row (ACTIVATE_VERSION with no records), and an empty listing would let a bookmark move past a period.
The run stops with one line naming the request instead; the spec's own empty forms (`[]`, `null`) stay empty.
"""

from __future__ import annotations

import datetime as dt

import pytest
from tap_harness import catalog_selecting, run_tap, run_tap_until_error, tap_config

from dockerdvp_simulator import SimConfig
from tap_dockerdvp.errors import UnexpectedAnswerError

ERROR_OBJECT = {"detail": "Service temporarily unavailable"}
HUB_PAGE = {"count": 1, "next": None, "previous": None, "results": [{"namespace": "acme"}]}


@pytest.fixture
def sim(simulator):
    return simulator(
        SimConfig(namespaces=("acme",), weeks=2, rows_per_week=30, end_date=dt.date(2026, 11, 18),
                  include_partial=False, report_namespaces=("acme",))
    )  # fmt: skip


@pytest.mark.parametrize(
    ("match", "body", "named"),
    [
        ("namespaces", ERROR_OBJECT, "GET /namespaces answered"),
        ("namespaces", HUB_PAGE, "GET /namespaces answered"),
        ("namespaces", ["acme"], "GET /namespaces answered"),
        ("years", ERROR_OBJECT, "/pulls/exports/years answered"),
        ("timespans", ERROR_OBJECT, "/pulls/exports/years/2026/weeks answered"),
        (r"/weeks/\d+/[a-z-]+$", ERROR_OBJECT, "the file listing answered"),
        (r"/namespaces/acme/pulls(\?|$)", ERROR_OBJECT, "acme: the pull statistics answered"),
        ("/repos/pulls", ERROR_OBJECT, "acme: the repositories' pull statistics answered"),
        ("reports", ERROR_OBJECT, "namespace acme: the report catalogue answered"),
    ],
    ids=["namespaces error object", "namespaces hub page", "namespaces names", "years", "weeks", "view files",
         "namespace pull stats", "repository pull stats", "report catalogue"],
)  # fmt: skip
def test_an_answer_of_another_shape_stops_the_run_in_one_line(sim, match, body, named) -> None:
    sim.add_fault({"match": match, "kind": "status", "status": 200, "body": body, "times": None})
    out, error = run_tap_until_error(tap_config(sim))
    assert isinstance(error, UnexpectedAnswerError), error
    message = str(error)
    assert named in message and "not the documented" in message and "\n" not in message
    assert sim.stats["faults_injected"] >= 1
    if match == "namespaces":  # found before anything is sent: no stream tells the target to delete rows
        assert not out.by_stream("ACTIVATE_VERSION", "version") and not out.records


def test_the_documented_empty_forms_stay_empty(simulator) -> None:
    sim = simulator(
        SimConfig(namespaces=("acme",), weeks=2, rows_per_week=30, end_date=dt.date(2026, 11, 18),
                  include_partial=False, empty_lists="null", report_namespaces=("acme",))
    )  # fmt: skip
    sim.add_fault({"match": r"/namespaces/acme/pulls(\?|$)", "kind": "status", "status": 200, "body": {"pulls": None}})
    out = run_tap(tap_config(sim))
    assert out.records["pull_events"] and "namespace_pull_stats" not in out.records


def pulls_answer(pull_count: object) -> dict:
    row = {"start": "2026-11-02T00:00:00Z", "end": "2026-11-08T00:00:00Z", "pullCount": pull_count, "ipCount": "7"}
    return {"pulls": [row]}


def test_counts_sent_as_text_are_typed(sim) -> None:
    sim.add_fault({"match": r"/namespaces/acme/pulls(\?|$)", "kind": "status", "status": 200,
                   "body": pulls_answer(" 30"), "times": None})  # fmt: skip
    config = tap_config(sim)
    out = run_tap(config, catalog=catalog_selecting(config, ["namespace_pull_stats"]))
    [row] = out.records["namespace_pull_stats"]
    assert (row["pull_count"], row["ip_count"]) == (30, 7)


def test_a_count_sent_as_a_whole_float_is_typed(sim) -> None:
    sim.add_fault({"match": r"/namespaces/acme/pulls(\?|$)", "kind": "status", "status": 200,
                   "body": pulls_answer(30.0), "times": None})  # fmt: skip
    config = tap_config(sim)
    out = run_tap(config, catalog=catalog_selecting(config, ["namespace_pull_stats"]))
    [row] = out.records["namespace_pull_stats"]
    assert row["pull_count"] == 30 and isinstance(row["pull_count"], int)


@pytest.mark.parametrize("count", [2.5, 2**64, "18446744073709551616"], ids=["fraction", "past 64 bits", "as text"])
def test_a_count_no_integer_column_holds_stops_the_run(sim, count) -> None:
    # 2.5 reached an integer column as 2.5, and 2**64 as itself, which a warehouse's BIGINT cannot hold
    sim.add_fault({"match": r"/namespaces/acme/pulls(\?|$)", "kind": "status", "status": 200,
                   "body": pulls_answer(count), "times": None})  # fmt: skip
    config = tap_config(sim)
    out, error = run_tap_until_error(config, catalog=catalog_selecting(config, ["namespace_pull_stats"]))
    assert isinstance(error, UnexpectedAnswerError)
    assert "the API sent `pull_count` as" in str(error) and "which is not an integer of 64 bits" in str(error)
    assert not out.by_stream("ACTIVATE_VERSION", "version") and not out.records


def test_a_flag_sent_as_text_is_typed_not_taken_for_true(sim) -> None:
    metadata = {"namespace": "acme", "extensionPublisher": "false", "publisherType": "DVP", "extraRepos": None,
                "datasets": [{"name": "pulls", "timespans": ["weeks"], "views": ["raw"]}]}  # fmt: skip
    sim.add_fault({"match": "namespaces", "kind": "status", "status": 200, "body": {"namespaces": [metadata]},
                   "times": None})  # fmt: skip
    config = tap_config(sim)
    out = run_tap(config, catalog=catalog_selecting(config, ["namespaces"]))
    [row] = out.records["namespaces"]
    assert row["extension_publisher"] is False


def test_a_count_that_is_not_a_number_stops_the_run_before_anything_is_deleted(sim) -> None:
    sim.add_fault({"match": r"/namespaces/acme/pulls(\?|$)", "kind": "status", "status": 200,
                   "body": pulls_answer("thirty"), "times": None})  # fmt: skip
    config = tap_config(sim)
    out, error = run_tap_until_error(config, catalog=catalog_selecting(config, ["namespace_pull_stats"]))
    assert isinstance(error, UnexpectedAnswerError)
    assert str(error).startswith('namespace_pull_stats: the API sent `pull_count` as "thirty", which is not an integer')
    assert not out.by_stream("ACTIVATE_VERSION", "version") and not out.records


def test_a_file_listed_by_its_path_alone_is_read_from_the_api_host(sim) -> None:
    from urllib.parse import urlsplit

    from dockerdvp_simulator import data as simdata

    year, week, _start, _end = simdata.complete_timespans(sim.config, "acme", "weeks")[-1]
    served = sim.export_files("acme", "raw", "weeks", year, week)
    paths = [{"url": urlsplit(f["url"]).path + "?" + urlsplit(f["url"]).query, "size": f["size"]} for f in served]
    sim.add_fault({"match": rf"/weeks/{week}/raw$", "kind": "status", "status": 200, "body": {"data": paths},
                   "times": None})  # fmt: skip
    config = tap_config(sim, timespan_types=["weeks"], start_date=_start.isoformat())
    out = run_tap(config, catalog=catalog_selecting(config, ["timespans", "pull_events"]))
    assert len(out.records["pull_events"]) == sim.config.rows_per_week
    assert sim.stats["faults_injected"] >= 1


def test_two_different_rows_under_one_key_stop_the_run_before_anything_is_deleted(sim) -> None:
    row = {"start": "2026-11-02T00:00:00Z", "end": "2026-11-08T00:00:00Z", "pullCount": 30, "ipCount": 7}
    rows = [{**row, "namespace": "acme"}, {**row, "namespace": "otherns", "pullCount": 4}]  # grouped by namespace
    sim.add_fault({"match": r"/namespaces/acme/pulls(\?|$)", "kind": "status", "status": 200, "body": {"pulls": rows},
                   "times": None})  # fmt: skip
    config = tap_config(sim)
    out, error = run_tap_until_error(config, catalog=catalog_selecting(config, ["namespace_pull_stats"]))
    assert isinstance(error, UnexpectedAnswerError)
    assert str(error).startswith("namespace_pull_stats: the API answered two different rows with the key {")
    assert not out.by_stream("ACTIVATE_VERSION", "version") and not out.records


def test_an_answer_quoted_in_the_error_carries_no_token_or_signature() -> None:
    """The error shows the start of the answer: a JWT or a presigned URL's signature in it is redacted, before the
    line is cut (a cut signature would slip past the log's redactor)."""
    from tap_dockerdvp.dvp import answers

    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJl"
    body = {"detail": f"token {jwt} refused", "files": [{"url": "https://s3/x.csv.gz?X-Amz-Signature=abcdef0123"}]}
    message = str(answers.unexpected(body, "{'data': [...]}", what="GET /x"))
    assert jwt not in message and "eyJ" not in message and "abcdef0123" not in message
    assert "[REDACTED]" in message
    positive = str(answers.unexpected({"detail": "plain"}, "{'data': [...]}", what="GET /x"))
    assert '{"detail": "plain"}' in positive  # the answer is shown when there is nothing to hide
