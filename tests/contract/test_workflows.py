"""The GitHub workflows: valid, and saying what they promise.

Both files pass the GitHub workflow schema (check-jsonschema's vendored `vendor.github-workflows`, offline; a broken
copy fails it, so the check can fail). release.yml publishes on a version tag with PyPI trusted publishing after
building and checking the sdist and the wheel; its tag check is run here with bash on a dist/ folder named as the
build names it, for the right tag and a wrong one. ci.yml's build job builds both, runs `twine check --strict`,
installs the wheel into a fresh venv and runs `--about` and the merge-states command.
"""

from __future__ import annotations

import subprocess
import sys
import typing as t
from pathlib import Path

import yaml

import tap_dockerdvp

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict[str, t.Any]:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as true
    return workflow


def validate(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def runs(job: dict[str, t.Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_the_workflows_follow_githubs_schema(tmp_path: Path) -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} == {"ci.yml", "release.yml"}
    done = validate(*files)
    assert done.returncode == 0, done.stdout + done.stderr
    # the control: a job without `runs-on` is refused
    broken = tmp_path / "release.yml"
    broken.write_text((WORKFLOWS / "release.yml").read_text().replace("    runs-on: ubuntu-latest\n", "", 1))
    done = validate(broken)
    assert done.returncode == 1 and "runs-on" in done.stdout, done.stdout + done.stderr


def test_a_version_tag_builds_checks_and_publishes_with_trusted_publishing() -> None:
    release = load("release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}}
    assert release["permissions"] == {"contents": "read"}  # only the publish job gets a token, for PyPI
    build, publish = release["jobs"]["build"], release["jobs"]["publish"]
    assert "python -m build\n" in runs(build) and "twine check --strict dist/*" in runs(build)
    assert "pip install dist/*.whl" in runs(build) and "tap-dockerdvp --about" in runs(build)
    assert publish["needs"] == "build"
    assert publish["environment"]["name"] == "pypi"
    assert publish["permissions"] == {"id-token": "write"}
    uses = [step.get("uses", "") for step in publish["steps"]]
    assert any(u.startswith("pypa/gh-action-pypi-publish@") for u in uses), uses
    assert not any("password" in step.get("with", {}) for step in publish["steps"])  # no API token


def test_the_tag_must_be_the_package_version(tmp_path: Path) -> None:
    (step,) = [
        s for s in load("release.yml")["jobs"]["build"]["steps"] if s.get("name") == "The tag is the package version"
    ]
    assert step["env"] == {"TAG": "${{ github.ref_name }}"}
    version = tap_dockerdvp.__version__
    (tmp_path / "dist").mkdir()
    for name in (f"tap_dockerdvp-{version}-py3-none-any.whl", f"tap_dockerdvp-{version}.tar.gz"):  # as built
        (tmp_path / "dist" / name).touch()

    def check(tag: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-eo", "pipefail", "-c", step["run"]],
            cwd=tmp_path,
            env={"TAG": tag, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    assert check(f"v{version}").returncode == 0
    wrong = check("v99.0.0")
    assert wrong.returncode == 1
    assert wrong.stdout.startswith("::error::tag v99.0.0 is not the package version"), wrong.stdout
    assert f"tap_dockerdvp-{version}-py3-none-any.whl" in wrong.stdout


def test_ci_builds_both_checks_them_and_runs_the_wheel() -> None:
    build = load("ci.yml")["jobs"]["build"]
    script = runs(build)
    assert "python -m build\n" in script and "python -m twine check --strict dist/*" in script
    assert "python -m venv /tmp/wheel-venv" in script and "/tmp/wheel-venv/bin/pip install dist/*.whl" in script
    assert "/tmp/wheel-venv/bin/tap-dockerdvp --about --format=json" in script
    assert "/tmp/wheel-venv/bin/tap-dockerdvp-merge-states --help" in script
