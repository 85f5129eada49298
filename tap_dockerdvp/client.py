"""The base stream for every Docker Hub and DVP API call: auth, retries and error messages without secrets."""

from __future__ import annotations

import typing as t
from functools import cached_property
from urllib.parse import urlsplit

import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.streams import RESTStream

from tap_dockerdvp import retries
from tap_dockerdvp.errors import error_detail

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_dockerdvp.auth import DockerHubAuthenticator
    from tap_dockerdvp.tap import TapDockerDVP


class DockerHubStream(RESTStream):
    """RESTStream with the tap's shared JWT authenticator, Retry-After aware backoff and 401 re-login."""

    url_base_setting = "api_url"
    # 408 and 429 are worth retrying; the SDK already retries every 5xx.
    extra_retry_statuses = (408, 429)

    @property
    def url_base(self) -> str:
        return str(self.config[self.url_base_setting]).rstrip("/")

    @property
    def authenticator(self) -> DockerHubAuthenticator:
        return self._tap.authenticator  # type: ignore[attr-defined, no-any-return]

    @property
    def http_headers(self) -> dict[str, str]:
        return {"User-Agent": self.user_agent, "Accept": "application/json"}

    @property
    def timeout(self) -> int:
        return int(self.config["request_timeout"])

    # -- retries ---------------------------------------------------------------------------------
    def backoff_wait_generator(self) -> t.Generator[float, t.Any, None]:
        return retries.wait_generator(base=float(self.config["retry_base_seconds"]), cap=300.0)

    def backoff_jitter(self, value: float) -> float:
        return value  # the wait generator already adds jitter, and must not blur Retry-After

    def backoff_max_tries(self) -> int:
        return int(self.config["max_retries"]) + 1

    def backoff_handler(self, details: t.Any) -> None:
        exc = details.get("exception")
        response = retries.response_of(exc)
        reason = f"HTTP {response.status_code}" if response is not None else type(exc).__name__
        self.logger.info(
            "Waiting %.1f s before retrying %s after %s (attempt %d of %d)",
            details.get("wait", 0.0),
            self.path,
            reason,
            details.get("tries", 0),
            self.backoff_max_tries(),
        )

    # -- responses ------------------------------------------------------------------------------
    def validate_response(self, response: requests.Response) -> None:
        if response.status_code in self._absent:
            return
        if response.status_code == 401:
            self._handle_unauthorized(response)
        if response.status_code == 403:
            raise FatalAPIError(
                f"Docker Hub refused access to {safe_path(response.url)} (HTTP 403: "
                f"{short_detail(response)}): the account `username` lacks DVP analytics access here"
            )
        super().validate_response(response)

    def _handle_unauthorized(self, response: requests.Response) -> None:
        """On a 401, log in again once and retry; a fresh token refused again is fatal."""
        used = (response.request.headers.get("Authorization") or "").removeprefix("Bearer ")
        if self.authenticator.refused_after_relogin(used):
            raise FatalAPIError(
                f"Docker Hub refused a freshly issued token for {safe_path(response.url)} (HTTP 401: "
                f"{short_detail(response)}): check that `username` has access to DVP analytics"
            )
        self.authenticator.invalidate(used)
        raise RetriableAPIError(f"401 for {safe_path(response.url)}: logging in again", response)

    def response_error_message(self, response: requests.Response) -> str:
        kind = "Client" if response.status_code < 500 else "Server"
        return f"{response.status_code} {kind} Error for {safe_path(response.url)}: {short_detail(response)}"

    # -- one-off JSON calls through the same retry machinery -------------------------------------
    _absent: tuple[int, ...] = ()

    def get_json(
        self,
        path: str,
        context: Context | None = None,
        *,
        not_found_ok: bool = False,
        absent: tuple[int, ...] = (),
        params: t.Any = None,
        url: str | None = None,
    ) -> t.Any:
        """GET ``url_base + path`` (or ``url``) with auth and retries; ``None`` for a 404 when ``not_found_ok``,
        or for any status in ``absent``."""
        request = self.build_prepared_request(
            method="GET", url=url or self.url_base + path, params=params, headers=self.http_headers
        )
        statuses = absent or ((404,) if not_found_ok else ())
        self._absent = statuses
        try:
            response = self.request_decorator(self.send_request)(request, context)
        finally:
            self._absent = ()
        return None if response.status_code in statuses else response.json()

    def send_request(self, request: requests.PreparedRequest, context: Context | None) -> requests.Response:
        """Send one authenticated request and validate its response (``request_decorator`` retries it)."""
        response = self.requests_session.send(
            self.authenticator(request), timeout=self.timeout, allow_redirects=self.allow_redirects
        )
        self.validate_response(response)
        return response

    @property
    def tap(self) -> TapDockerDVP:
        """The tap, typed: its run-wide state (``tap.run``), progress and namespace metadata."""
        return t.cast("TapDockerDVP", self._tap)

    @cached_property
    def user_agent(self) -> str:
        from tap_dockerdvp import __version__

        return str(self.config.get("user_agent") or f"tap-dockerdvp/{__version__}")


def safe_path(url: str | None) -> str:
    """A URL reduced to its path: query strings can carry presigned signatures."""
    return urlsplit(url or "").path or "/"


def short_detail(response: requests.Response, limit: int = 200) -> str:
    """The error text of a response body, shortened, for one-line messages."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip().replace("\n", " ")
        return text[:limit] or response.reason or ""
    return error_detail(body, limit) or str(body)[:limit]
