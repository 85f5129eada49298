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
from urllib.parse import urlsplit

import backoff
import requests
from singer_sdk.authenticators import APIAuthenticatorBase
from typing_extensions import override

from tap_dockerdvp.errors import AuthenticationError, UnreachableError, WrongServiceError, error_detail
from tap_dockerdvp.http.responses import is_html
from tap_dockerdvp.http.retries import (
    RETRIABLE_EXCEPTIONS,
    RETRY_MESSAGE,
    connect_failure,
    describe_failure,
    is_retriable_status,
    wait_generator,
)
from tap_dockerdvp.http.totp import InvalidTotpSecret, totp_code
from tap_dockerdvp.http.urls import check_hint

# Refresh this long before `exp`, so a request (or a resumed download) never starts with a dying token.
REFRESH_MARGIN_SECONDS = 60
USERS_LOGIN = "/v2/users/login"
# Docker's two username + secret logins: the one the DVP spec documents, and the one the Hub spec recommends
# (`/v2/users/login` is marked deprecated there). Neither promises how it will refuse once retired, so any
# refusal other than a two-factor challenge makes the tap try the other one.
LOGIN_ENDPOINTS = (USERS_LOGIN, "/v2/auth/token")


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
        where: str | None = None,
        setting: str = "hub_url",
    ) -> None:
        super().__init__()
        self.hub_url = hub_url.rstrip("/")
        # How errors name the login host (the setting, its value and where that came from), and the setting to check
        self.where = where or f"`hub_url` {self.hub_url}"
        self.setting = setting
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
        self._endpoint = USERS_LOGIN  # the login endpoint that worked last: a refresh starts there
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
        """True when ``token_used`` came from a login made because of a 401 and was never accepted: logging in
        again won't help."""
        return token_used in self._tokens_after_401

    def accepted(self, token_used: str) -> None:
        """A request with ``token_used`` passed: a later 401 for it means it expired, not that fresh tokens are
        refused."""
        if token_used in self._tokens_after_401:
            with self._lock:
                self._tokens_after_401.discard(token_used)

    def _expiring(self) -> bool:
        return self._expires_at is not None and time.time() >= self._expires_at - self._margin

    # -- login flows ----------------------------------------------------------------------------------
    def _login(self) -> str:
        """Log in at the endpoint that worked last (`/v2/users/login` first); if it refuses, try the other once."""
        self.login_count += 1
        action = "Logging in" if self.login_count == 1 else "Refreshing the Docker Hub token: logging in again"
        self.logger.info("%s to %s as %s", action, self.hub_url, self.username)
        first = self._endpoint
        refusals: list[_Refused] = []
        for path in (first, *(other for other in LOGIN_ENDPOINTS if other != first)):
            if refusals:
                self.logger.info("%s refused the login (%s): trying %s", refusals[-1].path, refusals[-1].answer, path)
            try:
                token = self._login_at(path)
            except _Refused as refused:
                refusals.append(refused)
                continue
            if path != first:
                self.logger.info("Logged in with %s; later logins of this run use it first", path)
            self._endpoint = path
            return token
        raise self._refused_error(refusals)

    def _login_at(self, path: str) -> str:
        """A JWT from one login endpoint, or `_Refused` with what it answered instead."""
        if path == USERS_LOGIN:
            response = self._post(path, {"username": self.username, "password": self._password})
            body = _json(response)
            if response.status_code == 401 and body.get("login_2fa_token"):
                return self._two_factor_login(str(body["login_2fa_token"]))
            key = "token"
        else:
            response = self._post(path, {"identifier": self.username, "secret": self._password})
            key = "access_token"
        token = _json(response).get(key) if response.status_code == 200 else None
        if isinstance(token, str) and token:
            return token
        raise _Refused(path, response)

    def _refused_error(self, refusals: list[_Refused]) -> Exception:
        """One line with every endpoint's answer (never the secret), and the setting to look at."""
        answers = "; ".join(f"{refused.path} answered {refused.answer}" for refused in refusals)
        statuses = {refused.status for refused in refusals}
        if all(refused.html for refused in refusals):
            return WrongServiceError(
                f"{self.where} answered with HTML pages, not Docker Hub's login API ({answers}): check `{self.setting}`"
            )
        if statuses & {401, 403}:
            return AuthenticationError(
                f"Docker Hub rejected the login for username {self.username!r} ({answers}): check the `username` "
                "and `password` settings (`password` should be a personal access token)"
            )
        return AuthenticationError(
            f"Docker Hub login at {self.where} failed for username {self.username!r} ({answers}): check "
            f"`{self.setting}`, or try again later if Docker Hub is having trouble"
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
        token = _json(response).get("token") if response.status_code == 200 else None
        if isinstance(token, str) and token:
            return token
        raise AuthenticationError(
            f"Docker Hub rejected the two-factor code for {self.username!r} "
            f"({_Refused('/v2/users/2fa-login', response).answer}): check the `totp_secret` setting and this "
            "machine's clock"
        )

    def _post(self, path: str, payload: dict[str, str]) -> requests.Response:
        """POST to a login endpoint; retries what may pass (see `retries`), never sends credentials elsewhere.

        Returns the final answer, even an error status; a retriable one that never passed is `_Refused`, and a
        host that cannot be reached at all is an `UnreachableError` naming `hub_url`.
        """
        started = time.monotonic()

        def attempt() -> requests.Response:
            # no redirect followed: requests re-sends a 307/308's body, the credentials, to wherever it points
            response = self.session.post(self.hub_url + path, json=payload, timeout=self.timeout, allow_redirects=False)
            if response.is_redirect:
                target = urlsplit(response.headers.get("Location", ""))
                host = f"{target.hostname}:{target.port}" if target.port else target.hostname  # never its user:password
                origin = f"{target.scheme}://{host}" if host else "this host"
                raise AuthenticationError(
                    f"{self.where} answered POST {path} with a redirect (HTTP {response.status_code}) to {origin}: "
                    f"credentials go only to the host configured, never after a redirect: check `{self.setting}`"
                )
            if is_retriable_status(response.status_code):
                raise _RetriableLoginError(response)
            return response

        def log_wait(details: t.Any) -> None:
            self.logger.info(
                RETRY_MESSAGE,
                details["wait"],
                path,
                describe_failure(details.get("exception")),
                details["tries"],
                self.max_tries,
            )

        retrying = backoff.on_exception(
            wait_generator,
            (*RETRIABLE_EXCEPTIONS, _RetriableLoginError),
            max_tries=self.max_tries,
            jitter=None,
            on_backoff=log_wait,
            logger=None,  # our own line above is the only one per retry
            base=self.retry_base_seconds,
            cap=60.0,
        )(attempt)
        try:
            return t.cast(requests.Response, retrying())
        except _RetriableLoginError as exc:
            raise _Refused(path, exc.response, gave_up=True) from None
        except requests.RequestException as exc:
            failure = connect_failure(exc)
            if failure:
                raise UnreachableError(
                    f"cannot reach {self.where}: {failure} (tried for {time.monotonic() - started:.0f} s); "
                    f"{check_hint(self.setting, self.hub_url)}"
                ) from None
            raise _Refused(path, None, failure=type(exc).__name__) from None


class _RetriableLoginError(Exception):
    """A login answer worth asking again (429, 5xx)."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class _Refused(Exception):
    """A login endpoint answered with neither a token nor a two-factor challenge."""

    def __init__(
        self, path: str, response: requests.Response | None, *, gave_up: bool = False, failure: str = ""
    ) -> None:
        self.path = path
        self.status = response.status_code if response is not None else None
        self.html = response is not None and is_html(response)
        if response is None:
            self.answer = f"{failure} every time"
        elif self.html:
            self.answer = f"HTTP {response.status_code} with an HTML page"
        else:
            detail = error_detail(_json(response)) or response.reason or ""
            if response.status_code == 200:
                detail = "no token in the answer"
            self.answer = f"HTTP {response.status_code}" + (f": {detail}" if detail else "")
        if gave_up:
            self.answer += " every time"
        super().__init__(f"{path}: {self.answer}")


def _expiry(token: str, *, now: float | None = None) -> tuple[float | None, float]:
    """(expiry epoch by this machine's clock, refresh margin) of a token received ``now``: a margin of a fifth of
    the lifetime for tokens shorter than 5 min.

    With `iat`, the lifetime counts from the token's receipt, not to Docker's `exp`: a clock ahead of Docker's by
    more than a token's lifetime took every token for expired and logged in before every request (and Docker
    locks a username out after a burst of logins)."""
    now = time.time() if now is None else now
    claims = jwt_claims(token)
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)):
        return None, REFRESH_MARGIN_SECONDS  # no exp: keep the token until the API answers 401
    issued = claims.get("iat")
    if isinstance(issued, (int, float)) and exp > issued:
        lifetime = exp - issued
        return now + lifetime, max(0.0, min(REFRESH_MARGIN_SECONDS, lifetime / 5))
    lifetime = exp - now
    if lifetime <= 0:
        return None, REFRESH_MARGIN_SECONDS  # expired by this clock already: kept until the API answers 401
    return float(exp), max(0.0, min(REFRESH_MARGIN_SECONDS, lifetime / 5))


def _json(response: requests.Response) -> dict[str, t.Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
