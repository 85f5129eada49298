"""Benchmark: `pull_events` through the tap over HTTP against the bare Python pipeline on the same file.

    python benchmarks/pull_events.py              # 1M and 5M rows, 3 runs each
    python benchmarks/pull_events.py --quick      # a 200k-row smoke run
    python benchmarks/pull_events.py --rows 2000000 --repeat 5

For each row count the simulator generates one namespace with one complete ISO week holding N raw rows (its
deterministic generator, `write_export_file`, through `Simulator.pregenerate`). Then, alternately:

- bare: Python `gzip` + `csv.DictReader` + `orjson.dumps` of each row, one line per row, reading the file from
  disk, output to /dev/null (a subprocess of the same interpreter);
- tap:  `tap-dockerdvp --config ... --catalog ...` (only `pull_events` selected, raw weeks only) against the
  running simulator: download, gunzip, parse, type, RECORD messages to stdout = /dev/null.

It prints rows/s, wall and CPU seconds (medians of the runs), the tap/bare wall ratio and the peak RSS of each process
(its VmHWM, polled from /proc), checks the tap's record count from its metric log, and the RSS growth of the
tap between the smallest and the largest row count. Needs `orjson` (the `dev` extra) for the bare pipeline.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dockerdvp_simulator import SimConfig, Simulator
from dockerdvp_simulator import data as simdata
from dockerdvp_simulator.catalog import select_only

BARE = r"""
import csv, gzip, os, sys
import orjson
dumps = orjson.dumps
with gzip.open(sys.argv[1], "rt", newline="", encoding="utf-8") as f, open(os.devnull, "wb") as out:
    write = out.write
    for row in csv.DictReader(f):
        write(dumps(row) + b"\n")
