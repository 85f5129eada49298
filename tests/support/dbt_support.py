"""What the dbt tests share: meltano's dbt utilities run on a warehouse, and what `dbt` reported.

The dbt package (transform/) runs through the project's own Meltano utilities (`dbt-duckdb`, `dbt-postgres`),
each in its venv under .meltano/utilities/, exactly as `meltano run ... dbt-duckdb:build` runs it. Everything dbt
writes goes to the test's tmp_path: DBT_TARGET_PATH (run_results.json, manifest.json, catalog.json) and
DBT_LOG_PATH; meltano's system database too (MELTANO_DATABASE_URI).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from e2e_support import ROOT, RUN_TIMEOUT, base_env, find_meltano, tail

TRANSFORM = ROOT / "transform"
# besides e2e_support's: a developer's dbt settings must not reach the tests
DBT_PREFIXES = ("DBT_", "DOCKERDVP_")


def require_dbt(utility: str) -> str:
    """The meltano executable (skip without one), with the dbt ``utility`` installed."""
    found = find_meltano()
    if found is None:
        pytest.skip("meltano is not installed: run `make test` (it installs meltano and its dbt utilities)")
    if not (ROOT / ".meltano" / "utilities" / utility / "venv" / "bin" / "dbt").exists():
        subprocess.run([found, "install", utility], cwd=ROOT, env=dbt_base_env(), check=True, timeout=900)
    return found


def dbt_base_env() -> dict[str, str]:
    return {k: v for k, v in base_env().items() if not k.startswith(DBT_PREFIXES)}


@dataclass
class Result:
    """One node of a dbt run: its status (success, pass, warn, fail, error, skipped), failing rows, message."""

    status: str
    failures: int | None
    message: str


@dataclass
class Dbt:
    """Runs meltano (its dbt utility) with ``env``; logs to ``<tmp>/<name>.log``, dbt's files under ``tmp``."""

    meltano_bin: str
    utility: str
    tmp: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def target(self) -> Path:
        return Path(self.env.get("DBT_TARGET_PATH") or self.tmp / "dbt-target")

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            **dbt_base_env(),
            "MELTANO_DATABASE_URI": f"sqlite:///{self.tmp / 'meltano.db'}",
            "DBT_TARGET_PATH": str(self.target),
            "DBT_LOG_PATH": str(self.tmp / "dbt-logs"),
            **self.env,
            **(extra or {}),
        }

    def meltano(self, *args: str, name: str, env: dict[str, str] | None = None, check: bool = True) -> str:
        """`meltano ARGS` in the project; its output (stdout and stderr) is returned and kept in ``<name>.log``."""
        return self._run([self.meltano_bin, *args], f"meltano {' '.join(args)}", name=name, env=env, check=check)

    def __call__(self, *dbt_args: str, name: str, env: dict[str, str] | None = None, check: bool = True) -> str:
        """`meltano invoke <utility> DBT_ARGS`: dbt itself, as the utility runs it."""
        return self.meltano("invoke", self.utility, *dbt_args, name=name, env=env, check=check)

    def direct(self, *dbt_args: str, name: str, profile: str, check: bool = True) -> str:
        """The utility's dbt without meltano (seconds faster), given what meltano would set: the project, the
        profile directory ``transform/profiles/<profile>`` and ``self.env``."""
        env = {
            "DBT_PROJECT_DIR": str(TRANSFORM),
            "DBT_PROFILES_DIR": str(TRANSFORM / "profiles" / profile),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        dbt = str(ROOT / ".meltano" / "utilities" / self.utility / "venv" / "bin" / "dbt")
        return self._run([dbt, *dbt_args], f"dbt {' '.join(dbt_args)}", name=name, env=env, check=check)

    def _run(self, command: list[str], shown: str, *, name: str, env: dict[str, str] | None, check: bool) -> str:
        """``command`` in the project with ``self.environment(env)``; its output (stdout and stderr) is returned and
        kept in ``<name>.log``; with ``check``, it must exit 0 (``shown`` names it in the failure)."""
        log_path = self.tmp / f"{name}.log"
        with open(log_path, "wb") as out:
            proc = subprocess.run(
                command,
                cwd=ROOT,
                env=self.environment(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=RUN_TIMEOUT,
                check=False,
            )
        if check:
            assert proc.returncode == 0, f"`{shown}` exited with {proc.returncode}:\n{tail(log_path, 60)}"
        return log_path.read_text(errors="replace")

    def results(self) -> dict[str, Result]:
        """The last run's nodes by name (a model's or test's name), from run_results.json."""
        data = json.loads((self.target / "run_results.json").read_text())
        return {
            r["unique_id"].split(".")[2]: Result(r["status"], r.get("failures"), (r.get("message") or "").strip())
            for r in data["results"]
        }


def assert_all_passed(results: dict[str, Result]) -> None:
    """Every model of the package was built and every test passed (a warning is not a pass)."""
    missing = sorted(set(package_models()) - set(results))
    assert not missing, f"models dbt did not run: {missing}"
    bad = {
        n: (r.status, r.failures, r.message[:300]) for n, r in results.items() if r.status not in ("success", "pass")
    }
    assert not bad, f"dbt nodes that did not succeed or pass, as {{name: (status, failures, message)}}: {bad}"
    assert sum(r.status == "pass" for r in results.values()) >= len(package_models()), "fewer tests than models?"


def package_models() -> list[str]:
    """Every model of the package: a .sql file under transform/models/."""
    return sorted(p.stem for p in (TRANSFORM / "models").rglob("*.sql"))


def described(manifest: dict[str, Any], catalog: dict[str, Any]) -> list[str]:
    """What `dbt docs generate` would show undescribed: models and sources without a description, and every
    column the warehouse has (catalog.json) that the package does not describe (manifest.json)."""
    problems = []
    nodes = {**manifest["nodes"], **manifest["sources"]}
    for unique_id, entry in {**catalog["nodes"], **catalog["sources"]}.items():
        node = nodes[unique_id]
        if node["resource_type"] not in ("model", "source"):
            continue
        name = node["name"]
        if not (node.get("description") or "").strip():
            problems.append(f"{name}: no description")
        documented = {c.lower(): (v.get("description") or "").strip() for c, v in node["columns"].items()}
        for column in entry["columns"]:
            if not documented.get(column.lower()):
                problems.append(f"{name}.{column}: no description")
    return problems
