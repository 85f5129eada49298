"""Which failures are retried, and how long to wait before retrying a Docker Hub request.

One set of rules for every request path (API calls, login, downloads):
- an HTTP status in `RETRY_STATUSES` may be different next time; any other error status (501, 505, other 4xx)
  will not, and fails at once;
- a network error on an open connection (reset, read timeout) is retried like a 503;
- a connection that cannot even be made (refused, unknown host name, connect timeout, a TLS certificate that
  does not verify, a proxy that refuses) usually means a wrong setting, so it is retried only for
  `CONNECT_RETRY_SECONDS` in all.

Docker Hub has sent ``Retry-After`` both as seconds and as a unix timestamp (see the facts sheet, section 6),
so a value larger than the current epoch is read as an absolute time. Without the header the wait grows
exponentially with jitter, so many taps retrying at once do not hit the API in lockstep.
"""

from __future__ import annotations

import email.utils
import random
import time
import typing as t

import requests
import urllib3.exceptions
from singer_sdk.exceptions import RetriableAPIError

# HTTP answers worth asking again: timeouts, rate limits and server errors that pass.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# What a request may raise that is worth trying again (the SDK's own list).
RETRIABLE_EXCEPTIONS: tuple[type[Exception], ...] = (
    ConnectionResetError,
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
# The one line logged per retry: wait, endpoint, reason, attempt, tries.
RETRY_MESSAGE = "Waiting %.1f s before retrying %s after %s (attempt %d of %d)"
# Seconds, from the first failure, for which a connection that cannot be made is tried again.
CONNECT_RETRY_SECONDS = 10.0
# The longest a Retry-After is honoured: Docker has sent hours (an epoch for a locked account); the request is tried
# again after this many seconds, as often as `max_retries` allows, and the run then fails and resumes from state.
MAX_RETRY_AFTER_SECONDS = 900.0


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait for a ``Retry-After`` value: delta seconds, a unix timestamp or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    now = time.time() if now is None else now
    try:
        number = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - now)
    if number > now - 86400 * 365:  # an epoch timestamp, not a delay of decades
        return max(0.0, number - now)
    return max(0.0, number)


def is_retriable_status(status: int) -> bool:
    """Whether an HTTP error status may turn into a success when the request is repeated."""
    return status in RETRY_STATUSES


def connect_failure(exc: BaseException | None) -> str | None:
    """What went wrong when no connection could be made at all (refused, unknown host...), else None."""
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return None
    if isinstance(exc, requests.exceptions.SSLError):  # a certificate that does not verify will not start to
        return "the TLS handshake failed (is the certificate trusted?)"
    if isinstance(exc, requests.exceptions.ProxyError):
        return "the HTTP proxy refused the connection"
    cause = exc.args[0] if exc.args else None
    cause = getattr(cause, "reason", cause)  # urllib3's MaxRetryError wraps the cause
    # Most specific first: NameResolutionError < NewConnectionError < ConnectTimeoutError.
    if isinstance(cause, urllib3.exceptions.NameResolutionError):
        return "the host name does not resolve"
    if isinstance(cause, urllib3.exceptions.NewConnectionError):
        return "connection refused" if "refused" in str(cause).lower() else "no connection could be made"
    if isinstance(cause, urllib3.exceptions.ConnectTimeoutError) or isinstance(exc, requests.exceptions.ConnectTimeout):
        return "the connection timed out"
    return None


def describe_failure(exc: BaseException | None) -> str:
    """A few words on why a request failed, for log lines: `HTTP 503`, `connection refused`, `ReadTimeout`."""
    response = response_of(exc)
    if response is not None:
        return f"HTTP {response.status_code}"
    return connect_failure(exc) or type(exc).__name__


def response_of(exc: BaseException | None) -> requests.Response | None:
    """The HTTP response an exception carries, if any (SDK API errors and requests errors both do)."""
    response = getattr(exc, "response", None)
    return response if isinstance(response, requests.Response) else None


def retry_after_of(exc: BaseException | None) -> float | None:
    """The server's requested wait for a 429/503 response carried by ``exc``."""
    response = response_of(exc)
    if response is None or response.status_code not in (429, 503):
        return None
    headers = response.headers
    wait = parse_retry_after(headers.get("Retry-After"))
    if wait is None:
        wait = parse_retry_after(headers.get("X-Retry-After"))
    if wait is None and response.status_code == 429 and headers.get("X-RateLimit-Remaining") == "0":
        wait = parse_retry_after(headers.get("X-RateLimit-Reset"))
    if wait is None or wait < 1.0:
        # "now", or a time already past (this machine's clock ahead of the server's): honoured, every retry went at
        # once and the run gave up within a second of a rate limit that lasted seconds. The backoff waits instead.
        return None
    return min(wait, MAX_RETRY_AFTER_SECONDS)


def exponential_wait(attempt: int, *, base: float, cap: float) -> float:
    """Exponential backoff with "equal jitter": between half and all of ``base * 2**attempt``."""
    ceiling = min(cap, base * 2**attempt)
    return random.uniform(ceiling / 2, ceiling)


def wait_generator(
    *, base: float, cap: float, connect_budget: float = CONNECT_RETRY_SECONDS
) -> t.Generator[float, BaseException | None, None]:
    """A ``backoff`` wait generator: it receives each exception and honours Retry-After when present.

    A connection that cannot be made is retried only while the time since its first failure, plus the next
    wait, stays within ``connect_budget``; then the generator ends, which makes ``backoff`` give up.
    """
    exc = yield 0.0  # primes the generator, as backoff expects
    attempt = 0
    connect_failing_since: float | None = None
    connect_waits = 0.0
    while True:
        if connect_failure(exc):
            now = time.monotonic()
            if connect_failing_since is None:
                connect_failing_since = now
            wait = exponential_wait(attempt, base=min(base, 1.0), cap=cap)
            # the time spent so far: the waits asked for, or more if the attempts themselves took time (DNS)
            if max(now - connect_failing_since, connect_waits) + wait > connect_budget:
                return
            connect_waits += wait
        else:
            retry_after = retry_after_of(exc)
            wait = retry_after if retry_after is not None else exponential_wait(attempt, base=base, cap=cap)
        attempt += 1
        exc = yield wait
