"""Deletes reach every target in every mode: a repository deleted on Docker Hub between two runs leaves the warehouse.

The tap runs twice against the simulator, in RECORD mode and in BATCH mode (gzip JSONL files under a local
``file://`` root); between the two runs the simulator deletes one repository (``deleted_repositories`` through
``/_sim/config``). Each output is loaded, first run then second run, into:

- MeltanoLabs target-snowflake 0.20.4 on the fakesnow emulator (tests/support/fakesnow_target.py says what it emulates),
  from ``.venv-snowflake`` (``make setup``: the target pins a pre-release singer-sdk);
- MeltanoLabs target-postgres 0.8.1 (Meltano's plugin venv) into the PostgreSQL that .ci/run starts;

each with ``hard_delete: true`` (the repository's rows are gone) and with soft delete (they are kept, with
``_sdc_deleted_at`` set, and no other row is), eight loads in all. Both targets delete by the version a row
carries (``_sdc_table_version < version``): with ``batch_config`` the full-table streams still send RECORD messages
stamped with their version, while the period streams come as BATCH files (their rows have NULL ``_sdc_*``
columns, which the test checks, so the BATCH mode is really used). Every table's row count is compared with what
the tap sent. The BATCH files are read by four targets, so target-snowflake keeps them (``clean_up_batch_files:
false``). Last, target-snowflake's refusal of parquet BATCH files, which docs/targets.md states.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from e2e_support import ROOT, Sim, base_env, require_meltano, run_simulator, tail
from tap_harness import VERSIONED_STREAMS

from dockerdvp_simulator import data

psycopg = pytest.importorskip("psycopg", reason="psycopg is a dev dependency: pip install -e '.[dev]'")
from postgres_support import Postgres as PgSchema  # noqa: E402 - after the psycopg check
from postgres_support import in_ci, postgres_schema, reachable_settings  # noqa: E402

pytestmark = pytest.mark.e2e

SNOWFLAKE_PYTHON = ROOT / ".venv-snowflake" / "bin" / "python"
SHIM = ROOT / "tests" / "support" / "fakesnow_target.py"
DATABASE, SCHEMA = "WAREHOUSE", "DVP"
BATCH = {"encoding": {"format": "jsonl", "compression": "gzip"}}
TIMEOUT = 600


@dataclass
class TapRun:
    """One run of the tap: its messages (a file), what it sent per stream, its table version."""

    messages: Path
    rows: Counter[str]
    version: int


def run_tap(sim: Sim, out: Path, batch_root: Path | None, batch_config: dict | None = None) -> TapRun:
    config = {
        "username": sim.cfg.username,
        "password": sim.cfg.password,
        "api_url": sim.url + "/api/publisher/analytics/v1",
        "hub_url": sim.url,
        "timespan_types": ["weeks"],
    }
    if batch_root is not None:
        config["batch_config"] = {**BATCH, "storage": {"root": batch_root.as_uri()}}
    if batch_config is not None:
        config["batch_config"] = batch_config
    (out.parent / f"{out.stem}.config.json").write_text(json.dumps(config))
    with open(out, "wb") as stdout, open(out.with_suffix(".log"), "wb") as stderr:
        proc = subprocess.run(
            [sys.executable, "-m", "tap_dockerdvp", "--config", out.parent / f"{out.stem}.config.json"],
            stdout=stdout,
            stderr=stderr,
            env=base_env(),
            timeout=TIMEOUT,
            check=False,
        )
    assert proc.returncode == 0, tail(out.with_suffix(".log"))
    rows: Counter[str] = Counter()
    versions = set()
    for line in out.read_text().splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            rows[message["stream"]] += 1
        elif message["type"] == "BATCH":
            for url in message["manifest"]:
                rows[message["stream"]] += rows_in(Path(urlsplit(url).path))
        elif message["type"] == "ACTIVATE_VERSION":
            versions.add(message["version"])
    (version,) = versions
    return TapRun(out, rows, version)


def rows_in(batch_file: Path) -> int:
    if batch_file.suffix == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(batch_file).metadata.num_rows)
    with gzip.open(batch_file, "rt") as handle:
        return sum(1 for _ in handle)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[data.SimConfig, str, dict[str, list[TapRun]]]]:
    """{mode: [first run, second run]}, the repository deleted in between (``acme/<name>``)."""
    tmp = tmp_path_factory.mktemp("deletes-tap")
    with run_simulator(tmp, weeks=2, rows_per_week=40) as sim:
        deleted = f"acme/{data.repo_names(sim.cfg, 'acme')[0]}"
        done: dict[str, list[TapRun]] = {"record": [], "batch": []}
        for number in (1, 2):
            if number == 2:
                answer = requests.post(sim.url + "/_sim/config", json={"deleted_repositories": [deleted]}, timeout=30)
                answer.raise_for_status()
            for mode in done:
                root = tmp / f"batches-{mode}-{number}" if mode == "batch" else None
                done[mode].append(run_tap(sim, tmp / f"{mode}-{number}.jsonl", root))
        yield sim.cfg, deleted, done


# -------------------------------------------------------------------------------------------------
# The two warehouses, behind one interface: load a run, count rows
# -------------------------------------------------------------------------------------------------
class Warehouse:
    name: str
    hard_delete: bool

    def load(self, run: TapRun, label: str) -> None:
        raise NotImplementedError

    def scalars(self, statements: list[str]) -> list[int]:
        """The one number each statement selects; ``T.<table>`` names a table of this load."""
        raise NotImplementedError

    def counts(self, **wanted: tuple[str, str]) -> dict[str, int]:
        """{name: rows of (table, condition)}, in one round trip."""
        sql = [f"SELECT count(*) FROM T.{table} WHERE {where}" for table, where in wanted.values()]  # noqa: S608
        return dict(zip(wanted, self.scalars(sql), strict=True))


class Snowflake(Warehouse):
    name = "target-snowflake"

    def __init__(self, tmp: Path, hard_delete: bool) -> None:
        self.tmp = tmp
        self.hard_delete = hard_delete
        self.db = tmp / "fakesnow"
        self.config = tmp / "target-snowflake.json"
        self.config.write_text(
            json.dumps(
                {
                    "account": "fake",
                    "user": "fake",
                    "password": "fake",
                    "database": DATABASE,
                    "default_target_schema": SCHEMA,
                    "add_record_metadata": True,
                    "hard_delete": hard_delete,
                    "clean_up_batch_files": False,  # the other targets read the same files
                }
            )
        )

    def run(self, *args: str | Path, stdin: Path | None = None, label: str) -> str:
        log = self.tmp / f"{label}.log"
        with open(stdin or os.devnull, "rb") as source, open(log, "wb") as err:
            proc = subprocess.run(
                [SNOWFLAKE_PYTHON, SHIM, self.db, *args],
                stdin=source,
                stdout=subprocess.PIPE,
                stderr=err,
                env=base_env(),
                timeout=TIMEOUT,
                check=False,
            )
        assert proc.returncode == 0, f"{self.name} {label} exited with {proc.returncode}:\n{tail(log, 40)}"
        return proc.stdout.decode()

    def load(self, run: TapRun, label: str) -> None:
        self.run("--config", self.config, stdin=run.messages, label=label)

    def scalars(self, statements: list[str]) -> list[int]:
        args = [arg for sql in statements for arg in ("--query", sql.replace("T.", f"{SCHEMA}."))]
        out = self.run("--database", DATABASE, *args, label="query").splitlines()
        return [int(next(iter(json.loads(line)[0].values()))) for line in out]


class Postgres(Warehouse):
    name = "target-postgres"

    def __init__(self, tmp: Path, hard_delete: bool, pg: PgSchema) -> None:
        self.tmp = tmp
        self.hard_delete = hard_delete
        self.pg = pg
        settings = pg.settings
        self.config = tmp / "target-postgres.json"
        self.config.write_text(
            json.dumps(
                {
                    "host": settings["host"],
                    "port": settings["port"],
                    "user": settings["user"],
                    "password": settings["password"],
                    "database": settings["dbname"],
                    "default_target_schema": pg.schema,
                    "add_record_metadata": True,
                    "load_method": "upsert",
                    "hard_delete": hard_delete,
                }
            )
        )
        self.executable = ROOT / ".meltano" / "loaders" / "target-postgres" / "venv" / "bin" / "target-postgres"

    def load(self, run: TapRun, label: str) -> None:
        log = self.tmp / f"{label}.log"
        with open(run.messages, "rb") as source, open(log, "wb") as err:
            proc = subprocess.run(
                [self.executable, "--config", self.config],
                stdin=source,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env={**base_env(), "PGTZ": "UTC"},
                timeout=TIMEOUT,
                check=False,
            )
        assert proc.returncode == 0, f"{self.name} {label} exited with {proc.returncode}:\n{tail(log, 40)}"

    def scalars(self, statements: list[str]) -> list[int]:
        schema = f'"{self.pg.schema}".'
        return [int(self.pg.query(sql.replace("T.", schema))[0][0]) for sql in statements]


def require_snowflake_venv() -> None:
    """Skip without .venv-snowflake (fail in CI, where `make test` creates it)."""
    if not SNOWFLAKE_PYTHON.exists():
        reason = f"{SNOWFLAKE_PYTHON.relative_to(ROOT)} is missing: `make setup` creates it"
        if in_ci():
            pytest.fail(f"{reason} (CI=true: the target-snowflake tests must run)")
        pytest.skip(reason)


@pytest.fixture
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    target, delete = request.param
    if target == "target-snowflake":
        require_snowflake_venv()
        yield Snowflake(tmp_path, delete == "hard")
        return
    require_meltano(("loaders", "target-postgres"))
    with postgres_schema("deletes", reachable_settings()) as pg:
        yield Postgres(tmp_path, delete == "hard", pg)


WAREHOUSES = [(t, d) for t in ("target-snowflake", "target-postgres") for d in ("hard", "soft")]


@pytest.mark.parametrize("mode", ["record", "batch"])
@pytest.mark.parametrize("warehouse", WAREHOUSES, indirect=True, ids=["-".join(w) for w in WAREHOUSES])
def test_a_deleted_repository_leaves_the_warehouse(warehouse: Warehouse, runs, mode: str) -> None:
    cfg, deleted, done = runs
    first, second = done[mode]
    namespace, name = deleted.split("/")
    repository = ("repositories", f"namespace = '{namespace}' AND name = '{name}'")
    stats = ("repository_pull_stats", f"repo = '{deleted}'")
    tables = {table: (table, "true") for table in first.rows}

    # -- the first run: every row the tap sent, the full-table rows with their version ------------------------
    warehouse.load(first, "load-1")
    got = warehouse.counts(
        **tables,
        repository=repository,
        stats=stats,
        # the period streams came as BATCH files in BATCH mode: the SDK targets add no metadata to those rows
        from_files=("pull_events", "_sdc_batched_at IS NULL"),
        **{f"{t}@version": (t, f"_sdc_table_version = {first.version}") for t in VERSIONED_STREAMS},
    )
    loaded = {table: got[table] for table in tables}
    assert loaded == dict(first.rows), f"{warehouse.name}, {mode}: rows loaded != rows sent"
    assert got["repository"] == 1 and got["stats"] > 0
    assert {t: got[f"{t}@version"] for t in VERSIONED_STREAMS} == {t: first.rows[t] for t in VERSIONED_STREAMS}
    assert first.rows["pull_events"] > 0
    assert got["from_files"] == (first.rows["pull_events"] if mode == "batch" else 0)

    # -- the second run, after the repository was deleted on Docker Hub -------------------------------------
    assert second.version > first.version
    assert second.rows["repositories"] == first.rows["repositories"] - 1
    warehouse.load(second, "load-2")
    got = warehouse.counts(
        **tables,
        repository=repository,
        stats=stats,
        repository_marked=(repository[0], f"{repository[1]} AND _sdc_deleted_at IS NOT NULL"),
        stats_marked=(stats[0], f"{stats[1]} AND _sdc_deleted_at IS NOT NULL"),
        globex=("repositories", "namespace = 'globex' AND _sdc_deleted_at IS NULL"),
        **{f"{t}@live": (t, "_sdc_deleted_at IS NULL") for t in VERSIONED_STREAMS},
        **{
            f"{t}@version": (t, f"_sdc_table_version = {second.version} AND _sdc_deleted_at IS NULL")
            for t in VERSIONED_STREAMS
        },
    )
    after = {table: got[table] for table in tables}
    # no period row deleted or added
    assert {t: n for t, n in after.items() if t not in VERSIONED_STREAMS} == {
        t: n for t, n in loaded.items() if t not in VERSIONED_STREAMS
    }
    gone = loaded["repository_pull_stats"] - second.rows["repository_pull_stats"]
    assert gone > 0
    if warehouse.hard_delete:
        assert got["repository"] == got["stats"] == 0
        assert after["repositories"] == loaded["repositories"] - 1
        assert after["repository_pull_stats"] == loaded["repository_pull_stats"] - gone
    else:
        assert after == loaded
        assert got["repository_marked"] == 1 and got["stats_marked"] == gone
    # every other row is the second run's, and none is marked deleted
    assert {t: got[f"{t}@live"] for t in VERSIONED_STREAMS} == {t: second.rows[t] for t in VERSIONED_STREAMS}
    assert {t: got[f"{t}@version"] for t in VERSIONED_STREAMS} == {t: second.rows[t] for t in VERSIONED_STREAMS}
    assert got["globex"] == len(data.repo_names(cfg, "globex")) > 0


def test_target_snowflake_refuses_parquet_batch_files(tmp_path: Path) -> None:
    """docs/targets.md: target-snowflake takes gzip JSONL batch files only; parquet ends the run, in one named error."""
    require_snowflake_venv()
    with run_simulator(tmp_path, namespaces=("acme",), weeks=1, rows_per_week=10) as sim:
        config = {**BATCH, "encoding": {"format": "parquet"}, "storage": {"root": (tmp_path / "batches").as_uri()}}
        run = run_tap(sim, tmp_path / "parquet.jsonl", None, batch_config=config)
    assert run.rows["pull_events"] == 10
    target = Snowflake(tmp_path, hard_delete=False)
    with pytest.raises(AssertionError, match=r"exited with 1") as refused:
        target.load(run, "load-parquet")
    assert "NotImplementedError: Unsupported batch file encoding: parquet" in str(refused.value)
    assert "Unsupported batch file encoding: parquet" in (ROOT / "docs" / "targets.md").read_text()
