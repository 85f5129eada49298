"""The command's process: the cyclic garbage collector works while the tap runs, and the imports are kept out of
its way (``tap_dockerdvp.__main__.main``)."""

from __future__ import annotations

import subprocess
import sys

# The tap's run replaced by a probe: what the collector is doing while the tap would run, and when it has run.
PROBE = """
import gc, sys
import tap_dockerdvp.__main__ as m
from tap_dockerdvp.tap import TapDockerDVP

def cli():
    print("during", gc.isenabled(), gc.get_freeze_count(), flush=True)
    sys.exit(3)

TapDockerDVP.cli = staticmethod(cli)
gc.unfreeze()
try:
    m.main()
finally:
    print("after", gc.get_freeze_count() > 0)
"""


def test_the_collector_is_on_while_the_tap_runs_and_the_imports_are_frozen() -> None:
    """A collector left off would let a long run's cyclic garbage grow for ever; the imports' objects frozen are
    what makes the collections cheaper. The run's exit code stays the tap's."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=False)
    assert done.returncode == 3, done.stderr
    during, after = done.stdout.splitlines()
    word, enabled, frozen = during.split()
    assert (word, enabled) == ("during", "True")
    assert int(frozen) > 10_000  # the SDK's and the tap's modules
    assert after == "after True"


def test_a_run_stopped_by_sigterm_says_so_and_exits_non_zero(simulator, tmp_path) -> None:
    """The SDK ends a stopped run with exit code 0; a scheduler that stops a run at its timeout would count it a
    success. The tap exits 143 (128 + SIGTERM) with one WARNING."""
    import datetime as dt
    import json
    import signal
    import time

    from cli_support import TAP
    from tap_harness import tap_config

    from dockerdvp_simulator import SimConfig

    sim = simulator(SimConfig(namespaces=("acme",), weeks=2, rows_per_week=50, end_date=dt.date(2026, 11, 18),
                              include_partial=False))  # fmt: skip
    sim.add_fault({"match": "download", "kind": "slow", "seconds": 3, "times": None})  # it waits there
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tap_config(sim)))
    command = [str(TAP)] if TAP.exists() else [sys.executable, "-m", "tap_dockerdvp"]
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        proc = subprocess.Popen([*command, "--config", str(config)], stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 60
        while sim.stats["faults"].get("slow", 0) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)  # until a download waits
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    text = log.read_text()
    assert code == 143, text[-2000:]
    assert "Stopped by SIGTERM: the run is incomplete; the next run resumes from the last STATE" in text
    assert "Traceback" not in text


# The tap's run replaced by the reader reading 20,000 rows: how often the collector runs meanwhile.
READING = """
import gc, gzip, sys
import tap_dockerdvp.__main__ as m
from tap_dockerdvp.dvp.views import VIEWS
from tap_dockerdvp.files.reader import read_batches
from tap_dockerdvp.tap import TapDockerDVP

def cli():
    rows = b"".join(b"pull_by_tag,2026-11-09,US,sha256:%064d,GET,gcp,acme,latest,app,latest,2026-11-09 00:00:%02d\\n"
                    % (i, i % 60) for i in range(20_000))
    data = gzip.compress(b"Action,Action day,Country,Digest,HTTP method,Host,Namespace,Reference,Repository,Tag,"
                         b"Timestamp\\n" + rows)
    runs = []
    gc.callbacks.append(lambda phase, info: runs.append(info["generation"]) if phase == "start" else None)
    count = sum(b.count for b in read_batches([data], VIEWS["raw"], label="probe"))
    print(count, len(runs), flush=True)

TapDockerDVP.cli = staticmethod(cli)
m.main()
"""


def test_reading_rows_does_not_run_the_collector_over_the_rows_it_holds() -> None:
    """The reader holds a batch of rows (2,048 lists) before it frees them: with the collector's default threshold
    it ran every 700 rows, tracing the rows held (a second of a million rows' fifteen without pyarrow). Set up by
    the command, 20,000 rows read run it at most a few times."""
    done = subprocess.run([sys.executable, "-c", READING], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    rows, collections = map(int, done.stdout.split())
    assert rows == 20_000
    assert collections <= 3
