"""End to end into a real PostgreSQL: simulator -> `meltano run tap-dockerdvp target-postgres`.

MeltanoLabs' target-postgres is built on the same SDK SQL-target base as MeltanoLabs' target-snowflake, so
this is what a warehouse sees: one table per stream, the streams' keys as primary keys, integer counts
and timestamp columns, and upserts on the keys. The test loads everything, checks row counts against what
the simulator served, the column types and the primary keys; then clears the state and runs the same
timespans again: every row is written again (``_sdc_batched_at`` moves) and the counts do not change.

The server (see tests/postgres_support.py): TAP_DOCKERDVP_TEST_PG_URL, the libpq variables, or what
`.ci/postgres.sh` sets up. `make postgres` (that script) installs, starts and prepares one; .ci/run does the
same and exports the variables. Without a reachable server the test is skipped, except in CI (CI=true), where
it fails. Each run loads into a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from e2e_support import (
    INTEGER_COLUMNS,
    TIMESPAN_TYPES,
    Meltano,
    Sim,
    base_env,
    expected_counts,
    expected_pulls,
    key_properties,
    meltano_runner,
    require_meltano,
    run_simulator,
)

psycopg = pytest.importorskip("psycopg", reason="psycopg is a dev dependency: pip install -e '.[dev]'")
from postgres_support import Postgres, postgres_schema  # noqa: E402 - after the psycopg check

pytestmark = pytest.mark.e2e

STATE_ID = "dev:tap-dockerdvp-to-target-postgres"
INTEGER_TYPES = {"bigint", "integer", "smallint"}
TIMESTAMP_TYPES = {"timestamp without time zone", "timestamp with time zone"}


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    with postgres_schema("e2e") as pg:
        yield pg


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    with run_simulator(tmp_path_factory.mktemp("simulator")) as running:
        yield running


@pytest.fixture(scope="module")
def meltano(postgres: Postgres, sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Meltano:
    meltano_bin = require_meltano(("extractors", "tap-dockerdvp"), ("loaders", "target-postgres"))
    return meltano_runner(meltano_bin, sim, tmp_path_factory.mktemp("meltano"), **postgres.target_env())


def test_meltano_yml_declares_real_target_postgres_settings(meltano: Meltano) -> None:
    """The settings meltano.yml declares for target-postgres are the installed target's own."""
    from plugin_definitions import MELTANO_YML, load_yaml

    about = json.loads(meltano("invoke", "target-postgres", "--about", "--format", "json", name="about"))
    loader = next(p for p in load_yaml(MELTANO_YML)["plugins"]["loaders"] if p["name"] == "target-postgres")
    unknown = sorted({s["name"] for s in loader["settings"]} - set(about["settings"]["properties"]))
    assert not unknown, f"meltano.yml declares target-postgres settings it does not have: {unknown}"
    assert set(loader["capabilities"]) <= set(about["capabilities"])
    assert "upsert" in about["settings"]["properties"]["load_method"]["enum"]


def test_load_then_reload_the_same_timespans_upserts(meltano: Meltano, postgres: Postgres, sim: Sim) -> None:
    expected = expected_counts(sim.cfg)
    assert expected["pull_events"] > 0 and expected["repo_summary"] > 0 and expected["timespans"] > 0

    # -- first run: every row ------------------------------------------------------------------
    meltano("run", "tap-dockerdvp", "target-postgres", name="run1")
    counts = postgres.counts()
    missing = sorted(set(expected) - set(counts))
    assert not missing, f"tables not created: {missing} (created: {sorted(counts)})"
    mismatched = {t: (counts[t], expected[t]) for t in expected if counts[t] != expected[t]}
    assert not mismatched, f"rows loaded != rows served, as {{table: (loaded, served)}}: {mismatched}"
    for timespan_type in TIMESPAN_TYPES:
        ((loaded,),) = postgres.query(
            f'SELECT COALESCE(SUM(pull_by_tag + pull_by_digest), 0) FROM "{postgres.schema}".repo_summary '  # noqa: S608
            "WHERE timespan_type = %s",
            [timespan_type],
        )
        assert int(loaded) == expected_pulls(sim.cfg, timespan_type), timespan_type

    # -- column types --------------------------------------------------------------------------
    types = postgres.column_types()
    for key in INTEGER_COLUMNS:
        assert types.get(key) in INTEGER_TYPES, f"{key}: {types.get(key)}"
    for key in [
        ("timespans", "timespan_start"),
        ("timespans", "timespan_end"),
        ("repo_summary", "timespan_start"),
        ("pull_events", "timestamp"),
    ]:
        assert types.get(key) in TIMESTAMP_TYPES, f"{key}: {types.get(key)}"
    assert types.get(("pull_events", "action_day")) == "date"
    for key in [("pull_events", "repository"), ("repositories", "name"), ("namespaces", "namespace")]:
        assert types.get(key) in ("text", "character varying"), f"{key}: {types.get(key)}"

    # -- primary keys: the streams' key_properties ---------------------------------------------
    keys = key_properties(sim)
    loaded_keys = postgres.primary_keys()
    assert loaded_keys["pull_events"] == ["namespace", "timespan_type", "year", "timespan", "file_index", "row_number"]
    assert loaded_keys["timespans"] == ["namespace", "timespan_type", "year", "timespan"]
    wrong = {t: (loaded_keys.get(t), keys[t]) for t in counts if t in keys and loaded_keys.get(t) != keys[t]}
    assert not wrong, f"primary keys in PostgreSQL != the streams' key_properties, as {{table: (db, tap)}}: {wrong}"

    # -- the state was saved; clear it and load the same timespans again -----------------------
    state = json.loads(meltano("state", "get", STATE_ID, name="state"))
    assert "timespans" in json.dumps(state), state
    first = {t: postgres.batched_at(t) for t in counts if counts[t]}
    meltano("state", "clear", "--force", STATE_ID, name="state-clear")
    meltano("run", "tap-dockerdvp", "target-postgres", name="run2")

    assert postgres.counts() == counts, "loading the same timespans again changed the row counts (duplicates?)"
    # every row was written again (an upsert on its key), not skipped: its _sdc_batched_at moved
    not_rewritten = {
        t: (postgres.batched_at(t)[0], first[t][1]) for t in first if postgres.batched_at(t)[0] <= first[t][1]
    }
    assert not not_rewritten, (
        f"rows the second run did not write again, as {{table: (oldest now, newest before)}}: {not_rewritten}"
    )
    for table in ("pull_events", "repo_summary", "timespans"):
        columns = ", ".join(f'"{c}"' for c in keys[table])
        ((distinct,),) = postgres.query(
            f'SELECT count(*) FROM (SELECT DISTINCT {columns} FROM "{postgres.schema}"."{table}") d'  # noqa: S608
        )
        assert distinct == counts[table], f"{table}: {counts[table]} rows but {distinct} distinct keys"


def test_base_env_keeps_no_target_postgres_settings_of_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's TARGET_POSTGRES_* (a real warehouse) never reaches these runs."""
    monkeypatch.setenv("TARGET_POSTGRES_HOST", "warehouse.example")
    assert "TARGET_POSTGRES_HOST" not in base_env()
