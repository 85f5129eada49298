"""Every stream's schema, as discovered: key columns never nullable, catch-all objects flatten whole."""

from __future__ import annotations

import pytest
from singer_sdk.helpers._flattening import flatten_record, flatten_schema

from tap_dockerdvp.tap import TapDockerDVP

CONFIG = {
    "username": "u",
    "password": "dckr_pat_x",
    "api_url": "http://127.0.0.1:9/api",
    "hub_url": "http://127.0.0.1:9",
}
CATALOG = TapDockerDVP(config=CONFIG).catalog_dict["streams"]
CATCH_ALL = {"extra_columns", "values", "extra_fields"}


@pytest.mark.parametrize("entry", CATALOG, ids=[e["tap_stream_id"] for e in CATALOG])
def test_no_key_property_allows_null(entry) -> None:
    props = entry["schema"]["properties"]
    assert entry["key_properties"], "every stream has a key"
    for key in entry["key_properties"]:
        types = props[key]["type"]
        types = [types] if isinstance(types, str) else types
        assert "null" not in types, f"{entry['tap_stream_id']}.{key} is nullable: {types}"
        assert key in entry["schema"].get("required", []), f"{entry['tap_stream_id']}.{key} is not required"


@pytest.mark.parametrize("entry", CATALOG, ids=[e["tap_stream_id"] for e in CATALOG])
def test_flattening_declares_every_key_it_emits(entry) -> None:
    """What the SDK's flattening (tap- or target-side) makes of a record with unknown columns: every key of the
    flattened record is in the flattened schema, and the unknown values are still there (as JSON text)."""
    schema = entry["schema"]
    present = CATCH_ALL & set(schema["properties"])
    flat_schema = flatten_schema(schema, max_level=10)
    record = {key: None for key in schema["properties"]}
    for key in present:
        record[key] = {"Region": "eu-west", "IP hash": "abc"}
    flat = flatten_record(record, flat_schema, max_level=10)
    assert set(flat) <= set(flat_schema["properties"]), set(flat) - set(flat_schema["properties"])
    for key in present:
        assert flat_schema["properties"][key]["type"] in (["string", "null"], "string")
        assert '"Region": "eu-west"' in flat[key] or '"Region":"eu-west"' in flat[key]
