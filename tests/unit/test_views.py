"""The data view specs: columns, aliases, header normalisation and JSON schemas."""

from __future__ import annotations

import pytest

from tap_dockerdvp.dvp.views import KEY_PROPERTIES, VIEWS, Column, ViewSpec, normalise_header
from tap_dockerdvp.streams.schemas import export_schema

COUNTS = ["unique_ip_count", "pull_by_tag", "pull_by_digest", "version_check"]
PREMIUM = [
    "repository_namespace",
    "extension",
    "installs",
    "unique_installs",
    "uninstalls",
    "unique_uninstalls",
    "usage",
    "unique_users",
]
EXPECTED_COLUMNS = {
    "raw": [
        "type",
        "host",
        "country",
        "timestamp",
        "action_day",
        "repository_namespace",
        "repository",
        "reference",
        "digest",
        "tag",
        "http_method",
        "action",
        "user_agent_tool",
        "user_agent_version",
        "domain",
        "owner",
    ],
    "summary": ["repository_namespace", "repository", "reference", "tag", "digest", *COUNTS, "owner"],
    "repo-summary": ["repository_namespace", "repository", *COUNTS, "owner"],
    "namespace-summary": ["repository_namespace", *COUNTS],
    "geo-repo-summary": ["repository_namespace", "repository", "country", *COUNTS],
    "ext-summary": [
        "repository_namespace",
        "extension",
        "installs",
        "total_installs",
        "uninstalls",
        "total_uninstalls",
        "updates",
    ],
    "ext-premium-summary": PREMIUM,
    "ext-premium-geo": [*PREMIUM, "country"],
}
STREAMS = {
    "raw": "pull_events",
    "summary": "summary",
    "repo-summary": "repo_summary",
    "namespace-summary": "namespace_summary",
    "geo-repo-summary": "geo_repo_summary",
    "ext-summary": "ext_summary",
    "ext-premium-summary": "ext_premium_summary",
    "ext-premium-geo": "ext_premium_geo",
}


def test_views_and_streams():
    assert {v: s.stream_name for v, s in VIEWS.items()} == STREAMS
    for view, spec in VIEWS.items():
        assert spec.view == view
        assert spec.dataset == ("extensions" if view.startswith("ext-") else "pulls")
        assert spec.description


@pytest.mark.parametrize("view", sorted(EXPECTED_COLUMNS))
def test_canonical_columns(view):
    spec = VIEWS[view]
    assert list(spec.column_names) == EXPECTED_COLUMNS[view]
    kinds = {c.name: c.kind for c in spec.columns}
    for name, kind in kinds.items():
        if name == "timestamp":
            assert kind == "date-time"
        elif name == "action_day":
            assert kind == "date"
        elif name in COUNTS or (
            view.startswith("ext-") and name not in ("repository_namespace", "extension", "country")
        ):
            assert kind == "integer", name
        else:
            assert kind == "string", name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("User Agent Tool", "user_agent_tool"),
        ("HTTP-Method", "http_method"),
        ("\ufeffAction day", "action_day"),
        ("  ACTION_DAY ", "action_day"),
        ("action-day", "action_day"),
        ("__Unique IP  address__", "unique_ip_address"),
        ("TotalInstalls", "totalinstalls"),
        ("pull_by_tag (count)", "pull_by_tag_count"),
        ("", ""),
        ("---", ""),
    ],
)
def test_normalise_header(raw, expected):
    assert normalise_header(raw) == expected


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_no_ambiguous_alias_inside_a_view(view):
    seen: dict[str, str] = {}
    for col in VIEWS[view].columns:
        for spelling in (col.name, *col.aliases):
            assert seen.setdefault(spelling, col.name) == col.name, (
                f"{view}: {spelling!r} means both {seen[spelling]!r} and {col.name!r}"
            )


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_aliases_are_normalised(view):
    for col in VIEWS[view].columns:
        assert normalise_header(col.name) == col.name
        for alias in col.aliases:
            assert normalise_header(alias) == alias, (col.name, alias)
            assert alias != col.name


def test_ambiguous_alias_is_rejected():
    with pytest.raises(ValueError, match="ambiguous"):
        ViewSpec("v", "v", "pulls", (Column("a", "string", ("x",)), Column("b", "string", ("x",))), "d")
    with pytest.raises(ValueError, match="ambiguous"):
        ViewSpec("v", "v", "pulls", (Column("a", "string"), Column("b", "string", ("a",))), "d")


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="kind"):
        Column("a", "str")


