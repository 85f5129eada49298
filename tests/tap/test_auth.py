"""Login, 2FA, the /v2/auth/token fallback, token refresh and the errors a user sees for bad credentials."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from tap_harness import raw_rows_served, run_tap, tap_config

from dockerdvp_simulator import SimConfig
from tap_dockerdvp.errors import AuthenticationError, ConfigError, NamespaceNotFoundError
from tap_dockerdvp.http.auth import DockerHubAuthenticator, jwt_claims

TOTP_SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
END = dt.date(2026, 11, 18)


def small(**overrides) -> SimConfig:
    values = dict(weeks=2, rows_per_week=70, end_date=END, include_partial=False, namespaces=("acme",))
    values.update(overrides)
    return SimConfig(**values)


def authenticator(sim, **overrides) -> DockerHubAuthenticator:
    kwargs = dict(
        hub_url=sim.hub_url, username=sim.config.username, password=sim.config.password, retry_base_seconds=0.01
    )
    kwargs.update(overrides)
    return DockerHubAuthenticator(**kwargs)


def test_login_returns_a_jwt_with_exp(simulator) -> None:
    sim = simulator(small())
    auth = authenticator(sim)
    token = auth.token()
    assert jwt_claims(token)["exp"] > time.time()
    assert auth.token() == token and auth.login_count == 1  # cached, not a login per request


def test_wrong_password_names_the_settings_and_hides_the_secret(simulator) -> None:
    sim = simulator(small())
    with pytest.raises(AuthenticationError) as info:
        authenticator(sim, password="dckr_pat_wrong-secret").token()
    message = str(info.value)
    assert "`password`" in message and "`username`" in message
    assert "dckr_pat_wrong-secret" not in message
    assert "\n" not in message


def test_wrong_credentials_end_the_run_with_one_clear_error(simulator) -> None:
    sim = simulator(small())
    with pytest.raises(AuthenticationError, match="check the `username` and `password` settings"):
        run_tap(tap_config(sim, password="not-the-token"))


def test_two_factor_login_with_totp_secret(simulator) -> None:
    sim = simulator(small(totp_secret=TOTP_SEED, pat_two_factor=True))  # the simulator's old rule: PATs get 2FA too
    assert authenticator(sim, totp_secret=TOTP_SEED).token()
    with pytest.raises(AuthenticationError, match="`totp_secret`"):
        authenticator(sim).token()  # 2FA account, no seed configured
    with pytest.raises(AuthenticationError, match="`totp_secret`"):
        authenticator(sim, totp_secret="GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").token()  # wrong seed


def test_deprecated_login_falls_back_to_access_tokens(simulator) -> None:
    sim = simulator(small(login_mode="token-only"))
    auth = authenticator(sim)
    assert auth.token()
    assert sim.stats["endpoints"].get("auth-token") == 1


def test_token_is_refreshed_before_it_expires(simulator) -> None:
    sim = simulator(small(token_ttl=3))
    auth = authenticator(sim)
    first = auth.token()
    time.sleep(2.7)  # inside the refresh margin (a fifth of a 3 s lifetime)
    assert auth.token() != first
    assert auth.login_count == 2


def test_a_401_mid_run_logs_in_again_once_and_the_run_completes(simulator) -> None:
    sim = simulator(small())
    sim.add_fault({"match": "exports", "kind": "expire_token", "times": 1, "after": 2})
    out = run_tap(tap_config(sim, timespan_types=["weeks"]))
    assert out.counts()["pull_events"] == raw_rows_served(sim.config)
    assert sim.stats["logins"] == 2
    assert sim.stats["faults_injected"] == 1


def test_short_lived_tokens_do_not_mean_a_login_per_request(simulator) -> None:
    sim = simulator(small(token_ttl=600))
    run_tap(tap_config(sim, timespan_types=["weeks"]))
    assert sim.stats["logins"] == 1


def test_unknown_namespace_names_the_setting(simulator) -> None:
    sim = simulator(small())
    with pytest.raises(NamespaceNotFoundError, match=r"nope.*fix the `namespaces` setting"):
        run_tap(tap_config(sim, namespaces=["acme", "nope"]))
    assert sim.stats["endpoints"].get("exports", 0) == 0  # failed before asking for any data


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"password": "  "}, "`password`"),
        ({"start_date": "last tuesday"}, "`start_date`"),
        ({"end_date": "2026-13-01"}, "`end_date`"),
        (
            {"start_date": "2026-06-01", "end_date": "2026-06-01"},
            r"`end_date` \(2026-06-01\) must be after `start_date`",
        ),
        ({"lookback_timespans": -1}, "`lookback_timespans` must be >= 0"),
        ({"emit_activate_version_messages": "yes"}, "`emit_activate_version_messages`"),
        ({"api_url": "hub.docker.com"}, "`api_url`"),
    ],
)
def test_bad_settings_fail_before_any_request(simulator, overrides, setting) -> None:
    sim = simulator(small())
    with pytest.raises(ConfigError, match=setting):
        run_tap(tap_config(sim, **overrides))
    assert sim.stats["requests_total"] == 0


@pytest.mark.parametrize("skew", [700, -700, 0])
def test_a_token_lasts_its_lifetime_by_this_machines_clock(simulator, monkeypatch, skew: int) -> None:
    # A clock ahead of Docker's by more than a token's lifetime (600 s here) took every token for expired: a login
    # before every request, and Docker locks a username out after a burst of logins.
    import types

    from tap_dockerdvp.http import auth as auth_module

    sim = simulator(small())
    clock = types.SimpleNamespace(time=lambda: time.time() + skew, monotonic=time.monotonic, sleep=time.sleep)
    monkeypatch.setattr(auth_module, "time", clock)
    auth = authenticator(sim)
    token = auth.token()
    claims = jwt_claims(token)
    assert claims["exp"] - claims["iat"] == sim.config.token_ttl
    assert auth.token() == token and auth.token() == token and auth.login_count == 1
    refreshed_at = auth._expires_at - auth._margin
    assert clock.time() + 0.8 * sim.config.token_ttl - 5 <= refreshed_at <= clock.time() + sim.config.token_ttl
