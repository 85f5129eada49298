"""The first look at the data (issue 12): every command the demo and the README print works as printed.

The commands run in a shell from the repository root, as a user pastes them; only the DuckDB file they open is
one this test writes (under `output/`, removed afterwards), so no meltano run is needed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

duckdb = pytest.importorskip("duckdb")

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def load_demo():
    spec = importlib.util.spec_from_file_location("demo", ROOT / "scripts" / "demo.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo = load_demo()


def make_database(path: Path, schema: str) -> None:
    """A small database shaped like a load: `pull_events` and `namespaces` in ``schema``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    qualified = f'"{path.stem}"."{schema}"'  # catalog.schema: the way a target writes, whatever the file's name
    try:
        con.execute(f"CREATE SCHEMA {qualified}")
        con.execute(f"CREATE TABLE {qualified}.pull_events (namespace VARCHAR, repository VARCHAR, action VARCHAR)")
        con.execute(
            f"INSERT INTO {qualified}.pull_events VALUES "  # noqa: S608 - test names
            "('acme', 'broker', 'pull_by_tag'), ('acme', 'broker', 'pull_by_digest'), ('globex', 'api', 'pull_by_tag')"
        )
        con.execute(f"CREATE TABLE {qualified}.namespaces (namespace VARCHAR)")
    finally:
        con.close()


@pytest.fixture
def database() -> Iterator[str]:
    """A database at output/<name>.duckdb below the repository root, as the demo's; its path relative to it."""
    relative = f"output/first-look-{os.getpid()}.duckdb"
    path = ROOT / relative
    make_database(path, demo.SCHEMA)
    try:
        yield relative
    finally:
        path.unlink(missing_ok=True)


def run_in_shell(command: str) -> subprocess.CompletedProcess[str]:
    assert command.startswith(".venv/bin/python "), command  # what `make setup` installs
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("no .venv: run `make setup`")
    return subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_the_demo_explore_commands_work_as_printed(database: str) -> None:
    commands = demo.explore_commands(database)
    assert len(commands) == 2
    shown = run_in_shell(commands[0])
    assert shown.returncode == 0, shown.stderr
    assert "pull_events" in shown.stdout and "namespaces" in shown.stdout
    top = run_in_shell(commands[1])
    assert top.returncode == 0, top.stderr
    assert "Connection has already been closed" not in top.stderr
    assert re.search(r"acme\s*│\s*broker\s*│\s*2", top.stdout), top.stdout


def test_the_readme_prints_the_commands_the_demo_prints() -> None:
    db = str(demo.DB_PATH.relative_to(ROOT))
    printed = [line for line in README.splitlines() if line.startswith('.venv/bin/python -c "import duckdb')]
    assert printed == demo.explore_commands(db)


def test_a_plain_schema_qualified_query_works_on_the_default_duckdb_file(tmp_path: Path) -> None:
    meltano = yaml.safe_load((ROOT / "meltano.yml").read_text())
    target = next(p for p in meltano["plugins"]["loaders"] if p["name"] == "target-duckdb")
    schema = target["config"]["default_target_schema"]
    file_name = Path(target["config"]["filepath"]).name
    demo_file = next(
        plugin["config"]["filepath"]
        for env in meltano["environments"]
        if env["name"] == "demo"
        for plugin in env["config"]["plugins"]["loaders"]
        if plugin["name"] == "target-duckdb"
    )
    assert Path(demo_file).name == demo.DB_PATH.name and schema == demo.SCHEMA
    for name in (file_name, Path(demo_file).name):
        path = tmp_path / name
        make_database(path, schema)
        con = duckdb.connect(str(path), read_only=True)
        try:
            assert con.sql(f"SELECT count(*) FROM {schema}.pull_events").fetchone() == (3,)  # noqa: S608
        finally:
            con.close()


def test_a_file_named_like_its_schema_is_what_made_the_query_ambiguous(tmp_path: Path) -> None:
    path = tmp_path / "dvp.duckdb"
    make_database(path, "dvp")
    con = duckdb.connect(str(path), read_only=True)
    try:
        with pytest.raises(duckdb.Error, match=r"(?i)ambiguous"):
            con.sql("SELECT count(*) FROM dvp.pull_events").fetchall()
    finally:
        con.close()


# -- PostgreSQL by hand ----------------------------------------------------------------------------------
def readme_block_after(heading: str) -> str:
    section = README[README.index(heading) :]
    return section.split("```bash\n", 1)[1].split("```", 1)[0]


def test_the_readme_postgres_commands_match_make_postgres_and_meltano_yml() -> None:
    block = readme_block_after("### Loading into PostgreSQL by hand: `make postgres`")
    words = shlex.split(block.replace("\\\n", " "), comments=True)
    exported = dict(w.split("=", 1) for w in words if re.fullmatch(r"[A-Z_]+=.*", w))
    script = (ROOT / ".ci" / "postgres.sh").read_text()

    def script_value(name: str) -> str:
        found = re.search(rf'^{name}="([^"$]+)"', script, re.M) or re.search(
            rf'^{name}="\$\{{[A-Z_]+:-(\d+)\}}"', script, re.M
        )
        assert found, name
        return found[1]

    assert exported["TARGET_POSTGRES_USER"] == script_value("ROLE")
    assert exported["TARGET_POSTGRES_PASSWORD"] == script_value("PASSWORD")
    assert exported["TARGET_POSTGRES_DATABASE"] == script_value("DATABASE")
    assert exported["TARGET_POSTGRES_PORT"] == script_value("PORT")
    meltano = yaml.safe_load((ROOT / "meltano.yml").read_text())
    target = next(p for p in meltano["plugins"]["loaders"] if p["name"] == "target-postgres")
    settings = {s["name"] for s in target["settings"]}
    for variable in (v for v in exported if v.startswith("TARGET_POSTGRES_")):
        assert variable.removeprefix("TARGET_POSTGRES_").lower() in settings, variable
    assert "make postgres" in block and "meltano run tap-dockerdvp target-postgres" in block
    assert "postgres:" in (ROOT / "Makefile").read_text()
    # the simulator the block starts, with the credentials it exports
    sim = re.search(r"^(\S*dockerdvp-simulator) --port (\d+) &", block, re.M)
    assert sim and exported["TAP_DOCKERDVP_API_URL"] == f"http://127.0.0.1:{sim[2]}/api/publisher/analytics/v1"
    from dockerdvp_simulator import SimConfig

    assert (exported["TAP_DOCKERDVP_USERNAME"], exported["TAP_DOCKERDVP_PASSWORD"]) == (
        SimConfig().username,
        SimConfig().password,
    )
    assert Path(sys.executable).with_name("dockerdvp-simulator").exists()
