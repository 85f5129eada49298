"""What the end-to-end tests share: meltano, the simulator in a subprocess, and what it served.

Every e2e test runs the real `meltano` CLI in this project (its installed plugins) with everything a run
writes redirected into the test's tmp_path: meltano's system database (which holds the state) through
MELTANO_DATABASE_URI, and the target's output through the target's own TARGET_* variables. The tap is
pointed at a simulator subprocess through TAP_DOCKERDVP_API_URL / _HUB_URL / _USERNAME / _PASSWORD.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sim_process import wait_for_url

from dockerdvp_simulator import data
from tap_dockerdvp.dvp.views import VIEWS
from tap_dockerdvp.tap import TapDockerDVP

ROOT = Path(__file__).resolve().parents[2]
# Small data: every pull view has rows, and a run takes seconds.
NAMESPACES = ("acme", "globex")
EXTENSION_NAMESPACES = ("acme",)
WEEKS = 3
ROWS_PER_WEEK = 200
TIMESPAN_TYPES = ("weeks", "months")  # the tap's default `timespan_types`
RAW_TIMESPAN_TYPE = "weeks"  # the tap's default `raw_timespan_type`
RUN_TIMEOUT = 600
EXPORT_TABLES = tuple(spec.stream_name for spec in VIEWS.values())
SUMMARY_TABLES = tuple(name for name in EXPORT_TABLES if name.endswith("summary"))
# Every variable a run reads that a developer's shell may have set: dropped before each run.
ENV_PREFIXES = ("TAP_DOCKERDVP_", "TARGET_DUCKDB_", "TARGET_POSTGRES_", "TARGET_JSONL_", "MELTANO_")


# -------------------------------------------------------------------------------------------------
# meltano
# -------------------------------------------------------------------------------------------------
def find_meltano() -> str | None:
    """$MELTANO_BIN, then .venv-meltano/bin/meltano (what `make` installs), then meltano on PATH."""
    for candidate in (
        os.environ.get("MELTANO_BIN"),
        str(ROOT / ".venv-meltano" / "bin" / "meltano"),
    ):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("meltano")


# (table, column) pairs every warehouse must load as integers.
INTEGER_COLUMNS = [
    ("repo_summary", "pull_by_tag"),
    ("repo_summary", "pull_by_digest"),
    ("repo_summary", "unique_ip_count"),
    ("summary", "version_check"),
    ("namespace_summary", "pull_by_tag"),
    ("geo_repo_summary", "unique_ip_count"),
    ("ext_summary", "installs"),
    ("pull_events", "row_number"),
    ("pull_events", "file_index"),
    ("timespans", "year"),
    ("timespans", "timespan"),
]


def checked(
    command: list[str | Path], *, what: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> str:
    """Run ``command`` with no stdin, its output captured; its stdout, or a failed test naming ``what`` with the
    end of its stderr."""
    proc = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, f"{what} exited with {proc.returncode}:\n{proc.stderr[-4000:]}"
    return proc.stdout


def base_env() -> dict[str, str]:
    """The environment without any TAP_DOCKERDVP_* / TARGET_* / MELTANO_* of the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIXES)}
    env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    return env


def require_meltano(*plugins: tuple[str, str]) -> str:
    """The meltano executable (skip without one), with ``plugins`` ((kind, name) pairs) installed."""
    found = find_meltano()
    if found is None:
        pytest.skip(
            "meltano is not installed: run `make test` (it installs meltano into .venv-meltano) "
            "or set MELTANO_BIN to a meltano executable"
        )
    missing = [name for kind, name in plugins if not (ROOT / ".meltano" / kind / name / "venv" / "bin" / name).exists()]
    if missing:  # `make test` installs them; a bare `pytest` after a clean checkout may not have
        subprocess.run([found, "install", *missing], cwd=ROOT, env=base_env(), check=True, timeout=900)
    return found


@dataclass
class Meltano:
    """Runs meltano in the project with ``env``; each run's logs go to ``<logs>/<name>.log``."""

    bin: str
    env: dict[str, str]
    logs: Path

    def __call__(self, *args: str, name: str, env: dict[str, str] | None = None, stdout: Path | None = None) -> str:
        """Run ``meltano --environment dev ARGS``; return its stdout (or write it to ``stdout``)."""
        log_path = self.logs / f"{name}.log"
        with open(log_path, "wb") as err, open(stdout or os.devnull, "wb") as out:
            proc = subprocess.run(
                [self.bin, "--environment", "dev", *args],
                cwd=ROOT,
                env={**self.env, **(env or {})},
                stdout=out if stdout else subprocess.PIPE,
                stderr=err,
                stdin=subprocess.DEVNULL,
                timeout=RUN_TIMEOUT,
                check=False,
            )
        assert proc.returncode == 0, f"`meltano {' '.join(args)}` exited with {proc.returncode}:\n{tail(log_path, 60)}"
        return "" if stdout else proc.stdout.decode(errors="replace")


