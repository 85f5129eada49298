"""Benchmark: `meltano run tap-dockerdvp <target>` end to end, per target and message mode, on the same data.

    .venv/bin/python benchmarks/end_to_end.py                  # 200k wide raw rows in one week
    .venv/bin/python benchmarks/end_to_end.py --rows 1000000

The simulator (in this process, over HTTP) serves one namespace with one complete ISO week of N raw rows in the
wide row shape (every column filled, long user agents and digests: what a large publisher's file looks like),
generated before the clock starts, plus the summary views, repositories and pull statistics of that week. Then
each pipeline runs once, from a fresh state, with every stream selected (the tap's defaults):

- ``tap only``: `meltano invoke tap-dockerdvp`, RECORD messages to /dev/null (the extraction alone);
- target-postgres (MeltanoLabs, `load_method: upsert`): RECORD messages, BATCH gzip JSONL, BATCH parquet (batch
  files under a temporary ``file://`` root, the SDK's default ``batch_size`` of 10,000 rows per file);
- target-duckdb (RECORD messages) and target-jsonl (RECORD messages).

Each run is timed from `meltano` starting to `meltano` ending (so it includes Meltano's own start-up, about 2 s
here), and the rows of `pull_events` that reached the target are counted afterwards (a run that lost rows fails).
PostgreSQL: TAP_DOCKERDVP_TEST_PG_URL, or the server `make postgres` (`.ci/postgres.sh`) prepares; each
PostgreSQL load goes into a schema of its own, dropped afterwards. Needs `make setup` (meltano, its plugins).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bench_support import load, machine

from dockerdvp_simulator import SimConfig, Simulator
from dockerdvp_simulator import data as simdata

ROOT = Path(__file__).resolve().parents[1]
MELTANO = ROOT / ".venv-meltano" / "bin" / "meltano"
END = dt.date(2026, 11, 18)  # a Wednesday: the week before is complete
NAMESPACE = "acme"
DEFAULT_PG_URL = "postgresql://tap_dockerdvp_test:tap_dockerdvp_test@localhost:5432/tap_dockerdvp_test"
# Variables a developer's shell may set that would change a run: dropped.
ENV_PREFIXES = ("TAP_DOCKERDVP_", "TARGET_DUCKDB_", "TARGET_POSTGRES_", "TARGET_JSONL_", "MELTANO_")


def pg_settings(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "localhost",
        "port": str(parts.port or 5432),
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "dbname": parts.path.lstrip("/"),
    }


def pg_query(settings: dict[str, str], sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(**settings, connect_timeout=10, autocommit=True) as con:
        cursor = con.execute(sql)
        return cursor.fetchall() if cursor.description else []


class Pipelines:
    """Runs `meltano` in this project against the simulator, each run with its own state and outputs."""

    def __init__(self, sim: Simulator, workdir: Path, pg: dict[str, str]) -> None:
        self.workdir, self.pg = workdir, pg
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIXES)}
        self.env.update(
            {
                "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                "TAP_DOCKERDVP_API_URL": sim.api_url,
                "TAP_DOCKERDVP_HUB_URL": sim.hub_url,
                "TAP_DOCKERDVP_USERNAME": sim.config.username,
                "TAP_DOCKERDVP_PASSWORD": sim.config.password,
                "TAP_DOCKERDVP_NAMESPACES": f'["{NAMESPACE}"]',
                "PGTZ": "UTC",  # see tests/test_e2e_batch.py: target-postgres binds parsed timestamps as timestamptz
            }
        )

    def run(self, name: str, args: list[str], env: dict[str, str]) -> float:
        run_dir = self.workdir / name
        run_dir.mkdir()
        env = {**self.env, "MELTANO_DATABASE_URI": f"sqlite:///{run_dir / 'meltano.db'}", **env}
        log = run_dir / "meltano.log"
        with open(log, "wb") as err, open(os.devnull, "wb") as out:
            started = time.perf_counter()
            code = subprocess.run(
                [str(MELTANO), "--environment", "dev", *args], cwd=ROOT, env=env, stdout=out, stderr=err, check=False
            ).returncode
            wall = time.perf_counter() - started
        if code:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
            raise SystemExit(f"`meltano {' '.join(args)}` ({name}) exited with {code}:\n{tail}")
        return wall

    def postgres(self, mode: str) -> tuple[float, int]:
        schema = f"bench_{mode}_{os.getpid()}_{secrets.token_hex(3)}"
        env = {
            "TARGET_POSTGRES_HOST": self.pg["host"],
            "TARGET_POSTGRES_PORT": self.pg["port"],
            "TARGET_POSTGRES_USER": self.pg["user"],
            "TARGET_POSTGRES_PASSWORD": self.pg["password"],
            "TARGET_POSTGRES_DATABASE": self.pg["dbname"],
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
        }
        if mode != "record":
            env["TAP_DOCKERDVP_BATCH_CONFIG_ENCODING_FORMAT"] = mode
            env["TAP_DOCKERDVP_BATCH_CONFIG_STORAGE_ROOT"] = (self.workdir / f"postgres-{mode}" / "batches").as_uri()
            if mode == "jsonl":
                env["TAP_DOCKERDVP_BATCH_CONFIG_ENCODING_COMPRESSION"] = "gzip"
        try:
            wall = self.run(f"postgres-{mode}", ["run", "tap-dockerdvp", "target-postgres"], env)
            ((rows,),) = pg_query(self.pg, f'SELECT count(*) FROM "{schema}".pull_events')  # noqa: S608
        finally:
            pg_query(self.pg, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        return wall, int(rows)

    def duckdb(self) -> tuple[float, int]:
        import duckdb

        path = self.workdir / "duckdb.duckdb"
        env = {"TARGET_DUCKDB_FILEPATH": str(path), "TARGET_DUCKDB_DEFAULT_TARGET_SCHEMA": "dvp"}
        wall = self.run("duckdb", ["run", "tap-dockerdvp", "target-duckdb"], env)
        with duckdb.connect(str(path), read_only=True) as con:
            row = con.sql("SELECT count(*) FROM dvp.pull_events").fetchone()
        return wall, int(row[0]) if row else 0

    def jsonl(self) -> tuple[float, int]:
        out = self.workdir / "jsonl-out"
        out.mkdir()
        wall = self.run("jsonl", ["run", "tap-dockerdvp", "target-jsonl"], {"TARGET_JSONL_DESTINATION_PATH": str(out)})
        (path,) = out.glob("pull_events*.jsonl")  # target-jsonl puts a timestamp in the name
        with open(path, "rb") as handle:
            return wall, sum(1 for _ in handle)

    def tap_only(self) -> tuple[float, int]:
        wall = self.run("tap-only", ["invoke", "tap-dockerdvp"], {})
        log = (self.workdir / "tap-only" / "meltano.log").read_text(errors="replace")
        rows = sum(
            int(line.split('"value":', 1)[1].split(",", 1)[0])
            for line in log.splitlines()
            if '"metric":"record_count"' in line and '"stream":"pull_events"' in line
        )
        return wall, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="raw rows in the week (default 200000)")
    parser.add_argument("--pg-url", default=os.environ.get("TAP_DOCKERDVP_TEST_PG_URL") or DEFAULT_PG_URL)
    args = parser.parse_args()
    if not MELTANO.exists():
        raise SystemExit(f"{MELTANO} is missing: run `make setup`")

    cfg = SimConfig(
        namespaces=(NAMESPACE,),
        weeks=1,
        rows_per_week=args.rows,
        end_date=END,
        include_partial=False,
        row_shape="wide",
    )
    ((year, week, _start, _end),) = simdata.complete_timespans(cfg, NAMESPACE, "weeks")
    print(f"machine: {machine()}; load average before: {load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp, Simulator(cfg, cache_dir=Path(tmp) / "sim") as sim:
        workdir = Path(tmp)
        sim.pregenerate(timespan_types=["weeks"])
        (export,) = sim.export_files(NAMESPACE, "raw", "weeks", year, week)
        size = Path(export["path"]).stat().st_size / 2**20
        print(f"data: {args.rows:,} wide raw rows in {year}-W{week} ({size:.0f} MiB gzip CSV)", flush=True)
        pipelines = Pipelines(sim, workdir, pg_settings(args.pg_url))
        runs = [
            ("tap only (meltano invoke, stdout to /dev/null)", "RECORD", pipelines.tap_only),
            ("target-postgres", "RECORD", lambda: pipelines.postgres("record")),
            ("target-postgres", "BATCH jsonl (gzip)", lambda: pipelines.postgres("jsonl")),
            ("target-postgres", "BATCH parquet", lambda: pipelines.postgres("parquet")),
            ("target-duckdb", "RECORD", pipelines.duckdb),
            ("target-jsonl", "RECORD", pipelines.jsonl),
        ]
        results = []
        for target, mode, call in runs:
            wall, rows = call()
            print(f"  {target}, {mode}: {wall:.1f} s, {rows:,} pull_events rows", flush=True)
            if rows != args.rows:
                raise SystemExit(f"{target} ({mode}) got {rows:,} pull_events rows, not {args.rows:,}")
            results.append((target, mode, wall))
    print(f"load average after: {load()}")
    print()
    print("| target | messages | wall s | pull_events rows/s |")
    print("|---|---|---|---|")
    for target, mode, wall in results:
        print(f"| {target} | {mode} | {wall:.1f} | {args.rows / wall:,.0f} |")


if __name__ == "__main__":
    main()
