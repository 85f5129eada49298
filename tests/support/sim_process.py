"""The simulator started as a process (`python -m dockerdvp_simulator --url-file FILE`): waiting until it listens."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest


def wait_for_url(proc: subprocess.Popen, url_file: Path, *, timeout: float, output: Callable[[], object]) -> str:
    """The URL the simulator writes to ``url_file`` once it listens; a failed test, with ``output()`` (what it
    printed), if it exits first or writes none within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        url = url_file.read_text().strip() if url_file.exists() else ""
        if url.startswith("http"):
            return url
        if proc.poll() is not None:
            pytest.fail(f"simulator exited with {proc.returncode}:\n{output()}")
        if time.monotonic() > deadline:
            pytest.fail(f"simulator wrote no URL within {timeout:.0f} s:\n{output()}")
        time.sleep(0.05)
