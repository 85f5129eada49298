"""The tap's settings: their schema (what `--about`, Meltano and the Hub know) and every check the schema cannot
express, one small check per rule, each problem one line that names the setting.

A run reports every problem at once, not only the first. A key the tap does not know is a WARNING naming the
closest setting (a misspelled `namespace` would otherwise extract every namespace, silently).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
import typing as t
from urllib.parse import urlsplit

from jsonschema import Draft7Validator, ValidationError
from singer_sdk import typing as th

from tap_dockerdvp.dvp.endpoints import PULL_STATS_GROUPS, PULL_STATS_PERIODS
from tap_dockerdvp.dvp.periods import TIMESPAN_TYPES, is_iso_date
from tap_dockerdvp.dvp.report_views import OTHER, REPORT_SPECS, normalise_type, report_type_of
from tap_dockerdvp.dvp.sources import DATA_SOURCES
from tap_dockerdvp.files.batch_files import FORMATS
from tap_dockerdvp.http.totp import InvalidTotpSecret, decode_secret
from tap_dockerdvp.http.urls import DEFAULT_API_URL

#: What names a setting in the environment (`--config ENV`): TAP_DOCKERDVP_NAMESPACES for `namespaces`
ENV_PREFIX = "TAP_DOCKERDVP_"

# The tap declares `batch_config` itself (the SDK adds its own only when a tap has none): `storage.params` and
# `batch_size`, which the SDK reads but does not declare, become settings Meltano and the Hub know.
BATCH_CONFIG_SETTING = th.Property(
    "batch_config",
    th.ObjectType(
        th.Property(
            "encoding",
            th.ObjectType(
                th.Property(
                    "format",
                    th.StringType(allowed_values=list(FORMATS)),
                    required=True,
                    title="Batch encoding format",
                    description="Format of the BATCH files: `jsonl` or `parquet` (parquet needs the `arrow` extra)",
                ),
                th.Property(
                    "compression",
                    th.StringType(allowed_values=["gzip", "none"]),
                    title="Batch compression",
                    description="Compression of the BATCH files: `gzip` or `none` (parquet: `none` means snappy)",
                ),
            ),
            required=True,
            title="Batch encoding",
            description="Format and compression of the BATCH files",
        ),
        th.Property(
            "storage",
            th.ObjectType(
                th.Property(
                    "root",
                    th.StringType,
                    required=True,
                    title="Batch storage root",
                    description="Where BATCH files are written: an fsspec URL such as file:///data/batches or "
                    "s3://bucket/prefix (S3 needs the `s3` extra)",
                ),
                th.Property(
                    "prefix",
                    th.StringType,
                    title="Batch file name prefix",
                    description="Prefix of every BATCH file name under the root",
                ),
                th.Property(
                    "params",
                    th.ObjectType(additional_properties=th.AnyType()),
                    secret=True,
                    title="Batch storage parameters",
                    description="Options of the root's fsspec filesystem; for S3 (s3fs): `key`, `secret`, `token`, "
                    "`endpoint_url`, `client_kwargs` (e.g. `region_name`). Without credentials the storage's own "
                    "chain applies (AWS_* environment variables, profiles, instance roles)",
                ),
            ),
            required=True,
            title="Batch storage",
            description="Where the BATCH files go",
        ),
        th.Property(
            "batch_size",
            th.IntegerType,
            title="Batch size",
            description="Rows per BATCH file at most (default 10000)",
        ),
    ),
    title="Batch configuration",
    description="Write BATCH files (jsonl or parquet, on local or object storage) instead of RECORD messages",
)


SCHEMA: dict[str, t.Any] = th.PropertiesList(
    th.Property(
        "username",
        th.StringType,
        required=True,
        title="Username",
        description="Docker Hub username of a member of the publisher organization",
    ),
    th.Property(
        "password",
        th.StringType,
        required=True,
        secret=True,
        title="Password or personal access token",
        description="A Docker Hub personal access token (recommended) or the account password",
    ),
    th.Property(
        "totp_secret",
        th.StringType,
        secret=True,
        title="TOTP secret",
        description="Base32 TOTP seed, only for accounts that log in with a password and two-factor auth",
    ),
    th.Property(
        "namespaces",
        th.ArrayType(th.StringType),
        title="Namespaces",
        description="DVP namespaces to extract (default: every namespace the account can read)",
    ),
    th.Property(
        "start_date",
        th.DateTimeType,
        title="Start date",
        description="On the first run, skip timespans that start before this date (YYYY-MM-DD)",
    ),
    th.Property(
        "end_date",
        th.DateTimeType,
        title="End date",
        description="Do not extract timespans or report periods that start on or after this date (YYYY-MM-DD, "
        "exclusive). With `start_date` it cuts a backfill into windows; give each window its own state ID",
    ),
    th.Property(
        "lookback_timespans",
        th.IntegerType,
        default=0,
        title="Lookback timespans",
        description="Each run first extracts again the N most recent completed timespans (and report periods) "
        "up to the bookmark of each partition, so data Docker revised after it was read is picked up; rows "
        "upsert on their keys",
    ),
    th.Property(
        "timespan_types",
        th.ArrayType(th.StringType(allowed_values=list(TIMESPAN_TYPES))),
        default=list(TIMESPAN_TYPES),
        title="Timespan types",
        description="Granularities to extract: `weeks`, `months` or both",
    ),
    th.Property(
        "raw_timespan_type",
        th.StringType(allowed_values=list(TIMESPAN_TYPES)),
        default="weeks",
        title="Raw timespan type",
        description="Granularity of the raw pull files (`pull_events`): a month's rows are its weeks' rows",
    ),
    th.Property(
        "data_source",
        th.StringType(allowed_values=list(DATA_SOURCES)),
        default="auto",
        title="Data source",
        description="Where to read analytics: `export` (legacy DVP export API), `reports` (the DVP program's "
        "report catalogue), `both`, or `auto`: per namespace, whichever has data (checked once per run)",
    ),
    th.Property(
        "report_type_map",
        th.ObjectType(additional_properties=th.StringType),
        title="Report type map",
        description="Catalogue report `type` -> report stream (summary, trends, technographic, "
        "technographic_companies, tracked_companies or other), for type names this tap does not know",
    ),
    th.Property(
        "pull_stats_timespan",
        th.StringType(allowed_values=list(TIMESPAN_TYPES)),
        default="weeks",
        title="Pull statistics timespan",
        description="`timespan` of the pull statistics endpoints: `weeks` or `months`",
    ),
    th.Property(
        "pull_stats_period",
        th.StringType(allowed_values=list(PULL_STATS_PERIODS)),
        default="last-12-months",
        title="Pull statistics period",
        description="`period` of the pull statistics endpoints (a rolling window ending now)",
    ),
    th.Property(
        "pull_stats_group",
        th.StringType(allowed_values=list(PULL_STATS_GROUPS)),
        default="namespace",
        title="Pull statistics group",
        description="`group` of namespace_pull_stats: `namespace` totals or one row per `repo` "
        "(repository_pull_stats always has one row per repository)",
    ),
    th.Property(
        "emit_activate_version_messages",
        th.BooleanType,
        default=True,
        title="Emit ACTIVATE_VERSION messages",
        description="Send ACTIVATE_VERSION for the full-table streams (namespaces, repositories, the pull "
        "statistics), so a target can delete their rows that disappeared (e.g. a deleted repository); the "
        "incremental streams never send it. Turn it off for runs sharded by namespace",
    ),
    th.Property(
        "api_url",
        th.StringType,
        default=DEFAULT_API_URL,
        title="DVP API URL",
        description="Base URL of the DVP Data API (point it at the simulator or a proxy)",
    ),
    th.Property(
        "hub_url",
        th.StringType,
        title="Docker Hub URL",
        description="Base URL of Docker Hub, for login and repository listings, and the only host the "
        "credentials go to. Default: the origin (scheme://host:port) of `api_url`, so https://hub.docker.com for "
        "the default `api_url`",
    ),
    th.Property(
        "request_timeout",
        th.IntegerType,
        default=300,
        title="Request timeout",
        description="Seconds to wait for a connection or for the next bytes of a response",
    ),
    th.Property(
        "max_retries",
        th.IntegerType,
        default=8,
        title="Maximum retries",
        description="Retries per request or file after a 429, 5xx, network error or broken download",
    ),
    th.Property(
        "retry_base_seconds",
        th.NumberType,
        default=2.0,
        title="Retry base wait",
        description="First exponential-backoff wait in seconds (doubles per retry, with jitter, up to 5 min)",
    ),
    th.Property(
        "late_data_grace_days",
        th.IntegerType,
        default=14,
        title="Late data grace days",
        description="Days after a listed period's last day during which files the API lists but cannot "
        "serve yet (HTTP 404, no files) hold its bookmark back, so the next run tries again; after that the "
        "period is taken as empty, with a WARNING",
    ),
    th.Property(
        "progress_interval_seconds",
        th.IntegerType,
        default=30,
        title="Progress interval",
        description="Seconds between progress lines (rows and MB out of the file's size) while a long file "
        "streams; a file read faster says only a DEBUG line",
    ),
    th.Property(
        "user_agent",
        th.StringType,
        title="User agent",
        description="User-Agent header to send (default: tap-dockerdvp/<version>)",
    ),
    BATCH_CONFIG_SETTING,
).to_dict()


def problems(config: t.Mapping[str, t.Any], schema: t.Mapping[str, t.Any]) -> list[str]:
    """Everything wrong with ``config``, one line each naming the setting: the JSON schema's rules, then the
    checks it cannot express (those only on values the schema accepts)."""
    found = [_describe(error, schema) for error in Draft7Validator(schema).iter_errors(dict(config))]
    named = {_setting(line) for line in found}
    for check in CHECKS:
        found += [line for line in check(config) if _setting(line) not in named]  # one line per setting's value
    return found


#: The words the SDK reads a flag from in an environment variable: the first four are true, the others false.
FLAG_WORDS = ("true", "1", "yes", "on", "false", "0", "no", "off")


def environment_problems(schema: t.Mapping[str, t.Any], environ: t.Mapping[str, str]) -> list[str]:
    """A line per `TAP_DOCKERDVP_*` variable (`--config ENV`, a `.env` file) whose text the SDK cannot parse as its
    setting's type: a whole number, JSON for an object or a list of other than text, or a flag (the SDK takes any
    text outside its true words for false: `ture` turned ACTIVATE_VERSION off without a word). A secret's value is
    not shown."""
    lines = []
    for key, prop in schema.get("properties", {}).items():
        name = ENV_PREFIX + key.upper().replace("-", "_")
        if name not in environ:
            continue
        types = _types(prop)
        items = _types(prop.get("items") or {})
        kind = (
            "a whole number" if "integer" in types
            else "JSON" if "object" in types or ("array" in types and "string" not in items)
            else f"one of {', '.join(FLAG_WORDS)}" if "boolean" in types
            else None
        )  # fmt: skip
        try:
            if kind == "a whole number":
                int(environ[name])
            elif kind == "JSON":
                json.loads(environ[name])
            elif kind is not None and environ[name].lower() not in FLAG_WORDS:  # as the SDK reads it: no strip
                raise ValueError(environ[name])
        except ValueError:
            shown = "its value is a secret: not shown" if prop.get("secret") else f"got {environ[name]!r:.60}"
            lines.append(f"environment variable `{name}` (setting `{key}`) must be {kind}: {shown}")
    return lines


def _types(prop: t.Mapping[str, t.Any]) -> list[str]:
    types = prop.get("type", [])
    return [types] if isinstance(types, str) else list(types)


def _setting(line: str) -> str:
    """The top-level setting a problem line names (``batch_config`` for ``batch_config.batch_size``)."""
    match = re.search(r"`([^`.]+)", line)
    return match.group(1) if match else ""


def _mapping(value: t.Any) -> dict[str, t.Any]:
    return value if isinstance(value, dict) else {}


def _number(value: t.Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _closest(name: str, names: t.Sequence[str], otherwise: str) -> str:
    """ "did you mean `x`?" for the name in ``names`` closest to a misspelled ``name``, else ``otherwise``."""
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else otherwise


def unknown_keys(config: t.Mapping[str, t.Any], schema: t.Mapping[str, t.Any]) -> list[str]:
    """A line per top-level key the tap does not know, naming the closest setting it does."""
    known = list(schema.get("properties", {}))
    lines = []
    for key in sorted(config):
        if key in known or key.startswith("_"):  # Meltano's extras (`_select`, ...) start with `_`
            continue
        hint = _closest(key, known, "`tap-dockerdvp --about` lists the settings")
        lines.append(f"setting `{key}` is not a setting of tap-dockerdvp and is ignored: {hint}")
    return lines


def future_start(config: t.Mapping[str, t.Any], today: dt.date) -> list[str]:
    """A line when `start_date` is after ``today`` (a typo such as 2205 would extract nothing, without a word)."""
    value = config.get("start_date")
    if not (value and is_iso_date(value)) or dt.date.fromisoformat(str(value)[:10]) <= today:
        return []
    return [  # a bookmark wins over `start_date`: what has one reads on from it
        f"setting `start_date` ({str(value)[:10]}) is in the future: a stream or namespace without a bookmark "
        "extracts no period until after it"
    ]


def unknown_map_streams(config: t.Mapping[str, t.Any], streams: t.Sequence[str]) -> list[str]:
    """A line per stream map for a stream the tap does not have (the SDK ignores it without a word)."""
    lines = []
    for name in sorted(_mapping(config.get("stream_maps"))):
        if name not in streams and name != "__else__":
            hint = _closest(name, streams, "`tap-dockerdvp --discover` lists the streams")
            lines.append(
                f"setting `stream_maps` maps {name!r}, which is not a stream of tap-dockerdvp: ignored; {hint}"
            )
    return lines


def _describe(error: ValidationError, schema: t.Mapping[str, t.Any]) -> str:
    """A JSON-schema error as ``setting `x` ...``. The value of a secret setting (or of anything inside one) is
    never shown: the line goes to the log before the redactor knows the secret, and a mistyped secret is still a
    secret."""
    if error.validator == "required":
        missing = error.message.split()[0].strip("'")
        where = ".".join(str(p) for p in error.absolute_path)
        return f"setting `{where + '.' if where else ''}{missing}` is required"
    setting = ".".join(str(p) for p in error.absolute_path if isinstance(p, str)) or "config"
    if _secret(error.absolute_path, schema):
        rule = f"must be of type {error.validator_value}" if error.validator == "type" else "breaks its rule"
        return f"setting `{setting}` is invalid: it {rule} (its value is a secret: not shown)"
    return f"setting `{setting}` is invalid: {error.message}"


def _secret(path: t.Iterable[t.Any], schema: t.Mapping[str, t.Any]) -> bool:
    """Whether ``path`` (keys from the top of the config) is in a setting the schema marks secret."""
    node: t.Any = schema
    for key in path:
        if not isinstance(node, dict) or node.get("secret"):
            break
        node = node.get("properties", {}).get(key) if isinstance(key, str) else node.get("items")
    return isinstance(node, dict) and bool(node.get("secret"))


# -- the checks the schema cannot express ---------------------------------------------------------------------


def _credentials(config: t.Mapping[str, t.Any]) -> list[str]:
    advice = {"username": "your Docker Hub username", "password": "a Docker Hub personal access token"}
    return [
        f"setting `{key}` is empty: set it to {advice[key]}" for key in advice if not str(config.get(key) or "").strip()
    ]


def _namespaces(config: t.Mapping[str, t.Any]) -> list[str]:
    namespaces = config.get("namespaces")
    if not isinstance(namespaces, list):
        return []
    if not namespaces:
        return [
            "setting `namespaces` is an empty list: name at least one namespace, or leave the setting out to "
            "extract every namespace the account can read"
        ]
    if any(not str(ns).strip() for ns in namespaces):
        return ["setting `namespaces` holds an empty name"]
    # a name goes into the API's paths: `acme/` read acme's metadata, then failed on another endpoint, unnamed
    odd = [str(ns) for ns in namespaces if not _NAMESPACE.fullmatch(str(ns)) or not str(ns).strip(".")]
    if odd:
        return [
            f"setting `namespaces`: {', '.join(map(repr, odd))} is not a Docker Hub namespace (letters, digits, "
            "'.', '-' and '_' only)"
        ]
    return []


_NAMESPACE = re.compile(r"[A-Za-z0-9._-]+")


def _totp(config: t.Mapping[str, t.Any]) -> list[str]:
    secret = config.get("totp_secret")
    if not isinstance(secret, str) or not secret:
        return []  # not set (its type is the schema's to check)
    try:
        decode_secret(secret)
    except InvalidTotpSecret:
        return [
            "setting `totp_secret` is not a base32 TOTP seed as an authenticator app shows it (letters A to Z and "
            "digits 2 to 7; spaces and lower case are fine): its value is a secret: not shown"
        ]
    return []


def _dates(config: t.Mapping[str, t.Any]) -> list[str]:
    dates, lines = {}, []
    for key in ("start_date", "end_date"):
        value = config.get(key)
        if value:
            if is_iso_date(value):  # "2026-11-20junk" is not
                dates[key] = dt.date.fromisoformat(str(value)[:10])
            else:
                lines.append(f"setting `{key}` is not a date (YYYY-MM-DD): {value!r}")
    if "start_date" in dates and "end_date" in dates and dates["end_date"] <= dates["start_date"]:
        lines.append(
            f"setting `end_date` ({dates['end_date']}) must be after `start_date` ({dates['start_date']}): the "
            "window is [start_date, end_date)"
        )
    return lines


def _timespan_types(config: t.Mapping[str, t.Any]) -> list[str]:
    types = config.get("timespan_types", list(TIMESPAN_TYPES))
    if isinstance(types, list) and not types:
        return [f"setting `timespan_types` must list weeks and/or months, got {types!r}"]
    return []


def _urls(config: t.Mapping[str, t.Any]) -> list[str]:
    lines = []
    for key in ("api_url", "hub_url"):
        value = config.get(key)
        if value is None:
            continue
        parts = urlsplit(str(value))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            lines.append(f"setting `{key}` must be an http(s) URL, got {value!r}")
            continue
        if parts.username is not None or parts.password is not None:
            # it would be logged with the URL, and requests would send it as Basic auth in place of the JWT
            lines.append(
                f"setting `{key}` must not carry a user name or password (`user:...@host`): the credentials go in "
                "`username` and `password`, a proxy in the HTTPS_PROXY environment variable"
            )
            continue
        try:
            port = parts.port
        except ValueError:
            port = -1
        if port == -1 or parts.netloc.endswith(":"):
            lines.append(f"setting `{key}` has no valid port after its host: {value!r}")
        elif parts.query or parts.fragment:
            lines.append(f"setting `{key}` must be a base URL without a query or fragment: {value!r}")
    return lines


def _report_type_map(config: t.Mapping[str, t.Any]) -> list[str]:
    return [
        f"setting `report_type_map` maps {key!r} to {target!r}: use one of {', '.join((*REPORT_SPECS, OTHER))}"
        for key, target in _mapping(config.get("report_type_map")).items()
        if not report_type_of(str(target))[1] and normalise_type(str(target)) != OTHER
    ]


def _numbers(config: t.Mapping[str, t.Any]) -> list[str]:
    rules = (
        ("max_retries", 0, ">= 0"),
        ("request_timeout", 1, "> 0"),
        ("lookback_timespans", 0, ">= 0"),
        ("late_data_grace_days", 0, ">= 0"),
        ("progress_interval_seconds", 0, ">= 0"),
        ("retry_base_seconds", 0, ">= 0"),
    )
    return [
        f"setting `{key}` must be {rule}, got {config[key]!r}"
        for key, least, rule in rules
        if _number(config.get(key)) and config[key] < least
    ]


def _batch_size(config: t.Mapping[str, t.Any]) -> list[str]:
    size: t.Any = _mapping(config.get("batch_config")).get("batch_size")
    return [f"setting `batch_config.batch_size` must be > 0, got {size!r}"] if _number(size) and size < 1 else []


def _batch_keys(config: t.Mapping[str, t.Any]) -> list[str]:
    """Keys of `batch_config` and its parts the SDK does not know (it would stop with a traceback), and an empty
    `storage.root` (the files would go to the working folder)."""
    batch = config.get("batch_config")
    if not isinstance(batch, dict):
        return []
    props = SCHEMA["properties"]["batch_config"]["properties"]
    lines = []
    for where, value, known in (
        ("batch_config", batch, props),
        ("batch_config.encoding", batch.get("encoding"), props["encoding"]["properties"]),
        ("batch_config.storage", batch.get("storage"), props["storage"]["properties"]),
    ):
        for key in sorted(_mapping(value)):
            if key not in known:
                hint = _closest(key, list(known), f"it takes {', '.join(f'`{k}`' for k in known)}")
                lines.append(f"setting `{where}.{key}` is not a key of `{where}`: {hint}")
    root = _mapping(batch.get("storage")).get("root")
    if isinstance(root, str) and not root.strip():
        lines.append("setting `batch_config.storage.root` is empty: name a folder (file:///data/batches) or a bucket")
    return lines


CHECKS: tuple[t.Callable[[t.Mapping[str, t.Any]], list[str]], ...] = (
    _credentials,
    _totp,
    _namespaces,
    _dates,
    _timespan_types,
    _urls,
    _report_type_map,
    _numbers,
    _batch_size,
    _batch_keys,
)
