"""BATCH messages and flattening end to end: simulator -> `meltano run tap-dockerdvp target-postgres`.

One simulator serves realistic data (wide raw rows, three unknown raw columns, two source files per export,
two namespaces, reports for one of them with an unknown report type, pull statistics). The same data is
loaded five times, each into a PostgreSQL schema of its own and from a fresh state:

- ``record``: RECORD messages (no ``batch_config``), the reference;
- ``jsonl``: BATCH messages, gzip JSONL files under a local ``file://`` root;
- ``parquet``: BATCH messages, parquet files under a local ``file://`` root;
- ``flat_target``: RECORD messages, flattened by target-postgres (``flattening_enabled``, depth 1);
- ``flat_tap``: RECORD messages, flattened by the tap (``flattening_enabled``, depth 1).

The BATCH loads must give the RECORD load's tables, columns (type and nullability), primary keys and rows,
every column of every row; the flattened loads the same rows, with every catch-all object (``extra_columns``,
``values``, ``extra_fields``) and array kept whole as JSON text. One difference is the target's, and asserted
as such: MeltanoLabs' target-postgres (the SDK's ``process_batch_files``) adds no ``_sdc_*`` metadata to rows it
reads from batch files, so those columns are NULL after a BATCH load; except in the full-table streams
(``VERSIONED_STREAMS``), which send RECORD messages carrying their table version in every mode
(tests/tap/test_batch_versions.py).

The target's sessions run in UTC (``PGTZ``), as on a default server. In another session time zone the loads
differ, by the target's doing: target-postgres 0.8.1 (INSERT, ``use_copy`` off) binds the zoned datetimes it
parses from RECORD messages (and reads from parquet) as ``timestamptz`` parameters, which PostgreSQL stores in a
``timestamp without time zone`` column as the session's wall time (``2026-11-02T00:00:00Z`` becomes 05:45 under
Asia/Kathmandu), while JSONL batch values stay RFC 3339 text, whose zone PostgreSQL ignores there (00:00).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from e2e_support import Sim, key_properties, meltano_runner, require_meltano, run_simulator
from tap_harness import VERSIONED_STREAMS

from dockerdvp_simulator import data
from dockerdvp_simulator import reports as simreports

psycopg = pytest.importorskip("psycopg", reason="psycopg is a dev dependency: pip install -e '.[dev]'")
from postgres_support import Postgres, postgres_schema, reachable_settings  # noqa: E402 - after the psycopg check

pytestmark = pytest.mark.e2e

SIM_OPTIONS: dict[str, Any] = {
    "row_shape": "wide",
    "extra_columns": ("ip_hash", "os", "region"),  # unknown to the tap: they go to `extra_columns`
    "files_per_timespan": 2,
    "report_namespaces": ("globex",),
    "weeks": 3,
    "rows_per_week": 400,
}
EXTRA_HEADERS = {"IP hash", "OS", "Region"}  # the unknown columns' headers as the simulator writes them
TAP_ENV = {"TAP_DOCKERDVP_DATA_SOURCE": "both"}  # globex: the legacy export and the report catalogue
TIME_ZONE = "UTC"  # see the module docstring
MODES = ("record", "jsonl", "parquet", "flat_target", "flat_tap")
JSON_TYPES = {"jsonb", "json", "ARRAY"}


def mode_env(mode: str, batch_root: Path) -> dict[str, str]:
    root = {"TAP_DOCKERDVP_BATCH_CONFIG_STORAGE_ROOT": batch_root.as_uri()}
    return {
        "record": {},
        "jsonl": {
            "TAP_DOCKERDVP_BATCH_CONFIG_ENCODING_FORMAT": "jsonl",
            "TAP_DOCKERDVP_BATCH_CONFIG_ENCODING_COMPRESSION": "gzip",
            **root,
        },
        "parquet": {"TAP_DOCKERDVP_BATCH_CONFIG_ENCODING_FORMAT": "parquet", **root},
        "flat_target": {"TARGET_POSTGRES_FLATTENING_ENABLED": "true", "TARGET_POSTGRES_FLATTENING_MAX_DEPTH": "1"},
        "flat_tap": {"TAP_DOCKERDVP_FLATTENING_ENABLED": "true", "TAP_DOCKERDVP_FLATTENING_MAX_DEPTH": "1"},
    }[mode]


class Load:
    """One `meltano run` into a schema of its own: the schema, the batch files' folder, the run's log."""

    def __init__(self, pg: Postgres, batch_root: Path, log: Path) -> None:
        self.pg, self.batch_root, self.log = pg, batch_root, log

    def rows(self, table: str) -> dict[tuple, dict[str, Any]]:
        """Every row by primary key, every column but ``_sdc_*``; JSON and array columns as JSON text (SQL NULL
        stays None, a JSON null is ``'null'``)."""
        columns = {c: t for c, (t, _null) in self.pg.columns()[table].items() if not c.startswith("_sdc_")}
        keys = self.pg.primary_keys()[table]
        select = ", ".join(
            f'to_jsonb("{c}")::text' if t in JSON_TYPES else f'"{c}"::text' if t == "text" else f'"{c}"'
            for c, t in columns.items()
        )
        out = {}
        for values in self.pg.query(f'SELECT {select} FROM "{self.pg.schema}"."{table}"'):  # noqa: S608
            row = dict(zip(columns, values, strict=True))
            out[tuple(row[k] for k in keys)] = row
        return out


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    with run_simulator(tmp_path_factory.mktemp("simulator"), **SIM_OPTIONS) as running:
        yield running


@pytest.fixture(scope="module")
def loads(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Load]]:
    """The five loads, run once for the module."""
    settings = reachable_settings()
    meltano_bin = require_meltano(("extractors", "tap-dockerdvp"), ("loaders", "target-postgres"))
    with ExitStack() as stack:
        out = {}
        for mode in MODES:
            pg = stack.enter_context(postgres_schema(f"batch_{mode}", settings))
            tmp = tmp_path_factory.mktemp(mode)
            batch_root = tmp / "batches"
            env = {**TAP_ENV, **pg.target_env(), "PGTZ": TIME_ZONE, **mode_env(mode, batch_root)}
            meltano = meltano_runner(meltano_bin, sim, tmp, **env)
            meltano("run", "tap-dockerdvp", "target-postgres", name=mode)
            out[mode] = Load(pg, batch_root, tmp / f"{mode}.log")
        yield out


def expected_rows(cfg: data.SimConfig) -> dict[str, int]:
    """pull_events (raw weeks) and the report streams' rows, from the simulator's data."""
    counts = {"pull_events": 0, "report_other": 0}
    for ns in cfg.namespaces:
        for year, number, _first, _last in data.complete_timespans(cfg, ns, "weeks"):
            counts["pull_events"] += data.expected_rows(cfg, ns, "raw", "weeks", year, number)
        for entry in simreports.catalogue_entries(cfg, ns):
            if entry["type"] in cfg.unknown_report_types:
                _header, rows = simreports.report_table(cfg, ns, entry["type"], entry["granularity"], entry["start"])
                counts["report_other"] += len(rows)
    return counts


# -------------------------------------------------------------------------------------------------
# BATCH loads = the RECORD load
# -------------------------------------------------------------------------------------------------
def test_the_record_load_is_complete(loads: dict[str, Load], sim: Sim) -> None:
    counts = loads["record"].pg.counts()
    for table, rows in expected_rows(sim.cfg).items():
        assert counts.get(table) == rows, f"{table}: {counts.get(table)} rows loaded, {rows} served"
    empty = sorted(t for t, n in counts.items() if not n and not t.startswith("ext_premium"))
    assert not empty, f"tables without rows: {empty}"
    assert {"namespace_pull_stats", "repository_pull_stats", "report_trends", "repositories"} <= set(counts)


@pytest.mark.parametrize("mode", ["jsonl", "parquet"])
def test_a_batch_load_has_the_record_loads_tables_columns_and_keys(loads: dict[str, Load], sim: Sim, mode: str):
    record, batch = loads["record"].pg, loads[mode].pg
    suffix = {"jsonl": ".jsonl.gz", "parquet": ".parquet"}[mode]
    files = sorted(p.name for p in loads[mode].batch_root.iterdir())
    assert files and all(name.endswith(suffix) for name in files), files[:5]
    assert any(name.startswith("tap-dockerdvp--pull_events-") for name in files)

    assert batch.tables() == record.tables()
    columns, reference = batch.columns(), record.columns()
    for table in reference:
        different = {
            c: (reference[table].get(c), columns[table].get(c))
            for c in reference[table].keys() | columns[table].keys()
            if reference[table].get(c) != columns[table].get(c)
        }
        assert not different, f"{table}: (type, nullable) as {{column: (RECORD, {mode})}}: {different}"
    keys = key_properties(sim)
    assert batch.primary_keys() == record.primary_keys()
    assert {t: batch.primary_keys()[t] for t in reference if t in keys} == {t: keys[t] for t in reference if t in keys}
    for table, key in batch.primary_keys().items():
        assert all(columns[table][c][1] == "NO" for c in key), f"{table}: a nullable key column"


@pytest.mark.parametrize("mode", ["jsonl", "parquet"])
def test_a_batch_load_has_the_record_loads_rows(loads: dict[str, Load], mode: str) -> None:
    record, batch = loads["record"], loads[mode]
    for table in record.pg.tables():
        want, have = record.rows(table), batch.rows(table)
        assert have.keys() == want.keys(), f"{table}: {len(have)} rows, {len(want)} in the RECORD load"
        differing = [key for key in want if have[key] != want[key]]
        assert not differing, (
            f"{table}: {len(differing)} of {len(want)} rows differ from the RECORD load, e.g.\n"
            + "\n".join(
                f"  {c}: RECORD {want[differing[0]][c]!r}, {mode} {have[differing[0]][c]!r}"
                for c in want[differing[0]]
                if want[differing[0]][c] != have[differing[0]][c]
            )
        )
    # the rows came through BATCH messages: the target adds no _sdc_* metadata to rows read from batch files;
    # the full-table streams' rows came as RECORD messages, stamped
    for table in record.pg.tables():
        ((null_rows, rows),) = batch.pg.query(
            f'SELECT count(*) FILTER (WHERE _sdc_batched_at IS NULL), count(*) FROM "{batch.pg.schema}"."{table}"'  # noqa: S608
        )
        if table in VERSIONED_STREAMS:
            assert null_rows == 0, f"{table}: {null_rows} rows without _sdc_batched_at: not loaded from RECORD"
        else:
            assert null_rows == rows, f"{table}: {rows - null_rows} rows with _sdc_batched_at: not loaded from BATCH"
        ((stamped,),) = record.pg.query(
            f'SELECT count(_sdc_batched_at) FROM "{record.pg.schema}"."{table}"'  # noqa: S608
        )
        assert stamped == rows, table


def test_every_unknown_value_reaches_postgres(loads: dict[str, Load]) -> None:
    for mode in ("record", "jsonl", "parquet"):
        events = loads[mode].rows("pull_events")
        extras = [json.loads(row["extra_columns"]) for row in events.values()]
        assert all(set(extra) == EXTRA_HEADERS for extra in extras), (mode, extras[:3])
        assert all(len(extra["IP hash"]) == 32 for extra in extras), mode
        assert {extra["Region"] for extra in extras} >= {"alpha", "beta", "gamma", None}, mode
        others = loads[mode].rows("report_other").values()
        assert others and all(json.loads(row["values"])["PUBLISHER_NAME"] for row in others), mode


# -------------------------------------------------------------------------------------------------
# Flattening: the same rows, the catch-all objects as JSON text
# -------------------------------------------------------------------------------------------------
def json_value(text: str | None) -> Any:
    """A JSON or text column's value as JSON (SQL NULL and JSON null are both None)."""
    return None if text is None else json.loads(text)


