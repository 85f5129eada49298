"""End to end: simulator -> `meltano run tap-dockerdvp target-duckdb` -> DuckDB.

The simulator runs as a subprocess (as in the demo); meltano runs in the real project (its
installed plugins) with everything that a run writes redirected into ``tmp_path``: the DuckDB file
(``TARGET_DUCKDB_FILEPATH``) and meltano's system database, which holds the state
(``MELTANO_DATABASE_URI``). The row counts read back from DuckDB must equal what the simulator's
data module says it served: target-duckdb 0.8.0 with duckdb>=1.3 loads zero rows without an
error, and only a count read back catches that.

Needs meltano (``make test`` installs it into .venv-meltano; ``MELTANO_BIN`` overrides). Skipped,
with the reason, when there is none.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

duckdb = pytest.importorskip("duckdb")

from tap_dockerdvp.simulator import data  # noqa: E402
from tap_dockerdvp.views import VIEWS  # noqa: E402

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = "dvp"
NAMESPACES = ("acme", "globex")
EXTENSION_NAMESPACES = ("acme",)
WEEKS = 3
ROWS_PER_WEEK = 200
TIMESPAN_TYPES = ("weeks", "months")  # the tap's default `timespan_types`
RAW_TIMESPAN_TYPE = "weeks"  # the tap's default `raw_timespan_type`
STATE_ID = "dev:tap-dockerdvp-to-target-duckdb"
RUN_TIMEOUT = 600
INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
EXPORT_TABLES = tuple(spec.stream_name for spec in VIEWS.values())


def find_meltano() -> str | None:
    """$MELTANO_BIN, then .venv-meltano/bin/meltano (what `make` installs), then meltano on PATH."""
    for candidate in (
        os.environ.get("MELTANO_BIN"),
        str(ROOT / ".venv-meltano" / "bin" / "meltano"),
    ):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("meltano")


@pytest.fixture(scope="module")
def meltano_bin() -> str:
    found = find_meltano()
    if found is None:
        pytest.skip(
            "meltano is not installed: run `make test` (it installs meltano into .venv-meltano) "
            "or set MELTANO_BIN to a meltano executable"
        )
    plugins = {
        "tap-dockerdvp": ROOT / ".meltano/extractors/tap-dockerdvp/venv/bin/tap-dockerdvp",
        "target-duckdb": ROOT / ".meltano/loaders/target-duckdb/venv/bin/target-duckdb",
    }
    missing = [name for name, path in plugins.items() if not path.exists()]
    if missing:  # `make test` installs them; a bare `pytest` after a clean checkout may not have
        subprocess.run([found, "install", *missing], cwd=ROOT, env=_base_env(), check=True, timeout=900)
    return found


# -------------------------------------------------------------------------------------------------
# The simulator, in a subprocess
# -------------------------------------------------------------------------------------------------
@dataclass
class Sim:
    url: str
    cfg: data.SimConfig


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    tmp = tmp_path_factory.mktemp("simulator")
    url_file = tmp / "simulator.url"
    # The tap calls a timespan complete by the UTC date: the simulator's "today" is the same day.
    today = dt.datetime.now(dt.timezone.utc).date()
    cmd = [
        sys.executable, "-m", "tap_dockerdvp.simulator",
        "--port", "0",
        "--url-file", str(url_file),
        "--namespaces", ",".join(NAMESPACES),
        "--extension-namespaces", ",".join(EXTENSION_NAMESPACES),
        "--weeks", str(WEEKS),
        "--rows-per-week", str(ROWS_PER_WEEK),
        "--end-date", today.isoformat(),
    ]  # fmt: skip
    log_path = tmp / "simulator.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            url = ""
            while not url.startswith("http"):
                if proc.poll() is not None:
                    pytest.fail(f"simulator exited with {proc.returncode}:\n{_tail(log_path)}")
                if time.monotonic() > deadline:
                    pytest.fail(f"simulator wrote no URL within 30 s:\n{_tail(log_path)}")
                time.sleep(0.1)
                url = url_file.read_text().strip() if url_file.exists() else ""
            url = url.rstrip("/")
            cfg = data.SimConfig(**_sim_call(url, "/_sim/config"))
            assert cfg.namespaces == NAMESPACES and cfg.weeks == WEEKS, cfg
            assert cfg.extension_namespaces == EXTENSION_NAMESPACES, cfg
            assert cfg.rows_per_week == ROWS_PER_WEEK and cfg.end_date == today, cfg
            yield Sim(url=url, cfg=cfg)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _sim_call(url: str, path: str) -> Any:
    """GET a simulator control endpoint; return the JSON answer."""
    response = requests.get(url + path, timeout=30)
    response.raise_for_status()
    return response.json()


# -------------------------------------------------------------------------------------------------
# What the simulator served
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


# -------------------------------------------------------------------------------------------------
# meltano runs
# -------------------------------------------------------------------------------------------------
def _base_env() -> dict[str, str]:
    """The environment without any TAP_DOCKERDVP_* / TARGET_DUCKDB_* / MELTANO_* of the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_DOCKERDVP_", "TARGET_DUCKDB_", "MELTANO_"))}
    env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    return env


@dataclass
class Run:
    meltano: str
    env: dict[str, str]
    db_path: Path
    logs: Path

    def __call__(self, *args: str, name: str) -> str:
        """Run meltano in the project; return its stdout (its logs go to ``<name>.log``)."""
        log_path = self.logs / f"{name}.log"
        with open(log_path, "wb") as err:
            proc = subprocess.run(
                [self.meltano, "--environment", "dev", *args],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=err,
                stdin=subprocess.DEVNULL,
                timeout=RUN_TIMEOUT,
                check=False,
            )
        assert proc.returncode == 0, f"`meltano {' '.join(args)}` exited with {proc.returncode}:\n{_tail(log_path, 60)}"
        return proc.stdout.decode(errors="replace")


