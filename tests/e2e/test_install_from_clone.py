"""The README's *Install* from a clone, as a user runs it: a new Meltano project outside the repository.

The commands are read from README.md, between `<!-- BEGIN install-from-clone -->` and `<!-- END install-from-clone
-->`, and run as printed in one bash from the new project's folder (meltano on PATH), with only the placeholder
line `DVP_TAP_CLONE=...` set to this checkout. Then, in that project: the extractor is the Hub definition with
`pip_url` pointing at the clone, installed as a package (not editable); `meltano config test tap-dockerdvp`
passes against the simulator (and fails with a wrong password); `meltano invoke tap-dockerdvp` emits every row the
simulator served; the Hub definition's `merge-states` command runs; the definition's defaults reach the tap.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from e2e_support import ROOT, base_env, checked, expected_counts, find_meltano, run_simulator
from plugin_definitions import load_yaml

pytestmark = pytest.mark.e2e

HUB_FILE = ROOT / "hub" / "extractors" / "tap-dockerdvp" / "dockerdvp.yml"
PLACEHOLDER = re.compile(r"^DVP_TAP_CLONE=(\S+)\s+#")
TIMEOUT = 600


def install_block() -> list[str]:
    """The lines of the README's install-from-clone block."""
    text = (ROOT / "README.md").read_text()
    begin, end = "<!-- BEGIN install-from-clone -->", "<!-- END install-from-clone -->"
    assert text.count(begin) == text.count(end) == 1, "README.md: one install-from-clone block, with both markers"
    block = text.split(begin, 1)[1].split(end, 1)[0].strip()
    assert block.startswith("```bash\n") and block.endswith("\n```"), block
    return block.removeprefix("```bash\n").removesuffix("\n```").splitlines()


def test_the_install_block_sets_the_clone_once_and_names_no_path_of_this_checkout() -> None:
    lines = install_block()
    assert PLACEHOLDER.match(lines[0]), f"the first line sets DVP_TAP_CLONE, with a comment: {lines[0]!r}"
    assert sum("DVP_TAP_CLONE=" in line for line in lines) == 1
    assert all(str(ROOT) not in line and "hub/extractors" not in line.split("$DVP_TAP_CLONE")[0] for line in lines)
    assert lines[-1] == "meltano install extractor tap-dockerdvp"


