"""Streaming downloads of export files from their presigned storage URLs.

The storage host authenticates by the URL's signature: it must never see the Hub `Authorization` header (S3
rejects a request that carries both), so downloads use their own session. Bodies are read in chunks and never
held whole. Nothing here logs a URL: its query string is a credential.
"""

from __future__ import annotations

import logging
import re
import time
import typing as t
from urllib.parse import urlsplit

import requests
import urllib3

from tap_dockerdvp.errors import DownloadError, FileChangedError, TruncatedFileError
from tap_dockerdvp.http import retries

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


class _Broken(Exception):
    """The body stopped early: resume from the last byte received."""


class _Unreachable(RetriableDownloadError):
    """No connection could be made to the file's host (it does not resolve, refuses, times out): retried within
    ``retries.CONNECT_RETRY_SECONDS``, as an API host is, not for the minutes a broken download gets."""


class Download:
    """The body of a presigned URL as one unbroken byte stream (iterate it once); ``received`` counts the bytes
    so far and ``size`` is the file's size when known (for progress lines).

    A body that breaks off (reset, timeout, fewer bytes than its length) is resumed with an HTTP Range request
    from the last byte received, so the decompressor and CSV parser downstream never notice; a 429/5xx or a
    network error is retried with backoff; an expired URL (403) is replaced through ``refresh_url``. Each of
    these counts against ``max_tries``; when they run out the error names the file, never its URL.
    """

    def __init__(
        self,
        session: requests.Session,
        url: str,
        *,
        label: str,
        timeout: float,
        advertised_size: int | None = None,
        chunk_size: int = CHUNK_SIZE,
        refresh_url: t.Callable[[], str] | None = None,
        max_tries: int = 1,
        retry_base_seconds: float = 2.0,
        logger: logging.Logger | logging.LoggerAdapter | None = None,
    ) -> None:
        self.session, self.url, self.label, self.timeout = session, url, label, timeout
        self.size = advertised_size
        self.advertised_size = advertised_size
        self.chunk_size = chunk_size
        self.refresh_url = refresh_url
        self.max_tries = max_tries
        self.retry_base_seconds = retry_base_seconds
        self.log = logger or logging.getLogger("tap-dockerdvp.downloads")
        self.received = 0
        self.length_checked = False  # every byte the storage's Content-Length announced has arrived
        self.head = b""  # the body's first two bytes: the gzip magic, or the start of a plain body
        self._etag: str | None = None  # the file's ETag when first seen: a resumed body must be the same file

    def __iter__(self) -> t.Iterator[bytes]:
        failures = 0
        unreachable_since: float | None = None
        while True:
            try:
                yield from self._body()
                return
            except _Unreachable as exc:
                failures += 1
                now = time.monotonic()
                unreachable_since = unreachable_since or now
                wait = retries.exponential_wait(failures - 1, base=min(self.retry_base_seconds, 1.0), cap=300.0)
                if failures >= self.max_tries or now - unreachable_since + wait > retries.CONNECT_RETRY_SECONDS:
                    raise DownloadError(
                        f"{exc} (tried for {now - unreachable_since:.0f} s): check the network and any proxy between "
                        "this machine and the file host Docker's listing names (the period's bookmark did not move: "
                        "run again to resume)"
                    ) from None
                time.sleep(
                    wait_before_retry(
                        exc,
                        failures - 1,
                        base=self.retry_base_seconds,
                        logger=self.log,
                        label=self.label,
                        tries=self.max_tries,
                        wait=wait,
                    )
                )
            except UrlExpiredError:
                failures += 1
                if self.refresh_url is None or failures >= self.max_tries:
                    raise
                self.log.info("%s: the download URL expired; asking the API for fresh download URLs", self.label)
                self.url = self.refresh_url()
            except (RetriableDownloadError, _Broken) as exc:
                failures += 1
                if failures >= self.max_tries:
                    raise DownloadError(
                        f"{exc} (gave up after {failures} tries; the period's bookmark did not move: run again to "
                        "resume)"
                    ) from None
                wait = wait_before_retry(
                    exc, failures - 1, base=self.retry_base_seconds, logger=self.log, label=self.label,
                    tries=self.max_tries,
                )  # fmt: skip
                if self.received:
                    self.log.info("%s: resuming the download at byte %d", self.label, self.received)
                time.sleep(wait)

    def _body(self) -> t.Iterator[bytes]:
        """One request's body, from byte ``received`` on; raises what makes it worth another request."""
        label = self.label
        headers = {"Range": f"bytes={self.received}-"} if self.received else {}
        try:
            response = self.session.get(self.url, stream=True, timeout=self.timeout, headers=headers)
        except requests.RequestException as exc:
            failure = retries.connect_failure(exc)
            if failure:
                raise _Unreachable(f"{label}: {failure} (the file host {urlsplit(self.url).hostname})") from None
            raise RetriableDownloadError(f"{label}: {type(exc).__name__} while connecting") from None
        with response:
            skip = _check_response(response, label=label, received=self.received)
            etag = response.headers.get("ETag")
            if self._etag is not None and etag not in (None, self._etag):
                # The object changed under us: resuming would splice two files. The file is read again, whole.
                raise FileChangedError(f"{label}: the file changed while it was being downloaded")
            self._etag = etag or self._etag
            expected = _expected_length(response, self.size, self.received - skip)
            if self.size is None and expected is not None:
                self.size = expected
            try:
                for chunk in response.raw.stream(self.chunk_size, decode_content=False):
                    if skip:
                        chunk, skip = chunk[skip:], max(0, skip - len(chunk))
                        if not chunk:
                            continue
                    if len(self.head) < 2:
                        self.head += chunk[: 2 - len(self.head)]
                    self.received += len(chunk)
                    yield chunk
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                raise _Broken(
                    f"{label}: download broke off after {self.received} bytes ({type(exc).__name__})"
                ) from None
            if expected is not None and self.received < expected:
                raise _Broken(f"{label}: received {self.received} of {expected} bytes")
            if not self.received and self.advertised_size:  # a listed file is never empty: read as such, lost
                raise _Broken(f"{label}: storage sent an empty body for a file the API lists at "
                              f"{self.advertised_size} bytes")  # fmt: skip
            self.length_checked = (response.headers.get("Content-Length") or "").isdigit()


