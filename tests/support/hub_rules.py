"""The Meltano Hub's checks of a plugin definition, reproduced (written here, not copied from the Hub).

The Hub's CI runs three checks on `_data/meltano/extractors/<name>/<variant>.yml`:
- yamllint with the Hub's `.yamllint.yaml`: the `default` rules plus `key-ordering` (every mapping's keys in
  alphabetical order), 2-space indentation with sequences not indented, no `---`, no long-line limit, no
  `truthy` or `trailing-spaces` rule, and no non-empty `{...}`: YAMLLINT_CONFIG says the same;
- its JSON schema for extractor definitions (`schemas/plugin_definitions/extractors.schema.json` with what it
  references): the keys a definition may have, `name`/`namespace`/`variant`/`quality` required, the values
  `quality`, `maintenance_status`, `capabilities` and each setting's `kind` may take, and each setting's keys:
  EXTRACTOR_SCHEMA states those rules, plus the keys this project requires of its own definition
  (OUR_REQUIRED: what every Hub extractor has, `repo` for the maintainer check, ...);
- its maintainer check, which derives the maintainer's URL from `repo` (all but the last path segment).
"""

from __future__ import annotations

import typing as t

from plugin_definitions import generator

YAMLLINT_CONFIG = """\
extends: default
rules:
  braces:
    forbid: non-empty
  document-start:
    present: false
  indentation:
    spaces: 2
    indent-sequences: false
  key-ordering: enable
  line-length: disable
  trailing-spaces: disable
  truthy: disable
"""

HUB_CAPABILITIES: tuple[str, ...] = generator().HUB_CAPABILITIES
SETTING_KINDS = (
    "oauth", "hidden", "password", "date_iso8601", "file", "email", "integer", "options", "object", "array",
    "boolean", "string", "decimal",
)  # fmt: skip
# Keywords the Hub's extractors use (its vocabulary; `meltano_sdk` marks SDK-based plugins).
HUB_KEYWORDS = {"api", "meltano_sdk", "database", "file", "airbyte_protocol"}

_STRING = {"type": "string"}
_STRINGS = {"type": "array", "items": _STRING}
_PROCESSORS = {"type": "string", "enum": ["upcase_string", "nest_object", "stringify"]}
SETTING_SCHEMA: dict[str, t.Any] = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": _STRING,
        "aliases": _STRINGS,
        "label": _STRING,
        "value": {},
        "placeholder": _STRING,
        "kind": {"type": "string", "enum": list(SETTING_KINDS)},
        "description": _STRING,
        "tooltip": _STRING,
        "documentation": _STRING,
        "env": _STRING,
        "value_processor": _PROCESSORS,
        "value_post_processor": _PROCESSORS,
        "oauth": {"type": "object", "required": ["provider"], "properties": {"provider": _STRING}},
        "options": {
            "type": "array",
            "items": {"type": "object", "properties": {"label": _STRING, "value": _STRING}},
        },
        "docs": _STRING,
        "hidden": {"type": "boolean"},
        "sensitive": {"type": "boolean"},
    },
}
HUB_REQUIRED = ["name", "namespace", "variant", "quality"]
OUR_REQUIRED = [
    "label", "description", "pip_url", "executable", "capabilities", "settings", "settings_group_validation",
    "keywords", "domain_url", "docs", "repo", "logo_url", "maintenance_status", "supported_python_versions",
    "usage",
]  # fmt: skip
EXTRACTOR_SCHEMA: dict[str, t.Any] = {
    "type": "object",
    "required": HUB_REQUIRED + OUR_REQUIRED,
    "additionalProperties": False,
    "properties": {
        "name": _STRING,
        "pip_url": _STRING,
        "variant": _STRING,
        "namespace": _STRING,
        "label": _STRING,
        "description": _STRING,
        "executable": _STRING,
        "settings": {"type": "array", "items": SETTING_SCHEMA},
        "docs": _STRING,
        "repo": _STRING,
        "logo_url": {"type": ["string", "null"]},
        "hidden": {"type": "boolean"},
        "python": _STRING,
        "settings_group_validation": {"type": "array", "items": _STRINGS},
        "commands": {"type": "object"},
        "capabilities": {"type": "array", "items": {"type": "string", "enum": list(HUB_CAPABILITIES)}},
        "metadata": {"type": "object"},
        "schema": {"type": "object"},
        "select": _STRINGS,
        "maintenance_status": {"type": "string", "enum": ["active", "beta", "development", "inactive", "unknown"]},
        "quality": {"type": "string", "enum": ["gold", "silver", "bronze", "unknown"]},
        "domain_url": {"type": ["string", "null"]},
        "keywords": _STRINGS,
        "requires": {"type": "object"},
        "definition": _STRING,
        "next_steps": _STRING,
        "settings_preamble": _STRING,
        "usage": _STRING,
        "prereq": _STRING,
        "supported_python_versions": {"type": "array", "items": {"type": "string", "pattern": r"^3\.\d+$"}},
        "log_parser": _STRING,
    },
}


def yamllint_problems(text: str) -> list[str]:
    """yamllint's complaints about ``text`` under the Hub's rules, one line each."""
    from yamllint import linter
    from yamllint.config import YamlLintConfig

    config = YamlLintConfig(YAMLLINT_CONFIG)
    return [f"{p.line}:{p.column} {p.message} ({p.rule})" for p in linter.run(text, config)]


def schema_problems(definition: dict[str, t.Any]) -> list[str]:
    """What the Hub's schema (and this project's stricter requirements) reject in ``definition``."""
    from jsonschema import Draft7Validator

    validator = Draft7Validator(EXTRACTOR_SCHEMA)
    problems = [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:300]}"
        for e in sorted(validator.iter_errors(definition), key=lambda e: list(map(str, e.absolute_path)))
    ]
    for key in ("domain_url", "docs", "repo"):
        if key in definition and not str(definition[key]).startswith("https://"):
            problems.append(f"{key}: {definition[key]!r} is not an https:// URL")
    repo = str(definition.get("repo") or "")
    if repo and repo.rstrip("/").count("/") < 4:  # https://host/owner/name: the maintainer is https://host/owner
        problems.append(f"repo: {repo!r} is not an https://<host>/<owner>/<name> URL (the maintainer check)")
    unknown = sorted(set(definition.get("keywords") or []) - HUB_KEYWORDS)
    if unknown:
        problems.append(f"keywords outside the Hub's vocabulary: {unknown}")
    return problems
