"""Benchmark: `pull_events` through the tap over HTTP, in every output mode, against the bare Python pipeline.

    python benchmarks/pull_events.py                       # 1M rows in 1, 8 and 50 files, 3 runs of each pipeline
    python benchmarks/pull_events.py --quick               # a 200k-row smoke run, one file
    python benchmarks/pull_events.py --rows 5000000 --files 1 --repeat 5 --modes record jsonl

For each row count and file count the simulator generates one namespace with one complete ISO week holding N raw
rows split into F files (Docker splits a large export into several), in its realistic wide shape
(`row_shape="wide"`: all 16 columns filled, long user agents, 64-hex digests in both Reference and Digest, long
tags, domains and owners, plus an unknown column). The tap runs as a user installs it: this checkout installed by
pip with the `arrow` extra in a venv of its own (made once per workdir, dependencies from the package index, the
tap installed again at every run), not the checkout's dev venv, whose numpy (a dev dependency) pyarrow would
import at every start. Then, alternately:

- bare:    Python `gzip` + `csv.DictReader` + `orjson.dumps` of each row, one line per row, reading the files from
           disk one after the other, output to /dev/null (a subprocess of the same interpreter);
- record:  the tap (only `pull_events` selected) against the running simulator: download, gunzip, parse, type,
           RECORD messages to stdout = /dev/null; pyarrow installed, so every file goes through the Arrow lane;
- record-noarrow: the same as a default install (no pyarrow) runs it: the reader in the tap's process. pyarrow is
           hidden from the installed tap (a `pyarrow` package on PYTHONPATH that raises ImportError, as a missing
           one does);
- jsonl:   the same with `batch_config` gzip JSONL files in a local directory (BATCH messages to /dev/null);
- parquet: the same with `batch_config` parquet files.

BATCH modes keep the SDK's default `batch_size` (10,000 rows a file), as a user who does not set it gets.
It prints, for every mode, wall and CPU seconds (medians of the runs), rows/s, the ratio of the mode's wall time
to the bare pipeline's, CPU over wall, and the peak memory of the process tree (the sum of each process's peak
resident set, the kernel's VmHWM); it checks the rows each mode wrote. Needs `orjson` and `pyarrow` (the `dev`
extra).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_support import installed_tap, machine

from dockerdvp_simulator import SimConfig, Simulator
from dockerdvp_simulator import data as simdata
from dockerdvp_simulator.catalog import select_only

BARE = r"""
import csv, gzip, os, sys
import orjson
dumps = orjson.dumps
with open(os.devnull, "wb") as out:
    write = out.write
    for path in sys.argv[1:]:
        with gzip.open(path, "rt", newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                write(dumps(row) + b"\n")
"""
# a `pyarrow` that cannot be imported, first on the path: the tap then runs as installed without the extra
NO_PYARROW = 'raise ImportError("pyarrow is hidden from the tap in this benchmark mode")\n'


END = dt.date(2026, 11, 18)  # a Wednesday: the week before is complete
NAMESPACE = "acme"
MODES = ("record", "record-noarrow", "jsonl", "parquet")


@dataclasses.dataclass
class Run:
    wall: float
    cpu: float
    rss_mib: float


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


_TICK = os.sysconf("SC_CLK_TCK")


def _usage(pid: int, not_yet: tuple[bytes, ...]) -> tuple[float, int]:
    """(CPU seconds, peak resident set in KiB) of ``pid`` so far; (0, 0) until it runs its own program (while its
    command line is still one of ``not_yet``, its parent's: between fork and exec it maps the parent's memory, which
    a read then would count again). The peak is the kernel's high-water mark (VmHWM), exact however rarely it is
    read."""
    try:
        if Path(f"/proc/{pid}/cmdline").read_bytes() in not_yet:
            return 0.0, 0
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return cpu, int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0.0, 0


def run_measured(argv: list[str], *, stdout: int, stderr: int | None = None, env: dict[str, str] | None = None) -> Run:
    """Run ``argv``: its wall seconds, and the CPU seconds and peak memory of its whole process tree (the tap and
    any process it starts): each process's CPU time as last seen and its peak resident set (VmHWM), summed, read
    from /proc every 50 ms (a tap that ran alone: its exact CPU time when it exits). These reads are cheap
    (no page-table walk, unlike a PSS from smaps every 10 ms, which cost the tap about a tenth of its wall time on
    two cores): the tap keeps both cores, as the bare loop keeps its one."""
    own = Path(f"/proc/{os.getpid()}/cmdline").read_bytes()
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=env)
    cpu: dict[int, float] = {}
    peaks: dict[int, int] = {}
    root = b""  # the tap's command line, once it runs
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if not root:
            with contextlib.suppress(OSError):
                root = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
                root = b"" if root == own else root
        for member in _tree(proc.pid):
            seconds, peak = _usage(member, (own,) if member == proc.pid else (own, root))
            cpu[member] = max(cpu.get(member, 0.0), seconds)
            peaks[member] = max(peaks.get(member, 0), peak)
        time.sleep(0.05)
    wall = time.perf_counter() - started
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code:
        raise SystemExit(f"{argv[0]} failed with exit code {code}")
    if len(cpu) <= 1:  # one process: its exact CPU time (ru_maxrss is no use: it counts the fork before the exec)
        cpu = {proc.pid: usage.ru_utime + usage.ru_stime}
    return Run(wall, sum(cpu.values()), sum(peaks.values()) / 1024)


def record_count(log: Path) -> int:
    """Records of `pull_events` the tap reported in its METRIC lines."""
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


def batch_rows(root: Path, mode: str) -> int:
    """Rows in the batch files under ``root``."""
    if mode == "parquet":
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(path).metadata.num_rows for path in root.glob("*.parquet"))
    total = 0
    for path in root.glob("*.jsonl.gz"):
        with gzip.open(path, "rb") as lines:
            total += sum(1 for _ in lines)
    return total


def bench(rows: int, files: int, repeat: int, workdir: Path, modes: tuple[str, ...], tap: str) -> dict:
    cfg = SimConfig(namespaces=(NAMESPACE,), weeks=1, rows_per_week=rows, end_date=END, include_partial=False,
                    row_shape="wide", files_per_timespan=files)  # fmt: skip
    ((year, week, _start, _end),) = simdata.complete_timespans(cfg, NAMESPACE, "weeks")
    cache = workdir / f"sim-{rows}-{files}"
    hidden = workdir / "no-pyarrow"
    (hidden / "pyarrow").mkdir(parents=True, exist_ok=True)
    (hidden / "pyarrow" / "__init__.py").write_text(NO_PYARROW)
    with Simulator(cfg, cache_dir=cache) as sim:
        t0 = time.perf_counter()
        sim.pregenerate(views=["raw"], timespan_types=["weeks"])
        exports = sim.export_files(NAMESPACE, "raw", "weeks", year, week)
        size = sum(Path(export["path"]).stat().st_size for export in exports)
        print(
            f"  {rows:,} rows in {files} files: {size / 2**20:.0f} MiB gzip ready in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        base = {
            "username": sim.config.username,
            "password": sim.config.password,
            "api_url": sim.api_url,
            "namespaces": [NAMESPACE],
            "timespan_types": ["weeks"],
        }
        config_path = workdir / "config.json"
        config_path.write_text(json.dumps(base))
        discovered = subprocess.run(
            [tap, "--config", str(config_path), "--discover"], check=True, capture_output=True, text=True
        )
        catalog_path = workdir / "catalog.json"
        catalog_path.write_text(json.dumps(select_only(json.loads(discovered.stdout), ["pull_events"])))

        runs: dict[str, list[Run]] = {"bare": [], **{mode: [] for mode in modes}}
        bare = [sys.executable, "-c", BARE, *(export["path"] for export in exports)]
        with open(os.devnull, "wb") as devnull:
            for i in range(repeat):
                runs["bare"].append(run_measured(bare, stdout=devnull))
                line = [f"    run {i + 1}: bare {runs['bare'][-1].wall:.2f} s"]
                for mode in modes:
                    config = dict(base)
                    fmt = mode.removesuffix("-noarrow")
                    env = None
                    if mode.endswith("-noarrow"):
                        path = os.pathsep.join(filter(None, [str(hidden), os.environ.get("PYTHONPATH")]))
                        env = {**os.environ, "PYTHONPATH": path}
                    root = workdir / f"batches-{rows}-{files}-{mode}-{i}"
                    if fmt != "record":
                        root.mkdir()
                        config["batch_config"] = {  # no batch_size: the SDK's default
                            "encoding": {"format": fmt, **({"compression": "gzip"} if fmt == "jsonl" else {})},
                            "storage": {"root": root.as_uri()},
                        }
                    mode_config = workdir / f"config-{mode}.json"
                    mode_config.write_text(json.dumps(config))
                    log = workdir / f"tap-{rows}-{files}-{mode}-{i}.log"
                    with open(log, "wb") as err:
                        runs[mode].append(
                            run_measured(
                                [tap, "--config", str(mode_config), "--catalog", str(catalog_path)],
                                stdout=devnull,
                                stderr=err.fileno(),
                                env=env,
                            )
                        )
                    written = record_count(log) if fmt == "record" else batch_rows(root, fmt)
                    if written != rows:
                        raise SystemExit(f"the tap wrote {written} {mode} rows, expected {rows} (see {log})")
                    shutil.rmtree(root, ignore_errors=True)
                    line.append(f"{mode} {runs[mode][-1].wall:.2f} s")
                print(", ".join(line), flush=True)
    bare_wall = statistics.median(r.wall for r in runs["bare"])
    return {
        "rows": rows,
        "files": files,
        "modes": {
            name: {
                "wall": statistics.median(r.wall for r in measured),
                "cpu": statistics.median(r.cpu for r in measured),
                "rss": max(r.rss_mib for r in measured),
                "ratio": statistics.median(r.wall for r in measured) / bare_wall,
            }
            for name, measured in runs.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", help="row counts (default: 1000000)")
    parser.add_argument("--files", type=int, nargs="+", help="files the week is split into (default: 1 8 50)")
    parser.add_argument("--quick", action="store_true", help="one 200k-row run in one file (a smoke test)")
    parser.add_argument("--repeat", type=int, help="runs of each pipeline per layout (default 3; 1 with --quick)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES), help="tap modes to run")
    parser.add_argument("--workdir", type=Path, help="keep the generated files and logs here (default: temporary)")
    args = parser.parse_args()
    try:
        import orjson  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        raise SystemExit("the benchmark needs orjson and pyarrow: pip install -e '.[dev]'") from None
    counts = args.rows or ([200_000] if args.quick else [1_000_000])
    layouts = args.files or ([1] if args.quick else [1, 8, 50])
    repeat = args.repeat or (1 if args.quick else 3)

    print(f"machine: {machine()}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-pull-events-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        print("installing the tap as a user does (pip install '.[arrow]' in a venv of its own) ...", flush=True)
        tap = installed_tap(workdir)
        results = [bench(n, f, repeat, workdir, tuple(args.modes), tap) for n in counts for f in layouts]

    print()
    print(
        f"{'rows':>10} | {'files':>5} | {'pipeline':14} | {'wall s':>7} | {'CPU s':>6} | {'CPU/wall':>8} | "
        f"{'rows/s':>10} | {'peak MiB':>8} | vs bare"
    )
    print("-" * 104)
    for r in results:
        for name, m in r["modes"].items():
            tail = f"{m['ratio']:.2f}x" if name != "bare" else ""
            print(
                f"{r['rows']:>10,} | {r['files']:>5} | {name:14} | {m['wall']:7.2f} | {m['cpu']:6.2f} | "
                f"{m['cpu'] / m['wall']:8.2f} | {r['rows'] / m['wall']:10,.0f} | {m['rss']:8.0f} | {tail}"
            )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
