"""The Meltano Hub plugin definition (hub/extractors/tap-dockerdvp/dockerdvp.yml) passes the Hub's checks and
says what the tap is.

- It is what scripts/hub_definition.py makes of `tap-dockerdvp --about` (`make hub-definition` rewrites it).
- It passes the Hub's CI as reproduced in tests/support/hub_rules.py: yamllint with the Hub's rules, the Hub's schema
  for extractor definitions, the maintainer check. So does what the generator makes of the installed SDK's
  `--about`, which is what the Hub's weekly metadata job will write after an SDK upgrade.
- Checked against `--about` like meltano.yml (tests/support/plugin_definitions.py) and against the installed meltano's
  schema. tests/e2e/test_install_from_clone.py adds it for real, as the README's *Install* prints it (`meltano add
  --from-ref` this file), in a new Meltano project, and runs it against the simulator.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from e2e_support import base_env
from hub_rules import schema_problems, yamllint_problems
from plugin_definitions import (
    HUB_FILE,
    MELTANO_YML,
    ROOT,
    about,
    capabilities_problems,
    comparable,
    generator,
    load_yaml,
    meltano_extractor,
    meltano_schema,
    sdk_is_pinned,
    settings_problems,
    tap_setting_names,
)

STALE = "run `make hub-definition` (scripts/hub_definition.py) and commit the result"


@pytest.fixture(scope="module")
def hub() -> dict:
    return load_yaml(HUB_FILE)


def _own(settings: list[dict]) -> list[dict]:
    """The settings the tap declares itself (the SDK's built-in ones left out)."""
    return [s for s in settings if s["name"].split(".")[0] in tap_setting_names()]


def test_the_files_are_generated_from_about(hub: dict) -> None:
    """The Hub file and meltano.yml's extractor block are exactly what the generator makes of `--about`."""
    hub_definition = generator()
    if sdk_is_pinned():
        stale = [str(path.relative_to(ROOT)) for path in hub_definition.stale(about())]
        assert not stale, f"{', '.join(stale)} differ from `tap-dockerdvp --about`: {STALE}"
        return
    # Another singer-sdk (make test-sdk-pre): its built-in settings may differ; the tap's own may not.
    fresh = hub_definition.definition(about())
    assert _own(hub["settings"]) == _own(fresh["settings"]), f"{HUB_FILE.relative_to(ROOT)}: {STALE}"
    assert _own(meltano_extractor()["settings"]) == _own(fresh["settings"]), f"meltano.yml: {STALE}"
    header = {k: v for k, v in hub.items() if k in hub_definition.HEADER}
    assert header == hub_definition.HEADER, f"{HUB_FILE.relative_to(ROOT)}: {STALE}"


def test_a_new_setting_makes_the_files_stale_until_the_command_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--check` names each stale file and the command; the command (no flag) rewrites both files."""
    hub_definition = generator()
    changed = json.loads(json.dumps(about()))
    changed["settings"]["properties"]["late_data_grace_days"] = {
        "type": ["integer", "null"], "title": "Late data grace", "description": "Days to wait", "default": 3,
    }  # fmt: skip
    (tmp_path / "hub").mkdir()
    monkeypatch.setattr(hub_definition, "ROOT", tmp_path)
    monkeypatch.setattr(hub_definition, "HUB_FILE", tmp_path / "hub" / "dockerdvp.yml")
    monkeypatch.setattr(hub_definition, "MELTANO_YML", tmp_path / "meltano.yml")
    monkeypatch.setattr(hub_definition, "run_about", lambda: changed)
    hub_definition.HUB_FILE.write_text(HUB_FILE.read_text())
    hub_definition.MELTANO_YML.write_text(MELTANO_YML.read_text())

    assert hub_definition.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "hub/dockerdvp.yml differs" in err and "meltano.yml differs" in err and "make hub-definition" in err
    assert hub_definition.main([]) == 0
    assert hub_definition.main(["--check"]) == 0
    added = [s for s in load_yaml(hub_definition.HUB_FILE)["settings"] if s["name"] == "late_data_grace_days"]
    assert added == [
        {"name": "late_data_grace_days", "kind": "integer", "label": "Late data grace", "description": "Days to wait",
         "value": 3}
    ]  # fmt: skip
    assert added[0] in meltano_extractor_of(hub_definition.MELTANO_YML)["settings"]
    # everything in meltano.yml outside the generated block is untouched
    outside = re.compile(r"# BEGIN generated.*?# END generated[^\n]*\n", re.DOTALL)
    assert outside.sub("", hub_definition.MELTANO_YML.read_text()) == outside.sub("", MELTANO_YML.read_text())


def meltano_extractor_of(path: Path) -> dict:
    return next(p for p in load_yaml(path)["plugins"]["extractors"] if p["name"] == "tap-dockerdvp")


def test_follows_the_hubs_yamllint_rules() -> None:
    problems = yamllint_problems(HUB_FILE.read_text(encoding="utf-8"))
    assert not problems, f"yamllint (the Hub's rules), {HUB_FILE.relative_to(ROOT)}:\n  " + "\n  ".join(problems)


def test_follows_the_hubs_schema(hub: dict) -> None:
    problems = schema_problems(hub)
    assert not problems, f"the Hub's schema, {HUB_FILE.relative_to(ROOT)}:\n  " + "\n  ".join(problems)


def test_what_the_hub_regenerates_from_this_sdk_passes_its_checks() -> None:
    """The Hub rewrites settings and capabilities from `--about` weekly: with the installed singer-sdk (the
    pre-release under `make test-sdk-pre`), the result must still pass the Hub's checks."""
    hub_definition = generator()
    text = hub_definition.hub_text(about())
    assert not yamllint_problems(text), yamllint_problems(text)
    fresh = yaml.safe_load(text)
    assert fresh == hub_definition.definition(about()), "the YAML does not read back as the definition"
    assert not schema_problems(fresh), schema_problems(fresh)
    assert not settings_problems(fresh, about()), settings_problems(fresh, about())
    assert not capabilities_problems(fresh, about()), capabilities_problems(fresh, about())


def test_the_checks_catch_what_the_hub_rejects(hub: dict) -> None:
    """What the Hub's CI rejected in the old definition, each caught here."""
    unordered = "name: tap-dockerdvp\nlabel: x\nsettings:\n  - name: b\n    kind: string\n"
    problems = yamllint_problems("---\n" + unordered)
    assert any("(key-ordering)" in p for p in problems), problems
    assert any("(indentation)" in p for p in problems), problems
    assert any("(document-start)" in p for p in problems), problems
    no_quality = {k: v for k, v in hub.items() if k != "quality"}
    assert any("'quality' is a required property" in p for p in schema_problems(no_quality))
    bad_kind = {**hub, "settings": [{**hub["settings"][0], "kind": "text"}]}
    assert any("'text' is not one of" in p for p in schema_problems(bad_kind))
    assert any("repo" in p for p in schema_problems({**hub, "repo": "https://github.com/tap-dockerdvp"}))
    string_secret = [{**s, "kind": "string"} if s["name"] == "password" else s for s in hub["settings"]]
    assert any("`password`: kind 'string'" in p for p in settings_problems({**hub, "settings": string_secret}, about()))
    whole = [s for s in hub["settings"] if not s["name"].startswith("faker_config.")]
    whole.append({"name": "faker_config", "kind": "object", "label": "Faker Configuration", "description": "x"})
    whole.sort(key=lambda s: s["name"])
    assert any("one setting per leaf" in p for p in settings_problems({**hub, "settings": whole}, about()))


def test_every_setting_matches_the_tap(hub: dict) -> None:
    problems = settings_problems(hub, *comparable(about()))
    assert not problems, f"{HUB_FILE.relative_to(ROOT)} vs the tap's settings:\n  " + "\n  ".join(problems)


def test_capabilities_are_the_taps(hub: dict) -> None:
    problems = capabilities_problems(hub, about(), exact=sdk_is_pinned())
    assert not problems, f"{HUB_FILE.relative_to(ROOT)} vs the tap's capabilities:\n  " + "\n  ".join(problems)


def test_same_settings_and_capabilities_as_meltano_yml(hub: dict) -> None:
    extractor = meltano_extractor()
    assert hub["capabilities"] == extractor["capabilities"]
    assert hub["settings_group_validation"] == extractor["settings_group_validation"]
    assert hub["settings"] == extractor["settings"], f"keep the Hub file's settings equal to meltano.yml's: {STALE}"


def test_metadata(hub: dict) -> None:
    info = about()
    # laid out as on the Hub: extractors/<name>/<variant>.yml
    assert HUB_FILE.parent.name == hub["name"] == info["name"]
    assert HUB_FILE.stem == hub["variant"]
    assert hub["namespace"] == meltano_extractor()["namespace"] == hub["name"].replace("-", "_")
    assert hub["executable"] == hub["name"]
    pyproject = (ROOT / "pyproject.toml").read_text()
    project_name = re.search(r'^name\s*=\s*"([^"]+)"', pyproject, re.MULTILINE)
    assert project_name and hub["pip_url"] == project_name.group(1), "pip_url is the PyPI package"
    assert re.search(rf"^{re.escape(hub['executable'])}\s*=", pyproject, re.MULTILINE), "no such console script"
    for key in ("label", "description", "usage", "definition", "settings_preamble", "prereq"):
        assert isinstance(hub.get(key), str) and hub[key].strip(), f"{key} is empty"
    assert hub["docs"] == f"https://hub.meltano.com/extractors/{hub['name']}--{hub['variant']}"
    assert hub["domain_url"].startswith("https://docs.docker.com/")
    assert hub["logo_url"].startswith("/assets/logos/extractors/")
    assert sorted(hub["keywords"]) == ["api", "meltano_sdk"]
    # the Python versions are the package's classifiers, as `--about` reports them
    classifiers = re.findall(r'"Programming Language :: Python :: (3\.\d+)"', pyproject)
    assert hub["supported_python_versions"] == classifiers == info["supported_python_versions"]
    # the usage notes name every stream of the default catalog...
    streams = {entry["stream"] for entry in _discovered_streams()}
    missing = sorted(s for s in streams if f"`{s}`" not in hub["usage"])
    assert not missing, f"streams not named in the usage notes: {missing}"
    # ...and the settings guide names only settings the tap has (or their values, or a kind)
    named = set(re.findall(r"`([a-z_]+)`", hub["settings_preamble"]))
    values = {str(o["value"]) for s in hub["settings"] for o in s.get("options") or []}
    unknown = sorted(named - set(info["settings"]["properties"]) - values - {s["kind"] for s in hub["settings"]})
    assert not unknown, f"settings_preamble names settings the tap lacks: {unknown}"
    assert {s["name"] for s in hub["settings"] if s.get("sensitive")} >= {"password", "totp_secret"}


def test_ci_tests_every_supported_python(hub: dict) -> None:
    """The Hub lists `supported_python_versions` (the classifiers): CI's test matrix runs each of them."""
    matrix = load_yaml(ROOT / ".github" / "workflows" / "ci.yml")["jobs"]["test"]["strategy"]["matrix"]
    tested = [*matrix["python-version"], *(entry["python-version"] for entry in matrix.get("include", []))]
    assert sorted(tested, key=lambda v: tuple(map(int, v.split(".")))) == hub["supported_python_versions"]


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
