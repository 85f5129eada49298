"""When and how long to wait before retrying a Docker Hub request.

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

# A retry that waits longer than this is not worth it within one run; the run fails and resumes from state.
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
    return None if wait is None else min(wait, MAX_RETRY_AFTER_SECONDS)


def exponential_wait(attempt: int, *, base: float, cap: float) -> float:
    """Exponential backoff with "equal jitter": between half and all of ``base * 2**attempt``."""
    ceiling = min(cap, base * 2**attempt)
    return random.uniform(ceiling / 2, ceiling)


def wait_generator(*, base: float, cap: float) -> t.Generator[float, BaseException | None, None]:
    """A ``backoff`` wait generator: it receives each exception and honours Retry-After when present."""
    exc = yield 0.0  # primes the generator, as backoff expects
    attempt = 0
    while True:
        wait = retry_after_of(exc)
        if wait is None:
            wait = exponential_wait(attempt, base=base, cap=cap)
        attempt += 1
        exc = yield wait
