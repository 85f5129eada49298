"""docs/running-at-scale.md: two shards in parallel through the Meltano CLI add up to one unsharded run.

Each shard is `meltano run --state-id-suffix <shard> tap-dockerdvp target-jsonl` with its own settings in the
environment and its own output folder, started at the same time as the other shard, against the simulator in a
subprocess; all of them share one Meltano system database, as jobs of one project on an orchestrator do. Meltano
writes a run's tap config and catalog to `.meltano/run/tap-dockerdvp/`, so two runs in one project directory
overwrite each other's (seen: "Cannot start plugin tap-dockerdvp: Invalid catalog"); each job here has its own
`MELTANO_SYS_DIR_ROOT`, with the installed plugins linked in, as each job of an orchestrator has its own container.
Checked:
the union of the shards' rows is exactly the unsharded run's rows, no row comes twice, and each shard's state
(`meltano state get`) holds its own bookmarks only. Then the page's way from a sharded backfill to one weekly job:
the namespace shards' states merged (the extractor's `merge-states` command) into the weekly job's state ID, whose
next run extracts nothing again.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import (
    RUN_TIMEOUT,
    Meltano,
    Sim,
    checked,
    key_properties,
    meltano_runner,
    require_meltano,
    tail,
)

from dockerdvp_simulator import data

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
RUNNING_AT_SCALE = (ROOT / "docs" / "running-at-scale.md").read_text()
JOB = "dev:tap-dockerdvp-to-target-jsonl"  # the state ID of `meltano run tap-dockerdvp target-jsonl` in `dev`
# The streams that describe the present, not a timespan: in a window shard they come from one shard only.
SNAPSHOT_STREAMS = ("namespaces", "repositories", "namespace_pull_stats", "repository_pull_stats")
PERIOD_SELECT = json.dumps(["*.*", *(f"!{stream}.*" for stream in SNAPSHOT_STREAMS)])


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shards")


@pytest.fixture(scope="module")
def meltano(sim: Sim, tmp: Path) -> Meltano:
    meltano_bin = require_meltano(("extractors", "tap-dockerdvp"), ("loaders", "target-jsonl"))
    return meltano_runner(meltano_bin, sim, tmp, TARGET_JSONL_DO_TIMESTAMP_FILE="false")


@dataclass
class Shard:
    suffix: str
    env: dict[str, str]

    def out(self, tmp: Path) -> Path:
        return tmp / "out" / self.suffix


def own_sys_dir(tmp: Path, name: str) -> dict[str, str]:
    """A job's own `.meltano` (its run folder, logs), with the project's installed plugins linked in."""
    sys_dir = tmp / "sys" / name
    sys_dir.mkdir(parents=True)
    for kind in ("extractors", "loaders"):
        (sys_dir / kind).symlink_to(ROOT / ".meltano" / kind, target_is_directory=True)
    return {"MELTANO_SYS_DIR_ROOT": str(sys_dir)}


def run_in_parallel(meltano: Meltano, tmp: Path, shards: list[Shard]) -> float:
    """`meltano run --state-id-suffix S tap-dockerdvp target-jsonl` for every shard at once; the wall time."""
    procs = []
    started = time.monotonic()
    for shard in shards:
        out = shard.out(tmp)
        out.mkdir(parents=True)
        log = open(tmp / f"{shard.suffix}.log", "wb")  # noqa: SIM115 - closed below, after the process ends
        env = {
            **meltano.env,
            **own_sys_dir(tmp, shard.suffix),
            **shard.env,
            "TARGET_JSONL_DESTINATION_PATH": str(out),
        }
        command = [meltano.bin, "--environment", "dev", "run", "--state-id-suffix", shard.suffix]
        proc = subprocess.Popen(
            [*command, "tap-dockerdvp", "target-jsonl"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        procs.append((shard, proc, log))
    for shard, proc, log in procs:
        try:
            code = proc.wait(timeout=RUN_TIMEOUT)
        finally:
            log.close()
        assert code == 0, f"shard {shard.suffix} exited with {code}:\n{tail(tmp / f'{shard.suffix}.log', 60)}"
    return time.monotonic() - started


def loaded(out: Path) -> dict[str, list[dict[str, Any]]]:
    """target-jsonl's files: stream -> rows."""
    return {
        path.stem: [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        for path in sorted(out.glob("*.jsonl"))
    }


def state_of(meltano: Meltano, state_id: str) -> dict[str, Any]:
    state = json.loads(meltano("state", "get", state_id, name=f"state-{state_id.rsplit(':', 1)[-1]}"))
    return state.get("singer_state", state)


def week_bookmarks(state: dict[str, Any]) -> dict[str, str]:
    """namespace -> the start of the last week done, from a state's `timespans` partitions."""
    return {
        p["context"]["namespace"]: p["replication_key_value"]
        for p in state["bookmarks"]["timespans"]["partitions"]
        if p["context"]["timespan_type"] == "weeks" and "replication_key_value" in p
    }


def assert_exact_union(
    sim: Sim, unsharded: dict[str, list[dict]], shards: list[dict[str, list[dict]]], label: str
) -> None:
    keys = key_properties(sim)
    assert unsharded["pull_events"] and unsharded["repo_summary"], "the unsharded run loaded no pull data"
    streams = set(unsharded).union(*shards)
    assert streams == set(unsharded), f"{label}: streams {sorted(streams - set(unsharded))} only in shards"
    for stream in sorted(streams):
        expected = {tuple(r[k] for k in keys[stream]): r for r in unsharded[stream]}
        assert len(expected) == len(unsharded[stream]), f"{stream}: a key twice in the unsharded run"
        union: dict[tuple, dict] = {}
        for shard in shards:
            for row in shard.get(stream, []):
                key = tuple(row[k] for k in keys[stream])
                assert key not in union, f"{label}: {stream} row {key} loaded by two shards (or twice)"
                union[key] = row
        assert union.keys() == expected.keys(), (
            f"{label}: {stream}: {len(union.keys() - expected.keys())} rows only in shards, "
            f"{len(expected.keys() - union.keys())} only in the unsharded run"
        )
        different = [k for k in expected if union[k] != expected[k]]
        assert not different, f"{label}: {stream} row {different[0]} differs: {union[different[0]]}"


@pytest.fixture(scope="module")
def unsharded(meltano: Meltano, tmp: Path) -> dict[str, list[dict]]:
    run_in_parallel(meltano, tmp, [Shard("unsharded", {})])
    return loaded(Shard("unsharded", {}).out(tmp))


# -------------------------------------------------------------------------------------------------
def test_namespace_shards_add_up_to_one_run_and_hand_over_to_one_weekly_job(
    meltano: Meltano, sim: Sim, tmp: Path, unsharded: dict[str, list[dict]]
) -> None:
    acme, globex = sim.cfg.namespaces
    versions = {"TAP_DOCKERDVP_EMIT_ACTIVATE_VERSION_MESSAGES": "false"}  # as the docs print it: see there why
    shards = [
        Shard(f"ns-{acme}", {"TAP_DOCKERDVP_NAMESPACES": json.dumps([acme]), **versions}),
        Shard(f"ns-{globex}", {"TAP_DOCKERDVP_NAMESPACES": json.dumps([globex]), **versions}),
    ]
    run_in_parallel(meltano, tmp, shards)
    outputs = [loaded(shard.out(tmp)) for shard in shards]
    assert_exact_union(sim, unsharded, outputs, "namespace shards")
    for namespace, output in zip((acme, globex), outputs, strict=True):
        assert {r["namespace"] for rows in output.values() for r in rows} == {namespace}

    # each shard's state holds its own namespace's bookmarks only, at the last complete week
    last_week = data.complete_timespans(sim.cfg, acme, "weeks")[-1][2].isoformat() + "T00:00:00Z"
    states = {shard.suffix: state_of(meltano, f"{JOB}:{shard.suffix}") for shard in shards}
    assert week_bookmarks(states[f"ns-{acme}"]) == {acme: last_week}
    assert week_bookmarks(states[f"ns-{globex}"]) == {globex: last_week}

    # from the sharded backfill to one weekly job, as docs/running-at-scale.md prints it
    hand_over(meltano, tmp, [f"{JOB}:{shard.suffix}" for shard in shards])
    assert week_bookmarks(state_of(meltano, JOB)) == {acme: last_week, globex: last_week}
    assert_weekly_run_extracts_nothing(meltano, tmp, "weekly-ns")
    assert week_bookmarks(state_of(meltano, JOB)) == {acme: last_week, globex: last_week}


def hand_over(meltano: Meltano, tmp: Path, state_ids: list[str]) -> None:
    """`meltano state get` of each shard to a file, the extractor's `merge-states` command, `meltano state set
    --force`."""
    files = []
    for state_id in state_ids:
        path = tmp / f"{state_id.rsplit(':', 1)[-1]}.json"
        path.write_text(meltano("state", "get", state_id, name=f"get-{path.stem}"))
        files.append(str(path))
    meltano("invoke", "tap-dockerdvp:merge-states", *files, name="merge-states", stdout=tmp / "merged.json")
    meltano("state", "set", "--force", JOB, "--input-file", str(tmp / "merged.json"), name="state-set")


def assert_weekly_run_extracts_nothing(meltano: Meltano, tmp: Path, name: str, **settings: str) -> None:
    out = tmp / "out" / name
    out.mkdir(parents=True)
    env = {"TARGET_JSONL_DESTINATION_PATH": str(out), **own_sys_dir(tmp, name), **settings}
    meltano("run", "tap-dockerdvp", "target-jsonl", name=name, env=env)
    period_rows = {s: len(rows) for s, rows in loaded(out).items() if s not in SNAPSHOT_STREAMS and rows}
    assert period_rows == {}, f"the weekly job extracted the backfilled weeks again: {period_rows}"


def test_window_shards_add_up_to_one_run(
    meltano: Meltano, sim: Sim, tmp: Path, unsharded: dict[str, list[dict]]
) -> None:
    """Windows [start_date, end_date), each ending where the next begins (docs/state-and-windows.md), weeks and
    months alike: a period belongs to the window its first day is in."""
    cfg = sim.cfg
    weeks = data.complete_timespans(cfg, cfg.namespaces[0], "weeks")
    assert len(weeks) >= 2, weeks
    split = len(weeks) // 2
    boundary = weeks[split][2]  # the early window's end_date and the late window's start_date
    first = min(
        t[2] for ns in cfg.namespaces for kind in ("weeks", "months") for t in data.complete_timespans(cfg, ns, kind)
    )
    shards = [
        # the early window: every stream
        Shard(
            "w-early", {"TAP_DOCKERDVP_START_DATE": first.isoformat(), "TAP_DOCKERDVP_END_DATE": boundary.isoformat()}
        ),
        # the late window, open-ended: its state becomes the weekly job's; the snapshot streams come from the early one
        Shard("w-late", {"TAP_DOCKERDVP_START_DATE": boundary.isoformat(), "TAP_DOCKERDVP__SELECT": PERIOD_SELECT}),
    ]
    run_in_parallel(meltano, tmp, shards)
    outputs = [loaded(shard.out(tmp)) for shard in shards]
    assert_exact_union(sim, unsharded, outputs, "window shards")
    assert not any(outputs[1].get(stream) for stream in SNAPSHOT_STREAMS)

    stamp = boundary.isoformat() + "T00:00:00Z"
    early = {r["timespan_start"] for r in outputs[0]["timespans"]}
    later = {r["timespan_start"] for r in outputs[1]["timespans"]}
    assert max(early) < stamp <= min(later), (sorted(early), sorted(later))

    # each window's state: its own last week, for every namespace
    namespaces = set(cfg.namespaces)
    early_state = week_bookmarks(state_of(meltano, f"{JOB}:w-early"))
    late_state = week_bookmarks(state_of(meltano, f"{JOB}:w-late"))
    assert early_state == dict.fromkeys(namespaces, weeks[split - 1][2].isoformat() + "T00:00:00Z")
    assert late_state == dict.fromkeys(namespaces, weeks[-1][2].isoformat() + "T00:00:00Z")

    # the hand-over: the last window's state, and its start_date kept in the weekly job's settings
    hand_over(meltano, tmp, [f"{JOB}:w-late"])
    assert week_bookmarks(state_of(meltano, JOB)) == late_state
    assert_weekly_run_extracts_nothing(meltano, tmp, "weekly-windows", TAP_DOCKERDVP_START_DATE=boundary.isoformat())


def test_the_readme_batch_storage_settings_reach_the_tap(meltano: Meltano, tmp: Path) -> None:
    """docs/running-at-scale.md's `batch_config` block in a project's meltano.yml and its `meltano config set ...
    params` command: the secret goes to `.env` (not meltano.yml), and the tap gets one `batch_config` object."""
    section = RUNNING_AT_SCALE
    snippet = yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    (extractor,) = snippet["plugins"]["extractors"]
    assert extractor["pip_url"] == "tap-dockerdvp[s3]"
    command = next(line for line in section.splitlines() if line.startswith("meltano config set tap-dockerdvp"))
    args = shlex.split(command)[1:]

    project = tmp / "project"
    project.mkdir()
    definition = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (ours,) = [p for p in definition["plugins"]["extractors"] if p["name"] == "tap-dockerdvp"]
    ours["config"] = extractor["config"]
    (project / "meltano.yml").write_text(yaml.safe_dump(definition, sort_keys=False))
    env = {**meltano.env, **own_sys_dir(tmp, "readme-config")}

    def in_project(*command: str) -> str:
        meltano_command = [meltano.bin, "--environment", "dev", *command]
        return checked(meltano_command, what=f"meltano {' '.join(command)}", cwd=project, env=env, timeout=RUN_TIMEOUT)

    in_project(*args)
    params = json.loads(args[-1])
    dotenv = (project / ".env").read_text()
    assert "TAP_DOCKERDVP_BATCH_CONFIG_STORAGE_PARAMS=" in dotenv and params["key"] in dotenv
    assert params["key"] not in (project / "meltano.yml").read_text()

    config = json.loads(in_project("invoke", "--dump=config", "tap-dockerdvp"))
    assert config["batch_config"] == {
        **extractor["config"]["batch_config"],
        "storage": {**extractor["config"]["batch_config"]["storage"], "params": params},
    }
