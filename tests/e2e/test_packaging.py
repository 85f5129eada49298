"""What a user gets from the built wheel: `pip install` and `pipx install` give a working `tap-dockerdvp`.

Builds the wheel (`pip wheel --no-deps .`), checks what it holds (py.typed, the LICENSE, the version from
`tap_dockerdvp/__init__.py`, the console scripts, nothing but the package), then installs it into a fresh
venv with pip and with pipx (dependencies from the package index, as for a user) and runs
`tap-dockerdvp --version` and `--about --format json` from each, and the shard hand-over
(`tap-dockerdvp-merge-states`, `python -m tap_dockerdvp.merge_states`); without the `parquet` extra, parquet batch
files stop the run in one line naming the extra.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cli_support import CliRun
from e2e_support import checked
from tap_harness import raw_rows_served

import tap_dockerdvp
from dockerdvp_simulator import SimConfig

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 600


def run(*cmd: str | Path, env: dict[str, str] | None = None, cwd: Path = ROOT) -> str:
    environment = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **(env or {})}
    return checked(list(cmd), what=f"`{' '.join(map(str, cmd))}`", cwd=cwd, env=environment, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", out, ROOT)
    (built,) = out.glob("tap_dockerdvp-*.whl")
    return built


def test_the_wheel_holds_the_package_py_typed_and_the_license(wheel: Path) -> None:
    version = tap_dockerdvp.__version__
    assert wheel.name == f"tap_dockerdvp-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        dist_info = f"tap_dockerdvp-{version}.dist-info"
        assert "tap_dockerdvp/py.typed" in names, "py.typed missing: type checkers would ignore the package"
        assert "tap_dockerdvp/tap.py" in names
        # the simulator is a test double: its own project (simulator/), never in the tap's wheel
        assert not [n for n in names if "simulator" in n], [n for n in names if "simulator" in n]
        licenses = [n for n in names if n.startswith(f"{dist_info}/") and n.rsplit("/", 1)[-1] == "LICENSE"]
        assert licenses, f"no LICENSE in {dist_info}: {names[-10:]}"
        assert zf.read(licenses[0]) == (ROOT / "LICENSE").read_bytes()
        metadata = zf.read(f"{dist_info}/METADATA").decode()
        entry_points = zf.read(f"{dist_info}/entry_points.txt").decode()
    assert f"\nVersion: {version}\n" in metadata
    assert "\nLicense-Expression: Apache-2.0\n" in metadata
    assert "Requires-Dist: singer-sdk" in metadata and "Requires-Python: >=3.10" in metadata
    assert "tap-dockerdvp = tap_dockerdvp.__main__:main" in entry_points
    assert "tap-dockerdvp-merge-states = tap_dockerdvp.merge_states:main" in entry_points
    assert "simulator" not in entry_points, entry_points
    strays = sorted({n.split("/", 1)[0] for n in names} - {"tap_dockerdvp", dist_info})
    assert not strays, f"the wheel carries more than the package: {strays}"


def check_cli(executable: Path) -> None:
    """Run the installed command away from this checkout (so nothing of it can be imported by accident)."""
    assert executable.is_file(), f"{executable} was not installed"
    version = run(executable, "--version", cwd=executable.parent)
    assert f"v{tap_dockerdvp.__version__}" in version, version
    about = json.loads(run(executable, "--about", "--format", "json", cwd=executable.parent))
    assert about["name"] == "tap-dockerdvp" and about["version"] == tap_dockerdvp.__version__
    assert {"username", "password"} <= set(about["settings"]["properties"])


def check_merge_states(bin_dir: Path, tmp_path: Path) -> None:
    """The shard hand-over (docs/running-at-scale.md) from the installed package: the console script and
    `python -m tap_dockerdvp.merge_states` join two shards' partitions, away from this checkout."""
    files = []
    for namespace in ("acme", "globex"):
        path = tmp_path / f"{namespace}.json"
        partition = {"context": {"namespace": namespace, "timespan_type": "weeks"}, "replication_key_value": "x"}
        path.write_text(json.dumps({"singer_state": {"bookmarks": {"timespans": {"partitions": [partition]}}}}))
        files.append(path.name)
    for command in ([bin_dir / "tap-dockerdvp-merge-states"], [bin_dir / "python", "-m", "tap_dockerdvp.merge_states"]):
        merged = json.loads(run(*command, *files, cwd=tmp_path))
        partitions = merged["singer_state"]["bookmarks"]["timespans"]["partitions"]
        assert [p["context"]["namespace"] for p in partitions] == ["acme", "globex"], command


