"""Merge the states of namespace shards into one state, for the weekly job that takes over after a backfill.

    meltano state get dev:tap-dockerdvp-to-target-snowflake:ns-acme > acme.json
    meltano state get dev:tap-dockerdvp-to-target-snowflake:ns-globex > globex.json
    meltano invoke tap-dockerdvp:merge-states acme.json globex.json > merged.json
    meltano state set --force dev:tap-dockerdvp-to-target-snowflake --input-file merged.json

The merge is installed with the tap: the command `tap-dockerdvp-merge-states` (in Meltano, the extractor's
`merge-states` command above, which runs it from the plugin's own environment) or `python -m
tap_dockerdvp.merge_states`, each taking the state files and printing the merged state.

Meltano's own `meltano state merge` cannot do this (Meltano 4.4.1): it merges JSON objects key by key but replaces
lists, and tap-dockerdvp keeps one bookmark per (namespace, timespan type) in a stream's `partitions` list, so the
last shard's list would win, the SDK partitions of every other shard would be dropped, and those namespaces would
start again from `start_date`. Here the partitions of every input are put together, each once. The same partition
with two different bookmarks (shards that overlap, such as time windows) is an error: for time windows, take over
the latest window's state instead (`meltano state copy`).

Standard library only, and nothing else of the tap is imported: the command starts in a moment and works in any
environment the package is installed in. Each input is what `meltano state get` prints (`{"singer_state": ...}`)
or a bare Singer state (`{"bookmarks": ...}`); the output is for `meltano state set --input-file`.
"""

from __future__ import annotations

import json
import sys
import typing as t

# Bookmark keys the SDK only uses while a sync runs: they may differ between shards and are dropped.
TRANSIENT = ("replication_key_signpost", "progress_markers")


class MergeError(ValueError):
    pass


def singer_state(value: t.Any, name: str) -> dict[str, t.Any]:
    state = value.get("singer_state", value) if isinstance(value, dict) else None
    if not isinstance(state, dict) or not isinstance(state.get("bookmarks"), dict):
        raise MergeError(f"{name}: not a Singer state (no `bookmarks` object)")
    for stream, bookmark in state["bookmarks"].items():
        partitions = bookmark.get("partitions", []) if isinstance(bookmark, dict) else None
        if not isinstance(partitions, list) or not all(isinstance(p, dict) for p in partitions):
            raise MergeError(
                f"{name}: `bookmarks.{stream}` is not a stream's bookmark (an object, its `partitions` a list)"
            )
    return state


def merge(states: dict[str, dict[str, t.Any]]) -> dict[str, t.Any]:
    """One Singer state with every stream's partitions from every state in ``states`` (name -> state)."""
    bookmarks: dict[str, dict[str, t.Any]] = {}
    seen: dict[tuple[str, str], tuple[dict[str, t.Any], str]] = {}  # (stream, context) -> (partition, its input)
    for name, state in states.items():
        for stream, bookmark in (state.get("bookmarks") or {}).items():
            merged = bookmarks.setdefault(stream, {})
            for key, value in bookmark.items():
                if key == "partitions":
                    for partition in value:
                        _add_partition(merged.setdefault("partitions", []), seen, stream, partition, name)
                elif key not in TRANSIENT:
                    if key in merged and merged[key] != value:
                        raise MergeError(f"{stream}.{key} differs between the states: they overlap")
                    merged[key] = value
    return {"bookmarks": bookmarks}


def _add_partition(
    partitions: list[dict[str, t.Any]],
    seen: dict[tuple[str, str], tuple[dict[str, t.Any], str]],
    stream: str,
    partition: dict[str, t.Any],
    name: str,
) -> None:
    """Add ``partition`` (from input ``name``) once; the same context with another bookmark is an error."""
    clean = {k: v for k, v in partition.items() if k not in TRANSIENT}
    context = json.dumps(clean.get("context"), sort_keys=True)
    first = seen.get((stream, context))
    if first is None:
        partitions.append(clean)
        seen[(stream, context)] = (clean, name)
    elif first[0] != clean:
        raise MergeError(
            f"{stream} partition {context} has different bookmarks in {first[1]} and {name}: these shards overlap "
            "(time windows?); take over the latest window's state with `meltano state copy` instead"
        )


def run(argv: list[str]) -> int:
    """Merge the state files named in ``argv``, print the result; the exit code."""
    if not argv or argv[0] in ("-h", "--help"):
        print((__doc__ or "").strip(), file=sys.stderr)
        return 0 if argv else 2
    try:
        states = {}
        for path in argv:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                empty = "" if text.strip() else " (the file is empty: did `meltano state get` fail?)"
                raise MergeError(f"{path}: not JSON: {exc}{empty}") from None
            states[path] = singer_state(value, path)
        merged = merge(states)
    except (OSError, MergeError) as exc:
        print(f"tap-dockerdvp-merge-states: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"singer_state": merged}, indent=2))
    return 0


def main() -> None:
    """The `tap-dockerdvp-merge-states` command."""
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
