"""Run the Docker Hub simulator as a process.

    python -m dockerdvp_simulator --port 0 --url-file sim.url --weeks 6 --namespaces acme,globex

Prints the base URL and the demo credentials on stderr, writes the URL to ``--url-file`` once it is
listening (atomically: wait until the file exists), and runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import threading
from datetime import date
from pathlib import Path

from .data import HEADER_STYLES, LOGIN_MODES, REPORT_URL_STYLES, SimConfig
from .server import Simulator


def _csv(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def build_parser() -> argparse.ArgumentParser:
    d = SimConfig()
    p = argparse.ArgumentParser(prog="dockerdvp-simulator", description="Local Docker Hub / DVP Data API simulator.")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    p.add_argument("--url-file", type=Path, help="write the base URL here once listening")
    p.add_argument("--cache-dir", type=Path, help="keep generated export files here (default: temp)")
    p.add_argument("--pregenerate", action="store_true", help="generate all exports before serving")
    p.add_argument("--verbose", action="store_true", help="log every request on stderr")
    g = p.add_argument_group("data (SimConfig)")
    g.add_argument("--seed", type=int, default=d.seed)
    g.add_argument("--namespaces", type=_csv, default=d.namespaces, help="comma-separated")
    g.add_argument(
        "--extension-namespaces",
        type=_csv,
        default=d.extension_namespaces,
        help="comma-separated namespaces that also have the extensions dataset",
    )
    g.add_argument("--repos-per-namespace", type=int, default=d.repos_per_namespace)
    g.add_argument("--weeks", type=int, default=d.weeks, help="complete weeks of data")
    g.add_argument(
        "--end-date",
        type=date.fromisoformat,
        default=None,
        help="the simulator's today, YYYY-MM-DD (default: today)",
    )
    g.add_argument("--rows-per-week", type=int, default=d.rows_per_week)
    g.add_argument("--files-per-timespan", type=int, default=d.files_per_timespan)
    g.add_argument(
        "--include-partial",
        action=argparse.BooleanOptionalAction,
        default=d.include_partial,
        help="also list the open week and month",
    )
    g.add_argument("--header-style", choices=HEADER_STYLES, default=d.header_style)
    g.add_argument(
        "--extra-columns",
        type=_csv,
        default=d.extra_columns,
        help="comma-separated extra raw columns ('' for none)",
    )
    g.add_argument("--username", default=d.username)
    g.add_argument("--password", default=d.password)
    g.add_argument("--totp-secret", default=None, help="base32 TOTP seed: enables 2FA on login")
    g.add_argument("--login-mode", choices=LOGIN_MODES, default=d.login_mode)
    g.add_argument("--token-ttl", type=int, default=d.token_ttl, help="JWT lifetime, seconds")
    g.add_argument("--url-ttl", type=int, default=d.url_ttl, help="presigned URL lifetime, seconds")
    g.add_argument("--repos-page-max", type=int, default=d.repos_page_max)
    g.add_argument("--rate-limit", type=int, default=d.rate_limit, help="X-RateLimit-Limit value")
    r = p.add_argument_group("DVP program reports (SimConfig)")
    r.add_argument("--report-namespaces", type=_csv, default=d.report_namespaces, help="namespaces with reports")
    r.add_argument(
        "--empty-export-namespaces",
        type=_csv,
        default=d.empty_export_namespaces,
        help="namespaces whose legacy export answers with no data",
    )
    r.add_argument("--report-types", type=_csv, default=d.report_types, help="catalogue `type` strings")
    r.add_argument("--unknown-report-types", type=_csv, default=d.unknown_report_types)
    r.add_argument("--report-granularities", type=_csv, default=d.report_granularities, help="weekly,monthly")
    r.add_argument("--report-retention", type=int, default=d.report_retention, help="newest N per type")
    r.add_argument("--report-url-style", choices=REPORT_URL_STYLES, default=d.report_url_style)
    return p


def config_from_args(args: argparse.Namespace) -> SimConfig:
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(SimConfig)}
    if values["end_date"] is None:
        values["end_date"] = date.today()
    return SimConfig(**values)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
        sim = Simulator(config, host=args.host, port=args.port, cache_dir=args.cache_dir, verbose=args.verbose)
    except ValueError as exc:
        print(f"dockerdvp-simulator: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    sim.start()
    try:
        if args.pregenerate:
            print(f"pregenerated {sim.pregenerate()} export files", file=sys.stderr)
        if args.url_file:
            tmp = args.url_file.with_name(args.url_file.name + ".tmp")
            tmp.write_text(sim.url + "\n")
            os.replace(tmp, args.url_file)
        print(
            f"Docker Hub simulator listening on {sim.url}\n"
            f"  DVP API:  {sim.api_url}\n"
            f"  username: {config.username}\n"
            f"  password: {config.password}\n"
            f"  today:    {config.end_date}  namespaces: {','.join(config.namespaces)}",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(0.5):
            pass
    finally:
        sim.stop()
        if args.url_file:
            args.url_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