"""

END = dt.date(2026, 11, 18)  # a Wednesday: the week before is complete
NAMESPACE = "acme"


@dataclasses.dataclass
class Run:
    wall: float
    cpu: float
    rss_mib: float


def _peak_rss_kib(pid: int, own_cmdline: bytes) -> int | None:
    """VmHWM of ``pid`` once it runs its own program (not the fork of this process), else None."""
    try:
        if Path(f"/proc/{pid}/cmdline").read_bytes() == own_cmdline:
            return None
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def run_measured(argv: list[str], *, stdout: int, stderr: int | None = None) -> Run:
    """Run ``argv``; its wall seconds, CPU seconds (user + system, from ``wait4``) and peak RSS.

    The peak RSS is the kernel's high-water mark (VmHWM) of the process, polled from /proc while it runs:
    ``ru_maxrss`` would also count the pages of this (large) process that the child had before its exec.
    """
    own = Path(f"/proc/{os.getpid()}/cmdline").read_bytes()
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr)
    peak = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, _peak_rss_kib(proc.pid, own) or 0)
        time.sleep(0.01)
    wall = time.perf_counter() - started
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code:
        raise SystemExit(f"{argv[0]} failed with exit code {code}")
    return Run(wall, usage.ru_utime + usage.ru_stime, peak / 1024)


def tap_executable() -> str:
    candidate = Path(sys.executable).with_name("tap-dockerdvp")
    return str(candidate) if candidate.exists() else "tap-dockerdvp"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.system()}"


def record_count(log: Path) -> int:
    """Records of `pull_events` the tap reported in its METRIC lines (the final count of each timespan)."""
    total = 0
    for line in log.read_text(errors="replace").splitlines():
        m = re.search(r"METRIC: (\{.*\})", line)
        if not m:
            continue
        point = json.loads(m.group(1))
        tags = point.get("tags", {})
        if point.get("metric") == "record_count" and tags.get("stream") == "pull_events":
            total += int(point.get("value", 0))
    return total


def bench(rows: int, repeat: int, workdir: Path, *, batch: bool = False) -> dict:
    cfg = SimConfig(
        namespaces=(NAMESPACE,),
        weeks=1,
        rows_per_week=rows,
        end_date=END,
        include_partial=False,
    )
    ((year, week, _start, _end),) = simdata.complete_timespans(cfg, NAMESPACE, "weeks")
    cache = workdir / f"sim-{rows}"
    with Simulator(cfg, cache_dir=cache) as sim:
        t0 = time.perf_counter()
        sim.pregenerate(views=["raw"], timespan_types=["weeks"])
        (export,) = sim.export_files(NAMESPACE, "raw", "weeks", year, week)
        size = Path(export["path"]).stat().st_size
        print(
            f"  {rows:,} rows: export of {size / 2**20:.0f} MiB gzip ready in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )

        config = {
            "username": sim.config.username,
            "password": sim.config.password,
            "api_url": sim.api_url,
            "hub_url": sim.hub_url,
            "namespaces": [NAMESPACE],
            "timespan_types": ["weeks"],
            "raw_timespan_type": "weeks",
        }
        if batch:  # the SDK's BATCH messages: gzip JSONL files under the workdir instead of RECORD lines
            batch_root = workdir / f"batches-{rows}"
            batch_root.mkdir(exist_ok=True)
            config["batch_config"] = {
                "encoding": {"format": "jsonl", "compression": "gzip"},
                "storage": {"root": batch_root.as_uri(), "prefix": "pull-events-"},
            }
        config_path = workdir / "config.json"
        config_path.write_text(json.dumps(config))
        t0 = time.perf_counter()
        discovered = subprocess.run(
            [tap_executable(), "--config", str(config_path), "--discover"],
            check=True,
            capture_output=True,
            text=True,
        )
        discover_s = time.perf_counter() - t0
        catalog = select_only(json.loads(discovered.stdout), ["pull_events"])
        catalog_path = workdir / "catalog.json"
        catalog_path.write_text(json.dumps(catalog))

        bare_runs: list[Run] = []
        tap_runs: list[Run] = []
        with open(os.devnull, "wb") as devnull:
            for i in range(repeat):
                bare_runs.append(run_measured([sys.executable, "-c", BARE, export["path"]], stdout=devnull))
                log = workdir / f"tap-{rows}-{i}.log"
                with open(log, "wb") as err:
                    tap_runs.append(
                        run_measured(
                            [tap_executable(), "--config", str(config_path), "--catalog", str(catalog_path)],
                            stdout=devnull,
                            stderr=err.fileno(),
                        )
                    )
                emitted = record_count(log)
                if emitted != rows:
                    raise SystemExit(f"the tap emitted {emitted} pull_events records, expected {rows} (see {log})")
                bare_run, tap_run = bare_runs[-1], tap_runs[-1]
                print(
                    f"    run {i + 1}: bare {bare_run.wall:.2f} s ({bare_run.cpu:.2f} s CPU), "
                    f"tap {tap_run.wall:.2f} s ({tap_run.cpu:.2f} s CPU)",
                    flush=True,
                )
    bare = statistics.median(r.wall for r in bare_runs)
    tap = statistics.median(r.wall for r in tap_runs)
    return {
        "rows": rows,
        "bare_s": bare,
        "tap_s": tap,
        "bare_cpu": statistics.median(r.cpu for r in bare_runs),
        "tap_cpu": statistics.median(r.cpu for r in tap_runs),
        "bare_rss": max(r.rss_mib for r in bare_runs),
        "tap_rss": max(r.rss_mib for r in tap_runs),
        "discover_s": discover_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", help="row counts (default: 1000000 5000000)")
    parser.add_argument("--quick", action="store_true", help="one 200k-row run (a smoke test)")
    parser.add_argument("--repeat", type=int, help="runs of each pipeline per row count (default 3; 1 with --quick)")
    parser.add_argument("--workdir", type=Path, help="keep the generated files and logs here (default: temporary)")
    parser.add_argument("--batch", action="store_true", help="the tap writes BATCH messages (gzip JSONL files)")
    args = parser.parse_args()
    try:
        import orjson  # noqa: F401
    except ImportError:
        raise SystemExit("the bare pipeline needs orjson: pip install -e '.[dev]'") from None
    counts = args.rows or ([200_000] if args.quick else [1_000_000, 5_000_000])
    repeat = args.repeat or (1 if args.quick else 3)

    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="bench-pull-events-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        results = [bench(n, repeat, workdir, batch=args.batch) for n in counts]

    print()
    print(
        f"{'rows':>10} | {'pipeline':8} | {'wall s':>7} | {'CPU s':>6} | {'rows/s':>10} | {'peak RSS MiB':>12} | "
        "tap/bare"
    )
    print("-" * 80)
    for r in results:
        ratio = r["tap_s"] / r["bare_s"]
        for name in ("bare", "tap"):
            wall, cpu, rss = r[f"{name}_s"], r[f"{name}_cpu"], r[f"{name}_rss"]
            tail = f"{ratio:.2f}x" if name == "tap" else ""
            print(
                f"{r['rows']:>10,} | {name:8} | {wall:7.2f} | {cpu:6.2f} | {r['rows'] / wall:10,.0f} | {rss:12.0f} | "
                f"{tail}"
            )
    print()
    print(f"tap --discover: {max(r['discover_s'] for r in results):.2f} s")
    if len(results) > 1:
        small, large = min(results, key=lambda r: r["rows"]), max(results, key=lambda r: r["rows"])
        growth = (large["tap_rss"] / small["tap_rss"] - 1) * 100
        print(f"tap peak RSS growth {small['rows']:,} -> {large['rows']:,} rows: {growth:+.1f}%")


if __name__ == "__main__":
    main()
