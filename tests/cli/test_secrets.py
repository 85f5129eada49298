"""No password, TOTP seed, JWT or presigned-URL signature in stdout, stderr, state or records, even at DEBUG."""

from __future__ import annotations

import datetime as dt

import pytest
from cli_support import JWT, SIGNED_PARAM, run_at_debug
from tap_harness import tap_config

from dockerdvp_simulator import SimConfig

TOTP_SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PASSWORD = "dckr_pat_s3cr3t-never-print-me"

SCENARIOS = {
    "2fa-login-and-faults": (
        {"totp_secret": TOTP_SEED, "pat_two_factor": True},  # the PAT gets a 2FA challenge, so the TOTP path runs
        [
            {"match": "download", "kind": "expire_url", "after": 1},
            {"match": "download", "kind": "truncate", "after": 2},
            {"match": "exports", "kind": "expire_token", "after": 3},
            {"match": "years", "kind": "rate_limit", "retry_after": 0, "retry_after_style": "epoch"},
            {"match": "download", "kind": "html", "after": 4},
        ],
        {"totp_secret": TOTP_SEED},
    ),
    "wrong-password": ({}, [], {"password": "dckr_pat_wrong-but-still-secret"}),
    "token-only-login": ({"login_mode": "token-only"}, [{"match": "download", "kind": "status", "status": 503}], {}),
    "download-gives-up": ({}, [{"match": "download", "kind": "reset", "times": None}], {}),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_no_secret_reaches_any_output(simulator, tmp_path, scenario) -> None:
    sim_overrides, faults, tap_overrides = SCENARIOS[scenario]
    cfg = SimConfig(
        weeks=2,
        rows_per_week=70,
        end_date=dt.date(2026, 11, 18),
        include_partial=False,
        namespaces=("acme",),
        password=PASSWORD,
        **sim_overrides,
    )
    sim = simulator(cfg)
    sim.add_fault(faults)
    config = tap_config(sim, timespan_types=["weeks"], max_retries=2, **tap_overrides)
    code, stdout, stderr = run_at_debug(config, tmp_path, scenario)

    assert "DEBUG" in stderr, "the scenario must run with debug logging"
    secrets = [PASSWORD, TOTP_SEED, tap_overrides.get("password", PASSWORD)]
    for name, text in (("stdout", stdout), ("stderr", stderr)):
        for secret in secrets:
            assert secret not in text, f"{secret[:6]}... leaked into {name}"
        assert not JWT.search(text), f"a JWT leaked into {name}"
        assert not SIGNED_PARAM.search(text), f"a presigned URL credential leaked into {name}"

    if scenario == "wrong-password":
        assert code == 1
        assert (
            stderr.strip()
            .splitlines()[-1]
            .endswith("check the `username` and `password` settings (`password` should be a personal access token)")
        )
    elif scenario == "download-gives-up":
        assert code == 1
        assert "gave up after 3 tries" in stderr.strip().splitlines()[-1]
    else:
        assert code == 0, stderr[-2000:]
        assert sim.stats["faults_injected"] >= len(faults)
        assert '"type":"RECORD"' in stdout.replace(" ", "")


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"timespan_types": ["weeks", "days"]}, "timespan_types"),
        ({"start_date": "someday"}, "start_date"),
        ({"start_date": "2026-06-01", "end_date": "2025-06-01"}, "end_date"),
        ({"username": ""}, "username"),
        ({"namespaces": ["acme", "not-mine"]}, "namespaces"),
        ({"raw_timespan_type": "years"}, "raw_timespan_type"),
    ],
)
def test_bad_configuration_fails_with_one_line_naming_the_setting(simulator, tmp_path, overrides, setting) -> None:
    sim = simulator(SimConfig(weeks=1, rows_per_week=7, end_date=dt.date(2026, 11, 18), namespaces=("acme",)))
    code, stdout, stderr = run_at_debug(tap_config(sim, **overrides), tmp_path, setting)
    assert code != 0
    assert stdout == ""
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert setting in last, last
    assert sim.stats["endpoints"].get("exports", 0) == 0
