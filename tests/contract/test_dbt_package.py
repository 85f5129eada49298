"""The dbt package (transform/) as files: generated from the tap, documented, portable, installable, wired in.

No warehouse here (tests/e2e/test_dbt_duckdb.py, test_dbt_postgres.py and test_demo_marts.py run it): the staging
models are what scripts/dbt_staging.py makes of the tap's catalog, every model and column is described, the SQL
keeps to what Snowflake, PostgreSQL and DuckDB all read, the package README tells another dbt project how to
install it, and meltano.yml runs it in utilities of their own, out of the tap's dependencies.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from dbt_support import TRANSFORM, described, package_models
from plugin_definitions import MELTANO_YML, ROOT, load_yaml, script

from tap_dockerdvp.tap import TapDockerDVP


def staging_script() -> Any:
    return script("dbt_staging")


def catalog_streams() -> set[str]:
    tap = TapDockerDVP(config={"username": "u", "password": "p"}, validate_config=False)
    return {s["tap_stream_id"] for s in tap.catalog_dict["streams"]}


def model_yaml() -> dict[str, dict[str, Any]]:
    """Every model entry of the package's YAML files, by name."""
    models: dict[str, dict[str, Any]] = {}
    for path in (TRANSFORM / "models").rglob("*.yml"):
        for model in yaml.safe_load(path.read_text()).get("models") or []:
            assert model["name"] not in models, f"{model['name']} is described twice"
            models[model["name"]] = model
    return models


# -- generated from the tap -----------------------------------------------------------------------------
def test_the_staging_models_are_generated_from_the_taps_catalog() -> None:
    stale = staging_script().stale_files()
    assert not stale, f"stale (run `make dbt-staging`): {stale}"


def test_every_stream_has_a_staging_model_and_a_source() -> None:
    streams = catalog_streams()
    staged = {m.removeprefix("stg_dockerdvp__") for m in package_models() if m.startswith("stg_dockerdvp__")}
    assert staged == streams
    (source,) = yaml.safe_load((TRANSFORM / "models" / "staging" / "_dockerdvp__sources.yml").read_text())["sources"]
    assert {t["name"] for t in source["tables"]} == streams


def test_staging_renames_a_reserved_or_ambiguous_column_the_same_way_in_every_stream() -> None:
    script = staging_script()
    seen: dict[str, set[str]] = {}
    for stream in script.catalog():
        for column, staged, _kind, _description in script.staged_columns(stream):
            seen.setdefault(column, set()).add(staged)
    inconsistent = {c: s for c, s in seen.items() if len(s) > 1 and c != "name"}
    assert not inconsistent, inconsistent
    reserved = {"end", "start", "group", "values", "timestamp", "type", "period", "order", "user", "row"}
    outputs = {staged for names in seen.values() for staged in names}
    assert not outputs & reserved, outputs & reserved


# -- documented ---------------------------------------------------------------------------------------------
def test_every_model_and_column_is_described() -> None:
    described_models = model_yaml()
    missing = sorted(set(package_models()) - set(described_models))
    assert not missing, f"models without a YAML entry: {missing}"
    unknown = sorted(set(described_models) - set(package_models()))
    assert not unknown, f"YAML entries of no model: {unknown}"
    problems = [name for name, m in described_models.items() if not (m.get("description") or "").strip()]
    problems += [
        f"{name}.{c['name']}"
        for name, m in described_models.items()
        for c in m.get("columns") or []
        if not (c.get("description") or "").strip()
    ]
    assert not problems, f"undescribed: {problems}"
    assert all(described_models[m].get("columns") for m in package_models()), "a model without columns"


def test_the_docs_check_sees_an_undescribed_column() -> None:
    """Positive control of `described`, which tests/e2e/test_demo_marts.py runs on `dbt docs generate`'s files."""
    manifest = {
        "nodes": {
            "model.dockerdvp.m": {
                "resource_type": "model",
                "name": "m",
                "description": "A model.",
                "columns": {"a": {"description": "Column a."}, "b": {"description": ""}},
            }
        },
        "sources": {},
    }
    catalog = {"nodes": {"model.dockerdvp.m": {"columns": {"A": {}, "B": {}, "c": {}}}}, "sources": {}}
    assert described(manifest, catalog) == ["m.B: no description", "m.c: no description"]
    manifest["nodes"]["model.dockerdvp.m"]["columns"]["b"]["description"] = "Column b."
    manifest["nodes"]["model.dockerdvp.m"]["columns"]["c"] = {"description": "Column c."}
    assert described(manifest, catalog) == []


