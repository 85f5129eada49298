"""End to end: simulator -> `meltano run tap-dockerdvp target-duckdb` -> DuckDB.

The simulator runs as a subprocess (as in the demo); meltano runs in the real project (its installed
plugins) with everything that a run writes redirected into ``tmp_path``: the DuckDB file
(``TARGET_DUCKDB_FILEPATH``) and meltano's system database, which holds the state
(``MELTANO_DATABASE_URI``). The row counts read back from DuckDB must equal what the simulator's
data module says it served: target-duckdb 0.8.0 with duckdb>=1.3 loads zero rows without an
error, and only a count read back catches that. Column types and primary keys are read back too.

Needs meltano (``make test`` installs it into .venv-meltano; ``MELTANO_BIN`` overrides). Skipped,
with the reason, when there is none.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

duckdb = pytest.importorskip("duckdb")

from e2e_support import (  # noqa: E402
    EXPORT_TABLES,
    INTEGER_COLUMNS,
    TIMESPAN_TYPES,
    Meltano,
    Sim,
    expected_counts,
    expected_pulls,
    key_properties,
    meltano_runner,
    require_meltano,
)

pytestmark = pytest.mark.e2e

SCHEMA = "dvp"
STATE_ID = "dev:tap-dockerdvp-to-target-duckdb"
INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}


@dataclass
class Run:
    meltano: Meltano
    db_path: Path

    def __call__(self, *args: str, name: str) -> str:
        return self.meltano(*args, name=name)


@pytest.fixture(scope="module")
def run(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Run:
    meltano_bin = require_meltano(("extractors", "tap-dockerdvp"), ("loaders", "target-duckdb"))
    tmp = tmp_path_factory.mktemp("meltano")
    meltano = meltano_runner(
        meltano_bin,
        sim,
        tmp,
        TARGET_DUCKDB_FILEPATH=str(tmp / "e2e.duckdb"),
        TARGET_DUCKDB_DEFAULT_TARGET_SCHEMA=SCHEMA,
        # _sdc_batched_at tells whether the second run re-emitted a row
        TARGET_DUCKDB_ADD_METADATA_COLUMNS="true",
    )
    return Run(meltano=meltano, db_path=tmp / "e2e.duckdb")


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


def primary_keys(db_path: Path) -> dict[str, list[str]]:
    rows = query(
        db_path,
        "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
        "WHERE schema_name = ? AND constraint_type = 'PRIMARY KEY'",
        [SCHEMA],
    )
    return {table: list(columns) for table, columns in rows}


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
    for key in INTEGER_COLUMNS:
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

    # -- primary keys: every table's is the stream's key_properties ----------------------------
    keys = key_properties(sim)
    loaded_keys = primary_keys(run.db_path)
    assert loaded_keys["namespaces"] == ["namespace"]
    assert loaded_keys["repositories"] == ["namespace", "name"]
    assert loaded_keys["timespans"] == ["namespace", "timespan_type", "year", "timespan"]
    assert loaded_keys["pull_events"] == ["namespace", "timespan_type", "year", "timespan", "file_index", "row_number"]
    wrong = {t: (loaded_keys.get(t), keys[t]) for t in counts if t in keys and loaded_keys.get(t) != keys[t]}
    assert not wrong, f"primary keys in DuckDB != the streams' key_properties, as {{table: (db, tap)}}: {wrong}"

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
