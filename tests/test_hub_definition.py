"""The Meltano Hub plugin definition (hub/extractors/tap-dockerdvp/dockerdvp.yml) says what the tap is.

Checked against `tap-dockerdvp --about --format json` like meltano.yml (tests/plugin_definitions.py), against
the installed meltano's schema for settings and capabilities, and for real: a new Meltano project adds the
extractor from the file (`meltano add --from-ref`), installs it from this checkout and runs `--about`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_support import base_env, find_meltano
from plugin_definitions import (
    HUB_FILE,
    ROOT,
    about,
    capabilities_problems,
    load_yaml,
    meltano_extractor,
    meltano_schema,
    settings_problems,
)

# The keys a Hub extractor definition may have (the Hub's plugin-definition schema).
HUB_KEYS = {
    "name", "pip_url", "variant", "namespace", "label", "description", "executable", "settings", "docs", "repo",
    "logo_url", "hidden", "settings_group_validation", "commands", "capabilities", "metadata", "schema", "select",
    "maintenance_status", "quality", "domain_url", "keywords", "requires", "definition", "next_steps",
    "settings_preamble", "usage", "prereq", "ext_repo",
}  # fmt: skip
REQUIRED_KEYS = {
    "name", "variant", "namespace", "label", "description", "pip_url", "executable", "capabilities", "settings",
    "settings_group_validation", "keywords", "domain_url", "maintenance_status", "usage",
}  # fmt: skip
MAINTENANCE_STATUSES = {"active", "beta", "development", "inactive", "unknown"}


@pytest.fixture(scope="module")
def hub() -> dict:
    return load_yaml(HUB_FILE)


def test_every_setting_matches_the_tap(hub: dict) -> None:
    problems = settings_problems(hub, about())
    assert not problems, f"{HUB_FILE.relative_to(ROOT)} vs the tap's settings:\n  " + "\n  ".join(problems)


def test_capabilities_are_the_taps(hub: dict) -> None:
    problems = capabilities_problems(hub, about())
    assert not problems, f"{HUB_FILE.relative_to(ROOT)} vs the tap's capabilities:\n  " + "\n  ".join(problems)


def test_same_settings_and_capabilities_as_meltano_yml(hub: dict) -> None:
    extractor = meltano_extractor()
    assert sorted(hub["capabilities"]) == sorted(extractor["capabilities"])
    assert hub["settings_group_validation"] == extractor["settings_group_validation"]
    assert hub["settings"] == extractor["settings"], "keep the Hub file's settings equal to meltano.yml's"


def test_metadata(hub: dict) -> None:
    info = about()
    assert not set(hub) - HUB_KEYS, f"keys the Hub does not know: {sorted(set(hub) - HUB_KEYS)}"
    assert not REQUIRED_KEYS - set(hub), f"missing: {sorted(REQUIRED_KEYS - set(hub))}"
    # laid out as on the Hub: extractors/<name>/<variant>.yml
    assert HUB_FILE.parent.name == hub["name"] == info["name"]
    assert HUB_FILE.stem == hub["variant"]
    assert hub["namespace"] == meltano_extractor()["namespace"] == hub["name"].replace("-", "_")
    assert hub["executable"] == hub["name"]
    pyproject = (ROOT / "pyproject.toml").read_text()
    project_name = re.search(r'^name\s*=\s*"([^"]+)"', pyproject, re.MULTILINE)
    assert project_name and hub["pip_url"] == project_name.group(1), "pip_url is the PyPI package"
    assert re.search(rf"^{re.escape(hub['executable'])}\s*=", pyproject, re.MULTILINE), "no such console script"
    for key in ("label", "description", "usage", "definition", "settings_preamble"):
        assert isinstance(hub.get(key), str) and hub[key].strip(), f"{key} is empty"
    assert hub["maintenance_status"] in MAINTENANCE_STATUSES
    assert re.fullmatch(r"https://\S+", hub["domain_url"])
    assert "meltano_sdk" in hub["keywords"] and all(isinstance(k, str) and k for k in hub["keywords"])
    # the usage notes name every stream of the default catalog...
    streams = {entry["stream"] for entry in _discovered_streams()}
    missing = sorted(s for s in streams if f"`{s}`" not in hub["usage"])
    assert not missing, f"streams not named in the usage notes: {missing}"
    # ...and every secret is marked sensitive (the generic check compares with the tap's `secret` flags)
    assert {s["name"] for s in hub["settings"] if s.get("sensitive")} >= {"password", "totp_secret"}


def test_settings_and_capabilities_follow_meltanos_schema(hub: dict) -> None:
    schema = meltano_schema()
    if schema is None:
        pytest.skip("meltano is not installed here (make test installs it into .venv-meltano)")
    from jsonschema import Draft202012Validator

    setting_schema = {"$defs": schema["$defs"], "$ref": "#/$defs/base_setting"}
    validator = Draft202012Validator(setting_schema)
    errors = [f"{s['name']}: {e.message[:200]}" for s in hub["settings"] for e in validator.iter_errors(s)]
    assert not errors, "\n".join(errors)
    extractor_schema = schema["$defs"]["plugins"]["extractors"]["allOf"][2]["properties"]["capabilities"]
    known = set(extractor_schema["items"]["enum"])
    assert set(hub["capabilities"]) <= known, sorted(set(hub["capabilities"]) - known)


@pytest.mark.e2e
def test_meltano_adds_the_extractor_from_the_hub_file(tmp_path: Path) -> None:
    """`meltano add extractor tap-dockerdvp --from-ref <file>` in a new project, then install and --about."""
    meltano = find_meltano()
    if meltano is None:
        pytest.skip("meltano is not installed: run `make test` or set MELTANO_BIN")
    env = base_env()

    def run(*args: str, cwd: Path) -> str:
        proc = subprocess.run(
            [meltano, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        assert proc.returncode == 0, f"`meltano {' '.join(args)}` failed:\n{proc.stderr[-4000:]}"
        return proc.stdout

    run("init", "--no-usage-stats", "project", cwd=tmp_path)
    project = tmp_path / "project"
    # (`meltano add extractor NAME --from-ref FILE` would add it as a utility too, with meltano 4.4.1)
    run("add", "--plugin-type", "extractor", "tap-dockerdvp", "--from-ref", str(HUB_FILE), "--no-install", cwd=project)
    plugins = load_yaml(project / "meltano.yml")["plugins"]
    assert list(plugins) == ["extractors"] and len(plugins["extractors"]) == 1, plugins
    added = plugins["extractors"][0]
    assert added["variant"] == HUB_FILE.stem and added["pip_url"] == "tap-dockerdvp"
    # not on PyPI yet: install this checkout instead, as a package (not editable)
    text = (project / "meltano.yml").read_text()
    (project / "meltano.yml").write_text(text.replace("pip_url: tap-dockerdvp", f"pip_url: {ROOT}", 1))
    run("install", "extractor", "tap-dockerdvp", cwd=project)
    info = json.loads(run("invoke", "tap-dockerdvp", "--about", "--format", "json", cwd=project))
    assert info["name"] == "tap-dockerdvp" and info["settings"] == about()["settings"]
    listing = run("config", "list", "tap-dockerdvp", cwd=project)
    assert "TAP_DOCKERDVP_PASSWORD" in listing and "TAP_DOCKERDVP_USERNAME" in listing


def _discovered_streams() -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "tap_dockerdvp", "--discover", "--config", "ENV"],
        cwd=ROOT,
        env={**base_env(), "TAP_DOCKERDVP_USERNAME": "u", "TAP_DOCKERDVP_PASSWORD": "p"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return list(json.loads(proc.stdout)["streams"])
