"""Docker Hub authentication: username + personal access token (or password) in, short-lived JWT out.

One authenticator is shared by every stream of a run, so a run logs in once and again only when the JWT is
about to expire (read from its ``exp`` claim) or the API answers 401.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import typing as t

import backoff
import requests
from singer_sdk.authenticators import APIAuthenticatorBase
from typing_extensions import override

from tap_dockerdvp.errors import AuthenticationError, error_detail
from tap_dockerdvp.retries import wait_generator
from tap_dockerdvp.totp import InvalidTotpSecret, totp_code

# Refresh this long before `exp`, so a request (or a resumed download) never starts with a dying token.
REFRESH_MARGIN_SECONDS = 60


class _RetriableLoginError(Exception):
    def __init__(self, message: str, response: requests.Response | None = None) -> None:
        super().__init__(message)
        self.response = response


def jwt_claims(token: str) -> dict[str, t.Any]:
    """The JWT's payload, decoded without verification: we only need ``exp``."""
    try:
        payload = token.split(".")[1]
        return t.cast(dict, json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    except (IndexError, ValueError):
        return {}


class DockerHubAuthenticator(APIAuthenticatorBase):
    """Adds ``Authorization: Bearer <jwt>`` to DVP API requests, logging in when needed."""

    def __init__(
        self,
        *,
        hub_url: str,
        username: str,
        password: str,
        totp_secret: str | None = None,
        timeout: float = 60.0,
        max_tries: int = 5,
        retry_base_seconds: float = 2.0,
        user_agent: str | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__()
        self.hub_url = hub_url.rstrip("/")
        self.username = username
        self._password = password
        self._totp_secret = totp_secret
        self.timeout = timeout
        self.max_tries = max_tries
        self.retry_base_seconds = retry_base_seconds
        self.logger = logger or logging.getLogger("tap-dockerdvp.auth")
        self.session = requests.Session()
        if user_agent:
            self.session.headers["User-Agent"] = user_agent
        self._token: str | None = None
        self._expires_at: float | None = None
        self._margin: float = REFRESH_MARGIN_SECONDS
        self._lock = threading.Lock()
        self._relogin_after_401 = False
        self._tokens_after_401: set[str] = set()
        self.login_count = 0

    # -- what the SDK calls -------------------------------------------------------------------
    @override
    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request

    # -- token lifecycle ------------------------------------------------------------------------
    def token(self) -> str:
        """A JWT valid for at least the refresh margin, logging in if needed."""
        with self._lock:
            if self._token is None or self._expiring():
                self._token = self._login()
                if self._relogin_after_401:
                    self._tokens_after_401.add(self._token)
                    self._relogin_after_401 = False
                self._expires_at, self._margin = _expiry(self._token)
            return self._token

    def invalidate(self, token_used: str | None = None) -> None:
        """Forget the JWT after a 401, unless another request already replaced it."""
        with self._lock:
            if token_used is None or token_used == self._token:
                self._token = None
                self._relogin_after_401 = True

    def refused_after_relogin(self, token_used: str) -> bool:
        """True when ``token_used`` came from a login made because of a 401: logging in again won't help."""
        return token_used in self._tokens_after_401

    def _expiring(self) -> bool:
        return self._expires_at is not None and time.time() >= self._expires_at - self._margin

    # -- login flows ----------------------------------------------------------------------------
    def _login(self) -> str:
        self.login_count += 1
        action = "Logging in" if self.login_count == 1 else "Refreshing the Docker Hub token: logging in again"
        self.logger.info("%s to %s as %s", action, self.hub_url, self.username)
        response = self._post("/v2/users/login", {"username": self.username, "password": self._password})
        if response.status_code == 200:
            return self._token_from(response, "token")
        body = _json(response)
        if response.status_code == 401 and body.get("login_2fa_token"):
            return self._two_factor_login(str(body["login_2fa_token"]))
        if _is_deprecated_login(response, body):
            self.logger.info("/v2/users/login is refused as deprecated; using /v2/auth/token instead")
            return self._access_token_login()
        if response.status_code == 401:
            raise AuthenticationError(
                f"Docker Hub rejected the login for username {self.username!r} "
                f"({error_detail(body) or 'HTTP 401'}): check the `username` and `password` settings "
                "(`password` should be a personal access token)"
            )
        raise AuthenticationError(
            f"Docker Hub login failed with HTTP {response.status_code} ({error_detail(body) or response.reason}); "
            "check `hub_url` and the `username`/`password` settings"
        )

    def _two_factor_login(self, login_2fa_token: str) -> str:
        if not self._totp_secret:
            raise AuthenticationError(
                f"Docker Hub account {self.username!r} has two-factor authentication enabled: set `password` to a "
                "personal access token, or set `totp_secret` to the account's base32 TOTP seed"
            )
        try:
            code = totp_code(self._totp_secret)
        except InvalidTotpSecret as exc:
            raise AuthenticationError(f"{exc}: fix the `totp_secret` setting") from None
        response = self._post("/v2/users/2fa-login", {"login_2fa_token": login_2fa_token, "code": code})
        if response.status_code == 200:
            return self._token_from(response, "token")
        raise AuthenticationError(
            f"Docker Hub rejected the two-factor code for {self.username!r} "
            f"({error_detail(_json(response)) or f'HTTP {response.status_code}'}): check the `totp_secret` setting "
            "and this machine's clock"
        )

    def _access_token_login(self) -> str:
        response = self._post("/v2/auth/token", {"identifier": self.username, "secret": self._password})
        if response.status_code == 200:
            return self._token_from(response, "access_token")
        raise AuthenticationError(
            f"Docker Hub rejected the access-token login for username {self.username!r} "
            f"({error_detail(_json(response)) or f'HTTP {response.status_code}'}): check the `username` and "
            "`password` settings (`password` should be a personal access token)"
        )

    def _token_from(self, response: requests.Response, key: str) -> str:
        token = _json(response).get(key)
        if not isinstance(token, str) or not token:
            raise AuthenticationError(f"Docker Hub login answered without a {key!r}; check `hub_url`")
        return token

    def _post(self, path: str, payload: dict[str, str]) -> requests.Response:
        """POST to a login endpoint, retrying 429, 5xx and network errors (never the credentials)."""

        def attempt() -> requests.Response:
            try:
                response = self.session.post(self.hub_url + path, json=payload, timeout=self.timeout)
            except requests.RequestException as exc:
                raise _RetriableLoginError(f"{path}: {type(exc).__name__}") from None
            if response.status_code == 429 or response.status_code >= 500:
                raise _RetriableLoginError(f"{path}: HTTP {response.status_code}", response)
            return response

        def log_wait(details: t.Any) -> None:
            self.logger.info(
                "Retrying %s in %.1f s after %s (try %d of %d)",
                path,
                details["wait"],
                details.get("exception"),
                details["tries"],
                self.max_tries,
            )

        def give_up(details: t.Any) -> None:
            raise AuthenticationError(
                f"Docker Hub login at {self.hub_url}{path} kept failing ({details.get('exception')}) after "
                f"{details['tries']} tries; try again later or check `hub_url`"
            )

        retrying = backoff.on_exception(
            wait_generator,
            _RetriableLoginError,
            max_tries=self.max_tries,
            jitter=None,
            on_backoff=log_wait,
            on_giveup=give_up,
            raise_on_giveup=False,
            base=self.retry_base_seconds,
            cap=60.0,
        )(attempt)
        return t.cast(requests.Response, retrying())


def _expiry(token: str) -> tuple[float | None, float]:
    """(expiry epoch, refresh margin): a margin of a fifth of the lifetime for tokens shorter than 5 min."""
    claims = jwt_claims(token)
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)):
        return None, REFRESH_MARGIN_SECONDS  # no exp: keep the token until the API answers 401
    issued = claims.get("iat")
    lifetime = exp - (issued if isinstance(issued, (int, float)) else time.time())
    return float(exp), max(0.0, min(REFRESH_MARGIN_SECONDS, lifetime / 5))


def _json(response: requests.Response) -> dict[str, t.Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _is_deprecated_login(response: requests.Response, body: dict[str, t.Any]) -> bool:
    if response.status_code in (404, 405, 410):
        return True
    return "deprecat" in error_detail(body).lower()
