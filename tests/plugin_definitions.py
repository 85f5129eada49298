"""Compare Meltano plugin definitions (meltano.yml's extractor, the Hub file) with what the tap says it is.

The truth is `tap-dockerdvp --about --format json`: its `settings` (the tap's `config_jsonschema` plus the
SDK's built-in settings) and its `capabilities`. A definition must declare every setting with the Meltano
`kind` that matches its JSON type, its title as `label`, its description, `sensitive: true` exactly for the
`secret` ones, the required settings as a `settings_group_validation` group, and the capabilities the tap
has (less the ones listed in UNDECLARED_CAPABILITIES, each with its reason).
"""

from __future__ import annotations

import functools
import glob
import json
import subprocess
import sys
import typing as t
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MELTANO_YML = ROOT / "meltano.yml"
HUB_FILE = ROOT / "hub" / "extractors" / "tap-dockerdvp" / "dockerdvp.yml"

# Capabilities the issue asks every definition to declare.
REQUIRED_CAPABILITIES = {"catalog", "discover", "state", "about", "stream-maps", "schema-flattening", "batch"}
# Capabilities `--about` lists that the definitions leave out, and why.
UNDECLARED_CAPABILITIES = {
    "activate-version": (
        "the SDK only emits ACTIVATE_VERSION when `emit_activate_version_messages` is set, and the tap does "
        "not declare that setting: no Meltano user could turn it on"
    ),
}


