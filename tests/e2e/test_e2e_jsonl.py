"""End to end through meltano into target-jsonl, with a Singer spec check of what the tap sends.

`meltano invoke tap-dockerdvp > out.jsonl` captures the tap's own messages, as a target receives them:
every line a Singer message; each stream's SCHEMA before its first RECORD; key and bookmark properties
present in the schema; every record valid against its schema, with its key set and unique; STATE last.
`meltano run tap-dockerdvp target-jsonl` must then write exactly those records. Two more runs check what
the README promises: selecting only the summary streams (`meltano select tap-dockerdvp '*summary' '*'`)
and a stream map that hashes `domain` with `md5()`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    SUMMARY_TABLES,
    Meltano,
    Sim,
    expected_counts,
    meltano_runner,
    require_meltano,
)
from jsonschema import Draft7Validator

pytestmark = pytest.mark.e2e

MESSAGE_TYPES = {"SCHEMA", "RECORD", "STATE", "ACTIVATE_VERSION", "BATCH"}
SUMMARY_SELECT = ["*summary.*"]  # what `meltano select tap-dockerdvp '*summary' '*'` writes
DOMAIN_MAP = {"pull_events": {"domain": "md5(domain) if domain else None"}}


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("meltano")


@pytest.fixture(scope="module")
def meltano(sim: Sim, tmp: Path) -> Meltano:
    meltano_bin = require_meltano(("extractors", "tap-dockerdvp"), ("loaders", "target-jsonl"))
    out = tmp / "jsonl"
    out.mkdir()
    return meltano_runner(
        meltano_bin,
        sim,
        tmp,
        TARGET_JSONL_DESTINATION_PATH=str(out),
        TARGET_JSONL_DO_TIMESTAMP_FILE="false",
    )


@pytest.fixture(scope="module")
def tap_messages(meltano: Meltano, tmp: Path) -> list[dict[str, Any]]:
    """Everything the tap printed for a full run (no state), one dict per line."""
    out = tmp / "tap-output.jsonl"
    meltano("invoke", "tap-dockerdvp", name="invoke", stdout=out)
    return read_messages(out)


def read_messages(path: Path) -> list[dict[str, Any]]:
    messages = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        assert line.strip(), f"line {number} of the tap's output is empty"
        message = json.loads(line)
        assert isinstance(message, dict) and message.get("type") in MESSAGE_TYPES, f"line {number}: {line[:200]}"
        messages.append(message)
    return messages


def singer_problems(messages: list[dict[str, Any]]) -> list[str]:
    """Where ``messages`` break the Singer spec (or this tap's promises: keys set and unique)."""
    problems: list[str] = []
    validators: dict[str, Draft7Validator] = {}
    keys: dict[str, list[str]] = {}
    seen_keys: dict[str, set[tuple]] = {}
    for index, message in enumerate(messages):
        kind = message["type"]
        stream = message.get("stream")
        if kind == "SCHEMA":
            schema = message.get("schema") or {}
            properties = schema.get("properties") or {}
            if not properties:
                problems.append(f"#{index} SCHEMA {stream}: no properties")
            key_properties = message.get("key_properties")
            if not isinstance(key_properties, list):
                problems.append(f"#{index} SCHEMA {stream}: key_properties is not a list")
                key_properties = []
            missing = [k for k in key_properties if k not in properties]
            if missing:
                problems.append(f"#{index} SCHEMA {stream}: key properties {missing} not in the schema")
            missing = [k for k in message.get("bookmark_properties") or [] if k not in properties]
            if missing:
                problems.append(f"#{index} SCHEMA {stream}: bookmark properties {missing} not in the schema")
            Draft7Validator.check_schema(schema)
            validators[stream] = Draft7Validator(schema)
            keys[stream] = key_properties
            seen_keys.setdefault(stream, set())
        elif kind == "RECORD":
            if stream not in validators:
                problems.append(f"#{index} RECORD {stream} before any SCHEMA of the stream")
                continue
            record = message.get("record")
            if not isinstance(record, dict):
                problems.append(f"#{index} RECORD {stream}: record is not an object")
                continue
            errors = [e.message for e in validators[stream].iter_errors(record)]
            if errors:
                problems.append(f"#{index} RECORD {stream} does not match its schema: {errors[:3]}")
            key = tuple(record.get(k) for k in keys[stream])
            if any(v is None for v in key):
                nulls = [k for k, v in zip(keys[stream], key, strict=True) if v is None]
                problems.append(f"#{index} RECORD {stream}: key properties {nulls} are null")
            elif key in seen_keys[stream]:
                problems.append(f"#{index} RECORD {stream}: key {key} emitted twice in one run")
            seen_keys[stream].add(key)
        elif kind == "STATE" and not isinstance(message.get("value"), dict):
            problems.append(f"#{index} STATE: value is not an object")
    if not messages or messages[-1]["type"] != "STATE":
        problems.append(f"the last message is {messages[-1]['type'] if messages else 'missing'}, not STATE")
    return problems


def record_counts(messages: list[dict[str, Any]]) -> Counter[str]:
    return Counter(m["stream"] for m in messages if m["type"] == "RECORD")


# -------------------------------------------------------------------------------------------------
def test_the_taps_output_follows_the_singer_spec(tap_messages: list[dict[str, Any]], sim: Sim) -> None:
    problems = singer_problems(tap_messages)
    assert not problems, "Singer spec problems:\n  " + "\n  ".join(problems[:30])
    counts = record_counts(tap_messages)
    expected = expected_counts(sim.cfg)
    mismatched = {t: (counts[t], expected[t]) for t in expected if counts[t] != expected[t]}
    assert not mismatched, f"records emitted != rows served, as {{stream: (emitted, served)}}: {mismatched}"
    final = tap_messages[-1]["value"]
    assert "timespans" in json.dumps(final), final


def test_target_jsonl_writes_every_record(meltano: Meltano, tmp: Path, tap_messages: list[dict[str, Any]]) -> None:
    meltano("run", "tap-dockerdvp", "target-jsonl", name="run-jsonl")
    written: Counter[str] = Counter()
    for path in sorted((tmp / "jsonl").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            json.loads(line)
            written[path.stem] += 1
    emitted = record_counts(tap_messages)
    assert written == emitted, f"written by target-jsonl {dict(written)} != emitted by the tap {dict(emitted)}"


def test_selecting_only_the_summary_streams(meltano: Meltano, tmp: Path, sim: Sim) -> None:
    out = tmp / "summaries.jsonl"
    meltano("invoke", "tap-dockerdvp", name="invoke-summaries", stdout=out,
            env={"TAP_DOCKERDVP__SELECT": json.dumps(SUMMARY_SELECT)})  # fmt: skip
    messages = read_messages(out)
    problems = singer_problems(messages)
    assert not problems, "Singer spec problems:\n  " + "\n  ".join(problems[:30])
    counts = record_counts(messages)
    assert set(counts) <= {s for s in counts if s.endswith("summary")}, f"not only summaries: {sorted(counts)}"
    expected = expected_counts(sim.cfg)
    for table in SUMMARY_TABLES:
        assert counts[table] == expected[table], (table, counts[table], expected[table])
    assert "pull_events" not in counts and "timespans" not in counts
    # the timespans still move their bookmarks (the parent runs for its selected children)
    assert "timespans" in json.dumps(messages[-1]["value"]), messages[-1]


def test_a_stream_map_hashes_domain(meltano: Meltano, tmp: Path, tap_messages: list[dict[str, Any]]) -> None:
    out = tmp / "mapped.jsonl"
    meltano("invoke", "tap-dockerdvp", name="invoke-mapped", stdout=out,
            env={"TAP_DOCKERDVP__SELECT": json.dumps(["pull_events.*"]),
                 "TAP_DOCKERDVP_STREAM_MAPS": json.dumps(DOMAIN_MAP)})  # fmt: skip
    messages = read_messages(out)
    assert not singer_problems(messages)

    def by_key(msgs: list[dict[str, Any]]) -> dict[tuple, dict]:
        return {
            (r["namespace"], r["timespan_type"], r["year"], r["timespan"], r["file_index"], r["row_number"]): r
            for r in (m["record"] for m in msgs if m["type"] == "RECORD" and m["stream"] == "pull_events")
        }

    plain, mapped = by_key(tap_messages), by_key(messages)
    assert plain and set(mapped) == set(plain)
    assert any(r["domain"] for r in plain.values()), "the simulator served no domain to hash"
    for key, record in plain.items():
        want = hashlib.md5(record["domain"].encode()).hexdigest() if record["domain"] else None  # noqa: S324
        assert mapped[key]["domain"] == want, (key, record["domain"], mapped[key]["domain"])
        assert mapped[key]["repository"] == record["repository"]
