"""End to end into a real PostgreSQL: simulator -> `meltano run tap-dockerdvp target-postgres`.

MeltanoLabs' target-postgres is built on the same SDK SQL-target base as MeltanoLabs' target-snowflake, so
this is what a warehouse sees: one table per stream, the streams' keys as primary keys, integer counts
and timestamp columns, and upserts on the keys. The test loads everything, checks row counts against what
the simulator served, the column types and the primary keys; then clears the state and runs the same
timespans again: every row is written again (``_sdc_batched_at`` moves) and the counts do not change.
Two more tests load into schemas (and meltano states) of their own: ACTIVATE_VERSION with ``hard_delete`` after a
repository was deleted (with a lookback over re-split files and the clean-up of docs/state-and-windows.md), and
its window recipe.

The server (see tests/support/postgres_support.py): TAP_DOCKERDVP_TEST_PG_URL, the libpq variables, or what
`.ci/postgres.sh` sets up. `make postgres` (that script) installs, starts and prepares one; .ci/run does the
same and exports the variables. Without a reachable server the test is skipped, except in CI (CI=true), where
it fails. Each run loads into a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from e2e_support import (
    INTEGER_COLUMNS,
    ROOT,
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

from dockerdvp_simulator import data

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


def readme_cleanup_sql(schema: str) -> str:
    """docs/state-and-windows.md's clean-up for rows a re-split timespan left behind, on ``schema`` instead of
    `dvp`."""
    text = (ROOT / "docs" / "state-and-windows.md").read_text()
    sql = text[text.index("\n## Revised data") :].split("```sql\n", 1)[1].split("```", 1)[0]
    assert "dvp.pull_events" in sql
    return sql.replace("dvp.", f'"{schema}".')


@contextmanager
def own_load(
    postgres: Postgres, tmp_path_factory: pytest.TempPathFactory, label: str, **env: str
) -> Iterator[tuple[Meltano, Postgres, Sim]]:
    """A simulator, a meltano state store and a schema of the test's own (dropped afterwards)."""
    meltano_bin = require_meltano(("extractors", "tap-dockerdvp"), ("loaders", "target-postgres"))
    with (
        postgres_schema(f"e2e_{label}", postgres.settings) as pg,
        run_simulator(tmp_path_factory.mktemp(f"simulator-{label}")) as sim,
    ):
        run = meltano_runner(meltano_bin, sim, tmp_path_factory.mktemp(f"meltano-{label}"), **pg.target_env(), **env)
        yield run, pg, sim


