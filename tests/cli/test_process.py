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
