"""Compare Meltano plugin definitions (meltano.yml's extractor, the Hub file) with what the tap says it is.

The truth is `tap-dockerdvp --about --format json`: its `settings` (the tap's `config_jsonschema` plus the
SDK's built-in settings) and its `capabilities`. A definition must declare every setting (an object with
declared properties as one setting per leaf, as the Hub does) with the Meltano `kind` that matches its JSON
type (`sensitive: true` exactly for the `secret` ones, which are `password` when they are strings), its title as
`label`, its description, its default as `value`, the required settings as a `settings_group_validation` group,
and the capabilities the tap has that the Hub knows.

Both files are written by scripts/hub_definition.py (`make hub-definition`); these checks are written apart from
it, so a bug in the generator shows here. With a singer-sdk other than the pinned one (`make test-sdk-pre`),
the SDK's built-in settings and capabilities may differ from the files (made with the pinned SDK): there only
the tap's own settings are compared (see `sdk_is_pinned`).
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import json
import re
import subprocess
import sys
import typing as t
from importlib.metadata import version
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
MELTANO_YML = ROOT / "meltano.yml"
HUB_FILE = ROOT / "hub" / "extractors" / "tap-dockerdvp" / "dockerdvp.yml"

# Capabilities the issue asks every definition to declare.
REQUIRED_CAPABILITIES = {"catalog", "discover", "state", "about", "stream-maps", "schema-flattening", "batch"}


@functools.cache
def script(name: str) -> ModuleType:
    """scripts/<name>.py, imported (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generator() -> ModuleType:
    """scripts/hub_definition.py, imported."""
    return script("hub_definition")


def sdk_is_pinned() -> bool:
    """Is the installed singer-sdk one that pyproject.toml's pin allows (not a pre-release or a later minor)?"""
    from packaging.specifiers import SpecifierSet

    pin = re.search(r'^\s*"singer-sdk([^"\[;]+)"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    assert pin, "pyproject.toml: no singer-sdk requirement"
    return SpecifierSet(pin.group(1)).contains(version("singer-sdk"))


@functools.lru_cache(maxsize=1)
def tap_setting_names() -> frozenset[str]:
    """The settings the tap declares itself (`config_jsonschema` before the SDK adds its built-in ones)."""
    # in a process of its own: building a tap adds the SDK's settings to the class's `config_jsonschema`
    code = "import json; from tap_dockerdvp.tap import TapDockerDVP as T; print(json.dumps(list(T.config_jsonschema['properties'])))"  # noqa: E501
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return frozenset(json.loads(proc.stdout))


def comparable(about_info: dict[str, t.Any]) -> tuple[dict[str, t.Any], set[str] | None]:
    """(`--about`, the top-level settings to compare): all with the pinned SDK, the tap's own otherwise."""
    return about_info, (None if sdk_is_pinned() else set(tap_setting_names()))


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
    """The non-null JSON types of a property, through `oneOf`/`anyOf` unions too."""
    types = prop.get("type")
    found = {types} if isinstance(types, str) else set(types or ())
    for branch in (*prop.get("oneOf", ()), *prop.get("anyOf", ())):
        if isinstance(branch, dict):
            found |= json_types(branch)
    return found - {"null"}


def expected_kinds(prop: dict[str, t.Any]) -> set[str]:
    """The Meltano setting kinds that fit a JSON-schema property."""
    types = json_types(prop)
    if prop.get("secret") and types <= {"string"}:
        return {"password"}  # as the Hub marks secret strings (with `sensitive: true`); a secret object stays `object`
    if len(types) > 1:  # a union: the Hub declares it `array` when it may be one, else `string`
        return {"array"} if "array" in types else {"string"}
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
    return set()


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


def _split(name: str, prop: dict[str, t.Any]) -> bool:
    """Does the Hub split this object setting into its leaves? (Every object with declared properties but
    `stream_maps`.)"""
    return bool(prop.get("properties")) and name != "stream_maps" and "object" in json_types(prop)


def settings_problems(
    definition: dict[str, t.Any], about_info: dict[str, t.Any], only: set[str] | None = None
) -> list[str]:
    """Everything in which `definition` (a plugin entry) disagrees with the tap's --about settings.

    `only`: compare just these top-level settings (and their leaves); None compares all.
    """
    schema = about_info["settings"]
    settings: list[dict[str, t.Any]] = [
        s for s in definition.get("settings") or [] if only is None or str(s.get("name")).split(".")[0] in only
    ]
    problems: list[str] = []
    names = [s.get("name") for s in settings]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        problems.append(f"settings declared twice: {duplicates}")
    if names != sorted(names):
        problems.append("settings are not in alphabetical order of their names (the Hub sorts them)")
    declared = set(names)

    for name, prop in schema["properties"].items():
        if only is not None and name not in only:
            continue
        if not _covered(name, prop, declared):
            problems.append(f"`{name}`: in the tap's settings, not declared")
        elif _split(name, prop) and name in declared:
            problems.append(f"`{name}`: declared whole; the Hub declares one setting per leaf ({name}.*)")

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
            if values != list(prop.get("enum") or []):
                problems.append(f"`{name}`: options {values} != the tap's allowed values {prop.get('enum')}")
            if any(not o.get("label") for o in setting.get("options") or []):
                problems.append(f"`{name}`: an option without a label")
        secret = bool(prop.get("secret"))
        if bool(setting.get("sensitive")) != secret:
            problems.append(f"`{name}`: sensitive={bool(setting.get('sensitive'))}, the tap says secret={secret}")
        label, description = setting.get("label"), setting.get("description")
        if not label:
            problems.append(f"`{name}`: no label")
        elif prop.get("title") and label != prop["title"]:
            problems.append(f"`{name}`: label {label!r} != the tap's title {prop['title']!r}")
        if not description:
            problems.append(f"`{name}`: no description")
        elif prop.get("description") and description != prop["description"]:
            problems.append(f"`{name}`: description {description!r} != the tap's {prop['description']!r}")
        default = prop.get("default")
        if setting.get("kind") == "date_iso8601" or default is None:
            if "value" in setting:
                problems.append(f"`{name}`: value {setting['value']!r}, but the tap has no default to show")
        elif setting.get("value") != default or type(setting.get("value")) is not type(default):
            problems.append(f"`{name}`: value {setting.get('value')!r} != the tap's default {default!r}")

    required = set(schema.get("required") or [])
    groups = [set(group) for group in definition.get("settings_group_validation") or []]
    if required and required not in groups:
        problems.append(
            f"settings_group_validation {definition.get('settings_group_validation')} has no group equal to "
            f"the tap's required settings {sorted(required)}"
        )
    for group in groups:
        unknown = sorted(group - declared) if only is None else []
        if unknown:
            problems.append(f"settings_group_validation names undeclared settings {unknown}")
        # every group must satisfy the tap: a group without a required setting would pass Meltano and fail the tap
        if not required <= group:
            problems.append(
                f"settings_group_validation group {sorted(group)} lacks required {sorted(required - group)}"
            )
    return problems


def capabilities_problems(
    definition: dict[str, t.Any], about_info: dict[str, t.Any], *, exact: bool = True
) -> list[str]:
    """The definition must list, sorted, exactly the tap's capabilities that the Hub's schema knows (what the
    Hub's weekly metadata job writes). `exact=False` (another SDK): only the required ones, all known."""
    from hub_rules import HUB_CAPABILITIES

    declared = list(definition.get("capabilities") or [])
    expected = sorted(set(about_info["capabilities"]) & set(HUB_CAPABILITIES))
    problems = []
    if exact and declared != expected:
        problems.append(f"capabilities {declared} != {expected} (the tap's, as the Hub's schema knows them, sorted)")
    if set(declared) - set(HUB_CAPABILITIES):
        problems.append(f"capabilities the Hub does not know: {sorted(set(declared) - set(HUB_CAPABILITIES))}")
    missing = REQUIRED_CAPABILITIES - set(declared)
    if missing:
        problems.append(f"missing required capabilities: {sorted(missing)}")
    return problems