@pytest.mark.parametrize(
    ("view", "header", "column"),
    [
        ("summary", "Unique IP address", "unique_ip_count"),
        ("summary", "unique_ip_addresses", "unique_ip_count"),
        ("summary", "Unique IPs", "unique_ip_count"),
        ("summary", "ip_count", "unique_ip_count"),
        ("summary", "unique_ip", "unique_ip_count"),
        ("summary", "Pulls by tag", "pull_by_tag"),
        ("summary", "Pull by tag count", "pull_by_tag"),
        ("summary", "PullByDigest", "pull_by_digest"),
        ("summary", "pulls_by_digest", "pull_by_digest"),
        ("summary", "Version checks", "version_check"),
        ("summary", "Owner", "owner"),
        ("raw", "User agent", "user_agent_tool"),
        ("raw", "UA tool", "user_agent_tool"),
        ("raw", "tool", "user_agent_tool"),
        ("raw", "UA version", "user_agent_version"),
        ("raw", "tool_version", "user_agent_version"),
        ("raw", "User agent version", "user_agent_version"),
        ("raw", "Method", "http_method"),
        ("raw", "HTTP method", "http_method"),
        ("raw", "Day", "action_day"),
        ("raw", "Date", "action_day"),
        ("raw", "ActionDay", "action_day"),
        ("raw", "time", "timestamp"),
        ("raw", "Event time", "timestamp"),
        ("raw", "Host", "host"),
        ("raw", "Cloud provider", "host"),
        ("raw", "cloud_service_provider", "host"),
        ("raw", "CSP", "host"),
        ("raw", "repo", "repository"),
        ("raw", "Repository name", "repository"),
        ("raw", "image_repository", "repository"),
        ("raw", "Type", "type"),
        ("raw", "Domain", "domain"),
        ("geo-repo-summary", "Country", "country"),
        ("geo-repo-summary", "country_code", "country"),
        ("ext-summary", "Repository", "extension"),
        ("ext-summary", "Extension name", "extension"),
        ("ext-summary", "TotalInstalls", "total_installs"),
        ("ext-summary", "TotalUninstalls", "total_uninstalls"),
        ("ext-summary", "Updates", "updates"),
        ("ext-premium-summary", "UniqueInstalls", "unique_installs"),
        ("ext-premium-summary", "UniqueUninstalls", "unique_uninstalls"),
        ("ext-premium-summary", "UniqueUsers", "unique_users"),
        ("ext-premium-summary", "Usage", "usage"),
        ("ext-premium-geo", "Country", "country"),
        ("namespace-summary", "Namespace", "repository_namespace"),
    ],
)
def test_aliases(view, header, column):
    col = VIEWS[view].match_header(header)
    assert col is not None, header
    assert col.name == column


def test_unknown_header_does_not_match():
    assert VIEWS["raw"].match_header("ip_hash") is None
    assert VIEWS["summary"].match_header("Country") is None


def test_key_properties():
    assert KEY_PROPERTIES == (
        "namespace",
        "timespan_type",
        "year",
        "timespan",
        "file_index",
        "row_number",
    )


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_json_schema(view):
    spec = VIEWS[view]
    schema = export_schema(spec)
    props = schema["properties"]
    assert set(KEY_PROPERTIES) <= set(schema["required"])
    for key in KEY_PROPERTIES:  # key columns are NOT NULL in targets: never nullable here
        assert "null" not in props[key]["type"], key
    assert props["namespace"]["type"] == ["string"]
    assert props["year"]["type"] == ["integer"]
    assert props["timespan"]["type"] == ["integer"]
    assert props["file_index"]["type"] == ["integer"]
    assert props["row_number"]["type"] == ["integer"]
    assert props["timespan_type"]["type"] == ["string"]
    assert props["timespan_start"]["format"] == "date-time"
    assert props["timespan_end"]["format"] == "date-time"
    for col in spec.columns:
        prop = props[col.name]
        assert "null" in prop["type"], col.name
        expected = {
            "string": "string",
            "integer": "integer",
            "number": "number",
            "date": "string",
            "date-time": "string",
        }[col.kind]
        assert expected in prop["type"]
        if col.kind in ("date", "date-time"):
            assert prop["format"] == col.kind
    extra = props["extra_columns"]
    assert extra["type"] == ["object", "null"]
    assert extra["additionalProperties"] == {"type": ["string", "null"]}
    assert "properties" not in extra  # so flattening keeps it whole as JSON text
    expected_names = {*KEY_PROPERTIES, "timespan_start", "timespan_end", "extra_columns", *spec.column_names}
    assert set(props) == expected_names
    assert all(p.get("description") for p in props.values())
