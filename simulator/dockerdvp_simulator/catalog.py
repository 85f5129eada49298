"""Catalog helpers for runs against the simulator (tests, the soak, the benchmark)."""

from __future__ import annotations

import copy
import typing as t


def select_only(catalog: dict[str, t.Any], streams: t.Iterable[str]) -> dict[str, t.Any]:
    """A copy of a discovered catalog with exactly ``streams`` selected."""
    wanted = set(streams)
    selected = copy.deepcopy(catalog)
    for entry in selected["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in wanted
    return selected
