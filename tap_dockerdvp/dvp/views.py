"""The DVP data views: one :class:`ViewSpec` per API data view.

Docker does not publish the header rows of its export files, so every view lists *our* canonical
column names (the record properties) plus generous aliases: other spellings a header may have after
:func:`normalise_header`. The CSV reader matches a file's header against these and keeps unknown
columns in ``extra_columns``.

Alias policy:

* aliases are normalised spellings (lower-case, ``_`` between words), never raw headers;
* every column also matches its name and aliases written without separators, because
  ``TotalInstalls`` normalises to ``totalinstalls`` (added automatically by :func:`_col`);
* an alias is never ambiguous inside one view (one normalised header → at most one column):
  ``ViewSpec`` raises at import time and ``tests/unit/test_views.py`` checks it. The same spelling may
  mean different columns in different views: ``repository`` is the ``repository`` column in the pull
  views but the ``extension`` column in the extension views.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "KEY_PROPERTIES",
    "VIEWS",
    "Column",
    "ViewSpec",
    "column",
    "normalise_header",
]

#: Primary key of every export stream (summary views and ``pull_events``).
KEY_PROPERTIES: tuple[str, ...] = (
    "namespace",
    "timespan_type",
    "year",
    "timespan",
    "file_index",
    "row_number",
)

COLUMN_KINDS = frozenset({"string", "integer", "number", "date", "date-time"})

#: What an ``integer`` holds: 64 bits, as parquet, Arrow and the warehouses' BIGINT do. A count beyond it is no count
#: Docker makes; taken as it is, it passed in JSON and broke a parquet batch file with a traceback.
INT64 = range(-(1 << 63), 1 << 63)

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise_header(h: str) -> str:
    """Normalise a CSV header: ``"User Agent Tool"`` → ``user_agent_tool``.

    Strips a BOM and whitespace, lower-cases, turns every run of non-alphanumeric characters into
    ``_`` and removes leading/trailing ``_`` (``"HTTP-Method"`` → ``http_method``). Non-ASCII
    letters count as non-alphanumeric.
    """
    return _NON_ALNUM.sub("_", h.replace("\ufeff", "").strip().lower()).strip("_")


@dataclass(frozen=True)
class Column:
    """One canonical column of a view."""

    name: str  # canonical snake_case name, the record property
    kind: str  # "string" | "integer" | "number" | "date" | "date-time"
    aliases: tuple[str, ...] = ()  # other normalised header spellings that mean this column

    def __post_init__(self) -> None:
        if self.kind not in COLUMN_KINDS:
            raise ValueError(f"column {self.name!r}: unknown kind {self.kind!r}")

    @property
    def spellings(self) -> tuple[str, ...]:
        """The name followed by the aliases: every normalised header that means this column."""
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class ViewSpec:
    """One DVP data view: its stream, its typed columns and their header aliases."""

    view: str  # API data view, e.g. "repo-summary"
    stream_name: str  # e.g. "repo_summary"
    dataset: str  # "pulls" or "extensions" (NamespaceMetadata.datasets[].name)
    columns: tuple[Column, ...]
    description: str
    # False for a schemaless view (the generic report stream): a header with no known column is fine, every
    # column then lands in the catch-all object.
    match_required: bool = True
    #: the record's catch-all object: the columns the view does not know, by header
    extra_key: str = "extra_columns"

    def __post_init__(self) -> None:
        # Fail at import time, not on the first file, if an alias is ambiguous inside this view.
        self.header_map()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def header_map(self) -> dict[str, Column]:
        """Map each normalised spelling (name or alias) to its column; raise if one is ambiguous."""
        out: dict[str, Column] = {}
        for col in self.columns:
            for spelling in col.spellings:
                other = out.get(spelling)
                if other is not None and other.name != col.name:
                    raise ValueError(
                        f"view {self.view!r}: header spelling {spelling!r} is ambiguous "
                        f"({other.name!r} and {col.name!r})"
                    )
                out[spelling] = col
        return out

    def match_header(self, header: str) -> Column | None:
        """The column a raw header means in this view, or ``None`` when it is unknown."""
        return self.header_map().get(normalise_header(header))


#: What each export column holds (the schema's descriptions).
COLUMN_DESCRIPTIONS: dict[str, str] = {
    "type": "IP address type: business, isp, hosting, education (null when unknown).",
    "host": "Cloud provider hosting the pulling IP, if any.",
    "country": "Country of the pulling IP.",
    "timestamp": "Time of the action, UTC (Docker exports are day-granular).",
    "action_day": "Day of the action (UTC).",
    "repository_namespace": "The file's Namespace column: the repository's namespace (differs for extraRepos).",
    "repository": "Repository name within its namespace.",
    "reference": "Reference pulled: a tag or a digest.",
    "digest": "Image manifest digest.",
    "tag": "Image tag, when available.",
    "http_method": "HTTP method of the registry request.",
    "action": "Action: pull_by_tag, pull_by_digest or version_check.",
    "user_agent_tool": "Client tool from the user agent.",
    "user_agent_version": "Client tool version from the user agent.",
    "domain": "Domain associated with the pulling IP (since 2022-10-11).",
    "owner": "Owner associated with the pulling IP (since 2022-12-19).",
    "unique_ip_count": "Number of unique IP addresses.",
    "pull_by_tag": "Number of pulls by tag.",
    "pull_by_digest": "Number of pulls by digest.",
    "version_check": "Number of version checks (manifest HEAD requests).",
    "extension": "Docker Desktop extension (its repository).",
    "installs": "Extension installs in the timespan.",
    "total_installs": "Total extension installs to date.",
    "uninstalls": "Extension uninstalls in the timespan.",
    "total_uninstalls": "Total extension uninstalls to date.",
    "updates": "Extension updates in the timespan.",
    "unique_installs": "Unique users who installed the extension.",
    "unique_uninstalls": "Unique users who uninstalled the extension.",
    "usage": "Extension usage count.",
    "unique_users": "Unique users of the extension.",
}


def column(name: str, kind: str = "string", *aliases: str) -> Column:
    """A column whose aliases also include every spelling without ``_`` (``TotalInstalls``, ``DATAdownloads``)."""
    spellings: list[str] = []
    for spelling in (name, *aliases):
        for variant in (spelling, spelling.replace("_", "")):
            if variant != name and variant not in spellings:
                spellings.append(variant)
    return Column(name, kind, tuple(spellings))


# --- shared columns -------------------------------------------------------------------------------
# The file's own Namespace column: usually the exported namespace, but rows of `extraRepos` repositories carry
# the repository's namespace. The record's `namespace` (part of the key) is always the exported namespace.
_NAMESPACE = column(
    "repository_namespace",
    "string",
    "namespace",
    "namespace_name",
    "org",
    "organization",
    "organisation",
    "org_name",
    "organization_name",
    "publisher",
    "hub_namespace",
)
_REPOSITORY = column(
    "repository",
    "string",
    "repo",
    "repository_name",
    "repo_name",
    "image_repository",
    "image_repo",
    "image",
    "image_name",
)
_REFERENCE = column("reference", "string", "ref", "image_reference", "reference_name")
_TAG = column("tag", "string", "tag_name", "image_tag")
_DIGEST = column("digest", "string", "image_digest", "manifest_digest", "digest_sha", "sha256")
_OWNER = column("owner", "string", "owner_name", "ip_owner", "org_owner")
_COUNTRY = column("country", "string", "country_code", "country_name", "geo", "geo_country", "ip_country")
_UNIQUE_IP = column(
    "unique_ip_count",
    "integer",
    "unique_ip_address",
    "unique_ip_addresses",
    "unique_ips",
    "unique_ip",
    "ip_count",
    "ip_address_count",
    "unique_ip_address_count",
    "unique_ip_addresses_count",
    "ips",
    "distinct_ips",
    "distinct_ip_count",
)
_PULL_BY_TAG = column(
    "pull_by_tag",
    "integer",
    "pulls_by_tag",
    "pull_by_tag_count",
    "pulls_by_tag_count",
    "tag_pulls",
    "pull_by_tags",
)
_PULL_BY_DIGEST = column(
    "pull_by_digest",
    "integer",
    "pulls_by_digest",
    "pull_by_digest_count",
    "pulls_by_digest_count",
    "digest_pulls",
    "pull_by_digests",
)
_VERSION_CHECK = column(
    "version_check",
    "integer",
    "version_checks",
    "version_check_count",
    "version_checks_count",
)

# --- raw (one row per action) ---------------------------------------------------------------------
_RAW_COLUMNS = (
    column("type", "string", "ip_type", "type_of_ip", "network_type", "ip_address_type", "connection_type"),
    column("host", "string", "cloud_provider", "cloud_service_provider", "csp", "host_provider", "cloud", "provider"),
    _COUNTRY,
    column(
        "timestamp",
        "date-time",
        "time",
        "event_time",
        "datetime",
        "date_time",
        "action_time",
        "action_timestamp",
        "ts",
        "event_timestamp",
        "pull_time",
    ),
    column("action_day", "date", "day", "date", "action_date", "event_day", "event_date", "pull_day", "pull_date"),
    _NAMESPACE,
    _REPOSITORY,
    _REFERENCE,
    _DIGEST,
    _TAG,
    column("http_method", "string", "method", "request_method", "http_verb", "verb"),
    column("action", "string", "action_type", "event", "event_type", "pull_type"),
    column(
        "user_agent_tool",
        "string",
        "user_agent",
        "ua_tool",
        "tool",
        "user_agent_name",
        "ua",
        "client",
        "client_tool",
        "agent",
    ),
    column(
        "user_agent_version",
        "string",
        "ua_version",
        "tool_version",
        "user_agent_tool_version",
        "client_version",
        "agent_version",
    ),
    column("domain", "string", "ip_domain", "domain_name", "ip_domain_name"),
    _OWNER,
)

_COUNT_COLUMNS = (_UNIQUE_IP, _PULL_BY_TAG, _PULL_BY_DIGEST, _VERSION_CHECK)

# --- extensions -----------------------------------------------------------------------------------
_EXTENSION = column(
    "extension",
    "string",
    "extension_name",
    "extension_repository",
    "extension_repo",
    "extension_image",
    "ext",
    "ext_name",
    "repository",
    "repo",
    "repository_name",
    "repo_name",
    "image",
    "image_name",
)
_INSTALLS = column("installs", "integer", "install", "install_count", "installs_count", "num_installs")
_UNINSTALLS = column("uninstalls", "integer", "uninstall", "uninstall_count", "uninstalls_count", "num_uninstalls")
_TOTAL_INSTALLS = column(
    "total_installs", "integer", "total_install", "installs_total", "cumulative_installs", "total_install_count"
)
_TOTAL_UNINSTALLS = column(
    "total_uninstalls",
    "integer",
    "total_uninstall",
    "uninstalls_total",
    "cumulative_uninstalls",
    "total_uninstall_count",
)
_UPDATES = column("updates", "integer", "update", "update_count", "updates_count", "num_updates")
_UNIQUE_INSTALLS = column(
    "unique_installs", "integer", "unique_install", "unique_installs_count", "distinct_installs", "unique_installers"
)
_UNIQUE_UNINSTALLS = column(
    "unique_uninstalls",
    "integer",
    "unique_uninstall",
    "unique_uninstalls_count",
    "distinct_uninstalls",
    "unique_uninstallers",
)
_USAGE = column("usage", "integer", "usages", "usage_count", "uses", "use_count")
_UNIQUE_USERS = column(
    "unique_users", "integer", "unique_user", "unique_users_count", "distinct_users", "users", "user_count"
)

_PREMIUM_COLUMNS = (
    _NAMESPACE,
    _EXTENSION,
    _INSTALLS,
    _UNIQUE_INSTALLS,
    _UNINSTALLS,
    _UNIQUE_UNINSTALLS,
    _USAGE,
    _UNIQUE_USERS,
)

_SPECS = (
    ViewSpec(
        view="raw",
        stream_name="pull_events",
        dataset="pulls",
        columns=_RAW_COLUMNS,
        description="One row per registry action (pull by tag, pull by digest, version check).",
    ),
    ViewSpec(
        view="summary",
        stream_name="summary",
        dataset="pulls",
        columns=(_NAMESPACE, _REPOSITORY, _REFERENCE, _TAG, _DIGEST, *_COUNT_COLUMNS, _OWNER),
        description="Pull counts per namespace, repository and reference (tag/digest level).",
    ),
    ViewSpec(
        view="repo-summary",
        stream_name="repo_summary",
        dataset="pulls",
        columns=(_NAMESPACE, _REPOSITORY, *_COUNT_COLUMNS, _OWNER),
        description="Pull counts per repository.",
    ),
    ViewSpec(
        view="namespace-summary",
        stream_name="namespace_summary",
        dataset="pulls",
        columns=(_NAMESPACE, *_COUNT_COLUMNS),
        description="Pull counts per namespace.",
    ),
    ViewSpec(
        view="geo-repo-summary",
        stream_name="geo_repo_summary",
        dataset="pulls",
        columns=(_NAMESPACE, _REPOSITORY, _COUNTRY, *_COUNT_COLUMNS),
        description="Pull counts per repository and country.",
    ),
    ViewSpec(
        view="ext-summary",
        stream_name="ext_summary",
        dataset="extensions",
        columns=(_NAMESPACE, _EXTENSION, _INSTALLS, _TOTAL_INSTALLS, _UNINSTALLS, _TOTAL_UNINSTALLS, _UPDATES),
        description="Docker Desktop extension installs, uninstalls and updates.",
    ),
    ViewSpec(
        view="ext-premium-summary",
        stream_name="ext_premium_summary",
        dataset="extensions",
        columns=_PREMIUM_COLUMNS,
        description="Docker Desktop extension installs, uninstalls and usage (premium).",
    ),
    ViewSpec(
        view="ext-premium-geo",
        stream_name="ext_premium_geo",
        dataset="extensions",
        columns=(*_PREMIUM_COLUMNS, _COUNTRY),
        description="Docker Desktop extension installs, uninstalls, usage per country (premium).",
    ),
)

VIEWS: dict[str, ViewSpec] = {spec.view: spec for spec in _SPECS}
