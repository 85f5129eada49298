"""scripts/merge_states.py: the states of namespace shards become one state for the weekly job (README)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "merge_states.py"


def week(namespace: str, value: str) -> dict:
    return {
        "context": {"namespace": namespace, "timespan_type": "weeks"},
        "replication_key": "timespan_start",
        "replication_key_value": value,
    }


def shard_state(namespace: str, value: str) -> dict:
    """What `meltano state get` prints for a namespace shard."""
    return {
        "singer_state": {
            "bookmarks": {
                "namespaces": {},
                "timespans": {
                    "partitions": [
                        week(namespace, value),
                        {"context": {"namespace": namespace, "timespan_type": "months"}},
                    ],
                    "replication_key_signpost": "2026-11-29T10:00:00+00:00",
                },
                "pull_events": {},
            }
        }
    }


def merge(tmp_path: Path, *states: dict) -> subprocess.CompletedProcess[str]:
    files = []
    for number, state in enumerate(states):
        path = tmp_path / f"state-{number}.json"
        path.write_text(json.dumps(state))
        files.append(str(path))
    return subprocess.run([sys.executable, str(SCRIPT), *files], capture_output=True, text=True, check=False)


def test_the_partitions_of_every_shard_are_kept_once(tmp_path: Path) -> None:
    acme, globex = shard_state("acme", "2026-11-09T00:00:00Z"), shard_state("globex", "2026-11-02T00:00:00Z")
    done = merge(tmp_path, acme, globex, acme)  # the same shard twice is harmless
    assert done.returncode == 0, done.stderr
    merged = json.loads(done.stdout)["singer_state"]
    partitions = merged["bookmarks"]["timespans"]["partitions"]
    assert [p["context"]["namespace"] for p in partitions] == ["acme", "acme", "globex", "globex"]
    assert week("acme", "2026-11-09T00:00:00Z") in partitions and week("globex", "2026-11-02T00:00:00Z") in partitions
    assert "replication_key_signpost" not in merged["bookmarks"]["timespans"]  # a run's own, not a bookmark
    assert merged["bookmarks"]["namespaces"] == {} and merged["bookmarks"]["pull_events"] == {}


def test_overlapping_shards_are_refused_in_one_line(tmp_path: Path) -> None:
    early, late = shard_state("acme", "2026-10-26T00:00:00Z"), shard_state("acme", "2026-11-09T00:00:00Z")
    done = merge(tmp_path, early, late["singer_state"])  # a bare Singer state is read too
    assert done.returncode == 1 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert "these shards overlap" in done.stderr and "meltano state copy" in done.stderr


def test_a_file_that_is_not_a_state_is_one_line(tmp_path: Path) -> None:
    done = merge(tmp_path, {"value": 1})
    assert done.returncode == 1 and "not a Singer state" in done.stderr and len(done.stderr.splitlines()) == 1
