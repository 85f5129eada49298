"""The dbt package on PostgreSQL: simulator -> `meltano run tap-dockerdvp target-postgres dbt-postgres:build`.

target-postgres (MeltanoLabs, the SDK's SQL target, as target-snowflake) writes the `_sdc_*` columns and upserts on
the keys; the package must build and pass every test on what it loaded, the reconciliation included (against
`repo_summary` and, for the namespace on the DVP program, the trends report). The server is the one
tests/e2e/test_e2e_postgres.py uses (see tests/support/postgres_support.py); the load and the marts go to schemas of the
test's own, dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

psycopg = pytest.importorskip("psycopg", reason="psycopg is a dev dependency: pip install -e '.[dev]'")

from dbt_support import DBT_PREFIXES, Dbt, assert_all_passed, require_dbt  # noqa: E402
from e2e_support import meltano_runner, require_meltano, run_simulator  # noqa: E402
from postgres_support import Postgres, postgres_schema  # noqa: E402

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Postgres, str, Dbt]]:
    """(the load's schema, the marts' schema, the dbt runner) after `meltano run ... dbt-postgres:build`."""
    meltano_bin = require_meltano(("extractors", "tap-dockerdvp"), ("loaders", "target-postgres"))
    require_dbt("dbt-postgres")
    tmp = tmp_path_factory.mktemp("dbt-postgres")
    with postgres_schema("dbt") as pg, run_simulator(tmp, report_namespaces=("globex",)) as sim:
        marts = f"{pg.schema}_marts"
        s = pg.settings
        # the simulator's and target-postgres' settings, without any DBT_* of the caller's shell
        runner = meltano_runner(meltano_bin, sim, tmp, **pg.target_env())
        env = {k: v for k, v in runner.env.items() if not k.startswith(DBT_PREFIXES)}
        env.update(
            {
                "DBT_POSTGRES_HOST": str(s["host"]),
                "DBT_POSTGRES_PORT": str(s["port"]),
                "DBT_POSTGRES_USER": s["user"],
                "DBT_POSTGRES_PASSWORD": s["password"],
                "DBT_POSTGRES_DBNAME": s["dbname"],
                "DBT_POSTGRES_SCHEMA": marts,
                "DBT_POSTGRES_SOURCE_SCHEMA": pg.schema,
            }
        )
        dbt = Dbt(meltano_bin, "dbt-postgres", tmp, env)
        try:
            dbt.meltano("run", "tap-dockerdvp", "target-postgres", "dbt-postgres:build", name="run")
            yield pg, marts, dbt
        finally:
            with psycopg.connect(**s, autocommit=True) as con:
                for schema in (marts, f"{marts}_staging", f"{marts}_dbt_test__audit"):
                    con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_dbt_build_passes_on_what_target_postgres_loaded(loaded: tuple[Postgres, str, Dbt]) -> None:
    pg, marts, dbt = loaded
    assert_all_passed(dbt.results())
    assert dbt.results()["dockerdvp_raw_pulls_match_summaries"].status == "pass"

    ((pulls, events),) = pg.query(
        f'SELECT (SELECT sum(pulls_by_tag + pulls_by_digest + version_checks) FROM "{marts}".dvp_pulls_weekly), '  # noqa: S608
        f'(SELECT count(*) FROM "{pg.schema}".pull_events)'
    )
    assert pulls == events > 0
    compared = pg.query(
        f'SELECT summary_source, period_type, count(*), bool_and(matches) FROM "{marts}".dvp_reconciliation '  # noqa: S608
        "GROUP BY 1, 2 ORDER BY 1, 2"
    )
    assert sorted((source, kind) for source, kind, _n, _ok in compared) == [
        ("repo_summary", "week"),
        ("report_trends", "week"),
    ]
    assert all(n > 0 and ok for _s, _k, n, ok in compared), compared

    # the marts' types: dates for periods, integers for counts, whatever the target wrote
    types = dict(
        pg.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'dvp_pulls_weekly'",
            [marts],
        )
    )
    assert types["week_start"] == "date" and types["pulls_by_tag"] == "bigint" and types["is_complete"] == "boolean"
    staged = dict(
        pg.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'stg_dockerdvp__pull_events'",
            [f"{marts}_staging"],
        )
    )
    assert staged["period_start"] == "date" and staged["row_number"] == "bigint"
    assert not [c for c in staged if c.startswith("_sdc_")], sorted(staged)
