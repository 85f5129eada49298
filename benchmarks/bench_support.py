"""What every benchmark here prints and runs: the machine, its load, and the tap's executable."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path


def tap_executable() -> str:
    """`tap-dockerdvp` next to this interpreter (the checkout's venv), else the one on PATH. The tap's modules are
    byte-compiled first, as pip does when it installs the wheel: an editable install under
    PYTHONDONTWRITEBYTECODE would compile them again at every start (about 50 ms a run)."""
    import compileall

    import tap_dockerdvp

    compileall.compile_dir(Path(tap_dockerdvp.__file__).parent, quiet=1)
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


def load() -> str:
    """The 1, 5 and 15 minute load averages: the cores are shared, a figure says how busy they were."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"
