#!/usr/bin/env python3
"""The tap-dockerdvp demo: simulated Docker Hub -> meltano -> DuckDB -> dbt marts -> answers and a picture.

1. starts the Docker Hub simulator (`python -m dockerdvp_simulator`) on a free local port;
2. removes the old demo database (output/demo.duckdb) and the demo job's meltano state;
3. runs `meltano --environment demo run tap-dockerdvp target-duckdb dbt-duckdb:build` with the tap pointed at
   the simulator through TAP_DOCKERDVP_API_URL / _HUB_URL / _USERNAME / _PASSWORD: the load, then the dbt
   package in transform/ (its marts in schema dvp_marts, its tests);
4. stops the simulator (also on an error or Ctrl-C) and prints rows per table and the top 5
   repositories by pulls, read back from DuckDB;
5. prints what dbt did, three answers from the marts and the reconciliation's verdict, and draws the weekly
   pulls of the top repositories and the tag adoption of the first one, as output/dvp-weekly-pulls.png and in
   the terminal (scripts/demo_marts.py).

`--marts-only` (`make marts`) does steps 3 (dbt only) and 5 on the database the last demo loaded.

It exits non-zero if a step fails, a table that should have rows has none, or a mart is missing. Run it with
`make demo` (which installs everything first) or, once set up, `.venv/bin/python scripts/demo.py [--weeks N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))  # demo_marts, next to this file (also when a test loads it by path)
import demo_marts  # noqa: E402

ENVIRONMENT = "demo"
STATE_ID = f"{ENVIRONMENT}:tap-dockerdvp-to-target-duckdb"
OUTPUT = ROOT / "output"
DB_PATH = OUTPUT / "demo.duckdb"
SCHEMA = "dvp"
MARTS_SCHEMA = "dvp_marts"  # the dbt-duckdb utility's `schema` (meltano.yml)
CHART_NAME = "dvp-weekly-pulls.png"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "dckr_pat_demo-secret-token"  # noqa: S105 - the simulator's published demo credential
API_PATH = "/api/publisher/analytics/v1"
SIMULATOR_START_TIMEOUT = 30.0
# Tables whose rows do not come from a data view.
BASE_TABLES = ("namespaces", "repositories", "timespans")


class DemoError(RuntimeError):
    """A demo step failed; the message says which and why."""


class Outputs:
    """Where the demo writes: the DuckDB file, meltano's log, dbt's target and log folders, the chart.

    A plain class: tests load this script by path, without a module entry a dataclass would need."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def db(self) -> Path:
        return self.directory / DB_PATH.name

    @property
    def meltano_log(self) -> Path:
        return self.directory / "demo-meltano.log"

    @property
    def dbt_target(self) -> Path:
        return self.directory / "dbt" / "target"

    @property
    def dbt_logs(self) -> Path:
        return self.directory / "dbt" / "logs"

    @property
    def chart(self) -> Path:
        return self.directory / CHART_NAME