@pytest.mark.parametrize("mode", ["flat_target", "flat_tap"])
def test_flattening_keeps_every_column_and_every_unknown_value(loads: dict[str, Load], mode: str) -> None:
    record, flat = loads["record"], loads[mode]
    assert flat.pg.tables() == record.pg.tables()
    reference, columns = record.pg.columns(), flat.pg.columns()
    json_columns = 0
    for table in reference:
        assert columns[table].keys() == reference[table].keys(), f"{table}: other columns when flattened"
        as_json = {c for c, (t, _n) in reference[table].items() if t in JSON_TYPES}
        for column in as_json:
            assert columns[table][column][0] == "text", f"{table}.{column}: {columns[table][column]} when flattened"
        json_columns += len(as_json)
        want, have = record.rows(table), flat.rows(table)
        assert have.keys() == want.keys(), table
        for key, row in want.items():
            for column, value in row.items():
                got = have[key][column]
                if column in as_json:  # jsonb / array -> JSON text: the same JSON value
                    assert json_value(got) == json_value(value), f"{table}.{column} {key}: {got!r} != {value!r}"
                else:
                    assert got == value, f"{table}.{column} {key}: {got!r} != {value!r}"
    assert json_columns >= 5  # extra_columns (views, reports), values, extra_fields, arrays of namespaces, ...

    events = flat.rows("pull_events")
    extras = [json.loads(row["extra_columns"]) for row in events.values()]
    assert extras and all(set(extra) == EXTRA_HEADERS for extra in extras)
    log = flat.log.read_text(errors="replace")
    assert "not found in catalog schema" not in log, "a flattened key was dropped"
