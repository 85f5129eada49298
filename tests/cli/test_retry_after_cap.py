"""A Retry-After of hours is not waited out: the wait is capped at 15 minutes, on every request path.

Docker Hub has sent Retry-After both as seconds and as a unix time. The tap runs as a user runs it (the CLI in a
subprocess); its retry line says how long it waits, then the test stops it rather than wait.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
from cli_support import LOG_LINE, TAP
from tap_harness import tap_config

from dockerdvp_simulator import SimConfig

CAP_SECONDS = 900.0  # 15 minutes: MAX_RETRY_AFTER_SECONDS in tap_dockerdvp/retries.py
WAIT = re.compile(r"^Waiting (?P<seconds>[0-9.]+) s before retrying (?P<what>.*)$")


def first_wait(config: dict, tmp_path: Path, *, timeout: float = 60.0) -> tuple[float, str]:
    """Start the tap; return (seconds, what) of its first "Waiting ... before retrying" line, then stop it."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_DOCKERDVP_") and k != "SINGER_SDK_LOG_CONFIG"}
    env["LOGLEVEL"] = "INFO"
    proc = subprocess.Popen(
        [str(TAP), "--config", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            seen.append(line)
            match = LOG_LINE.match(line)
            wait = WAIT.match(match["message"]) if match else None
            if wait:
                return float(wait["seconds"]), wait["what"]
    finally:
        proc.kill()
        proc.wait(timeout=10)
        reader.join(timeout=10)  # the pipe ends with the process
        assert proc.stderr is not None
        proc.stderr.close()
    raise AssertionError("no retry line; the tap printed:\n" + "\n".join(seen[-40:]))


@pytest.mark.parametrize(
    ("match", "style", "retry_after", "expected", "what"),
    [
        ("years", "seconds", 3 * 3600, CAP_SECONDS, "/namespaces/acme/pulls/exports/years after HTTP 429"),
        ("download", "epoch", 2 * 3600, CAP_SECONDS, "HTTP 429 from storage"),
        ("users-login", "x-retry-after", 3600, CAP_SECONDS, "/v2/users/login after HTTP 429"),
        # positive control: a wait under the cap is the server's, so the lines above are the cap at work
        ("years", "seconds", 7, 7.0, "/namespaces/acme/pulls/exports/years after HTTP 429"),
    ],
    ids=["api-seconds", "download-epoch", "login-x-retry-after", "under-the-cap"],
)
def test_a_long_retry_after_is_capped(simulator, tmp_path, match, style, retry_after, expected, what) -> None:
    sim = simulator(SimConfig(namespaces=("acme",), weeks=1, rows_per_week=20, end_date=dt.date(2026, 11, 18)))
    sim.add_fault({"match": match, "kind": "rate_limit", "retry_after": retry_after, "retry_after_style": style})
    seconds, said = first_wait(tap_config(sim, timespan_types=["weeks"], retry_base_seconds=1), tmp_path)
    assert what in said, said
    assert seconds == pytest.approx(expected, abs=1.5), said  # an epoch a second older reads a second shorter
    assert sim.stats["faults"] == {"rate_limit": 1}