def test_pip_install_gives_a_working_tap_dockerdvp(wheel: Path, tmp_path: Path, simulator) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel)
    check_cli(venv / "bin" / "tap-dockerdvp")
    # installed as a package, not from this checkout
    code = "import tap_dockerdvp; print(tap_dockerdvp.__file__)"
    where = run(venv / "bin" / "python", "-c", code, cwd=tmp_path).strip()
    assert Path(where).is_relative_to(venv), where

    check_merge_states(venv / "bin", tmp_path)

    # pyarrow is an extra: without it, parquet batch files stop the run in one line that names the extra
    assert subprocess.run([venv / "bin" / "python", "-c", "import pyarrow"], capture_output=True).returncode == 1
    sim = simulator(
        SimConfig(namespaces=("acme",), weeks=1, rows_per_week=3000, files_per_timespan=3, include_partial=False)
    )
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "username": sim.config.username,
                "password": sim.config.password,
                "api_url": sim.api_url,
                "hub_url": sim.hub_url,
                "batch_config": {"encoding": {"format": "parquet"}, "storage": {"root": (tmp_path / "b").as_uri()}},
            }
        )
    )
    args = ["--config", str(config)]
    proc = subprocess.run(
        [venv / "bin" / "tap-dockerdvp", *args], capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path
    )
    CliRun(args, proc.returncode, proc.stdout, proc.stderr, 0.0).assert_fails_in_one_line(
        "batch_config.encoding.format", "pip install 'tap-dockerdvp[arrow]'"
    )

    # a default install reads every file with the reader in its own process: the same records, in the same order,
    # as this checkout's tap gives with pyarrow (the Arrow lane)
    settings = json.loads(config.read_text())
    del settings["batch_config"]
    config.write_text(json.dumps(settings))
    without = run(venv / "bin" / "tap-dockerdvp", *args, cwd=tmp_path)
    with_arrow = run(sys.executable, "-m", "tap_dockerdvp", *args, cwd=tmp_path)
    events = [pull_events(without), pull_events(with_arrow)]
    assert len(events[0]) == raw_rows_served(sim.config)  # the simulator serves `acme` only
    assert events[0] and events[0] == events[1]


def pull_events(stdout: str) -> list[dict]:
    messages = (json.loads(line) for line in stdout.splitlines())
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == "pull_events"]


def test_pipx_install_gives_a_working_tap_dockerdvp(wheel: Path, tmp_path: Path) -> None:
    pytest.importorskip("pipx", reason="pipx is a dev dependency: pip install -e '.[dev]'")
    env = {
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(tmp_path / "bin"),
        "PIPX_MAN_DIR": str(tmp_path / "man"),
    }
    run(sys.executable, "-m", "pipx", "install", "--python", sys.executable, wheel, env=env)
    check_cli(tmp_path / "bin" / "tap-dockerdvp")
    check_merge_states(tmp_path / "pipx" / "venvs" / "tap-dockerdvp" / "bin", tmp_path)
    assert (tmp_path / "bin" / "tap-dockerdvp-merge-states").is_file(), "pipx did not expose the second script"
    listing = run(sys.executable, "-m", "pipx", "list", "--short", env=env)
    assert f"tap-dockerdvp {tap_dockerdvp.__version__}" in listing, listing
