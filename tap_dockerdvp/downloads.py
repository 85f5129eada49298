"""Streaming downloads of export files from their presigned storage URLs.

The storage host authenticates by the URL's signature: it must never see the Hub `Authorization` header (S3
rejects a request that carries both), so downloads use their own session. Bodies are read in chunks and never
held whole. Nothing here logs a URL: its query string is a credential.
"""

from __future__ import annotations

import logging
import typing as t
from urllib.parse import urlsplit

import requests
import urllib3

from tap_dockerdvp import retries
from tap_dockerdvp.csv_reader import TruncatedFileError
from tap_dockerdvp.errors import DownloadError

CHUNK_SIZE = 1 << 20


class UrlExpiredError(Exception):
    """Storage refused the presigned URL (HTTP 403): ask the API for fresh URLs."""


class RetriableDownloadError(Exception):
    def __init__(self, message: str, response: requests.Response | None = None) -> None:
        super().__init__(message)
        self.response = response


def storage_session(user_agent: str) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    session.trust_env = False  # a netrc entry must not add an Authorization header for the storage host
    return session


def open_download(
    session: requests.Session,
    url: str,
    *,
    label: str,
    timeout: float,
    advertised_size: int | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> t.Iterator[bytes]:
    """Yield the body of ``url`` in chunks.

    Raises `UrlExpiredError` for 403, `RetriableDownloadError` for 429/5xx and network errors before the
    body, `TruncatedFileError` when the body ends short of its length or breaks off, and `DownloadError`
    for other statuses.
    """
    try:
        response = session.get(url, stream=True, timeout=timeout)
    except requests.RequestException as exc:
        raise RetriableDownloadError(f"{label}: {type(exc).__name__} while connecting") from None
    with response:
        status = response.status_code
        if status == 403:
            raise UrlExpiredError(f"{label}: storage refused the download URL (HTTP 403, expired or revoked)")
        if status in (408, 429) or status >= 500:
            raise RetriableDownloadError(f"{label}: HTTP {status} from storage", response)
        if status != 200:
            raise DownloadError(f"{label}: storage answered HTTP {status} for {urlsplit(url).path}")
        expected = _expected_length(response, advertised_size)
        received = 0
        try:
            for chunk in response.raw.stream(chunk_size, decode_content=False):
                received += len(chunk)
                yield chunk
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise TruncatedFileError(
                f"{label}: download broke off after {received} bytes ({type(exc).__name__})"
            ) from None
        if expected is not None and received < expected:
            raise TruncatedFileError(f"{label}: received {received} of {expected} bytes")


def _expected_length(response: requests.Response, advertised_size: int | None) -> int | None:
    header = response.headers.get("Content-Length")
    if header and header.isdigit():
        return int(header)
    return advertised_size


def wait_before_retry(exc: BaseException, attempt: int, *, base: float, logger: logging.Logger, label: str) -> float:
    """Seconds to wait before retrying a download, honouring Retry-After; logs the wait."""
    wait = retries.retry_after_of(exc)
    if wait is None:
        wait = retries.exponential_wait(attempt, base=base, cap=300.0)
    logger.info("Waiting %.1f s before retrying %s: %s", wait, label, exc)
    return wait
