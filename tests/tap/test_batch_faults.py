"""BATCH mode under every fault the simulator has: the batch files hold each row exactly once, and the state is a
clean run's.

A file read again after damage found late (a cut last line, a bad CRC, an error page) must skip the rows already
in finished batch files: they were handed to the target in BATCH messages and cannot be taken back. The source
files here hold 2,100 rows and ``batch_size`` is 1,000, so two batch files are finished before the damage shows.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tap_harness import TapOutput, catalog_selecting, read_batch_file, run_tap, tap_config, weekly_trends

from dockerdvp_simulator import SimConfig, Simulator
from dockerdvp_simulator import data as simdata
from dockerdvp_simulator.faults import FAULT_KINDS

pytest.importorskip("pyarrow.parquet", reason="pyarrow is in the dev extra (tap-dockerdvp[parquet])")

END = dt.date(2026, 11, 18)
BATCH_SIZE = 1000
STREAMS = ["timespans", "pull_events", "reports", "report_trends"]
EXPORT_FILES = "/_storage/exports/"  # a path fragment only export downloads have (report files: `report-download`)


def sim_config(**overrides: t.Any) -> SimConfig:
    """acme: the legacy export; globex: reports (on the Hub's host)."""
    return weekly_trends(
        **{"namespaces": ("acme", "globex"), "report_retention": 2, "rows_per_week": 2100, **overrides}
    )


def batch_config(root: Path, fmt: str, batch_size: int = BATCH_SIZE) -> dict[str, t.Any]:
    encoding = {"format": fmt, "compression": "gzip"} if fmt == "jsonl" else {"format": fmt}
    return {"encoding": encoding, "storage": {"root": root.as_uri(), "prefix": "b-"}, "batch_size": batch_size}


def run_batch(
    sim: Simulator,
    root: Path,
    fmt: str,
    state: dict | None = None,
    batch_size: int = BATCH_SIZE,
    streams: t.Sequence[str] = STREAMS,
    **settings: t.Any,
) -> TapOutput:
    batches = batch_config(root, fmt, batch_size)
    config = tap_config(sim, timespan_types=["weeks"], late_data_grace_days=3650, batch_config=batches, **settings)
    return run_tap(config, catalog=catalog_selecting(config, streams), state=state)


def batch_files(out: TapOutput, fmt: str, batch_size: int = BATCH_SIZE) -> dict[str, list[list[dict[str, t.Any]]]]:
    """The rows of each batch file the BATCH messages name, by stream, in message order."""
    files: dict[str, list[list[dict[str, t.Any]]]] = {}
    for message in out.messages:
        assert message["type"] != "RECORD", "BATCH mode wrote a RECORD message"
        if message["type"] != "BATCH":
            continue
        for url in message["manifest"]:
            rows = read_batch_file(url, fmt)
            assert 0 < len(rows) <= batch_size, f"{Path(urlsplit(url).path).name}: {len(rows)} rows"
            files.setdefault(message["stream"], []).append(rows)
    return files


def rows_by_key(out: TapOutput, fmt: str) -> dict[str, dict[tuple, dict[str, t.Any]]]:
    """Every stream's rows by primary key; a key twice fails."""
    keys = {stream: message["key_properties"] for stream, message in out.schemas().items()}
    found: dict[str, dict[tuple, dict[str, t.Any]]] = {}
    for stream, files in batch_files(out, fmt).items():
        rows = found.setdefault(stream, {})
        for file in files:
            for row in file:
                key = tuple(row[k] for k in keys[stream])
                assert key not in rows, f"{stream}: {key} written twice"
                rows[key] = row
    return found


def expected_pull_event_keys(cfg: SimConfig) -> set[tuple]:
    return {
        ("acme", "weeks", y, n, 0, row)
        for y, n, _s, _e in simdata.complete_timespans(cfg, "acme", "weeks")
        for row in range(1, simdata.expected_rows(cfg, "acme", "raw", "weeks", y, n) + 1)
    }


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[dict[str, tuple[dict, dict]]]:
    """(rows by key, final state) of a run without faults, per format."""
    cfg = sim_config()
    out: dict[str, tuple[dict, dict]] = {}
    with Simulator(cfg) as sim:
        for fmt in ("jsonl", "parquet"):
            run = run_batch(sim, tmp_path_factory.mktemp(f"clean-{fmt}"), fmt)
            rows = rows_by_key(run, fmt)
            assert set(rows["pull_events"]) == expected_pull_event_keys(cfg)
            assert rows.keys() == set(STREAMS)
            out[fmt] = rows, run.final_state
    yield out


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
@pytest.mark.parametrize(
    ("kind", "times", "rows", "batch_size"),
    [
        ("cut_csv", 1, 2100, 1000),  # the last line cut: 2 x 2,100 rows in files of 1,000, 1,000 and 100, not 6,200
        ("corrupt_gzip", 2, 25_000, 10_000),  # the CRC at the end of 1.3 MB, twice: a second re-read loses nothing
    ],
)
def test_a_file_read_again_repeats_no_row_of_its_finished_batch_files(
    simulator, tmp_path, fmt: str, kind: str, times: int, rows: int, batch_size: int
) -> None:
    """The first week's file damaged, found once some of its batch files were finished."""
    cfg = sim_config(rows_per_week=rows, namespaces=("acme",), report_only_namespaces=())
    sim = simulator(cfg)
    sim.add_fault({"match": EXPORT_FILES, "kind": kind, "times": times})
    out = run_batch(sim, tmp_path, fmt, batch_size=batch_size, streams=["timespans", "pull_events"])
    assert sim.stats["faults"] == {kind: times}
    files = batch_files(out, fmt, batch_size)["pull_events"]
    weeks = [(n, simdata.expected_rows(cfg, "acme", "raw", "weeks", y, n)) for y, n, _s, _e in
             simdata.complete_timespans(cfg, "acme", "weeks")]  # fmt: skip
    assert len(weeks) == 2 and all(total == rows for _n, total in weeks)
    # each week's rows in order, cut at every batch_size rows: a re-read neither repeats nor drops one
    expected = [
        [(week, row) for row in range(first, min(first + batch_size, total + 1))]
        for week, total in weeks
        for first in range(1, total + 1, batch_size)
    ]
    assert [[(r["timespan"], r["row_number"]) for r in file] for file in files] == expected


def on_files(kind: str, **fields: t.Any) -> list[dict[str, t.Any]]:
    """The fault on the first export file and on the first report file."""
    return [{"match": EXPORT_FILES, "kind": kind, **fields}, {"match": "report-download", "kind": kind, **fields}]


# One fault of each kind where it does harm (rules, tap settings); `after` lets the first file through when the
# fault is damage found only at the end of a file, so the second one is read again.
FAULTS: dict[str, tuple[list[dict[str, t.Any]], dict[str, t.Any]]] = {
    "status": ([*on_files("status", status=503), {"match": "reports", "kind": "status", "status": 502}], {}),
    "rate_limit": ([{"match": "download", "kind": "rate_limit", "retry_after": 0, "times": 2}], {}),
    "reset": (on_files("reset"), {}),
    "truncate": (on_files("truncate", fraction=0.6), {}),
    "corrupt_gzip": ([{"match": EXPORT_FILES, "kind": "corrupt_gzip", "after": 1}], {}),  # report files: plain CSV
    "cut_csv": (on_files("cut_csv", after=1), {}),
    "expire_url": (on_files("expire_url"), {}),
    "expire_token": (
        [{"match": "exports", "kind": "expire_token"}, {"match": "report-download", "kind": "expire_token"}],
        {},
    ),
    "html": (on_files("html"), {}),
    "slow": ([{"match": EXPORT_FILES, "kind": "slow", "seconds": 1.5}], {"request_timeout": 1}),  # a read timeout
    "late_view": ([{"match": "exports", "kind": "late_view"}], {}),  # held back; the next run reads it
    "late_report": ([{"match": "report-download", "kind": "late_report", "times": 2}], {}),  # 404, and again
}


def test_every_fault_kind_is_covered() -> None:
    assert set(FAULTS) == set(FAULT_KINDS)


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_a_fault_in_batch_mode_loses_and_repeats_no_row(simulator, tmp_path, clean, kind: str, fmt: str) -> None:
    rules, settings = FAULTS[kind]
    want_rows, want_state = clean[fmt]
    sim = simulator(sim_config())
    sim.add_fault(rules)
    runs = [run_batch(sim, tmp_path / "first", fmt, **settings)]
    assert sim.stats["faults"] == {kind: sum(rule.get("times", 1) for rule in rules)}
    if kind.startswith("late_"):  # the late period's rows are missing and its bookmark stays before it ...
        first = rows_by_key(runs[0], fmt)
        assert any(want.keys() - first.get(stream, {}).keys() for stream, want in want_rows.items())
        assert runs[0].final_state != want_state
        runs.append(run_batch(sim, tmp_path / "second", fmt, state=runs[0].final_state))  # ... until the next run
    got: dict[str, set[tuple]] = {}
    for run in runs:  # each run writes each row once; a period read again by the next run has the same rows
        for stream, rows in rows_by_key(run, fmt).items():
            differing = [key for key, row in rows.items() if want_rows[stream].get(key) != row]
            assert not differing, f"{stream}: {len(differing)} rows unexpected or differing, e.g. {differing[0]}"
            got.setdefault(stream, set()).update(rows)
    assert got == {stream: set(rows) for stream, rows in want_rows.items()}, "rows lost"
    assert runs[-1].final_state == want_state