def test_the_docs_name_every_mart() -> None:
    readme = (TRANSFORM / "README.md").read_text()
    marts = [m for m in package_models() if m.startswith("dvp_")]
    assert len(marts) == 10
    assert not [m for m in marts if f"`{m}`" not in readme], "marts the package README does not list"
    page = (ROOT / "docs" / "reconciliation.md").read_text()
    assert "dvp_reconciliation" in page and "dockerdvp_raw_pulls_match_summaries" in page
    assert (TRANSFORM / "tests" / "dockerdvp_raw_pulls_match_summaries.sql").exists()


# -- portable -------------------------------------------------------------------------------------------
NOT_PORTABLE = {
    r"(?i)\bgroup\s+by\s+all\b": "GROUP BY ALL (not in PostgreSQL)",
    r"::": "a :: cast (use cast(x as t))",
    r"(?i)\bqualify\b": "QUALIFY (not in PostgreSQL)",
    r"(?i)\bilike\b": "ILIKE",
    r"(?i)\bfilter\s*\(\s*where\b": "an aggregate FILTER (not in Snowflake)",
    r"(?i)(?<!\.)\b(date_trunc|dateadd|datediff|date_add|date_diff|last_day)\s*\(": "a date function (use dbt.*)",
    r"(?i)\bcurrent_date\b": "current_date (use dbt.current_timestamp())",
    r"(?i)\b(string|text|int64|hugeint|varchar|timestamptz)\b(?=\s*\))": "a warehouse type (use dbt.type_*())",
    r'"[a-z_]+"\.': "a quoted relation name",
}


def package_sql() -> list[Path]:
    """The package's own SQL: models, macros and tests (not what dbt compiles into target/)."""
    return sorted(p for folder in ("models", "macros", "tests") for p in (TRANSFORM / folder).rglob("*.sql"))


@pytest.mark.parametrize("path", package_sql(), ids=lambda p: str(p.relative_to(TRANSFORM)))
def test_the_sql_keeps_to_what_every_warehouse_reads(path: Path) -> None:
    text = re.sub(r"\{#.*?#\}|--[^\n]*", "", path.read_text(), flags=re.S)  # comments may say anything
    found = [why for pattern, why in NOT_PORTABLE.items() if re.search(pattern, text)]
    assert not found, f"{path.relative_to(ROOT)}: {found}"


def test_the_portability_check_sees_what_it_forbids() -> None:
    """Positive control: each pattern above matches the construct it names."""
    samples = [
        "select a from t group by all",
        "select a::int",
        "select * from t qualify row_number() over () = 1",
        "where a ilike 'x'",
        "count(*) filter (where a)",
        "date_trunc('week', d)",
        "where d = current_date",
        "cast(null as varchar)",
        'select * from "dvp".t',
    ]
    for sample, (pattern, why) in zip(samples, NOT_PORTABLE.items(), strict=True):
        assert re.search(pattern, sample), why
    assert not re.search(list(NOT_PORTABLE)[5], "{{ dbt.date_trunc('week', d) }}")


# -- installable ---------------------------------------------------------------------------------------------
def test_the_package_is_a_dbt_project_other_projects_can_install() -> None:
    project = yaml.safe_load((TRANSFORM / "dbt_project.yml").read_text())
    assert project["name"] == "dockerdvp"
    assert ">=1.8.0" in project["require-dbt-version"]
    assert not (TRANSFORM / "profiles.yml").exists(), "a package ships no root profiles.yml"
    assert not (TRANSFORM / "packages.yml").exists(), "the package needs no other package (no network at dbt deps)"

    readme = (TRANSFORM / "README.md").read_text()
    block = readme[readme.index("`packages.yml`:") :].split("```yaml\n", 1)[1].split("```", 1)[0]
    (package,) = yaml.safe_load(block)["packages"]
    hub = yaml.safe_load((ROOT / "hub" / "extractors" / "tap-dockerdvp" / "dockerdvp.yml").read_text())
    assert package["git"] == hub["repo"] + ".git"
    assert package["subdirectory"] == "transform" and package["revision"]


# -- wired into Meltano ---------------------------------------------------------------------------------------
def utilities(text: str | None = None) -> dict[str, dict[str, Any]]:
    project = yaml.safe_load(text) if text is not None else load_yaml(MELTANO_YML)
    return {u["name"]: u for u in project["plugins"]["utilities"]}