def meltano_runner(meltano: str, project: Path, logs: Path):
    def run(*args: str, env: dict[str, str] | None = None, stdout: Path | None = None, ok: bool = True):
        log = logs / f"meltano-{len(list(logs.glob('meltano-*')))}.log"
        with open(log, "w") as err, open(stdout or os.devnull, "w") as out:
            proc = subprocess.run(
                [meltano, *args],
                cwd=project,
                env={**base_env(), **(env or {})},
                stdout=out if stdout else subprocess.PIPE,
                stderr=err,
                stdin=subprocess.DEVNULL,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
        if ok:
            assert proc.returncode == 0, (
                f"`meltano {' '.join(args)}` exited with {proc.returncode}:\n{log.read_text()[-4000:]}"
            )
        return proc, log.read_text()

    return run


def test_the_readme_install_from_clone_works_in_a_new_project(tmp_path: Path) -> None:
    meltano = find_meltano()
    if meltano is None:
        pytest.skip("meltano is not installed: run `make test` or set MELTANO_BIN")
    assert not tmp_path.is_relative_to(ROOT)
    meltano_runner(meltano, tmp_path, tmp_path)("init", "--no-usage-stats", "project")
    project = tmp_path / "project"
    run = meltano_runner(meltano, project, tmp_path)

    # -- the README's lines, as printed, the clone set to this checkout ------------------------------------
    lines = install_block()
    script = "\n".join([f"DVP_TAP_CLONE={shlex.quote(str(ROOT))}", *lines[1:]])
    env = {**base_env(), "PATH": f"{Path(meltano).parent}{os.pathsep}{os.environ['PATH']}"}
    bash = ["bash", "-euo", "pipefail", "-c", script]
    checked(bash, what="the README's install block", cwd=project, env=env, timeout=TIMEOUT)

    (extractor,) = load_yaml(project / "meltano.yml")["plugins"]["extractors"]
    assert extractor["name"] == "tap-dockerdvp" and extractor["variant"] == HUB_FILE.stem
    assert extractor["pip_url"] == str(ROOT)
    hub = load_yaml(HUB_FILE)
    for key in ("namespace", "executable", "capabilities", "commands"):
        assert extractor[key] == hub[key], key
    assert [x["name"] for x in extractor["settings"]] == [x["name"] for x in hub["settings"]]
    (backup,) = load_yaml(project / "meltano.yml.bak")["plugins"]["extractors"]
    assert backup["pip_url"] == hub["pip_url"] == "tap-dockerdvp"  # the Hub's: sed changed that line only
    venv = project / ".meltano" / "extractors" / "tap-dockerdvp" / "venv"
    where = subprocess.run(
        [venv / "bin" / "python", "-c", "import tap_dockerdvp; print(tap_dockerdvp.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), f"not installed as a package: {where}"

    with run_simulator(tmp_path) as sim:
        tap_env = {
            "TAP_DOCKERDVP_API_URL": sim.url + "/api/publisher/analytics/v1",
            "TAP_DOCKERDVP_HUB_URL": sim.url,
            "TAP_DOCKERDVP_USERNAME": sim.cfg.username,
            "TAP_DOCKERDVP_PASSWORD": sim.cfg.password,
        }
        # -- the connection check: passes, and fails with a wrong password (the control) ------------------
        passed, log = run("config", "test", "tap-dockerdvp", env=tap_env)
        assert "Plugin configuration is valid" in passed.stdout, passed.stdout + log[-2000:]
        wrong, log = run(
            "config", "test", "tap-dockerdvp", env={**tap_env, "TAP_DOCKERDVP_PASSWORD": "wrong"}, ok=False
        )
        assert wrong.returncode != 0 and "Plugin configuration is valid" not in wrong.stdout + log

        # -- an extraction: every row the simulator served --------------------------------------------------
        out = tmp_path / "tap-output.jsonl"
        run("invoke", "tap-dockerdvp", env=tap_env, stdout=out)
    messages = [json.loads(line) for line in out.read_text().splitlines()]
    counts = Counter(m["stream"] for m in messages if m["type"] == "RECORD")
    expected = expected_counts(sim.cfg)
    assert expected["pull_events"] > 0 and expected["repositories"] > 0, expected
    mismatched = {s: (counts[s], expected[s]) for s in expected if counts[s] != expected[s]}
    assert not mismatched, f"records emitted != rows served, as {{stream: (emitted, served)}}: {mismatched}"
    assert messages[-1]["type"] == "STATE" and "timespans" in json.dumps(messages[-1]["value"])

    # -- the Hub definition's defaults reached the tap; its merge-states command runs ------------------------
    proc, _log = run("config", "print", "tap-dockerdvp")
    config = json.loads(proc.stdout)
    defaults = {s["name"]: s["value"] for s in hub["settings"] if "value" in s}
    assert {k: config.get(k) for k in defaults} == defaults
    for namespace in ("acme", "globex"):
        partition = {"context": {"namespace": namespace, "timespan_type": "weeks"}, "replication_key_value": "x"}
        state = {"singer_state": {"bookmarks": {"timespans": {"partitions": [partition]}}}}
        (project / f"{namespace}.json").write_text(json.dumps(state))
    merged = tmp_path / "merged.json"
    run("invoke", "tap-dockerdvp:merge-states", "acme.json", "globex.json", stdout=merged)
    partitions = json.loads(merged.read_text())["singer_state"]["bookmarks"]["timespans"]["partitions"]
    assert [p["context"]["namespace"] for p in partitions] == ["acme", "globex"]
