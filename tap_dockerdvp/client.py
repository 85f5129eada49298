"""The base stream for every Docker Hub and DVP API call: auth, retries and error messages without secrets."""

from __future__ import annotations

import typing as t
from functools import cached_property
from urllib.parse import urlsplit

import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.streams import RESTStream
from typing_extensions import override

from tap_dockerdvp import retries
from tap_dockerdvp.errors import error_detail

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_dockerdvp.auth import DockerHubAuthenticator


class DockerHubStream(RESTStream):
    """RESTStream with the tap's shared JWT authenticator, Retry-After aware backoff and 401 re-login."""

    url_base_setting = "api_url"
    # 408 and 429 are worth retrying; the SDK already retries every 5xx.
    extra_retry_statuses = (408, 429)

    @property
    @override
    def url_base(self) -> str:
        return str(self.config[self.url_base_setting]).rstrip("/")

    @property
    @override
    def authenticator(self) -> DockerHubAuthenticator:
        return self._tap.authenticator  # type: ignore[attr-defined]

    @property
    @override
    def http_headers(self) -> dict[str, str]:
        return {"User-Agent": self.user_agent, "Accept": "application/json"}

    @property
    @override
    def timeout(self) -> int:
        return int(self.config["request_timeout"])

    # -- retries ---------------------------------------------------------------------------------
    @override
    def backoff_wait_generator(self) -> t.Generator[float, t.Any, None]:
        return retries.wait_generator(base=float(self.config["retry_base_seconds"]), cap=300.0)

    @override
    def backoff_jitter(self, value: float) -> float:
        return value  # the wait generator already adds jitter, and must not blur Retry-After

    @override
    def backoff_max_tries(self) -> int:
        return int(self.config["max_retries"]) + 1

    @override
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
    @override
    def validate_response(self, response: requests.Response) -> None:
        if response.status_code == 404 and self._not_found_ok:
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

    @override
    def response_error_message(self, response: requests.Response) -> str:
        kind = "Client" if response.status_code < 500 else "Server"
        return f"{response.status_code} {kind} Error for {safe_path(response.url)}: {short_detail(response)}"

    # -- one-off JSON calls through the same retry machinery -------------------------------------
    _not_found_ok = False

    def get_json(self, path: str, context: Context | None = None, *, not_found_ok: bool = False) -> t.Any:
        """GET ``url_base + path`` with auth and retries; ``None`` for a 404 when ``not_found_ok``."""
        request = self.build_prepared_request(method="GET", url=self.url_base + path, headers=self.http_headers)
        self._not_found_ok = not_found_ok
        try:
            response = self.request_decorator(self._request)(request, context)
        finally:
            self._not_found_ok = False
        return None if response.status_code == 404 else response.json()

    @cached_property
    @override
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
