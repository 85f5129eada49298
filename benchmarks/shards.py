"""Benchmark: a backfill as one run, and as two namespace shards running in parallel (docs/running-at-scale.md).

    python benchmarks/shards.py                       # 8 weeks x 2 namespaces x 250k raw rows a week, 3 rounds
    python benchmarks/shards.py --quick               # a small smoke run
    python benchmarks/shards.py --weeks 4 --rows-per-week 500000 --repeat 5

The simulator (in this process, files generated before any timing) serves namespaces `acme` and `globex`, each
with the same number of complete weeks and raw rows a week. Then, in alternating order, each round runs:

- one run:    `tap-dockerdvp --config all.json` (both namespaces, every stream, default settings);
- two shards: `tap-dockerdvp --config acme.json` and `--config globex.json` started together; the wall time is
  until both have ended.

Output goes to /dev/null (RECORD messages, as a target would read them). The row count of every run is checked
against the simulator's (METRIC `record_count` of `pull_events`), and the one-run and the sharded counts must be
equal. Prints the machine, the load average before and after (the CPU is shared), each round, and a Markdown table
of the medians, with the CPU seconds of the simulator (a thread of this process, on the same cores).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_support import load, machine, tap_executable

from dockerdvp_simulator import SimConfig, Simulator
from dockerdvp_simulator import data as simdata

END = dt.date(2026, 11, 18)  # in the past: every listed week is complete for the tap too
NAMESPACES = ("acme", "globex")


def pull_events(log: Path) -> int:
    """`pull_events` records the run reported in its METRIC lines."""
    total = 0
    for line in log.read_text(errors="replace").splitlines():
        found = re.search(r"METRIC: (\{.*\})", line)
        if found:
            point = json.loads(found.group(1))
            if point.get("metric") == "record_count" and point.get("tags", {}).get("stream") == "pull_events":
                total += int(point.get("value", 0))
    return total


def own_cpu() -> float:
    """CPU seconds of this process so far: the simulator's, which serves the files from a thread here."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_together(configs: list[Path], logs: list[Path]) -> tuple[float, list[float]]:
    """Start one tap per config at once; the wall seconds until all ended, and each one's."""
    started = time.perf_counter()
    procs = []
    with open(os.devnull, "wb") as devnull:
        for config, log in zip(configs, logs, strict=True):
            with open(log, "wb") as err:
                procs.append(subprocess.Popen([tap_executable(), "--config", str(config)], stdout=devnull, stderr=err))
        ended: dict[int, float] = {}
        while len(ended) < len(procs):
            for index, proc in enumerate(procs):
                if index in ended:
                    continue
                pid, status = os.waitpid(proc.pid, os.WNOHANG)
                if not pid:
                    continue
                ended[index] = time.perf_counter() - started
                proc.returncode = code = os.waitstatus_to_exitcode(status)
                if code:
                    raise SystemExit(f"tap-dockerdvp failed with exit code {code}: see {logs[index]}")
            time.sleep(0.01)
    return max(ended.values()), [ended[i] for i in range(len(procs))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--rows-per-week", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2 weeks x 20k rows, 1 round")
    args = parser.parse_args(argv)
    if args.quick:
        args.weeks, args.rows_per_week, args.repeat = 2, 20_000, 1

    cfg = SimConfig(
        namespaces=NAMESPACES,
        extension_namespaces=(NAMESPACES[0],),
        weeks=args.weeks,
        rows_per_week=args.rows_per_week,
        end_date=END,
        include_partial=False,
    )
    expected = {
        ns: sum(
            simdata.expected_rows(cfg, ns, "raw", "weeks", year, number)
            for year, number, _s, _e in simdata.complete_timespans(cfg, ns, "weeks")
        )
        for ns in NAMESPACES
    }
    print(f"machine: {machine()}; load average before: {load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="shards-bench-") as tmp:
        work = Path(tmp)
        with Simulator(cfg, cache_dir=work / "sim") as sim:
            t0 = time.perf_counter()
            sim.pregenerate()
            size = sum(p.stat().st_size for p in (work / "sim").rglob("*") if p.is_file())
            print(
                f"data: {len(NAMESPACES)} namespaces x {args.weeks} weeks, {sum(expected.values()):,} raw rows, "
                f"{size / 2**20:.0f} MiB of gzip files, generated in {time.perf_counter() - t0:.0f} s",
                flush=True,
            )
            base = {
                "username": sim.config.username,
                "password": sim.config.password,
                "api_url": sim.api_url,
                "hub_url": sim.hub_url,
            }
            configs = {}
            for name, namespaces in (("all", list(NAMESPACES)), *((ns, [ns]) for ns in NAMESPACES)):
                configs[name] = work / f"{name}.json"
                configs[name].write_text(json.dumps({**base, "namespaces": namespaces}))

            one: list[float] = []
            sharded: list[float] = []
            shard_walls: list[list[float]] = []
            server: dict[str, list[float]] = {"one": [], "shards": []}
            for round_number in range(args.repeat):
                order = ("one", "shards") if round_number % 2 == 0 else ("shards", "one")
                for kind in order:
                    before = own_cpu()
                    if kind == "one":
                        log = work / f"one-{round_number}.log"
                        wall, _ = run_together([configs["all"]], [log])
                        if pull_events(log) != sum(expected.values()):
                            raise SystemExit(f"one run: {pull_events(log)} pull_events, expected {expected}")
                        one.append(wall)
                    else:
                        logs = [work / f"{ns}-{round_number}.log" for ns in NAMESPACES]
                        wall, each = run_together([configs[ns] for ns in NAMESPACES], logs)
                        counts = {ns: pull_events(log) for ns, log in zip(NAMESPACES, logs, strict=True)}
                        if counts != expected:
                            raise SystemExit(f"shards: {counts} pull_events, expected {expected}")
                        sharded.append(wall)
                        shard_walls.append(each)
                    server[kind].append(own_cpu() - before)
                print(
                    f"  round {round_number + 1}: one run {one[-1]:.1f} s; two shards "
                    f"{sharded[-1]:.1f} s ({', '.join(f'{w:.1f}' for w in shard_walls[-1])} s each); "
                    f"simulator {server['one'][-1]:.1f} and "
                    f"{server['shards'][-1]:.1f} s CPU",
                    flush=True,
                )
    rows = sum(expected.values())
    one_s, shards_s = statistics.median(one), statistics.median(sharded)
    each = [statistics.median(walls) for walls in zip(*shard_walls, strict=True)]
    print(f"load average after: {load()}")
    print()
    sim_one, sim_shards = statistics.median(server["one"]), statistics.median(server["shards"])
    print("| backfill | jobs | wall s (median) | simulator CPU s | raw rows/s | speed-up |")
    print("|---|---|---|---|---|---|")
    print(f"| one run | 1 | {one_s:.1f} | {sim_one:.1f} | {rows / one_s:,.0f} | 1.00x |")
    print(
        f"| two namespace shards in parallel | 2 ({', '.join(f'{w:.1f}' for w in each)} s each) | "
        f"{shards_s:.1f} | {sim_shards:.1f} | {rows / shards_s:,.0f} | {one_s / shards_s:.2f}x |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
