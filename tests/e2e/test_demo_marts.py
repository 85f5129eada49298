"""`make demo` ends with the dbt marts built, three answers printed and a PNG; `make marts` rebuilds them.

The demo script runs as `make demo` runs it (simulator -> `meltano run tap-dockerdvp target-duckdb
dbt-duckdb:build` -> answers and charts), with smaller simulated data and everything it writes under the test's
tmp_path (`--output-dir`, and meltano's state through MELTANO_DATABASE_URI). Then `--marts-only` (`make marts`)
runs on what it left, and `dbt docs generate` must describe every model and column the warehouse holds.
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb")

from dbt_support import Dbt, dbt_base_env, described, package_models, require_dbt  # noqa: E402
from e2e_support import ROOT, RUN_TIMEOUT, require_meltano  # noqa: E402

pytestmark = pytest.mark.e2e

DEMO = ROOT / "scripts" / "demo.py"
DEMO_ARGS = ("--weeks", "4", "--rows-per-week", "400")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class DemoRun:
    out: Path
    env: dict[str, str]
    stdout: str

    @property
    def db(self) -> Path:
        return self.out / "demo.duckdb"

    def query(self, sql: str) -> list[tuple]:
        con = duckdb.connect(str(self.db), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


def run_demo(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEMO), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=RUN_TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    require_meltano(("extractors", "tap-dockerdvp"), ("loaders", "target-duckdb"))
    require_dbt("dbt-duckdb")
    tmp = tmp_path_factory.mktemp("demo")
    env = {**dbt_base_env(), "MELTANO_DATABASE_URI": f"sqlite:///{tmp / 'meltano.db'}"}
    out = tmp / "output"
    proc = run_demo(*DEMO_ARGS, "--output-dir", str(out), env=env)
    assert proc.returncode == 0, f"the demo failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    yield DemoRun(out=out, env=env, stdout=proc.stdout)


def dbt_summary(stdout: str) -> tuple[int, int, int, int]:
    found = re.search(r"^dbt build: (\d+) of (\d+) models built, (\d+) of (\d+) tests passed$", stdout, re.M)
    assert found, stdout[-3000:]
    return tuple(int(n) for n in found.groups())  # type: ignore[return-value]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_the_demo_builds_the_marts_prints_three_answers_and_draws_them(demo: DemoRun) -> None:
    built, models, passed, tests = dbt_summary(demo.stdout)
    assert built == models == len(package_models()) and passed == tests > models, demo.stdout[-3000:]

    answers = demo.stdout[demo.stdout.index("What the marts say") :]
    for question in (r"1\. Which repositories were pulled most", r"2\. Which tags of \S+", r"3\. Who pulled \S+"):
        assert re.search(question, answers), answers[:3000]
    assert re.search(r"Reconciliation \(dvp_reconciliation\): .*\d+ with repo_summary.*: all match$", answers, re.M)

    # the weekly pulls add up to the raw pull events loaded, every one of them, all from the raw events
    ((pulls, events),) = demo.query(
        "SELECT (SELECT sum(pulls_by_tag + pulls_by_digest + version_checks) FROM dvp_marts.dvp_pulls_weekly), "
        "(SELECT count(*) FROM dvp.pull_events)"
    )
    assert pulls == events > 0
    assert demo.query("SELECT DISTINCT source, is_complete FROM dvp_marts.dvp_pulls_weekly") == [("pull_events", True)]

    # the picture: a PNG in the output folder, and the same top repositories in the terminal
    assert png_size(demo.out / "dvp-weekly-pulls.png") == (1320, 528)
    top = [r[0] for r in demo.query(
        "SELECT repository FROM dvp_marts.dvp_pulls_weekly GROUP BY 1 ORDER BY sum(pulls) DESC, 1 LIMIT 5"
    )]  # fmt: skip
    chart = demo.stdout[demo.stdout.index("Weekly pulls, top repositories") :]
    assert all(repository in chart for repository in top), chart[:3000]
    assert f"Tag adoption of {top[0]}" in chart
    assert "\x1b[" not in demo.stdout, "colour codes in output that is not a terminal"


def test_make_marts_rebuilds_them_on_the_demo_database(demo: DemoRun) -> None:
    results = demo.out / "dbt" / "target" / "run_results.json"
    before = json.loads(results.read_text())["metadata"]["generated_at"]
    (demo.out / "dvp-weekly-pulls.png").unlink()
    proc = run_demo("--marts-only", "--output-dir", str(demo.out), env=demo.env)
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert json.loads(results.read_text())["metadata"]["generated_at"] > before
    built, models, passed, tests = dbt_summary(proc.stdout)
    assert built == models and passed == tests
    assert "1. Which repositories were pulled most" in proc.stdout
    assert png_size(demo.out / "dvp-weekly-pulls.png") == (1320, 528)


def test_make_marts_without_a_demo_database_says_so_in_one_line(tmp_path: Path) -> None:
    proc = run_demo("--marts-only", "--output-dir", str(tmp_path), env=dbt_base_env())
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"[demo] FAILED: {tmp_path / 'demo.duckdb'} does not exist: run `make demo` first"
    ]


def test_dbt_docs_describe_every_model_and_column(demo: DemoRun, tmp_path: Path) -> None:
    """`dbt docs generate` on the demo's database: catalog.json (what the warehouse holds) against manifest.json
    (what the package describes). The demo's dbt target folder is reused, so dbt parses nothing again."""
    dbt = Dbt(
        require_dbt("dbt-duckdb"),
        "dbt-duckdb",
        tmp_path,
        {
            "DBT_DUCKDB_PATH": str(demo.db),
            "DBT_DUCKDB_SCHEMA": "dvp_marts",
            "DOCKERDVP_SCHEMA": "dvp",
            "DBT_TARGET_PATH": str(demo.out / "dbt" / "target"),
        },
    )
    dbt.direct("docs", "generate", name="docs", profile="duckdb")
    manifest = json.loads((dbt.target / "manifest.json").read_text())
    catalog = json.loads((dbt.target / "catalog.json").read_text())
    models = {unique_id.split(".")[-1] for unique_id in catalog["nodes"]}
    assert set(package_models()) <= models, sorted(set(package_models()) - models)
    assert len(catalog["sources"]) >= 17  # every stream the demo loads (not the two premium extension views)
    problems = described(manifest, catalog)
    assert not problems, "undescribed in the dbt docs:\n  " + "\n  ".join(problems)
    assert (dbt.target / "index.html").exists()
