"""Run the Docker Hub simulator as a process.

    dockerdvp-simulator --port 8080 --weeks 6 --namespaces acme,globex
    python -m dockerdvp_simulator --port 0 --url-file sim.url

Prints the base URL and the demo credentials on stderr, writes the URL to ``--url-file`` once it is
listening (atomically: wait until the file exists), and runs until SIGTERM or SIGINT. Every ``SimConfig``
field has a flag; ``--help`` lists them with their defaults.
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

from .data import (
    EMPTY_LISTS,
    EXTENSION_VIEW_PATHS,
    HEADER_STYLES,
    LOGIN_MODES,
    NAMESPACES_ENDPOINTS,
    REPORT_FILE_NAMES,
    REPORT_URL_STYLES,
    ROOT_NAMESPACES,
    ROW_SHAPES,
    WEEK_NUMBERINGS,
    SimConfig,
)
from .server import Simulator


def _csv(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _joined(values: tuple[str, ...]) -> str:
    """A tuple default as its comma-separated flag value (argparse shows it in --help and parses it back)."""
    return ",".join(values)


def build_parser() -> argparse.ArgumentParser:
    d = SimConfig()
    p = argparse.ArgumentParser(
        prog="dockerdvp-simulator",
        description="Local Docker Hub / DVP Data API simulator. Defaults follow Docker's published spec; "
        "options marked (assumption) simulate what the spec does not state.",
        epilog="Control endpoints: /_sim/faults, /_sim/stats, /_sim/clock, /_sim/config, /_sim/token.",
    )
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default %(default)s)")
    p.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default %(default)s)")
    p.add_argument("--url-file", type=Path, help="write the base URL here once listening (default: none)")
    p.add_argument("--cache-dir", type=Path, help="keep generated export files here (default: a temporary dir)")
    p.add_argument("--pregenerate", action="store_true", help="generate all exports before serving")
    p.add_argument("--verbose", action="store_true", help="log every request on stderr")

    g = p.add_argument_group("data")
    g.add_argument("--seed", type=int, default=d.seed, help="data seed (default %(default)s)")
    g.add_argument(
        "--namespaces",
        type=_csv,
        default=_joined(d.namespaces),
        help="comma-separated namespaces the user can read (default %(default)s)",
    )
    g.add_argument(
        "--extension-namespaces",
        type=_csv,
        default=_joined(d.extension_namespaces),
        help="comma-separated namespaces that also have the extensions dataset (default: none)",
    )
    g.add_argument(
        "--repos-per-namespace", type=int, default=d.repos_per_namespace, help="repositories (default %(default)s)"
    )
    g.add_argument("--weeks", type=int, default=d.weeks, help="complete weeks of data (default %(default)s)")
    g.add_argument(
        "--end-date",
        type=date.fromisoformat,
        default=None,
        help="the simulator's today, YYYY-MM-DD (default: today)",
    )
    g.add_argument("--rows-per-week", type=int, default=d.rows_per_week, help="raw rows a week (default %(default)s)")
    g.add_argument(
        "--files-per-timespan",
        type=int,
        default=d.files_per_timespan,
        help="files each export is split into (default %(default)s)",
    )
    g.add_argument(
        "--include-partial",
        action=argparse.BooleanOptionalAction,
        default=d.include_partial,
        help="also list the open week and month (default %(default)s)",
    )
    g.add_argument(
        "--header-style",
        choices=HEADER_STYLES,
        default=d.header_style,
        help="CSV header spelling (assumption: not published) (default %(default)s)",
    )
    g.add_argument(
        "--extra-columns",
        type=_csv,
        default=_joined(d.extra_columns),
        help="comma-separated raw columns after the 16 documented ones, '' for none (default %(default)s)",
    )
    g.add_argument(
        "--row-shape",
        choices=ROW_SHAPES,
        default=d.row_shape,
        help="compact: short values and nulls; wide: all 16 raw columns filled with long values (assumption) "
        "(default %(default)s)",
    )
    g.add_argument(
        "--latin1-rows",
        type=int,
        default=d.latin1_rows,
        help="raw rows per file whose User agent has a non-UTF-8 byte 0xE9 (default %(default)s)",
    )
    g.add_argument(
        "--week-numbering",
        choices=WEEK_NUMBERINGS,
        default=d.week_numbering,
        help="how listed weeks are numbered and which days they hold; first-monday (%%W) and sunday-start "
        "(%%U) simulate a calendar mismatch (default %(default)s)",
    )
    g.add_argument(
        "--extra-listed-weeks",
        default="",
        help="comma-separated YEAR-WEEK pairs also listed, e.g. 2025-53,2026-0; their data view is empty "
        "(assumption) (default: none)",
    )

    a = p.add_argument_group("logins")
    a.add_argument("--username", default=d.username, help="account name (default %(default)s)")
    a.add_argument(
        "--password",
        default=d.password,
        help="the credential to log in with; dckr_pat_... is a personal access token (default %(default)s)",
    )
    a.add_argument("--account-password", default=None, help="the account's password, accepted too (default: none)")
    a.add_argument(
        "--totp-secret", default=None, help="base32 TOTP seed: 2FA for passwords (not for PATs) (default: none)"
    )
    a.add_argument(
        "--pat-two-factor",
        action=argparse.BooleanOptionalAction,
        default=d.pat_two_factor,
        help="challenge personal access tokens with 2FA too; not Docker's behaviour (default %(default)s)",
    )
    a.add_argument(
        "--auth-token-skips-2fa",
        action=argparse.BooleanOptionalAction,
        default=d.auth_token_skips_2fa,
        help="/v2/auth/token accepts a 2FA account's password (assumption) (default %(default)s)",
    )
    a.add_argument(
        "--login-mode",
        choices=LOGIN_MODES,
        default=d.login_mode,
        help="legacy: /v2/users/login works; retired-401/404/410: it answers that status (assumption); "
        "token-only: 410 naming /v2/auth/token (default %(default)s)",
    )
    a.add_argument("--token-ttl", type=int, default=d.token_ttl, help="JWT lifetime, seconds (default %(default)s)")
    a.add_argument(
        "--url-ttl", type=int, default=d.url_ttl, help="presigned URL lifetime, seconds (default %(default)s)"
    )

    h = p.add_argument_group("API responses")
    h.add_argument(
        "--root-namespaces",
        choices=ROOT_NAMESPACES,
        default=d.root_namespaces,
        help="GET / lists namespaces with export data (spec) or every accessible one (default %(default)s)",
    )
    h.add_argument(
        "--namespaces-endpoint",
        choices=NAMESPACES_ENDPOINTS,
        default=d.namespaces_endpoint,
        help="GET /namespaces works, or answers 404 or 405 (assumption) (default %(default)s)",
    )
    h.add_argument(
        "--empty-lists",
        choices=EMPTY_LISTS,
        default=d.empty_lists,
        help="empty arrays as [] (spec) or null (assumption) (default %(default)s)",
    )
    h.add_argument(
        "--metadata-extras",
        action=argparse.BooleanOptionalAction,
        default=d.metadata_extras,
        help="add publisherType and extensionPublisher to NamespaceMetadata (site examples only) (default %(default)s)",
    )
    h.add_argument(
        "--extension-view-path",
        choices=EXTENSION_VIEW_PATHS,
        default=d.extension_view_path,
        help="serve extension views under /pulls/exports, /extensions/exports or both (assumption) "
        "(default %(default)s)",
    )
    h.add_argument(
        "--repos-page-max",
        type=int,
        default=d.repos_page_max,
        help="largest page_size of the repository listing (default %(default)s)",
    )
    h.add_argument(
        "--deleted-repositories",
        type=_csv,
        default=_joined(d.deleted_repositories),
        help="comma-separated ns/repo deleted on Docker Hub: not listed, their past pulls kept (assumption) "
        "(default: none)",
    )
    h.add_argument(
        "--rate-limit", type=int, default=d.rate_limit, help="X-RateLimit-Limit header value (default %(default)s)"
    )

    r = p.add_argument_group("DVP program reports")
    r.add_argument(
        "--report-namespaces",
        type=_csv,
        default=_joined(d.report_namespaces),
        help="comma-separated namespaces whose report catalogue lists reports (default: none)",
    )
    r.add_argument(
        "--empty-export-namespaces",
        type=_csv,
        default=_joined(d.empty_export_namespaces),
        help="comma-separated namespaces without legacy export data (default: none)",
    )
    r.add_argument(
        "--report-only-namespaces",
        type=_csv,
        default=_joined(d.report_only_namespaces),
        help="comma-separated namespaces with reports and no legacy export data (default: none)",
    )
    r.add_argument(
        "--report-types",
        type=_csv,
        default=_joined(d.report_types),
        help="catalogue `type` strings (default %(default)s)",
    )
    r.add_argument(
        "--unknown-report-types",
        type=_csv,
        default=_joined(d.unknown_report_types),
        help="types no tap knows yet (default %(default)s)",
    )
    r.add_argument(
        "--report-granularities",
        type=_csv,
        default=_joined(d.report_granularities),
        help="weekly and/or monthly (default %(default)s)",
    )
    r.add_argument(
        "--report-retention",
        type=int,
        default=d.report_retention,
        help="newest N reports per type and granularity (default %(default)s)",
    )
    r.add_argument(
        "--report-url-style",
        choices=REPORT_URL_STYLES,
        default=d.report_url_style,
        help="hub: Bearer on the Hub host; presigned: another host; redirect: hub -> storage (default %(default)s)",
    )
    r.add_argument(
        "--report-file-names",
        choices=REPORT_FILE_NAMES,
        default=d.report_file_names,
        help="assumption: typed: the type in the file name; folders: a folder per type, one file name for every "
        "type (default %(default)s)",
    )
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
