"""docs/running-at-scale.md: its commands name real settings, and `tap_dockerdvp.merge_states` (the
extractor's Meltano command `merge-states`) turns the states of namespace shards into one state for the weekly job.
(tests/e2e/test_e2e_shards.py runs the recipe through Meltano; tests/e2e/test_packaging.py runs the installed
command.)"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MERGE = [sys.executable, "-m", "tap_dockerdvp.merge_states"]
SECTION = (ROOT / "docs" / "running-at-scale.md").read_text()


def commands() -> list[list[str]]:
    """The page's bash lines, continuation lines joined, each split as the shell would."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", SECTION, re.S):
        found += [shlex.split(line, comments=True) for line in block.replace("\\\n", " ").splitlines()]
    return [words for words in found if words]


def test_the_shard_commands_set_settings_meltano_passes_to_the_tap() -> None:
    extractors = yaml.safe_load((ROOT / "meltano.yml").read_text())["plugins"]["extractors"]
    extractor = next(p for p in extractors if p["name"] == "tap-dockerdvp")
    settings = {s["name"] for s in extractor["settings"]}
    runs = [words for words in commands() if "run" in words and "meltano" in words]
    assert len(runs) == 4, runs
    for words in runs:
        meltano = words.index("meltano")
        assert words[meltano + 1 : meltano + 3] == ["run", "--state-id-suffix"], words
        for assignment in words[:meltano]:
            name, value = assignment.split("=", 1)
            assert name.startswith("TAP_DOCKERDVP_"), name
            setting = name.removeprefix("TAP_DOCKERDVP_").lower()
            if setting == "_select":  # Meltano's own extra: stream selection
                patterns = json.loads(value)
                assert patterns[0] == "*.*" and all(p.startswith("!") for p in patterns[1:]), patterns
                continue
            assert setting in settings, f"{name}: meltano.yml has no setting {setting!r}"
            if setting in ("start_date", "end_date"):
                dt.date.fromisoformat(value)
            if setting in ("namespaces", "timespan_types"):
                assert isinstance(json.loads(value), list), value


def test_each_time_window_ends_where_the_next_begins() -> None:
    """[start_date, end_date) windows: no period in two windows, none in no window, the last one open-ended."""
    windows = []
    for words in commands():
        settings = dict(w.split("=", 1) for w in words if w.startswith("TAP_DOCKERDVP_") and "=" in w)
        if "TAP_DOCKERDVP_START_DATE" in settings:
            windows.append((settings["TAP_DOCKERDVP_START_DATE"], settings.get("TAP_DOCKERDVP_END_DATE")))
    assert len(windows) == 2, windows
    for (start, end), (next_start, _next_end) in itertools.pairwise(windows):
        assert dt.date.fromisoformat(start) < dt.date.fromisoformat(end) and end == next_start, windows
    assert windows[-1][1] is None, windows


def test_the_hand_over_commands_use_the_installed_merge() -> None:
    lines = [" ".join(words) for words in commands()]
    assert "meltano invoke tap-dockerdvp:merge-states acme.json globex.json > merged.json" in lines
    assert any(line.startswith("meltano state set --force ") and "--input-file merged.json" in line for line in lines)
    assert not (ROOT / "scripts" / "merge_states.py").exists(), "the merge ships in the package now"
    # the Meltano command runs the package's console script, in the Hub definition and in meltano.yml alike
    hub = yaml.safe_load((ROOT / "hub" / "extractors" / "tap-dockerdvp" / "dockerdvp.yml").read_text())
    extractors = yaml.safe_load((ROOT / "meltano.yml").read_text())["plugins"]["extractors"]
    extractor = next(p for p in extractors if p["name"] == hub["name"])
    assert hub["commands"] == extractor["commands"]
    assert hub["commands"]["merge-states"]["executable"] == "tap-dockerdvp-merge-states"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '\ntap-dockerdvp-merge-states = "tap_dockerdvp.merge_states:main"\n' in pyproject


def test_the_merge_imports_only_the_standard_library() -> None:
    """It imports nothing else of the tap (nor the SDK) and nothing outside the standard library, so it starts at
    once in any environment the package is installed in."""
    code = (
        "import json, sys; before = set(sys.modules); import tap_dockerdvp.merge_states; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    imported = json.loads(done.stdout)
    assert "tap_dockerdvp.merge_states" in imported  # the control: the import is seen
    assert [m for m in imported if m.startswith("tap_dockerdvp")] == ["tap_dockerdvp", "tap_dockerdvp.merge_states"]
    foreign = sorted({m.split(".")[0] for m in imported} - {"tap_dockerdvp"} - set(sys.stdlib_module_names))
    assert not foreign, f"tap_dockerdvp.merge_states imports more than the standard library: {foreign}"


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
    return subprocess.run([*MERGE, *files], capture_output=True, text=True, check=False, cwd=tmp_path)


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


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "state-0.json: not JSON: Expecting value: line 1 column 1 (char 0) (the file is empty"),
        ('{"bookmarks": {"timespans": []}}', "state-0.json: `bookmarks.timespans` is not a stream's bookmark"),
        ('{"bookmarks": {"timespans": {"partitions": "x"}}}', "state-0.json: `bookmarks.timespans` is not a"),
    ],
    ids=["empty file", "stream as a list", "partitions as text"],
)
def test_a_broken_state_file_is_one_line_naming_it(tmp_path: Path, text: str, said: str) -> None:
    (tmp_path / "state-0.json").write_text(text)
    done = subprocess.run([*MERGE, "state-0.json"], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [done.stderr.strip()] and said in done.stderr, done.stderr
