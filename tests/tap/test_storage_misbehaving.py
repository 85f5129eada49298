"""Storage that misbehaves in ways only a timeout or a check can catch: a body that stalls for good, and a file
replaced while it was being downloaded.

Docker's listing points the tap at a scripted storage host (tests/support/scripted_storage.py): a ``status`` fault
answers the listing with its URL, as Docker answers with a presigned URL on S3.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import time
from pathlib import Path

import pytest
from scripted_storage import Answer, ScriptedStorage
from tap_harness import catalog_selecting, run_tap, tap_config, weekly_trends

from dockerdvp_simulator import SimConfig
from dockerdvp_simulator import data as simdata
from dockerdvp_simulator import reports as simreports

END = dt.date(2026, 11, 18)
SIGNED = "?X-Amz-Expires=21600&X-Amz-Signature=0123abcd"  # never looked at: the path picks the script


def test_a_body_that_stalls_for_good_is_ended_by_the_timeout_and_resumed(simulator, caplog) -> None:
    """1.2 MB of a 1.5 MB file, then silence on an open connection: only the read timeout (`request_timeout`)
    ends it; the download resumes from the bytes the tap had (a Range request), and every row arrives once."""
    cfg = SimConfig(namespaces=("acme",), weeks=1, rows_per_week=30_000, end_date=END, include_partial=False)
    sim = simulator(cfg)
    [(year, week, _start, _end)] = simdata.complete_timespans(cfg, "acme", "weeks")
    [served] = sim.export_files("acme", "raw", "weeks", year, week)
    body = Path(served["path"]).read_bytes()
    stall = len(body) * 4 // 5
    assert stall > 1 << 20  # past the tap's first block of a download, so there is something to resume from
    with ScriptedStorage() as storage:
        stalled = Answer(body, '"v1"', stall_at=stall, stall_seconds=20)  # longer than the test allows the run
        storage.script("/exports/pulls.csv.gz", [stalled, Answer(body, '"v1"')])
        url = storage.url + "/exports/pulls.csv.gz" + SIGNED
        sim.add_fault(
            {"match": f"/weeks/{week}/raw$", "kind": "status", "status": 200, "times": None,
             "body": {"data": [{"url": url, "size": len(body)}]}}
        )  # fmt: skip
        config = tap_config(sim, timespan_types=["weeks"], request_timeout=1)
        started = time.monotonic()
        with caplog.at_level(logging.INFO):
            out = run_tap(config, catalog=catalog_selecting(config, ["timespans", "pull_events"]))
        elapsed = time.monotonic() - started
        ranges = [r.range for r in storage.requests]
    assert elapsed < 10, f"the stalled body held the run for {elapsed:.0f} s: no read timeout"
    rows = [r["row_number"] for r in out.records["pull_events"]]
    assert rows == list(range(1, simdata.expected_rows(cfg, "acme", "raw", "weeks", year, week) + 1))
    assert len(ranges) == 2 and ranges[0] is None, ranges
    resumed_at = int(ranges[1].removeprefix("bytes=").removesuffix("-"))
    assert 0 < resumed_at <= stall
    assert f"resuming the download at byte {resumed_at}" in caplog.text


@pytest.mark.parametrize("rows", [400, 700_000], ids=["changed before any row", "changed after rows went out"])
def test_a_file_replaced_while_it_downloads_is_read_again_whole_not_spliced(simulator, caplog, rows) -> None:
    """The download breaks off; the resumed request gets the new version (another ETag) of the file. Appending
    its tail to the old head would make rows of two versions (report files are plain CSV, so nothing else would
    notice): the tap reads the new version from its first byte, and sends again, with their keys, the rows of the
    old version it had sent, so a target that upserts holds the new version only."""
    cfg = weekly_trends(weeks=1, rows_per_week=rows, end_date=END)
    sim = simulator(cfg)
    [entry] = simreports.catalogue_entries(cfg, "globex")
    old = simreports.report_csv(cfg, "globex", "trend", "weekly", entry["start"])
    cut = len(old) * 3 // 4  # past the rows the tap reads ahead of what it sends, in the larger file
    # Docker regenerated the report: some countries corrected, every line as long as before, so a splice of the
    # two versions is a well-formed file that no other check can tell from a good one
    new = old.replace(b",US,", b",CA,")
    assert len(new) == len(old) and old[:cut].count(b",US,") and old[cut:].count(b",US,")
    path = f"/reports/{entry['name']}"
    with ScriptedStorage() as storage:
        storage.script(path, [Answer(old, '"old"', cut_at=cut), Answer(new, '"new"')])
        sim.add_fault(
            {"match": "reports", "kind": "status", "status": 200, "times": None,
             "body": {"reports": [{"type": "trend", "url": storage.url + path + SIGNED, "name": entry["name"]}]}}
        )  # fmt: skip
        config = tap_config(sim, data_source="reports")
        with caplog.at_level(logging.INFO):
            out = run_tap(config, catalog=catalog_selecting(config, ["reports", "report_trends"]))
        ranges = [r.range for r in storage.requests]
    nulls = {"", "null", "NULL", "Null", "\\N", "\\\\N"}  # the tap's null tokens
    want = [
        (r["IMAGE_REPOSITORY"], None if r["IP_COUNTRY"] in nulls else r["IP_COUNTRY"], int(r["PULLS"]))
        for r in csv.DictReader(io.StringIO(new.decode()))
    ]
    upserted = {r["row_number"]: r for r in out.records["report_trends"]}  # the last row sent with a key wins
    got = [(r["image_repository"], r["ip_country"], r["pulls"]) for _n, r in sorted(upserted.items())]
    assert got == want, "rows of the old version"
    assert sorted(upserted) == list(range(1, len(want) + 1))
    sent_before = len(out.records["report_trends"]) - len(want)
    assert (sent_before > 0) == (rows > 400)  # the larger file had sent old rows before the change was seen
    assert ranges == [None, f"bytes={cut}-", None]  # resumed, refused (another version), then read from byte 0
    assert "the file changed while it was being downloaded" in caplog.text


@pytest.mark.parametrize("host", ["dvp-files.invalid", "127.0.0.1:{port}"], ids=["does not resolve", "refuses"])
def test_a_file_host_that_cannot_be_reached_ends_the_run_within_seconds_naming_it(simulator, host) -> None:
    """A file host no connection can be made to was retried like a broken download: nine tries over 7.5 minutes
    with the default settings, then a line naming neither the cause nor the host. It gets the connect budget an
    API host gets (about 10 s)."""
    from cli_support import closed_port
    from tap_harness import run_tap_until_error

    from tap_dockerdvp.errors import DownloadError

    cfg = SimConfig(namespaces=("acme",), weeks=1, rows_per_week=50, end_date=END, include_partial=False)
    sim = simulator(cfg)
    [(_year, week, _start, _end)] = simdata.complete_timespans(cfg, "acme", "weeks")
    host = host.format(port=closed_port())
    url = f"http://{host}/exports/pulls.csv.gz{SIGNED}"
    sim.add_fault({"match": f"/weeks/{week}/raw$", "kind": "status", "status": 200, "times": None,
                   "body": {"data": [{"url": url, "size": 1000}]}})  # fmt: skip
    config = tap_config(sim, timespan_types=["weeks"])
    del config["retry_base_seconds"], config["max_retries"]  # the defaults a user keeps
    started = time.monotonic()
    out, error = run_tap_until_error(config, catalog=catalog_selecting(config, ["timespans", "pull_events"]))
    assert time.monotonic() - started < 20
    assert isinstance(error, DownloadError)
    cause = "the host name does not resolve" if "invalid" in host else "connection refused"
    assert f"{cause} (the file host {host.split(':')[0]})" in str(error) and "check the network" in str(error)
    assert "X-Amz-Signature" not in str(error)
    assert not out.records.get("pull_events")