def meltano_runner(meltano_bin: str, sim: Sim, tmp: Path, **extra_env: str) -> Meltano:
    """A Meltano whose state lives in ``tmp`` and whose tap reads the simulator."""
    env = base_env()
    env.update(
        {
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp / 'meltano.db'}",  # state lives here
            "TAP_DOCKERDVP_API_URL": sim.url + "/api/publisher/analytics/v1",
            "TAP_DOCKERDVP_HUB_URL": sim.url,
            "TAP_DOCKERDVP_USERNAME": sim.cfg.username,
            "TAP_DOCKERDVP_PASSWORD": sim.cfg.password,
        }
    )
    env.update(extra_env)
    return Meltano(bin=meltano_bin, env=env, logs=tmp)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"


# -------------------------------------------------------------------------------------------------
# The simulator, in a subprocess (as in the demo)
# -------------------------------------------------------------------------------------------------
@dataclass
class Sim:
    url: str
    cfg: data.SimConfig


@contextmanager
def run_simulator(tmp: Path, **options: Any) -> Iterator[Sim]:
    """The simulator serving the e2e data (``NAMESPACES``, ``WEEKS``, ...), with ``options`` (SimConfig fields,
    e.g. ``row_shape="wide"``, ``report_namespaces=("globex",)``) on top; checks it serves what was asked."""
    # The tap calls a timespan complete by the UTC date: the simulator's "today" is the same day.
    today = dt.datetime.now(dt.timezone.utc).date()
    wanted: dict[str, Any] = {
        "namespaces": NAMESPACES,
        "extension_namespaces": EXTENSION_NAMESPACES,
        "weeks": WEEKS,
        "rows_per_week": ROWS_PER_WEEK,
        "end_date": today,
        **options,
    }
    url_file = tmp / "simulator.url"
    cmd = [sys.executable, "-m", "dockerdvp_simulator", "--port", "0", "--url-file", str(url_file)]
    for name, value in wanted.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            cmd.append(flag if value else "--no-" + name.replace("_", "-"))
        else:
            cmd += [flag, ",".join(value) if isinstance(value, tuple) else str(value)]
    log_path = tmp / "simulator.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            url = wait_for_url(proc, url_file, timeout=30, output=lambda: tail(log_path)).rstrip("/")
            cfg = data.SimConfig(**sim_call(url, "/_sim/config"))
            served = {name: getattr(cfg, name) for name in wanted}
            assert served == wanted, f"the simulator serves {served}, not {wanted}"
            yield Sim(url=url, cfg=cfg)
        finally:
            stop(proc)


def stop(proc: subprocess.Popen) -> None:
    """End a server the test started: SIGTERM, then SIGKILL after 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def sim_call(url: str, path: str) -> Any:
    """GET a simulator control endpoint; return the JSON answer."""
    response = requests.get(url + path, timeout=30)
    response.raise_for_status()
    return response.json()


# -------------------------------------------------------------------------------------------------
# What the simulator served, and what the tap declares
# -------------------------------------------------------------------------------------------------
def expected_counts(cfg: data.SimConfig) -> Counter[str]:
    """Rows per table for the tap's default settings, from the simulator's data module."""
    counts: Counter[str] = Counter({table: 0 for table in EXPORT_TABLES})
    for namespace in cfg.namespaces:
        counts["namespaces"] += 1
        counts["repositories"] += len(data.repo_names(cfg, namespace))
        counts["repositories"] += len(data.extra_repos(cfg, namespace) or [])
        for timespan_type in TIMESPAN_TYPES:
            timespans = data.complete_timespans(cfg, namespace, timespan_type)
            counts["timespans"] += len(timespans)
            for year, number, _first, _last in timespans:
                for view, spec in VIEWS.items():
                    if view == "raw" and timespan_type != RAW_TIMESPAN_TYPE:
                        continue  # pull_events come from one granularity only
                    if view not in data.VIEW_COLUMNS:
                        continue  # a view the simulator does not generate (premium extensions)
                    counts[spec.stream_name] += data.expected_rows(cfg, namespace, view, timespan_type, year, number)
    return counts


def expected_pulls(cfg: data.SimConfig, timespan_type: str) -> int:
    """pull_by_tag + pull_by_digest over all repo-summary rows of the complete timespans."""
    total = 0
    for namespace in cfg.namespaces:
        for _year, _number, first, last in data.complete_timespans(cfg, namespace, timespan_type):
            for row in data.aggregates(cfg, namespace, first, last).views["repo-summary"]:
                total += int(row[3]) + int(row[4])
    return total


def key_properties(sim: Sim) -> dict[str, list[str]]:
    """Each stream's primary key, from the tap's catalog."""
    tap = TapDockerDVP(
        config={
            "username": sim.cfg.username,
            "password": sim.cfg.password,
            "api_url": sim.url + "/api/publisher/analytics/v1",
            "hub_url": sim.url,
        },
        validate_config=True,
    )
    return {entry["tap_stream_id"]: list(entry.get("key_properties") or []) for entry in tap.catalog_dict["streams"]}
