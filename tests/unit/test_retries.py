"""Retry-After in every form Docker Hub has sent it, and the backoff generator."""

import email.utils
import time

import pytest
import requests

from tap_dockerdvp.http import retries
from tap_dockerdvp.http.totp import totp_code


def _response(status: int, headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    return response


class _Err(Exception):
    def __init__(self, response: requests.Response) -> None:
        super().__init__("x")
        self.response = response


def test_retry_after_seconds_and_epoch_and_http_date() -> None:
    now = 1_746_136_900.0
    assert retries.parse_retry_after("7", now=now) == 7
    assert retries.parse_retry_after("1746136938", now=now) == pytest.approx(38)  # Docker's epoch form
    # an HTTP date: 2025-05-02T00:00:00Z is 1746144000, 7100 s after `now`
    assert retries.parse_retry_after("Sat, 02 May 2025 00:00:00 GMT", now=now) == pytest.approx(7100)
    assert retries.parse_retry_after("Thu, 01 May 2025 00:00:00 GMT", now=now) == 0  # in the past: go now
    assert retries.parse_retry_after("1746000000", now=now) == 0  # an epoch in the past: go now
    assert retries.parse_retry_after("soon", now=now) is None
    assert retries.parse_retry_after(None) is None


def test_wait_generator_prefers_retry_after_then_backs_off_with_jitter() -> None:
    gen = retries.wait_generator(base=1.0, cap=8.0)
    next(gen)
    assert gen.send(_Err(_response(429, {"Retry-After": "3"}))) == 3
    epoch = str(int(time.time()) + 5)
    assert 3.5 <= gen.send(_Err(_response(429, {"Retry-After": epoch}))) <= 5.5
    waits = [gen.send(_Err(_response(503, {}))) for _ in range(6)]
    assert all(0 < w <= 8.0 for w in waits)
    assert waits[-1] >= 4.0  # capped at 8, jittered between half and all of it


@pytest.mark.parametrize("form", ["zero", "epoch past", "date past"])
def test_a_retry_after_of_now_or_the_past_backs_off(form: str) -> None:
    # honoured, a wait of 0 made every retry go at once: a clock ahead of Docker's gave up within a second
    past = time.time() - 60
    value = {"zero": "0", "epoch past": str(int(past)), "date past": email.utils.formatdate(past, usegmt=True)}[form]
    assert retries.retry_after_of(_Err(_response(429, {"Retry-After": value}))) is None
    gen = retries.wait_generator(base=2.0, cap=60.0)
    next(gen)
    waits = [gen.send(_Err(_response(429, {"Retry-After": value}))) for _ in range(4)]
    assert waits[0] >= 1.0 and waits[-1] >= 8.0  # the backoff: 1-2, 2-4, 4-8, 8-16 s


def test_rate_limit_reset_header_when_retry_after_is_missing() -> None:
    reset = str(int(time.time()) + 4)
    wait = retries.retry_after_of(_Err(_response(429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})))
    assert wait is not None and 2.5 <= wait <= 4.5


def test_totp_matches_rfc6238_vector() -> None:
    # RFC 6238 appendix B, SHA1 seed "12345678901234567890", T=59 -> 94287082 (8 digits)
    seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert totp_code(seed, at=59, digits=8) == "94287082"
    assert totp_code(seed.lower(), at=1111111109, digits=8) == "07081804"


def test_connection_failures_are_told_apart_from_failures_on_an_open_connection() -> None:
    import urllib3.exceptions

    def connection_error(cause: Exception) -> requests.exceptions.ConnectionError:
        return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/", cause))  # type: ignore[arg-type]

    refused = urllib3.exceptions.NewConnectionError(
        None, "Failed to establish a new connection: [Errno 111] Connection refused"
    )  # type: ignore[arg-type]
    assert retries.connect_failure(connection_error(refused)) == "connection refused"
    unknown = urllib3.exceptions.NameResolutionError("dvp.invalid", None, OSError("Name or service not known"))  # type: ignore[arg-type]
    assert retries.connect_failure(connection_error(unknown)) == "the host name does not resolve"
    assert retries.connect_failure(requests.exceptions.SSLError("certificate verify failed")) is not None
    reset = requests.exceptions.ConnectionError(ConnectionResetError(104, "Connection reset by peer"))
    assert retries.connect_failure(reset) is None  # the connection was made: retried like a 503
    assert retries.connect_failure(requests.exceptions.ReadTimeout()) is None


def test_the_connect_budget_ends_the_retries_of_a_connection_that_cannot_be_made() -> None:
    refused = requests.exceptions.ConnectionError(
        __import__("urllib3").exceptions.MaxRetryError(
            None, "/", __import__("urllib3").exceptions.NewConnectionError(None, "Connection refused")
        )
    )
    gen = retries.wait_generator(base=2.0, cap=300.0, connect_budget=3.0)
    next(gen)
    waits = []
    with pytest.raises(StopIteration):
        while True:
            waits.append(gen.send(refused))
    assert waits and sum(waits) <= 3.0
    assert retries.is_retriable_status(503) and not retries.is_retriable_status(501)
    assert not retries.is_retriable_status(505) and not retries.is_retriable_status(404)