def uncommented_snowflake() -> str:
    """meltano.yml with its commented-out dbt-snowflake utility uncommented."""
    text = MELTANO_YML.read_text()
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  # - name: dbt-snowflake"))
    end = start
    while end < len(lines) and lines[end].startswith("  #"):
        end += 1
    block = [line.replace("  # ", "  ", 1) if line.startswith("  # ") else line for line in lines[start:end]]
    return "\n".join([*lines[:start], *block, *lines[end:]])


def profile_variables(utility: dict[str, Any]) -> set[str]:
    directory = next(s for s in utility["settings"] if s["name"] == "profiles_dir")["value"]
    path = Path(directory.replace("${MELTANO_PROJECT_ROOT}", str(ROOT))) / "profiles.yml"
    assert path.is_file(), f"{utility['name']}: no {path}"
    return set(re.findall(r"env_var\('([A-Z_]+)'", path.read_text()))


@pytest.mark.parametrize("name", ["dbt-duckdb", "dbt-postgres", "dbt-snowflake"])
def test_each_dbt_utility_runs_the_package_with_its_profile(name: str) -> None:
    utility = utilities(uncommented_snowflake() if name == "dbt-snowflake" else None)[name]
    assert utility["executable"] == "dbt"
    requirements = utility["pip_url"].split()
    # dbt-core 1.12 downloads a parser from GitHub when installed: only PyPI is reachable from CI
    assert "dbt-core~=1.11.0" in requirements
    assert any(r.startswith(f"{name}~=") for r in requirements), requirements
    assert utility["commands"]["build"]["args"] == "build"
    settings = {s["name"]: s for s in utility["settings"]}
    assert settings["project_dir"]["env"] == "DBT_PROJECT_DIR"
    assert settings["project_dir"]["value"] == "${MELTANO_PROJECT_ROOT}/transform"
    assert settings["source_schema"]["env"] == "DOCKERDVP_SCHEMA"
    prefix = utility["namespace"].upper() + "_"
    read = profile_variables(utility)
    declared = {prefix + s.upper() for s in settings}
    assert read <= declared, f"{name}: the profile reads {sorted(read - declared)}, which no setting sets"
    secrets = [s for s in settings.values() if s["name"] == "password"]
    assert all(s.get("sensitive") and s["kind"] == "password" for s in secrets)
    assert not {"password"} & set(utility.get("config") or {}), "a secret in meltano.yml"


def requirements() -> tuple[list[str], list[str]]:
    """(runtime, dev extra) requirements of the installed tap-dockerdvp, as its metadata declares them."""
    declared = importlib.metadata.requires("tap-dockerdvp") or []
    runtime = [r.lower() for r in declared if "extra ==" not in r]
    dev = [r.lower() for r in declared if re.search(r"extra == .dev.", r)]
    return runtime, dev


def test_duckdb_is_the_same_as_target_duckdbs_wherever_it_is_installed() -> None:
    """target-duckdb 0.8.0 needs duckdb<1.3; dbt-duckdb writes the same file, .venv reads it (the demo)."""
    assert "duckdb<1.3" in utilities()["dbt-duckdb"]["pip_url"].split()
    _runtime, dev = requirements()
    assert any(re.match(r"duckdb[<>=,.\d]*<1\.3", r.replace(" ", "")) for r in dev), dev


def test_dbt_and_the_plotting_libraries_are_not_dependencies_of_the_tap() -> None:
    runtime, dev = requirements()
    for name in ("dbt", "matplotlib", "plotext", "duckdb"):
        assert not [r for r in runtime if r.startswith(name)], f"{name} is a runtime dependency of the tap"
    assert [r for r in dev if r.startswith("matplotlib")] and [r for r in dev if r.startswith("plotext")]
    assert not [r for r in dev if r.startswith("dbt")], "dbt belongs in meltano's utilities, not in .venv"


def test_dbt_duckdb_reads_the_file_target_duckdb_writes_in_every_environment() -> None:
    """`meltano run tap-dockerdvp target-duckdb dbt-duckdb:build`: the same file and schema, by default and in the
    demo environment."""
    project = load_yaml(MELTANO_YML)
    target = next(p for p in project["plugins"]["loaders"] if p["name"] == "target-duckdb")["config"]
    dbt = utilities()["dbt-duckdb"]["config"]
    assert dbt["path"] == target["filepath"] and dbt["source_schema"] == target["default_target_schema"]
    demo = next(e for e in project["environments"] if e["name"] == "demo")
    loaders = {p["name"]: p for p in demo["config"]["plugins"]["loaders"]}
    tools = {p["name"]: p for p in demo["config"]["plugins"]["utilities"]}
    assert tools["dbt-duckdb"]["config"]["path"] == loaders["target-duckdb"]["config"]["filepath"]
