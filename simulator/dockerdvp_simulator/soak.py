"""Fault soak: extract raw pull events under random faults and SIGKILLs, resuming from the last STATE each time.

The union of everything emitted, deduplicated by primary key, must equal one clean run exactly: no missing row,
and every duplicate a full duplicate of the same key. ``python -m dockerdvp_simulator.soak --runs 20``
prints the tally; the tests use `interrupted_extraction` for one schedule.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

from dockerdvp_simulator.catalog import select_only
from dockerdvp_simulator.data import SimConfig
from dockerdvp_simulator.server import Simulator

KEY = ("namespace", "timespan_type", "year", "timespan", "file_index", "row_number")
# Faults a healthy tap must ride out without failing (given enough retries).
RETRIABLE_FAULTS: tuple[dict[str, t.Any], ...] = (
    {"match": "download", "kind": "truncate", "fraction": 0.5},
    {"match": "download", "kind": "corrupt_gzip"},
    {"match": "download", "kind": "cut_csv"},
    {"match": "download", "kind": "reset"},
    {"match": "download", "kind": "expire_url"},
    {"match": "download", "kind": "status", "status": 503},
    {"match": "download", "kind": "rate_limit", "retry_after": 0, "retry_after_style": "seconds"},
    {"match": "exports", "kind": "status", "status": 502},
    {"match": "exports", "kind": "expire_token"},
    {"match": "years", "kind": "rate_limit", "retry_after": 0, "retry_after_style": "epoch"},
    {"match": "timespans", "kind": "reset"},
)


@dataclasses.dataclass
class Tally:
    runs: int = 0
    processes: int = 0
    kills: int = 0
    failed_processes: int = 0
    faults_injected: int = 0
    retries: int = 0
    rows_expected: int = 0
    rows_emitted: int = 0
    rows_lost: int = 0
    rows_unexpected: int = 0
    rows_differing: int = 0
    rows_duplicated: int = 0
    duplicates_differing: int = 0

    @property
    def clean(self) -> bool:
        return not (self.rows_lost or self.rows_unexpected or self.rows_differing or self.duplicates_differing)

    def add(self, other: Tally) -> None:
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


def tap_files(sim: Simulator, workdir: Path, **settings: t.Any) -> tuple[Path, Path]:
    """A config and a catalog selecting only `pull_events`, for `sim`."""
    config = {
        "username": sim.config.username,
        "password": sim.config.password,
        "api_url": sim.api_url,
        "hub_url": sim.hub_url,
        "timespan_types": ["weeks"],
        "retry_base_seconds": 0.01,
        "max_retries": 6,
        **settings,
    }
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config))
    discovered = subprocess.run(
        [sys.executable, "-m", "tap_dockerdvp", "--config", str(config_path), "--discover"],
        check=True,
        capture_output=True,
        text=True,
    )
    catalog = select_only(json.loads(discovered.stdout), ["pull_events"])
    catalog_path = workdir / "catalog.json"
    catalog_path.write_text(json.dumps(catalog))
    return config_path, catalog_path


def interrupted_extraction(
    config_path: Path,
    catalog_path: Path,
    kill_after_lines: list[int],
    *,
    max_processes: int = 40,
) -> tuple[list[dict], Tally]:
    """Run the tap, SIGKILL it after each count of stdout lines in turn, resume from its last STATE.

    Returns every RECORD emitted over all processes, and a tally of processes, kills and retries.
    """
    records: list[dict] = []
    tally = Tally()
    state: dict | None = None
    kills = list(kill_after_lines)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        state_path = Path(tmp) / "state.json"
        stderr_path = Path(tmp) / "stderr.log"
        for _ in range(max_processes):
            command = [sys.executable, "-m", "tap_dockerdvp", "--config", str(config_path)]
            command += ["--catalog", str(catalog_path)]
            if state is not None:
                state_path.write_text(json.dumps(state))
                command += ["--state", str(state_path)]
            limit = kills.pop(0) if kills else None
            tally.processes += 1
            with stderr_path.open("w") as stderr:
                process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
                assert process.stdout is not None
                killed = False
                for lines, line in enumerate(process.stdout, start=1):
                    message = json.loads(line)
                    if message["type"] == "RECORD":
                        records.append(message["record"])
                    elif message["type"] == "STATE":
                        state = message["value"]
                    if limit is not None and lines >= limit:
                        process.kill()
                        killed = True
                        break
                process.stdout.close()
                code = process.wait()
            log = stderr_path.read_text()
            tally.retries += log.count("Waiting ")
            if killed:
                tally.kills += 1
                continue
            if code == 0:
                return records, tally
            tally.failed_processes += 1  # retries ran out on a fault: resume, as a scheduler would
    raise RuntimeError(f"the extraction did not finish in {max_processes} processes")


def compare(clean: list[dict], emitted: list[dict]) -> Tally:
    """Rows lost and duplicated in ``emitted`` against a clean run, by primary key."""

    def strip(record: dict) -> dict:
        return {k: v for k, v in record.items() if k != "time_extracted"}

    expected = {tuple(r[k] for k in KEY): strip(r) for r in clean}
    seen: dict[tuple, dict] = {}
    tally = Tally(rows_expected=len(expected), rows_emitted=len(emitted))
    for record in emitted:
        key = tuple(record[k] for k in KEY)
        if key in seen:
            tally.rows_duplicated += 1
            if seen[key] != strip(record):
                tally.duplicates_differing += 1
        seen[key] = strip(record)
    tally.rows_lost = len(expected.keys() - seen.keys())
    tally.rows_unexpected = len(seen.keys() - expected.keys())
    tally.rows_differing = sum(1 for key, row in seen.items() if key in expected and expected[key] != row)
    return tally


def soak(runs: int, *, seed: int, rows_per_week: int, weeks: int, files: int) -> Tally:
    rng = random.Random(seed)
    total = Tally()
    sim_config = SimConfig(
        weeks=weeks,
        rows_per_week=rows_per_week,
        files_per_timespan=files,
        end_date=dt.date(2026, 11, 18),
        include_partial=False,
    )
    with Simulator(sim_config) as sim, tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        config_path, catalog_path = tap_files(sim, Path(tmp))
        clean, _ = interrupted_extraction(config_path, catalog_path, [])
        lines = len(clean) + 50
        for run in range(runs):
            sim.clear_faults()
            sim.reset_stats()
            faults = [{**rng.choice(RETRIABLE_FAULTS), "after": rng.randrange(0, 30)} for _ in range(rng.randint(1, 6))]
            sim.add_fault(faults)
            kills = sorted(rng.sample(range(1, lines), k=rng.randint(1, 4)))
            kills = [b - a for a, b in zip([0, *kills], kills, strict=False)]  # counts per process, not cumulative
            started = time.monotonic()
            emitted, tally = interrupted_extraction(config_path, catalog_path, kills)
            result = compare(clean, emitted)
            result.runs = 1
            result.processes, result.kills = tally.processes, tally.kills
            result.failed_processes, result.retries = tally.failed_processes, tally.retries
            result.faults_injected = sim.stats["faults_injected"]
            total.add(result)
            print(
                f"run {run + 1}/{runs}: {len(faults)} fault rules ({result.faults_injected} injected), "
                f"{result.kills} kills, {result.retries} retries, {result.rows_emitted} rows emitted, "
                f"lost {result.rows_lost}, duplicated {result.rows_duplicated} "
                f"(differing {result.duplicates_differing}) in {time.monotonic() - started:.1f} s",
                flush=True,
            )
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SOAK_SEED", "1")))
    parser.add_argument("--rows-per-week", type=int, default=700)
    parser.add_argument("--weeks", type=int, default=3)
    parser.add_argument("--files", type=int, default=2, help="files per timespan")
    args = parser.parse_args(argv)
    started = time.monotonic()
    total = soak(args.runs, seed=args.seed, rows_per_week=args.rows_per_week, weeks=args.weeks, files=args.files)
    print(
        f"\nsoak: {total.runs} runs, {total.processes} tap processes, {total.faults_injected} faults injected, "
        f"{total.retries} retries, {total.kills} SIGKILLs resumed, {total.failed_processes} failed processes "
        f"resumed; rows lost {total.rows_lost}, unexpected {total.rows_unexpected}, differing {total.rows_differing}, "
        f"duplicates differing {total.duplicates_differing} (full duplicates {total.rows_duplicated}); "
        f"{time.monotonic() - started:.0f} s"
    )
    return 0 if total.clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
