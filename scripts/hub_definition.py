#!/usr/bin/env python3
"""Write the Meltano Hub definition of tap-dockerdvp, and meltano.yml's extractor settings, from `--about`.

    make hub-definition                                   # after adding or changing a setting
    .venv/bin/python scripts/hub_definition.py            # the same
    .venv/bin/python scripts/hub_definition.py --check    # exit 1, naming each stale file, if one differs

The Hub regenerates `settings`, `settings_group_validation`, `capabilities` and `supported_python_versions` of
every SDK-based plugin from `tap-dockerdvp --about --format json` each week, and its CI (yamllint with
`key-ordering`) wants every mapping's keys in alphabetical order. So this script builds those four parts from
`--about` as the Hub does, adds the hand-written HEADER below (what the Hub page says about the tap), and writes
every key, and the settings, in alphabetical order:

- an object setting with declared properties becomes one setting per leaf (`batch_config.encoding.format`,
  `faker_config.seed`); `stream_maps` and objects without properties stay one `object` setting;
- kinds: a `secret` string is `password`, and every `secret` is `sensitive: true` (a secret object stays
  `object`); an `enum` is `options` (labels made from the values); a string of format `date`/`date-time` is
  `date_iso8601`; a union (`oneOf`) is `array` if it allows one, else `string`; `number` is `decimal` (where the
  Hub's generator writes `integer`, which would truncate `retry_base_seconds`);
- `value` is the default (none for dates), `label` the title, `description` the description;
- capabilities are those the Hub's schema knows (`start-date` of newer SDKs is not one of them).

meltano.yml gets the same `capabilities`, `settings_group_validation` and `settings`, between the two marker
comments of its tap-dockerdvp extractor (everything else in meltano.yml is left as it is).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import typing as t
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
HUB_FILE = ROOT / "hub" / "extractors" / "tap-dockerdvp" / "dockerdvp.yml"
MELTANO_YML = ROOT / "meltano.yml"
COMMAND = "make hub-definition"

# The capabilities the Hub's extractor schema accepts (meltano/hub, schemas/common/extractors_specific).
HUB_CAPABILITIES = (
    "about", "activate-version", "batch", "catalog", "discover", "log-based", "properties", "schema-flattening",
    "state", "stream-maps", "structured-logging", "test",
)  # fmt: skip

# Hand-written: what the Hub page shows about the tap. Everything else comes from `--about`.
HEADER: dict[str, t.Any] = {
    "name": "tap-dockerdvp",
    "variant": "dockerdvp",
    "namespace": "tap_dockerdvp",
    "executable": "tap-dockerdvp",
    "pip_url": "tap-dockerdvp",
    # `meltano invoke tap-dockerdvp:merge-states a.json b.json`: the package's second console script, run from the
    # plugin's own environment (README, "Running at scale")
    "commands": {
        "merge-states": {
            "description": (
                "Merge the states of namespace shards (files from `meltano state get`) into one state for the "
                "weekly job; prints it for `meltano state set --input-file`"
            ),
            "executable": "tap-dockerdvp-merge-states",
        }
    },
    "label": "Docker Verified Publisher Analytics",
    "description": "Image-pull analytics of Docker Verified Publisher (DVP) namespaces on Docker Hub",
    "definition": (
        "extracts Docker Verified Publisher (DVP) image-pull analytics from Docker Hub: every pull event, the weekly "
        "and monthly summaries (per tag and digest, repository, namespace and country), Docker Desktop extension "
        "statistics, the DVP program's reports, pull statistics, and the namespaces and repositories they belong "
        "to."
    ),
    "domain_url": "https://docs.docker.com/reference/api/dvp/latest/",
    # The Hub serves every plugin's `docs` as its Hub page, whatever the file says: say the same here, so a
    # project that adds the tap `--from-ref` links to the same page.
    "docs": "https://hub.meltano.com/extractors/tap-dockerdvp--dockerdvp",
    # Placeholder organisation until the repository is published; the Hub's maintainer check derives the
    # maintainer's URL from it (everything before the last path segment).
    "repo": "https://github.com/tap-dockerdvp/tap-dockerdvp",
    "logo_url": "/assets/logos/extractors/dockerhub.png",  # the Docker Hub logo the Hub already holds
    "keywords": ["api", "meltano_sdk"],  # the Hub's vocabulary
    "maintenance_status": "development",
    # The Hub's rule for a community variant built on the SDK, until usage data says more.
    "quality": "silver",
    "prereq": (
        "A Docker Hub account that is a member of a Docker Verified Publisher organization, and a personal access\n"
        "token for it (Docker Hub, Account settings, Personal access tokens; read-only is enough)."
    ),
    "settings_preamble": (
        "Only `username` and `password` are required: log in as a member of the publisher organization with a\n"
        "Docker Hub **personal access token** as `password` (an account password with two-factor authentication\n"
        "needs `totp_secret` too). Every other setting has a working default:\n"
        "\n"
        "- `namespaces` narrows the run to some of the namespaces the account can read;\n"
        "- `start_date` skips older timespans on the first run (later runs start from the state);\n"
        "- `timespan_types` and `raw_timespan_type` choose weeks, months or both;\n"
        "- `data_source` chooses the legacy export, the DVP program's reports, both, or `auto` (per namespace,\n"
        "  whichever has data);\n"
        "- `api_url` and `hub_url` point the tap at a proxy or a test double.\n"
        "\n"
        "`retry_base_seconds` is a `decimal`: set it in `meltano.yml` or with `meltano config set`, not from an\n"
        "environment variable (Meltano 4.4 cannot pass a decimal read from the environment)."
    ),
    "usage": (
        "## Streams\n"
        "\n"
        "`namespaces` and `repositories` (full table); `timespans` (incremental, one bookmark per namespace and\n"
        "timespan type); and, for each completed week or month, one stream per DVP data view: `pull_events` (raw\n"
        "pulls), `summary`, `repo_summary`, `namespace_summary`, `geo_repo_summary`, `ext_summary`,\n"
        "`ext_premium_summary` and `ext_premium_geo`. Every data-view record is keyed by\n"
        "(`namespace`, `timespan_type`, `year`, `timespan`, `file_index`, `row_number`), so a re-extracted\n"
        "timespan upserts instead of duplicating. Counts are integers; `timestamp`, `timespan_start` and\n"
        "`timespan_end` are RFC 3339 timestamps.\n"
        "\n"
        "## DVP program reports and pull statistics\n"
        "\n"
        "Publishers on the current DVP program get CSV reports from a report catalogue instead of the legacy\n"
        "export (`data_source`: `auto` picks, per namespace, whichever has data). `reports` (incremental, one\n"
        "bookmark per namespace, report type and granularity) drives one stream per report: `report_summary`,\n"
        "`report_trends`, `report_technographic`, `report_technographic_companies`, `report_tracked_companies`,\n"
        "and `report_other` for report types the tap does not know yet (header -> value; `report_type_map` routes\n"
        "them). Docker keeps only the last few reports: run at least weekly. `namespace_pull_stats` and\n"
        "`repository_pull_stats` (full table, a rolling window) hold the aggregated pull counts of the JSON\n"
        "endpoints.\n"
        "\n"
        "## Scheduling\n"
        "\n"
        "Only completed timespans are extracted: run at least weekly, e.g.\n"
        "`meltano schedule add dvp-weekly --extractor tap-dockerdvp --loader target-snowflake --interval '@weekly'`.\n"
        "A run that fails or is stopped resumes from its state with the first timespan it had not finished.\n"
        "\n"
        "## Selecting streams\n"
        "\n"
        "`pull_events` is the largest stream by far. To load only the summary streams (their timespans are\n"
        "still bookmarked, so the next run starts after them):\n"
        "\n"
        "```bash\n"
        "meltano select tap-dockerdvp '*summary' '*'\n"
        "meltano select tap-dockerdvp --list\n"
        "```\n"
        "\n"
        "## Stream maps\n"
        "\n"
        "Hash a column before it leaves the tap, e.g. the requesting `domain` of every pull:\n"
        "\n"
        "```yaml\n"
        "config:\n"
        "  stream_maps:\n"
        "    pull_events:\n"
        "      domain: md5(domain) if domain else None\n"
        "```\n"
        "\n"
        "BATCH messages (`batch_config`) are written as gzip JSONL; Parquet needs `pyarrow` in the tap's\n"
        "environment."
    ),
}

HUB_FILE_COMMENT = f"""\
# Meltano Hub definition of the tap-dockerdvp extractor, laid out as the Hub's
# _data/meltano/extractors/tap-dockerdvp/dockerdvp.yml (copy it there to publish the variant).
# Generated from `tap-dockerdvp --about` by scripts/hub_definition.py: edit that script's HEADER or the tap's
# settings, then run `{COMMAND}`. Until the Hub lists it, a Meltano project adds the extractor with
#   meltano add --plugin-type extractor tap-dockerdvp --from-ref hub/extractors/tap-dockerdvp/dockerdvp.yml
"""
BEGIN_MARK = f"# BEGIN generated from `tap-dockerdvp --about` by scripts/hub_definition.py (`{COMMAND}`)"
END_MARK = "# END generated by scripts/hub_definition.py"

# Words the option labels spell in capitals (as the Hub writes them).
ACRONYMS = {"api": "API", "gzip": "GZIP", "id": "ID", "jsonl": "JSONL", "url": "URL", "dvp": "DVP"}


# -------------------------------------------------------------------------------------------------
# --about -> the Hub's settings
# -------------------------------------------------------------------------------------------------
def run_about(python: str = sys.executable) -> dict[str, t.Any]:
    """`tap-dockerdvp --about --format json`, from ``python``'s environment."""
    proc = subprocess.run(
        [python, "-m", "tap_dockerdvp", "--about", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"`tap-dockerdvp --about --format json` failed:\n{proc.stderr[-3000:]}")
    return t.cast("dict[str, t.Any]", json.loads(proc.stdout))


def words_label(text: str) -> str:
    """`last-12-months` -> `Last 12 Months`, `jsonl` -> `JSONL`."""
    return " ".join(ACRONYMS.get(word, word.capitalize()) for word in re.split(r"[-_. ]+", text) if word)


def json_types(prop: dict[str, t.Any]) -> set[str]:
    """The non-null JSON types a property allows, through `oneOf`/`anyOf` unions too."""
    raw = prop.get("type")
    types = {raw} if isinstance(raw, str) else set(raw or ())
    for branch in (*prop.get("oneOf", ()), *prop.get("anyOf", ())):
        if isinstance(branch, dict):
            types |= json_types(branch)
    return types - {"null"}


def kind_of(prop: dict[str, t.Any]) -> str:
    """The Meltano setting kind of a JSON-schema property (see the module docstring)."""
    types = json_types(prop)
    if prop.get("secret") and types <= {"string"}:
        return "password"
    if len(types) != 1:  # a union, or untyped
        return "array" if "array" in types else "object" if "object" in types else "string"
    (kind,) = types
    if kind == "string":
        if prop.get("enum"):
            return "options"
        if prop.get("format") in ("date", "date-time"):
            return "date_iso8601"
    return {"number": "decimal"}.get(kind, kind)


def leaves(properties: dict[str, t.Any], prefix: str = "") -> t.Iterator[tuple[str, dict[str, t.Any]]]:
    """(dotted name, property) of each setting: objects with declared properties are split into their leaves."""
    for key, prop in properties.items():
        name = f"{prefix}{key}"
        children = prop.get("properties") or {}
        if children and name != "stream_maps" and "object" in json_types(prop):
            yield from leaves(children, f"{name}.")
        else:
            yield name, prop


def setting(name: str, prop: dict[str, t.Any]) -> dict[str, t.Any]:
    description = prop.get("description")
    if not description:
        raise SystemExit(f"setting `{name}` has no description: give it one in the tap (tap.py)")
    entry: dict[str, t.Any] = {
        "name": name,
        "kind": kind_of(prop),
        "label": prop.get("title") or words_label(name),
        "description": description,
    }
    if entry["kind"] == "options":
        entry["options"] = [{"label": words_label(str(value)), "value": value} for value in prop["enum"]]
    if prop.get("default") is not None and entry["kind"] != "date_iso8601":
        entry["value"] = prop["default"]
    if prop.get("secret"):
        entry["sensitive"] = True
    return entry


def required_settings(schema: dict[str, t.Any], prefix: str = "") -> list[str]:
    """The required settings, and the required leaves of required objects."""
    names = []
    for key in schema.get("required") or []:
        prop = (schema.get("properties") or {}).get(key) or {}
        if prop.get("properties") and key != "stream_maps":
            names.extend(required_settings(prop, f"{prefix}{key}."))
        else:
            names.append(f"{prefix}{key}")
    return names


def from_about(about: dict[str, t.Any]) -> dict[str, t.Any]:
    """The parts of the definition the Hub regenerates from `--about`."""
    schema = about["settings"]
    generated: dict[str, t.Any] = {
        "capabilities": sorted(c for c in about["capabilities"] if c in HUB_CAPABILITIES),
        "settings": sorted((setting(n, p) for n, p in leaves(schema["properties"])), key=lambda s: s["name"]),
    }
    required = sorted(required_settings(schema))
    if required:
        generated["settings_group_validation"] = [required]
    return generated


def definition(about: dict[str, t.Any]) -> dict[str, t.Any]:
    """The whole Hub definition: HEADER, then what `--about` says."""
    built = {**HEADER, **from_about(about)}
    if about.get("supported_python_versions"):
        built["supported_python_versions"] = list(about["supported_python_versions"])
    if about.get("name") != built["name"]:
        raise SystemExit(f"--about names the tap {about.get('name')!r}, HEADER {built['name']!r}")
    return built


# -------------------------------------------------------------------------------------------------
# YAML as the Hub writes it: keys sorted, sequences not indented, multi-line text as literal blocks
# -------------------------------------------------------------------------------------------------
class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(data: t.Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True, width=110)


def hub_text(about: dict[str, t.Any]) -> str:
    return HUB_FILE_COMMENT + to_yaml(definition(about))


def meltano_text(about: dict[str, t.Any], current: str) -> str:
    """meltano.yml with the block between the markers replaced by the generated settings."""
    pattern = re.compile(
        rf"^(?P<indent>[ ]*){re.escape(BEGIN_MARK)}\n.*?^(?P=indent){re.escape(END_MARK)}\n", re.MULTILINE | re.DOTALL
    )
    match = pattern.search(current)
    if match is None:
        raise SystemExit(f"meltano.yml: the tap-dockerdvp extractor lacks the lines {BEGIN_MARK!r} ... {END_MARK!r}")
    indent = match["indent"]
    body = "".join(f"{indent}{line}\n" if line else "\n" for line in to_yaml(from_about(about)).splitlines())
    return current[: match.start()] + f"{indent}{BEGIN_MARK}\n{body}{indent}{END_MARK}\n" + current[match.end() :]


def outputs(about: dict[str, t.Any]) -> dict[Path, str]:
    """Each file this script writes, with the text it should have."""
    return {HUB_FILE: hub_text(about), MELTANO_YML: meltano_text(about, MELTANO_YML.read_text(encoding="utf-8"))}


def stale(about: dict[str, t.Any]) -> list[Path]:
    """The files whose text differs from what `--about` makes of them."""
    return [path for path, text in outputs(about).items() if not path.exists() or path.read_text("utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file is stale")
    args = parser.parse_args(argv)
    about = run_about()
    if args.check:
        paths = stale(about)
        for path in paths:
            print(f"{path.relative_to(ROOT)} differs from `tap-dockerdvp --about`: run `{COMMAND}`", file=sys.stderr)
        return 1 if paths else 0
    for path, text in outputs(about).items():
        if not path.exists() or path.read_text("utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
