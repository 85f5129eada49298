"""A JWT that reaches a log line is redacted, in the one-line error and in the DEBUG traceback.

The tap never logs a token on purpose, so a test that only looks for none proves nothing. Here Docker Hub
answers with an error body that echoes a bearer token (as some APIs do: "token ... has no access"): the
tap puts the body's message in its error line, so the token is really on its way to the log, and the line
must carry the message with the token replaced.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from cli_support import run_cli
from tap_harness import tap_config

from dockerdvp_simulator import SimConfig

REDACTED = "[REDACTED]"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}")


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_token_echoed_in_an_error_body_is_redacted_where_the_message_is_logged(simulator, tmp_path, level) -> None:
    sim = simulator(SimConfig(namespaces=("acme",), weeks=1, rows_per_week=20, end_date=dt.date(2026, 11, 18)))
    token = sim.issue_token()  # a real Docker-shaped JWT, like the one the tap sends
    assert JWT.fullmatch(token)
    sim.add_fault(
        {
            "match": "years",
            "kind": "status",
            "status": 403,
            "times": None,
            "body": {"detail": f"token {token} has no access to namespace acme", "errinfo": {}},
        }
    )
    run = run_cli(config=tap_config(sim, timespan_types=["weeks"]), tmp_path=tmp_path, level=level)
    if level == "INFO":
        line = run.assert_fails_in_one_line("HTTP 403")
    else:  # the same line, after the traceback a DEBUG run adds
        assert run.code == 1
        [line] = run.at("ERROR")
    # positive control: the body's message is in the line (cut at 200 characters, inside the token), with the
    # token taken out of it
    assert f"(HTTP 403: token {REDACTED}): the account 'demo' (setting `username`) lacks" in line, line
    if level == "DEBUG":
        traceback = run.stderr.partition("Traceback (most recent call last)")[2]
        assert f"token {REDACTED})" in traceback, run.stderr[-3000:]
    header, claims, _signature = token.split(".")
    for text in (run.stdout, run.stderr):
        assert header[:16] not in text and claims[:16] not in text  # not even the part before the cut
        assert not JWT.search(text), JWT.search(text)
