"""meltano.yml's tap-dockerdvp extractor says what the tap is.

A setting or capability added to (or removed from) the tap fails here until meltano.yml says the same:
names, kinds against JSON types, `sensitive` against `secret`, labels and descriptions against titles and
descriptions, values against defaults, the required settings in `settings_group_validation`, and the
capabilities against `tap-dockerdvp --about --format json`. `make hub-definition` rewrites that part of
meltano.yml (tests/contract/test_hub_definition.py checks it is up to date).
"""

from __future__ import annotations

import re

import pytest
from plugin_definitions import (
    MELTANO_YML,
    ROOT,
    about,
    capabilities_problems,
    comparable,
    load_yaml,
    meltano_extractor,
    meltano_schema,
    sdk_is_pinned,
    settings_problems,
    tap_setting_names,
)


def test_every_setting_matches_the_tap() -> None:
    problems = settings_problems(meltano_extractor(), *comparable(about()))
    assert not problems, "meltano.yml vs the tap's settings:\n  " + "\n  ".join(problems)


def test_the_readme_settings_table_has_every_setting_of_the_tap() -> None:
    text = (ROOT / "README.md").read_text()
    table = text[text.index("\n## Settings\n") : text.index("\n## Streams\n")]
    listed = set(re.findall(r"^\| `([a-z_]+)[.`]", table, flags=re.MULTILINE))  # `batch_config.x`: its leaves
    missing, unknown = sorted(tap_setting_names() - listed), sorted(listed - tap_setting_names())
    assert not missing, f"settings missing from the README's Settings table: {missing}"
    assert not unknown, f"the README's Settings table lists settings the tap lacks: {unknown}"


def test_capabilities_are_the_taps() -> None:
    problems = capabilities_problems(meltano_extractor(), about(), exact=sdk_is_pinned())
    assert not problems, "meltano.yml vs the tap's capabilities:\n  " + "\n  ".join(problems)


def test_the_extractor_runs_this_checkout() -> None:
    extractor = meltano_extractor()
    assert extractor["namespace"] == "tap_dockerdvp"
    assert extractor["pip_url"] == "-e .[parquet]"  # parquet BATCH files need pyarrow
    pyproject = (ROOT / "pyproject.toml").read_text()
    scripts = re.search(r"^\[project\.scripts\]\n((?:.+\n)+)", pyproject, re.MULTILINE)
    assert scripts and re.search(rf"^{re.escape(extractor['executable'])}\s*=", scripts.group(1), re.MULTILINE)


def test_no_secret_has_a_value_in_meltano_yml() -> None:
    """Secrets come from the environment or `meltano config set` (the system db), never this file."""
    project = load_yaml(MELTANO_YML)
    extractor = meltano_extractor()
    secrets = {s["name"] for s in extractor["settings"] if s.get("sensitive")}
    assert {"password", "totp_secret"} <= secrets
    configs = [extractor.get("config") or {}]
    for environment in project.get("environments") or []:
        for plugin in ((environment.get("config") or {}).get("plugins") or {}).get("extractors") or []:
            configs.append(plugin.get("config") or {})
    for config in configs:
        assert not secrets & set(config), f"a secret is set in meltano.yml: {sorted(secrets & set(config))}"


def test_loaders_pin_their_versions() -> None:
    """An unpinned loader changes under the tests; target-duckdb 0.8.0 needs duckdb<1.3 (see DEVELOPERS.md)."""
    loaders = {p["name"]: p for p in load_yaml(MELTANO_YML)["plugins"]["loaders"]}
    assert {"target-duckdb", "target-jsonl", "target-postgres"} <= set(loaders)
    for name, loader in loaders.items():
        requirements = loader["pip_url"].split()
        assert "==" in requirements[0], f"{name}: pin a version in pip_url ({loader['pip_url']!r})"
    assert "duckdb<1.3" in loaders["target-duckdb"]["pip_url"].split()
    postgres = loaders["target-postgres"]
    assert postgres["pip_url"].startswith("meltanolabs-target-postgres==")
    assert postgres["config"]["load_method"] == "upsert", "re-extracted timespans must upsert on the keys"


def test_meltano_yml_is_valid_for_the_installed_meltano() -> None:
    schema = meltano_schema()
    if schema is None:
        pytest.skip("meltano is not installed here (make test installs it into .venv-meltano)")
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
        for e in validator.iter_errors(load_yaml(MELTANO_YML))
    ]
    assert not errors, "meltano.yml does not follow meltano's schema:\n  " + "\n  ".join(errors)