def test_hard_delete_drops_a_deleted_repository_and_no_period_row(
    postgres: Postgres, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """ACTIVATE_VERSION with target-postgres' `hard_delete`: the second run, after a repository was deleted on
    Docker Hub, leaves one repository fewer, and every row of the incremental tables where it was. The second run
    also reads the last timespans again (`lookback_timespans: 1`) after Docker re-split their files: their old rows
    stay next to the new ones until the documented clean-up deletes them."""
    with own_load(postgres, tmp_path_factory, "hd", TARGET_POSTGRES_HARD_DELETE="true") as (meltano, pg, sim):
        _hard_delete_runs(meltano, pg, sim)


def readme_window_commands() -> list[tuple[dict[str, str], list[str]]]:
    """docs/state-and-windows.md's window recipe (*Windows*): (environment, meltano arguments) per command."""
    text = (ROOT / "docs" / "state-and-windows.md").read_text()
    block = text[text.index("\n## Windows") :].split("```bash\n", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        words = shlex.split(line)
        env = {}
        while "=" in words[0]:
            name, value = words.pop(0).split("=", 1)
            env[name] = value
        assert words[0] == "meltano", line  # as a user runs it in a Meltano project
        commands.append((env, words[1:]))
    return commands


def test_the_readme_window_recipe_loads_every_row_once(
    postgres: Postgres, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The documented windows, each with its own state ID, then the weekly run: every row once, one state per run."""
    commands = readme_window_commands()
    assert len(commands) == 3 and [args[:1] for _env, args in commands] == [["run"]] * 3
    with own_load(postgres, tmp_path_factory, "windows") as (meltano, pg, sim):
        for number, (env, args) in enumerate(commands):
            meltano(*args, name=f"window-{number}", env=env)
        expected = expected_counts(sim.cfg)
        counts = pg.counts()
        for table in ("namespaces", "repositories", "timespans", "pull_events", "repo_summary", "summary"):
            assert counts[table] == expected[table], (table, counts[table], expected[table])
        for table in ("pull_events", "timespans"):
            keys = ", ".join(f'"{c}"' for c in key_properties(sim)[table])
            ((distinct,),) = pg.query(f'SELECT count(*) FROM (SELECT DISTINCT {keys} FROM "{pg.schema}"."{table}") d')  # noqa: S608
            assert distinct == counts[table], table
        listed = set(meltano("state", "list", name="state-list").split())
        suffixes = [args[args.index("--state-id-suffix") + 1] for _env, args in commands if "--state-id-suffix" in args]
        assert {f"{STATE_ID}:{suffix}" for suffix in suffixes} | {STATE_ID} <= listed, listed


def _hard_delete_runs(meltano: Meltano, pg: Postgres, sim: Sim) -> None:
    cfg = sim.cfg
    expected = expected_counts(cfg)
    table = f'"{pg.schema}"'

    def rows(sql: str, params: list | None = None) -> int:
        return int(pg.query(sql.replace("T.", f"{table}."), params)[0][0])

    meltano("run", "tap-dockerdvp", "target-postgres", name="hard-delete-run1")
    before = pg.counts()
    for name in ("namespaces", "repositories", "timespans", "pull_events", "repo_summary"):
        assert before[name] == expected[name], (name, before[name], expected[name])
    deleted = data.repo_names(cfg, "acme")[0]
    stats_of_deleted = "SELECT count(*) FROM T.repository_pull_stats WHERE repo = %s"
    deleted_stats = rows(stats_of_deleted, [f"acme/{deleted}"])
    assert deleted_stats > 0
    globex_repositories = rows("SELECT count(*) FROM T.repositories WHERE namespace = 'globex'")
    oldest_pull_event = pg.batched_at("pull_events")[0]

    # Docker Hub: one repository deleted; the newest timespans re-split into two files each
    answer = requests.post(
        sim.url + "/_sim/config",
        json={"deleted_repositories": [f"acme/{deleted}"], "files_per_timespan": 2},
        timeout=30,
    )
    answer.raise_for_status()
    meltano(
        "run",
        "tap-dockerdvp",
        "target-postgres",
        name="hard-delete-run2",
        env={"TAP_DOCKERDVP_LOOKBACK_TIMESPANS": "1"},
    )
    after = pg.counts()

    # full-table streams: the deleted repository is gone, every other row of every namespace is there
    assert after["repositories"] == expected["repositories"] - 1
    assert rows("SELECT count(*) FROM T.repositories WHERE name = %s", [deleted]) == 0
    assert rows("SELECT count(*) FROM T.repositories WHERE namespace = 'globex'") == globex_repositories
    assert rows(stats_of_deleted, [f"acme/{deleted}"]) == 0
    assert after["repository_pull_stats"] == before["repository_pull_stats"] - deleted_stats
    assert (
        after["namespaces"] == before["namespaces"] and after["namespace_pull_stats"] == before["namespace_pull_stats"]
    )
    # incremental streams: no row deleted; the older weeks were not even written again
    assert after["timespans"] == before["timespans"]
    last_weeks = {ns: data.complete_timespans(cfg, ns, "weeks")[-1] for ns in cfg.namespaces}
    for ns, (year, week, _first, _last) in last_weeks.items():
        older = "SELECT count(*) FROM T.pull_events WHERE namespace = %s AND NOT (year = %s AND timespan = %s)"
        served = sum(
            data.expected_rows(cfg, ns, "raw", "weeks", y, n)
            for y, n, _f, _l in data.complete_timespans(cfg, ns, "weeks")
            if (y, n) != (year, week)
        )
        assert rows(older, [ns, year, week]) == served, ns
    assert pg.batched_at("pull_events")[0] == oldest_pull_event
    # the re-read weeks: new keys (two files) next to the rows the first file layout left
    assert after["pull_events"] > before["pull_events"]

    with psycopg.connect(**pg.settings, connect_timeout=10, autocommit=True) as con:
        con.execute(readme_cleanup_sql(pg.schema))
    assert pg.counts()["pull_events"] == expected["pull_events"]
    for ns, (year, week, _first, _last) in last_weeks.items():
        (files,) = pg.query(
            f"SELECT array_agg(DISTINCT file_index ORDER BY file_index) FROM {table}.pull_events "  # noqa: S608
            "WHERE namespace = %s AND year = %s AND timespan = %s",
            [ns, year, week],
        )[0]
        assert files == [0, 1], (ns, files)


def test_base_env_keeps_no_target_postgres_settings_of_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's TARGET_POSTGRES_* (a real warehouse) never reaches these runs."""
    monkeypatch.setenv("TARGET_POSTGRES_HOST", "warehouse.example")
    assert "TARGET_POSTGRES_HOST" not in base_env()