@functools.lru_cache(maxsize=1)
def about() -> dict[str, t.Any]:
    """`tap-dockerdvp --about --format json`, run as a user would (a subprocess)."""
    proc = subprocess.run(
        [sys.executable, "-m", "tap_dockerdvp", "--about", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"--about failed:\n{proc.stderr[-3000:]}"
    return t.cast("dict[str, t.Any]", json.loads(proc.stdout))


def load_yaml(path: Path) -> t.Any:
    import yaml

    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def meltano_extractor() -> dict[str, t.Any]:
    project = load_yaml(MELTANO_YML)
    matches = [p for p in project["plugins"]["extractors"] if p["name"] == "tap-dockerdvp"]
    assert len(matches) == 1, "meltano.yml must define the tap-dockerdvp extractor once"
    return t.cast("dict[str, t.Any]", matches[0])


def meltano_schema() -> dict[str, t.Any] | None:
    """The JSON schema of meltano.yml that ships with the installed meltano (None without one)."""
    from e2e_support import find_meltano

    patterns = [str(ROOT / ".venv-meltano" / "lib" / "python3*" / "site-packages" / "meltano" / "schemas")]
    meltano_bin = find_meltano()
    if meltano_bin:  # the venv of $MELTANO_BIN or the meltano on PATH
        venv = Path(meltano_bin).resolve().parent.parent
        patterns.append(str(venv / "lib" / "python3*" / "site-packages" / "meltano" / "schemas"))
    try:  # a meltano importable here (MELTANO_BIN's venv is not)
        import meltano  # type: ignore[import-not-found]

        patterns.insert(0, str(Path(meltano.__file__).parent / "schemas"))
    except ImportError:
        pass
    for pattern in patterns:
        for folder in sorted(glob.glob(pattern)):
            path = Path(folder) / "meltano.schema.json"
            if path.is_file():
                return t.cast("dict[str, t.Any]", json.loads(path.read_text()))
    return None


# -------------------------------------------------------------------------------------------------
# Settings
# -------------------------------------------------------------------------------------------------
def json_types(prop: dict[str, t.Any]) -> set[str]:
    types = prop.get("type")
    if types is None:
        return set()
    return ({types} if isinstance(types, str) else set(types)) - {"null"}


def expected_kinds(prop: dict[str, t.Any]) -> set[str]:
    """The Meltano setting kinds that fit a JSON-schema property."""
    types = json_types(prop)
    if types == {"string"}:
        if "enum" in prop:
            return {"options"}
        if prop.get("format") in ("date-time", "date"):
            return {"date_iso8601"}
        return {"string"}
    if len(types) == 1:
        (kind,) = types
        return {
            "integer": {"integer"},
            "number": {"decimal"},
            "boolean": {"boolean"},
            "array": {"array"},
            "object": {"object"},
        }.get(kind, set())
    return set()  # a union (oneOf/anyOf): only declarable as part of its parent object


def resolve(schema: dict[str, t.Any], dotted: str) -> dict[str, t.Any] | None:
    """The property a (dotted) setting name points at, e.g. `batch_config.encoding.format`."""
    node: dict[str, t.Any] | None = schema
    for part in dotted.split("."):
        if node is None:
            return None
        node = (node.get("properties") or {}).get(part)
    return node


def _covered(name: str, prop: dict[str, t.Any], declared: set[str]) -> bool:
    """Is property `name` declared itself, or through settings for each of its leaves?"""
    if name in declared:
        return True
    children = prop.get("properties") or {}
    return bool(children) and all(_covered(f"{name}.{key}", child, declared) for key, child in children.items())


def settings_problems(definition: dict[str, t.Any], about_info: dict[str, t.Any]) -> list[str]:
    """Everything in which `definition` (a plugin entry) disagrees with the tap's --about settings."""
    schema = about_info["settings"]
    settings: list[dict[str, t.Any]] = definition.get("settings") or []
    problems: list[str] = []
    names = [s.get("name") for s in settings]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        problems.append(f"settings declared twice: {duplicates}")
    declared = set(names)

    for name, prop in schema["properties"].items():
        if not _covered(name, prop, declared):
            problems.append(f"`{name}`: in the tap's settings, not declared")

    for setting in settings:
        name = setting.get("name", "?")
        prop = resolve(schema, name)
        if prop is None:
            problems.append(f"`{name}`: declared, but the tap has no such setting")
            continue
        kinds = expected_kinds(prop)
        if setting.get("kind") not in kinds:
            problems.append(f"`{name}`: kind {setting.get('kind')!r}, the tap's JSON type wants one of {sorted(kinds)}")
        if setting.get("kind") == "options":
            values = [o.get("value") for o in setting.get("options") or []]
            if sorted(values) != sorted(prop.get("enum") or []):
                problems.append(f"`{name}`: options {values} != the tap's allowed values {prop.get('enum')}")
            if any(not o.get("label") for o in setting.get("options") or []):
                problems.append(f"`{name}`: an option without a label")
        secret = bool(prop.get("secret"))
        if bool(setting.get("sensitive")) != secret:
            problems.append(f"`{name}`: sensitive={bool(setting.get('sensitive'))}, the tap says secret={secret}")
        if setting.get("kind") in ("password", "hidden"):
            problems.append(f"`{name}`: kind {setting['kind']!r} is deprecated: use `string` with `sensitive: true`")
        label, description = setting.get("label"), setting.get("description")
        if not label:
            problems.append(f"`{name}`: no label")
        elif prop.get("title") and label != prop["title"]:
            problems.append(f"`{name}`: label {label!r} != the tap's title {prop['title']!r}")
        if not description:
            problems.append(f"`{name}`: no description")
        elif prop.get("description") and description != prop["description"]:
            problems.append(f"`{name}`: description {description!r} != the tap's {prop['description']!r}")
        if "value" in setting and setting["value"] != prop.get("default"):
            problems.append(f"`{name}`: value {setting['value']!r} != the tap's default {prop.get('default')!r}")

    required = set(schema.get("required") or [])
    groups = [set(group) for group in definition.get("settings_group_validation") or []]
    if required and required not in groups:
        problems.append(
            f"settings_group_validation {definition.get('settings_group_validation')} has no group equal to "
            f"the tap's required settings {sorted(required)}"
        )
    for group in groups:
        unknown = sorted(group - declared)
        if unknown:
            problems.append(f"settings_group_validation names undeclared settings {unknown}")
        # every group must satisfy the tap: a group without a required setting would pass Meltano and fail the tap
        if not required <= group:
            problems.append(
                f"settings_group_validation group {sorted(group)} lacks required {sorted(required - group)}"
            )
    return problems


def capabilities_problems(definition: dict[str, t.Any], about_info: dict[str, t.Any]) -> list[str]:
    declared = list(definition.get("capabilities") or [])
    has = set(about_info["capabilities"])
    problems = []
    if len(declared) != len(set(declared)):
        problems.append(f"capabilities listed twice: {declared}")
    if set(declared) - has:
        problems.append(f"declared, but the tap does not have: {sorted(set(declared) - has)}")
    if REQUIRED_CAPABILITIES - set(declared):
        problems.append(f"missing required capabilities: {sorted(REQUIRED_CAPABILITIES - set(declared))}")
    undeclared = has - set(declared)
    unexplained = sorted(undeclared - set(UNDECLARED_CAPABILITIES))
    if unexplained:
        problems.append(f"the tap has {unexplained}, not declared (declare them or say why in UNDECLARED_CAPABILITIES)")
    stale = sorted(set(UNDECLARED_CAPABILITIES) - undeclared)
    if stale:
        problems.append(f"UNDECLARED_CAPABILITIES lists {stale}, but the tap lacks them or they are declared")
    return problems