def _check_response(response: requests.Response, *, label: str, received: int) -> int:
    """Raise for an unusable status; return how many leading body bytes to skip (a 200 to a Range request)."""
    status = response.status_code
    code = _storage_code(response) if status in (400, 401) else ""
    # S3 answers 400 ExpiredToken when the credentials that signed a URL expire before the URL itself (role-signed
    # URLs): a fresh URL heals that, as a 403 or a storage 401; and 400 RequestTimeout is worth another try.
    if status in (401, 403) or code in STORAGE_EXPIRED_CODES:
        why = f", {code}" if code else ""
        raise UrlExpiredError(f"{label}: storage refused the download URL (HTTP {status}{why}, expired or revoked)")
    if retries.is_retriable_status(status) or code in STORAGE_RETRY_CODES:
        raise RetriableDownloadError(f"{label}: HTTP {status}{f' {code}' if code else ''} from storage", response)
    if status == 206 and received:
        content_range = response.headers.get("Content-Range", "")
        start = content_range.removeprefix("bytes ").split("-")[0]
        if not start.isdigit() or int(start) > received:
            raise TruncatedFileError(f"{label}: storage resumed at {content_range!r}, not at byte {received}")
        return received - int(start)
    if status == 200:
        return received  # the server ignored the Range header: skip what we already have
    raise DownloadError(
        f"{label}: storage answered HTTP {status}{f' ({code})' if code else ''} for {urlsplit(response.url).path}"
    )


#: S3's error codes (in the XML body of a 400) that a fresh presigned URL heals, and those another try may heal.
STORAGE_EXPIRED_CODES = frozenset({"ExpiredToken", "TokenRefreshRequired"})
STORAGE_RETRY_CODES = frozenset({"RequestTimeout"})


def _storage_code(response: requests.Response) -> str:
    """The error code an object store's XML error body names (`<Code>ExpiredToken</Code>`), else ""."""
    try:
        head = next(response.iter_content(4096), b"")
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
        return ""
    match = re.search(rb"<Code>([A-Za-z0-9.]{1,64})</Code>", head)
    return match.group(1).decode() if match else ""


def _expected_length(response: requests.Response, advertised_size: int | None, offset: int) -> int | None:
    """Total bytes the file should have: the response's offset plus its Content-Length, else the API's size."""
    header = response.headers.get("Content-Length")
    if header and header.isdigit():
        return offset + int(header)
    return advertised_size


def wait_before_retry(
    exc: BaseException,
    attempt: int,
    *,
    base: float,
    logger: logging.Logger | logging.LoggerAdapter,
    label: str,
    tries: int,
    wait: float | None = None,
) -> float:
    """Seconds to wait before retrying a download (``wait``, else as Retry-After says, else the backoff); logs the
    wait (``attempt`` counts from 0, of ``tries`` in all)."""
    if wait is None:
        wait = retries.retry_after_of(exc)
    if wait is None:
        wait = retries.exponential_wait(attempt, base=base, cap=300.0)
    reason = str(exc).removeprefix(f"{label}: ")
    logger.info("Waiting %.1f s before retrying %s: %s (attempt %d of %d)", wait, label, reason, attempt + 1, tries)
    return wait