@pytest.fixture(scope="module")
def run(meltano_bin: str, sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp = tmp_path_factory.mktemp("meltano")
    env = _base_env()
    env.update(
        {
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp / 'meltano.db'}",  # state lives here
            "TAP_DOCKERDVP_API_URL": sim.url + "/api/publisher/analytics/v1",
            "TAP_DOCKERDVP_HUB_URL": sim.url,
            "TAP_DOCKERDVP_USERNAME": sim.cfg.username,
            "TAP_DOCKERDVP_PASSWORD": sim.cfg.password,
            "TARGET_DUCKDB_FILEPATH": str(tmp / "e2e.duckdb"),
            "TARGET_DUCKDB_DEFAULT_TARGET_SCHEMA": SCHEMA,
            # _sdc_batched_at tells whether the second run re-emitted a row
            "TARGET_DUCKDB_ADD_METADATA_COLUMNS": "true",
        }
    )
    return Run(meltano=meltano_bin, env=env, db_path=tmp / "e2e.duckdb", logs=tmp)


def read_counts(db_path: Path) -> dict[str, int]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [SCHEMA]
            ).fetchall()
        ]
        return {
            t: con.execute(f'SELECT count(*) FROM {SCHEMA}."{t}"').fetchone()[0]  # noqa: S608
            for t in sorted(tables)
        }
    finally:
        con.close()


def query(db_path: Path, sql: str, params: list[Any] | None = None) -> list[tuple]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def column_types(db_path: Path) -> dict[tuple[str, str], str]:
    rows = query(
        db_path,
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = ?",
        [SCHEMA],
    )
    return {(table, column): dtype.upper() for table, column, dtype in rows}


def last_batched(db_path: Path, tables: tuple[str, ...]) -> dict[str, Any]:
    return {
        t: query(db_path, f'SELECT max(_sdc_batched_at) FROM {SCHEMA}."{t}"')[0][0]  # noqa: S608
        for t in tables
    }


# -------------------------------------------------------------------------------------------------
# The test
# -------------------------------------------------------------------------------------------------
def test_meltano_run_loads_every_row_then_resumes_from_state(run: Run, sim: Sim) -> None:
    expected = expected_counts(sim.cfg)
    # the fixture is sized so that every pull view has rows to compare
    assert expected["pull_events"] > 0 and expected["repo_summary"] > 0 and expected["timespans"] > 0

    # -- first run: everything -----------------------------------------------------------------
    run("run", "tap-dockerdvp", "target-duckdb", name="run1")
    counts = read_counts(run.db_path)
    missing = sorted(set(expected) - set(counts))
    assert not missing, f"tables not created: {missing} (created: {sorted(counts)})"
    mismatched = {t: (counts[t], expected[t]) for t in expected if counts[t] != expected[t]}
    assert not mismatched, f"rows loaded != rows served, as {{table: (loaded, served)}}: {mismatched}"

    # -- values and column types ---------------------------------------------------------------
    for timespan_type in TIMESPAN_TYPES:
        (loaded,) = query(
            run.db_path,
            f"SELECT COALESCE(SUM(pull_by_tag + pull_by_digest), 0) FROM {SCHEMA}.repo_summary "  # noqa: S608
            "WHERE timespan_type = ?",
            [timespan_type],
        )[0]
        assert int(loaded) == expected_pulls(sim.cfg, timespan_type), timespan_type

    types = column_types(run.db_path)
    integer_columns = [
        ("repo_summary", "pull_by_tag"),
        ("repo_summary", "pull_by_digest"),
        ("repo_summary", "unique_ip_count"),
        ("summary", "version_check"),
        ("namespace_summary", "pull_by_tag"),
        ("geo_repo_summary", "unique_ip_count"),
        ("ext_summary", "installs"),
        ("pull_events", "row_number"),
        ("timespans", "year"),
        ("timespans", "timespan"),
    ]
    for key in integer_columns:
        assert types.get(key) in INTEGER_TYPES, f"{key}: {types.get(key)}"
    for key in [
        ("timespans", "timespan_start"),
        ("timespans", "timespan_end"),
        ("pull_events", "timestamp"),
    ]:
        assert types.get(key) == "TIMESTAMP", f"{key}: {types.get(key)}"
    for key in [
        ("pull_events", "repository"),
        ("repositories", "name"),
        ("namespaces", "namespace"),
    ]:
        assert types.get(key) == "VARCHAR", f"{key}: {types.get(key)}"
    # timespan_start is a real instant: the Monday of an ISO week, at midnight
    first_week = query(
        run.db_path,
        f"SELECT min(timespan_start) FROM {SCHEMA}.timespans WHERE timespan_type = 'weeks'",  # noqa: S608
    )[0][0]
    assert isinstance(first_week, dt.datetime) and first_week.weekday() == 0
    assert (first_week.hour, first_week.minute, first_week.second) == (0, 0, 0)

    # -- state was saved -----------------------------------------------------------------------
    state = json.loads(run("state", "get", STATE_ID, name="state"))
    assert "timespans" in json.dumps(state.get("singer_state", state)), state

    # -- second run, from the saved state: nothing new -----------------------------------------
    batched = last_batched(run.db_path, (*EXPORT_TABLES, "timespans"))
    run("run", "tap-dockerdvp", "target-duckdb", name="run2")
    assert read_counts(run.db_path) == counts, "the second run changed the row counts"
    assert last_batched(run.db_path, (*EXPORT_TABLES, "timespans")) == batched, (
        "the second run re-emitted rows of timespans that the state says are done"
    )


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"
