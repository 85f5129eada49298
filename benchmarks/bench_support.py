"""What every benchmark here prints and runs: the machine, its load, and the tap's executable."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tap_executable() -> str:
    """`tap-dockerdvp` next to this interpreter (the checkout's venv), else the one on PATH. The tap's modules are
    byte-compiled first, as pip does when it installs the wheel: an editable install under
    PYTHONDONTWRITEBYTECODE would compile them again at every start (about 50 ms a run)."""
    import compileall

    import tap_dockerdvp

    compileall.compile_dir(Path(tap_dockerdvp.__file__).parent, quiet=1)
    candidate = Path(sys.executable).with_name("tap-dockerdvp")
    return str(candidate) if candidate.exists() else "tap-dockerdvp"


def installed_tap(workdir: Path) -> str:
    """`tap-dockerdvp` as a user gets it: this checkout installed by pip with the `arrow` extra, its dependencies from
    the package index, in a venv of its own under ``workdir``. The venv and the dependencies are made once per
    workdir; the tap itself is installed again each time, so a kept workdir never runs older code. The checkout's
    own venv is not what a user runs: the `dev` extra brings numpy (through matplotlib), which pyarrow and joblib
    import when it is there, 60 ms and 11 MiB at every start that no user install pays."""
    venv = workdir / "tap-venv-arrow"
    tap = venv / "bin" / "tap-dockerdvp"
    fresh = not tap.exists()
    if fresh:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    what = [f"{ROOT}[arrow]"] if fresh else ["--no-deps", "--force-reinstall", str(ROOT)]
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *what],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"could not install the tap for the benchmark (pip, package index):\n{done.stderr}")
    return str(tap)


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
