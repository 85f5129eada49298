"""The README's benchmark command works as printed: `benchmarks/pull_events.py --quick` runs every mode, checks
that each wrote every row (it exits non-zero otherwise) and prints one line per mode with its ratio to bare."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_the_quick_benchmark_runs_every_mode() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "pull_events.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    for mode in ("record", "record-noarrow", "jsonl", "parquet"):
        assert re.search(rf"^\s+200,000 \|\s+1 \| {re.escape(mode)}\s+\|.*\| \d+\.\d\dx$", done.stdout, re.MULTILINE), (
            mode,
            done.stdout,
        )
