"""The simulator's data shapes: wide rows, non-UTF-8 bytes, week numbering, bogus listed weeks, and its CLI."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import re
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from sim_process import wait_for_url
from test_simulator import export_urls, http_get, login, small

from dockerdvp_simulator import SimConfig
from dockerdvp_simulator import data as simdata
from dockerdvp_simulator.__main__ import build_parser, config_from_args

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
NULLS = ("", "\\N", "null", "NULL")


def file_rows(sim, session, path: str, encoding: str = "utf-8") -> list[list[list[str]]]:
    """Rows (header first) of every file of an export view, decoded with ``encoding``."""
    out = []
    for f in export_urls(session, sim, path):
        text = gzip.decompress(http_get(f["url"]).content).decode(encoding)
        out.append(list(csv.reader(io.StringIO(text, newline=""))))
    return out


# --------------------------------------------------------------------------------------------------
# row_shape
# --------------------------------------------------------------------------------------------------
def test_wide_rows_fill_every_column_with_long_values(simulator):
    sim = simulator(small(row_shape="wide", rows_per_week=2000))
    s = login(sim)
    [[header, *rows]] = file_rows(sim, s, "acme/pulls/exports/years/2026/weeks/2/raw")
    assert len(rows) == 2000 and header[:16] == [simdata.TITLE_HEADERS[c] for c in simdata.RAW_COLUMNS]
    col = {name: i for i, name in enumerate(simdata.RAW_COLUMNS)}
    for r in rows:
        assert all(v not in NULLS for v in r[:16]), r
        assert 100 <= len(r[col["user_agent_tool"]]) <= 200
        assert DIGEST.match(r[col["digest"]])
        assert len(r[col["domain"]]) >= 50 and len(r[col["owner"]]) >= 40
        if r[col["action"]] == "pull_by_digest":
            assert r[col["reference"]] == r[col["digest"]]
        else:
            assert r[col["reference"]] == r[col["tag"]] and len(r[col["tag"]]) >= 30
        assert r[col["http_method"]] == ("HEAD" if r[col["action"]] == "version_check" else "GET")
    assert {r[col["action"]] for r in rows} == {"pull_by_tag", "pull_by_digest", "version_check"}
    assert any("," in r[col["user_agent_tool"]] for r in rows)  # quoted fields (Mozilla/5.0 (KHTML, like Gecko))
    assert len({r[col["user_agent_tool"]] for r in rows}) > 100
    # The summaries still add up to the raw rows.
    [[_h, *repo_rows]] = file_rows(sim, s, "acme/pulls/exports/years/2026/weeks/2/repo-summary")
    actions = Counter(r[col["action"]] for r in rows)
    assert sum(int(r[3]) for r in repo_rows) == actions["pull_by_tag"]
    assert sum(int(r[4]) for r in repo_rows) == actions["pull_by_digest"]
    assert all(v not in NULLS for r in repo_rows for v in r)


def test_wide_rows_are_deterministic_and_differ_from_compact(tmp_path):
    wide = small(row_shape="wide")
    for name in ("a", "b"):
        simdata.write_export_file(wide, "globex", "raw", "weeks", 2026, 2, 0, tmp_path / f"{name}.gz")
    simdata.write_export_file(small(), "globex", "raw", "weeks", 2026, 2, 0, tmp_path / "compact.gz")
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()
    assert (tmp_path / "a.gz").read_bytes() != (tmp_path / "compact.gz").read_bytes()
    # The file holds exactly what the generator says.
    text = gzip.decompress((tmp_path / "a.gz").read_bytes()).decode()
    [_header, *rows] = list(csv.reader(io.StringIO(text, newline="")))
    start, end = simdata.timespan_bounds("weeks", 2026, 2)
    assert rows == [list(r.values()) for r in simdata.raw_rows(wide, "globex", start, end)]


# --------------------------------------------------------------------------------------------------
# latin1_rows
# --------------------------------------------------------------------------------------------------
def test_latin1_rows_carry_a_non_utf8_byte_where_the_generator_says(simulator):
    cfg = small(latin1_rows=3, files_per_timespan=2, rows_per_week=700)
    sim = simulator(cfg)
    s = login(sim)
    files = export_urls(s, sim, "acme/pulls/exports/years/2026/weeks/2/raw")
    assert len(files) == 2
    ua = simdata.RAW_COLUMNS.index("user_agent_tool")
    for index, f in enumerate(files):
        blob = gzip.decompress(http_get(f["url"]).content)
        with pytest.raises(UnicodeDecodeError):
            blob.decode("utf-8")
        assert blob.count(b"caf\xe9)") == 3 and b"caf\xc3\xa9" not in blob
        cells = simdata.latin1_cells(cfg, "acme", "weeks", 2026, 2, index)
        assert [c["column"] for c in cells] == ["user_agent_tool"] * 3
        assert {c["raw"] for c in cells} == {b"Mozilla/5.0 (Macintosh; caf\xe9)"}
        assert {c["text"] for c in cells} == {"Mozilla/5.0 (Macintosh; café)"}
        [_header, *rows] = list(csv.reader(io.StringIO(blob.decode("cp1252"), newline="")))
        odd = {i + 1 for i, r in enumerate(rows) if r[ua] == simdata.LATIN1_USER_AGENT}
        assert odd == {c["row_number"] for c in cells}
        # Everything else is the plain generated row; iter_export_rows gives the file as text.
        generated = [list(r) for batch in simdata.iter_export_rows(cfg, "acme", "raw", "weeks", 2026, 2, index)
                     for r in batch]  # fmt: skip
        assert generated == rows
        plain = dataclasses.replace(cfg, latin1_rows=0)
        plain_rows = [list(r) for b in simdata.iter_export_rows(plain, "acme", "raw", "weeks", 2026, 2, index)
                      for r in b]  # fmt: skip
        assert [i for i, (a, b) in enumerate(zip(rows, plain_rows, strict=True)) if a != b] == sorted(
            n - 1 for n in odd
        )
    # Summaries are not touched, and without the option the file is UTF-8.
    assert simdata.latin1_cells(small(), "acme", "weeks", 2026, 2, 0) == []
    plain_sim = simulator(small(files_per_timespan=2, rows_per_week=700))
    [f, _g] = export_urls(login(plain_sim), plain_sim, "acme/pulls/exports/years/2026/weeks/2/raw")
    gzip.decompress(http_get(f["url"]).content).decode("utf-8")


def test_latin1_rows_more_than_the_file_has():
    cfg = small(latin1_rows=50, rows_per_week=14, weeks=1)
    [(year, week, _s, _e)] = simdata.complete_timespans(cfg, "acme", "weeks")
    cells = simdata.latin1_cells(cfg, "acme", "weeks", year, week, 0)
    assert [c["row_number"] for c in cells] == list(range(1, 15))
    with pytest.raises(ValueError, match="latin1_rows"):
        SimConfig(latin1_rows=-1)


# --------------------------------------------------------------------------------------------------
# week_numbering and extra_listed_weeks
# --------------------------------------------------------------------------------------------------
def test_first_monday_numbering_lists_weeks_that_are_not_iso_weeks(simulator):
    # 2026-01-01 is a Thursday: %W week 0 is 1-4 January, week 1 is 5-11 January (= ISO week 2).
    sim = simulator(small(week_numbering="first-monday"))
    s = login(sim)
    years = sim.api_url + "/namespaces/acme/pulls/exports/years"
    assert s.get(years + "/2025/weeks").json() == {"weeks": [{"week": 50}, {"week": 51}, {"week": 52}]}
    assert s.get(years + "/2026/weeks").json() == {"weeks": [{"week": w} for w in (0, 1, 2, 3)]}
    assert s.get(years + "/2026/weeks/0").json() == {"week": 0}
    [[_h, *week1]] = file_rows(sim, s, "acme/pulls/exports/years/2026/weeks/1/raw")
    days = {date.fromisoformat(r[1]) for r in week1}
    assert days == {date(2026, 1, 5) + timedelta(d) for d in range(7)}
    assert {d.isocalendar()[1] for d in days} == {2}  # listed week 1 holds ISO week 2
    [[_h, *week0]] = file_rows(sim, s, "acme/pulls/exports/years/2026/weeks/0/raw")
    assert {r[1] for r in week0} == {f"2026-01-0{d}" for d in range(1, 5)}
    # 2025's last %W week stops on 31 December: no week crosses a year.
    [[_h, *week52]] = file_rows(sim, s, "acme/pulls/exports/years/2025/weeks/52/raw")
    assert {r[1] for r in week52} == {"2025-12-29", "2025-12-30", "2025-12-31"}
    assert simdata.expected_rows(sim.config, "acme", "raw", "weeks", 2026, 1) == len(week1)
    # The pull statistics still use Monday-to-Sunday weeks.
    pulls = s.get(sim.api_url + "/namespaces/acme/pulls?timespan=weeks").json()["pulls"]
    assert {date.fromisoformat(p["start"][:10]).weekday() for p in pulls} == {0}


def test_sunday_start_numbering(simulator):
    sim = simulator(small(week_numbering="sunday-start"))
    s = login(sim)
    # 2026: first Sunday is 4 January, so week 1 is Sunday 4 to Saturday 10 January.
    assert simdata.timespan_bounds("weeks", 2026, 1, "sunday-start") == (date(2026, 1, 4), date(2026, 1, 10))
    [[_h, *rows]] = file_rows(sim, s, "acme/pulls/exports/years/2026/weeks/1/raw")
    days = sorted({date.fromisoformat(r[1]) for r in rows})
    assert days[0].weekday() == 6 and days[-1].weekday() == 5 and len(days) == 7
    listed = s.get(sim.api_url + "/namespaces/acme/pulls/exports/years/2026/weeks").json()["weeks"]
    assert listed == [{"week": w} for w in (0, 1, 2, 3)]
    with pytest.raises(ValueError, match="no week 54"):
        simdata.timespan_bounds("weeks", 2026, 54, "sunday-start")


def test_extra_listed_weeks(simulator):
    sim = simulator(small(extra_listed_weeks=((2025, 53), (2026, 0), (2024, 60), (2026, 2))))
    s = login(sim)
    years = sim.api_url + "/namespaces/acme/pulls/exports/years"
    assert s.get(years).json() == {"years": [{"year": 2024}, {"year": 2025}, {"year": 2026}]}
    assert s.get(years + "/2025/weeks").json() == {"weeks": [{"week": w} for w in (51, 52, 53)]}
    assert s.get(years + "/2026/weeks").json() == {"weeks": [{"week": w} for w in (0, 1, 2, 3, 4)]}
    assert s.get(years + "/2025/weeks/53").json() == {"week": 53}
    assert s.get(years + "/2025/weeks/53/raw").json() == {"data": []}
    assert s.get(years + "/2024/weeks/60/summary").json() == {"data": []}
    assert len(s.get(years + "/2026/weeks/2/raw").json()["data"]) == 1  # a real week listed twice stays real
    assert s.get(years + "/2025/months").json() == {"months": [{"month": 12}]}  # weeks only
    assert s.get(years + "/2025/weeks/54").status_code == 404
    # A namespace without export data lists none of them.
    none = simulator(small(extra_listed_weeks=((2025, 53),), empty_export_namespaces=("acme",)))
    assert login(none).get(none.api_url + "/namespaces/acme/pulls/exports/years").json() == {"years": []}


def test_extra_listed_weeks_parsing():
    assert SimConfig(extra_listed_weeks="2025-53, 2026-0").extra_listed_weeks == ((2025, 53), (2026, 0))
    assert SimConfig(extra_listed_weeks=[[2025, 53]]).extra_listed_weeks == ((2025, 53),)
    cfg = SimConfig(extra_listed_weeks=((2025, 53),), week_numbering="sunday-start")
    assert SimConfig(**cfg.to_json()) == cfg
    with pytest.raises(ValueError):
        SimConfig(extra_listed_weeks="2025-x")
    with pytest.raises(ValueError, match="week_numbering"):
        SimConfig(week_numbering="us")


# --------------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------------
def test_every_config_field_has_a_flag_with_help_and_default():
    parser = build_parser()
    by_dest = {a.dest: a for a in parser._actions}
    for field in dataclasses.fields(SimConfig):
        action = by_dest[field.name]
        assert action.help and "default" in action.help, field.name
    for action in parser._actions:
        if action.dest not in ("help", "pregenerate", "verbose"):
            assert "default" in (action.help or ""), action.dest
    defaults = config_from_args(parser.parse_args([]))
    assert defaults == SimConfig(end_date=defaults.end_date)
    shown = {dest: (by_dest[dest].help or "") % vars(by_dest[dest]) for dest in by_dest}
    assert shown["root_namespaces"].endswith("(default with-data)")
    assert shown["namespaces"].endswith("(default acme,globex)") and shown["week_numbering"].endswith("(default iso)")
    assert "dockerdvp-simulator" in parser.format_help()


def test_cli_flags_reach_the_config(tmp_path):
    url_file = tmp_path / "sim.url"
    cmd = [sys.executable, "-m", "dockerdvp_simulator", "--port", "0", "--url-file", str(url_file),
           "--end-date", "2026-01-20", "--weeks", "2", "--report-only-namespaces", "globex",
           "--root-namespaces", "accessible", "--namespaces-endpoint", "405", "--empty-lists", "null",
           "--metadata-extras", "--extension-namespaces", "acme", "--extension-view-path", "both",
           "--account-password", "pw", "--totp-secret", "GEZDGNBVGY3TQOJQ", "--pat-two-factor",
           "--auth-token-skips-2fa", "--login-mode", "retired-404", "--row-shape", "wide",
           "--latin1-rows", "2", "--week-numbering", "first-monday",
           "--extra-listed-weeks", "2025-53,2026-0"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = wait_for_url(proc, url_file, timeout=20, output=lambda: proc.stderr.read() if proc.stderr else "")
        cfg = SimConfig(**http_get(url + "/_sim/config").json())
    finally:
        proc.terminate()
        _out, _err = proc.communicate(timeout=10)  # also closes the stderr pipe
    assert proc.returncode == 0
    assert cfg.report_namespaces == cfg.empty_export_namespaces == cfg.report_only_namespaces == ("globex",)
    assert (cfg.root_namespaces, cfg.namespaces_endpoint, cfg.empty_lists) == ("accessible", "405", "null")
    assert cfg.metadata_extras and cfg.extension_view_path == "both" and cfg.extension_namespaces == ("acme",)
    assert (cfg.account_password, cfg.totp_secret) == ("pw", "GEZDGNBVGY3TQOJQ")
    assert cfg.pat_two_factor and cfg.auth_token_skips_2fa and cfg.login_mode == "retired-404"
    assert (cfg.row_shape, cfg.latin1_rows, cfg.week_numbering) == ("wide", 2, "first-monday")
    assert cfg.extra_listed_weeks == ((2025, 53), (2026, 0))
    assert not Path(url_file).exists()