def shown(path: Path) -> str:
    """A path as the demo prints it: relative to the repository root when it is below it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def find_meltano() -> str:
    """$MELTANO_BIN, then .venv-meltano/bin/meltano (what `make` installs), then meltano on PATH."""
    candidates = [os.environ.get("MELTANO_BIN"), str(ROOT / ".venv-meltano" / "bin" / "meltano")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which("meltano")
    if on_path:
        return on_path
    raise DemoError("meltano not found: run `make demo` (it installs meltano into .venv-meltano) or set MELTANO_BIN")


def log(message: str) -> None:
    print(f"[demo] {message}", flush=True)


# -------------------------------------------------------------------------------------------------
# The simulator
# -------------------------------------------------------------------------------------------------
@contextmanager
def simulator(args: argparse.Namespace) -> Iterator[str]:
    """Run the simulator in a subprocess and yield its base URL; always stop it on the way out."""
    with tempfile.TemporaryDirectory(prefix="dvp-demo-") as tmp:
        url_file = Path(tmp) / "simulator.url"
        log_path = Path(tmp) / "simulator.log"
        cmd = [
            sys.executable,
            "-m",
            "dockerdvp_simulator",
            "--port",
            "0",
            "--url-file",
            str(url_file),
        ]
        # The tap calls a timespan complete by the UTC date: the simulator's "today" is the same.
        today = datetime.now(timezone.utc).date().isoformat()
        cmd += ["--end-date", today, "--namespaces", args.namespaces]
        # the first namespace also publishes Docker Desktop extensions (the ext_summary view)
        cmd += ["--extension-namespaces", args.namespaces.split(",")[0].strip()]
        # and the last one is on the current DVP program too: its report catalogue feeds the report_* streams
        cmd += ["--report-namespaces", args.namespaces.split(",")[-1].strip()]
        if args.weeks is not None:
            cmd += ["--weeks", str(args.weeks)]
        if args.rows_per_week is not None:
            cmd += ["--rows-per-week", str(args.rows_per_week)]
        cmd += args.simulator_arg
        with open(log_path, "wb") as log_file:
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            try:
                url = _wait_for_url(proc, url_file, log_path)
                log(f"simulator listening at {url} (pid {proc.pid})")
                yield url
            finally:
                _stop(proc)
                log("simulator stopped")


def _wait_for_url(proc: subprocess.Popen[bytes], url_file: Path, log_path: Path) -> str:
    deadline = time.monotonic() + SIMULATOR_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DemoError(f"the simulator exited with code {proc.returncode}:\n{_tail(log_path)}")
        try:
            url = url_file.read_text().strip()
        except FileNotFoundError:
            url = ""
        if url.startswith("http") and url.rsplit(":", 1)[-1].rstrip("/").isdigit():
            return url.rstrip("/")
        time.sleep(0.1)
    raise DemoError(f"the simulator did not write its URL within {SIMULATOR_START_TIMEOUT:.0f} s:\n" + _tail(log_path))


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no simulator output)"


# -------------------------------------------------------------------------------------------------
# meltano
# -------------------------------------------------------------------------------------------------
def meltano_env(url: str | None, out: Outputs) -> dict[str, str]:
    """This process's environment, plus the simulator settings and where the load and dbt write.

    Any TAP_DOCKERDVP_* / TARGET_DUCKDB_* / DBT_* / DOCKERDVP_* of the caller's shell is dropped first: a
    developer's real Docker Hub token must never reach the demo, nor their dbt settings change it.
    """
    own = ("TAP_DOCKERDVP_", "TARGET_DUCKDB_", "DBT_", "DOCKERDVP_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    env["MELTANO_ENVIRONMENT"] = ENVIRONMENT
    env["TARGET_DUCKDB_FILEPATH"] = str(out.db)
    env["TARGET_DUCKDB_DEFAULT_TARGET_SCHEMA"] = SCHEMA
    # the dbt-duckdb utility: the same file, the loaded schema, the marts' schema, dbt's files under the output
    env["DBT_DUCKDB_PATH"] = str(out.db)
    env["DBT_DUCKDB_SOURCE_SCHEMA"] = SCHEMA
    env["DBT_DUCKDB_SCHEMA"] = MARTS_SCHEMA
    env["DBT_TARGET_PATH"] = str(out.dbt_target)
    env["DBT_LOG_PATH"] = str(out.dbt_logs)
    if url:
        env["TAP_DOCKERDVP_API_URL"] = url + API_PATH
        env["TAP_DOCKERDVP_HUB_URL"] = url
        env["TAP_DOCKERDVP_USERNAME"] = DEMO_USERNAME
        env["TAP_DOCKERDVP_PASSWORD"] = DEMO_PASSWORD
    return env


def meltano(meltano_bin: str, *args: str, env: dict[str, str], out: Outputs, verbose: bool, check: bool = True) -> int:
    """Run meltano in the project; its logs go to output/demo-meltano.log unless ``verbose``."""
    cmd = [meltano_bin, "--environment", ENVIRONMENT, *args]
    command = " ".join(["meltano", *cmd[1:]])
    if verbose:
        log(f"$ {command}")
        code = _call(cmd, env, None)
    else:
        log(f"$ {command}  (logs: {shown(out.meltano_log)})")
        out.meltano_log.parent.mkdir(parents=True, exist_ok=True)
        with open(out.meltano_log, "ab") as log_file:
            log_file.write(f"\n$ {command}\n".encode())
            log_file.flush()
            code = _call(cmd, env, log_file)
    if check and code != 0:
        tail = "" if verbose else f"; the end of {shown(out.meltano_log)}:\n{_tail(out.meltano_log, 40)}"
        raise DemoError(f"`{command}` failed with exit code {code}{tail}")
    return code


def _call(cmd: list[str], env: dict[str, str], out: IO[bytes] | None) -> int:
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached meltano too: let it stop its tap and target before we go on.
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise
    except BaseException:  # SIGTERM (SystemExit) or an error: do not leave meltano running
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise


def reset_outputs(meltano_bin: str, out: Outputs, verbose: bool) -> None:
    for path in (out.db, out.db.with_name(out.db.name + ".wal"), out.meltano_log, out.chart):
        if path.exists():
            path.unlink()
            log(f"removed {shown(path)}")
    out.db.parent.mkdir(parents=True, exist_ok=True)
    # Clearing a state id that does not exist yet fails harmlessly; the run uses --full-refresh too.
    meltano(
        meltano_bin,
        *("state", "clear", "--force", STATE_ID),
        env=meltano_env(None, out),
        out=out,
        verbose=verbose,
        check=False,
    )


# -------------------------------------------------------------------------------------------------
# The summary
# -------------------------------------------------------------------------------------------------
def summarise(out: Outputs) -> list[str]:
    """Print rows per table and the top repositories.

    Returns the tables that should have rows but have none (or are missing).
    """
    import duckdb

    from tap_dockerdvp.dvp.views import VIEWS

    if not out.db.exists():
        raise DemoError(f"{out.db} was not created: the load wrote nothing")
    con = duckdb.connect(str(out.db), read_only=True)
    try:
        tables = [
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name",
                [SCHEMA],
            ).fetchall()
        ]
        if not tables:
            raise DemoError(f"no tables in schema {SCHEMA!r} of {out.db}")
        counts = {}
        for table in tables:
            counts[table] = _scalar(con, f'SELECT count(*) FROM {SCHEMA}."{table}"')  # noqa: S608

        # A view's table may rightly be empty when no namespace is entitled to that view.
        offered_views: set[str] = set()
        if "namespaces" in tables:
            for (datasets,) in con.execute(f"SELECT datasets FROM {SCHEMA}.namespaces").fetchall():  # noqa: S608
                for dataset in _json_list(datasets):
                    offered_views.update(dataset.get("views") or [])
        must_have_rows = set(BASE_TABLES) | {VIEWS[v].stream_name for v in offered_views if v in VIEWS}

        print()
        print(f"Rows loaded into {shown(out.db)}, schema {SCHEMA}:")
        empty = []
        for table in tables:
            note = ""
            if counts[table] == 0:
                if table in must_have_rows:
                    note = "  <-- EMPTY"
                    empty.append(table)
                else:
                    note = "  (not offered to these namespaces)"
            print(f"  {table:<30} {counts[table]:>10,}{note}")
        missing = sorted(t for t in must_have_rows if t not in tables)
        for table in missing:
            print(f"  {table:<30} {'missing':>10}  <-- NO TABLE")
        empty += missing

        print()
        _print_top_repositories(con, tables)
        return empty
    finally:
        con.close()


def _print_top_repositories(con: object, tables: list[str]) -> None:
    if "repo_summary" in tables:
        # One granularity only: a month's pulls are its weeks' pulls again.
        kinds = [
            r[0]
            for r in con.execute(  # type: ignore[attr-defined]
                f"SELECT DISTINCT timespan_type FROM {SCHEMA}.repo_summary ORDER BY 1 DESC"  # noqa: S608
            ).fetchall()
        ]
        kind = "weeks" if "weeks" in kinds else (kinds[0] if kinds else None)
        rows = con.execute(  # type: ignore[attr-defined]
            f"""SELECT namespace, repository,
                       SUM(COALESCE(pull_by_tag, 0) + COALESCE(pull_by_digest, 0)) AS pulls
                FROM {SCHEMA}.repo_summary WHERE timespan_type IS NOT DISTINCT FROM ?
                GROUP BY 1, 2 ORDER BY pulls DESC, 1, 2 LIMIT 5""",  # noqa: S608
            [kind],
        ).fetchall()
        print(f"Top 5 repositories by pulls (repo_summary, pull_by_tag + pull_by_digest, all {kind}):")
    elif "pull_events" in tables:
        rows = con.execute(  # type: ignore[attr-defined]
            f"""SELECT namespace, repository, count(*) AS pulls FROM {SCHEMA}.pull_events
                GROUP BY 1, 2 ORDER BY pulls DESC, 1, 2 LIMIT 5"""  # noqa: S608
        ).fetchall()
        print("Top 5 repositories by pull events (pull_events):")
    else:
        print("No repo_summary or pull_events table: no repository ranking.")
        return
    for rank, (namespace, repository, pulls) in enumerate(rows, 1):
        name = repository if "/" in str(repository) else f"{namespace}/{repository}"
        print(f"  {rank}. {name:<40} {int(pulls or 0):>10,}")


def _scalar(con: object, sql: str) -> int:
    row = con.execute(sql).fetchone()  # type: ignore[attr-defined]
    return int(row[0]) if row else 0


def _json_list(value: object) -> list[dict]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# -------------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--weeks",
        type=int,
        default=None,
        help="complete weeks of simulated data (simulator default: 6)",
    )
    parser.add_argument(
        "--namespaces",
        default="acme,globex",
        help="comma-separated simulated namespaces (default: acme,globex)",
    )
    parser.add_argument("--rows-per-week", type=int, default=None, help="raw pull rows per namespace and week")
    parser.add_argument(
        "--simulator-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra simulator argument (repeatable), e.g. --simulator-arg=--files-per-timespan=2",
    )
    parser.add_argument("--verbose", action="store_true", help="show meltano's logs instead of writing them to a file")
    parser.add_argument(
        "--marts-only",
        action="store_true",
        help="rebuild the dbt marts on the database the last demo loaded, then show them (`make marts`)",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=OUTPUT,
        help=f"where the database, the logs and the chart go (default: {shown(OUTPUT)})",
    )
    return parser.parse_args(argv)


def show_marts(out: Outputs) -> None:
    """What dbt did, three answers from the marts, and the chart (PNG and terminal)."""
    outcome, problems = demo_marts.dbt_outcome(out.dbt_target)
    print(outcome + (":" if problems else ""))
    for problem in problems:
        print(f"  {problem}")
    print()
    print(f"What the marts say (schema {MARTS_SCHEMA} of {shown(out.db)}):")
    for line in demo_marts.answers(out.db, MARTS_SCHEMA):
        print(f"  {line}")
    data = demo_marts.chart_data(out.db, MARTS_SCHEMA)
    demo_marts.draw_png(data, out.chart, "the demo's simulated Docker Hub")
    print()
    print(demo_marts.draw_terminal(data))
    log(f"chart: {shown(out.chart)}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Outputs(args.output_dir.resolve())
    started = time.monotonic()
    try:
        meltano_bin = find_meltano()
        if args.marts_only:
            if not out.db.exists():
                raise DemoError(f"{shown(out.db)} does not exist: run `make demo` first")
            meltano(meltano_bin, "run", "dbt-duckdb:build", env=meltano_env(None, out), out=out, verbose=args.verbose)
            empty: list[str] = []
        else:
            reset_outputs(meltano_bin, out, args.verbose)
            with simulator(args) as url:
                meltano(
                    meltano_bin,
                    *("run", "--full-refresh", "tap-dockerdvp", "target-duckdb", "dbt-duckdb:build"),
                    env=meltano_env(url, out),
                    out=out,
                    verbose=args.verbose,
                )
            empty = summarise(out)
            print()
        show_marts(out)
    except (DemoError, demo_marts.MartsError) as exc:
        print(f"\n[demo] FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n[demo] interrupted", file=sys.stderr)
        return 130
    print()
    if empty:
        print(f"[demo] FAILED: no rows in {', '.join(empty)}", file=sys.stderr)
        return 1
    log(f"done in {time.monotonic() - started:.0f} s. Explore the data (from {ROOT}):")
    for command in explore_commands(shown(out.db)):
        print(f"  {command}")
    return 0


def explore_commands(db: str) -> list[str]:
    """Shell commands that show what the demo loaded into ``db`` (tests/cli/test_first_look.py runs them).

    The connection is kept in a variable: `duckdb.connect(...).sql(...).show()` fails with "Connection has already
    been closed", because the connection is gone before the relation is shown.
    """
    python = ".venv/bin/python -c"
    connect = f"import duckdb; con = duckdb.connect('{db}', read_only=True)"
    top = (
        f"SELECT namespace, repository, count(*) AS pulls FROM {SCHEMA}.pull_events "  # noqa: S608 - our constant
        "GROUP BY ALL ORDER BY pulls DESC LIMIT 5"
    )
    return [
        f"{python} \"{connect}; con.sql('SHOW ALL TABLES').show()\"",
        f"{python} \"{connect}; con.sql('{top}').show()\"",
    ]


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # SIGTERM also stops the simulator (finally)
    sys.exit(main())
