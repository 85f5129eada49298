"""Run `tap-dockerdvp` as a user does (a subprocess) and read what it printed; servers that are not Docker Hub."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# The console script of the environment running the tests (`.venv/bin/tap-dockerdvp` after `make setup`).
TAP = Path(sys.executable).with_name("tap-dockerdvp")
# A JWT, and a presigned URL's signature not redacted: neither may reach any output
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}")
SIGNED_PARAM = re.compile(r"(?i)x-amz-(signature|credential|security-token)=(?!\[REDACTED\])")
# A log line: "2026-11-29 09:40:47,507 | ERROR    | tap-dockerdvp                  | message"
LOG_LINE = re.compile(r"^\S+ \S+ \| (?P<level>[A-Z]+) +\| (?P<logger>\S+) *\| (?P<message>.*)$")


@dataclasses.dataclass
class CliRun:
    args: list[str]
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def lines(self) -> list[str]:
        return self.stderr.splitlines()

    @property
    def log_lines(self) -> list[str]:
        """stderr without the SDK's METRIC lines (those are for Meltano, not for a person)."""
        return [line for line in self.lines if "| METRIC: " not in line]

    def at(self, level: str) -> list[str]:
        """The messages logged at ``level``."""
        found = []
        for line in self.lines:
            match = LOG_LINE.match(line)
            if match and match["level"] == level:
                found.append(match["message"])
        return found

    def messages(self) -> list[str]:
        return [m["message"] for m in map(LOG_LINE.match, self.log_lines) if m]

    def records(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for line in self.stdout.splitlines():
            message = json.loads(line)
            if message["type"] == "RECORD":
                counts[message["stream"]] = counts.get(message["stream"], 0) + 1
        return counts

    def assert_fails_in_one_line(self, *needles: str, max_lines: int | None = None) -> str:
        """Exit 1, one ERROR line holding every needle, no traceback; returns that line's message."""
        shown = f"`tap-dockerdvp {' '.join(self.args)}` printed:\n{self.stderr[-3000:]}"
        assert self.code == 1, shown
        assert "Traceback" not in self.stderr, shown
        errors = self.at("ERROR")
        assert len(errors) == 1, shown
        for needle in needles:
            assert needle in errors[0], f"{needle!r} not in the error line\n{shown}"
        if max_lines is not None:
            assert len(self.lines) <= max_lines, shown
        return errors[0]


def run_cli(
    *args: str | Path,
    config: dict[str, Any] | None = None,
    tmp_path: Path | None = None,
    level: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> CliRun:
    """Run the tap's CLI; ``config`` is written to a file and passed as ``--config``. The caller's
    TAP_DOCKERDVP_*, LOGLEVEL and SINGER_SDK_LOG_CONFIG are dropped; ``level`` sets LOGLEVEL, ``env`` adds to it."""
    argv = [str(a) for a in args]
    if config is not None:
        assert tmp_path is not None
        path = tmp_path / f"config-{time.monotonic_ns()}.json"
        path.write_text(json.dumps(config))
        argv = ["--config", str(path), *argv]
    dropped = ("LOGLEVEL", "SINGER_SDK_LOG_CONFIG")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TAP_DOCKERDVP_") and k not in dropped}
    if level:
        environment["LOGLEVEL"] = level
    environment.update(env or {})
    command = [str(TAP)] if TAP.exists() else [sys.executable, "-m", "tap_dockerdvp"]
    started = time.monotonic()
    proc = subprocess.run(
        [*command, *argv], capture_output=True, text=True, env=environment, timeout=timeout, stdin=subprocess.DEVNULL
    )
    return CliRun(argv, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)


def run_at_debug(config: dict[str, Any], tmp_path: Path, name: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of the tap run with ``config`` at DEBUG, the level that logs the most."""
    config_path = tmp_path / f"{name}.json"
    config_path.write_text(json.dumps(config))
    env = {**os.environ, "TAP_DOCKERDVP_LOGLEVEL": "DEBUG", "LOGLEVEL": "DEBUG"}
    proc = subprocess.run(
        [sys.executable, "-m", "tap_dockerdvp", "--config", str(config_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    return proc.returncode, proc.stdout, proc.stderr


def closed_port() -> int:
    """A local port where nothing listens: bound, then closed again."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _HtmlHandler(BaseHTTPRequestHandler):
    """A web server that is not Docker Hub: an HTML page for every GET, 501 for POST (as `python -m http.server`)."""

    requests_seen: list[str]

    def _page(self, status: int) -> None:
        body = b"<!DOCTYPE html><html><head><title>Welcome</title></head><body><h1>It works</h1></body></html>"
        self.server.requests_seen.append(f"{self.command} {self.path}")  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._page(200)

    def do_POST(self) -> None:
        self._page(501)

    def log_message(self, *_args: Any) -> None:
        pass


@contextlib.contextmanager
def html_server() -> Iterator[tuple[str, list[str]]]:
    """(base URL, requests received) of a local server answering HTML."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HtmlHandler)
    server.requests_seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.requests_seen  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
