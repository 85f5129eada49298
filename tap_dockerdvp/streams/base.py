"""The base stream for every Docker Hub and DVP API call: auth, retries and error messages without secrets."""

from __future__ import annotations

import functools
import logging
import sys
import time
import typing as t
from functools import cached_property
from urllib.parse import urlsplit

import backoff
import requests
from singer_sdk import metrics
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError, SyncLifecycleSignal
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.streams import RESTStream
from typing_extensions import override

from tap_dockerdvp.errors import (
    ONE_LINE_ERRORS,
    RetriesExhaustedError,
    UnreachableError,
    WrongServiceError,
    error_detail,
)
from tap_dockerdvp.files.batch_files import BatchFiles, BatchShape
from tap_dockerdvp.http import retries
from tap_dockerdvp.http.responses import bearer_of, is_html, is_json, kind_of
from tap_dockerdvp.http.urls import check_hint, safe_path, same_host
from tap_dockerdvp.streams.run import RowCounter

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_dockerdvp.http.auth import DockerHubAuthenticator
    from tap_dockerdvp.streams.run import RunningTap

_F = t.TypeVar("_F", bound=t.Callable[..., requests.Response])


class DockerHubStream(RESTStream):
    """RESTStream with the tap's shared JWT authenticator, Retry-After aware backoff and 401 re-login."""

    url_base_setting = "api_url"
    # Which statuses are retried is decided in one place, `retries.RETRY_STATUSES` (see `validate_response`).
    extra_retry_statuses = tuple(sorted(s for s in retries.RETRY_STATUSES if s < 500))

    @property
    @override
    def url_base(self) -> str:
        return self.tap.urls.base(self.url_base_setting)

    @property
    @override
    def authenticator(self) -> DockerHubAuthenticator:
        return self.tap.authenticator

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
        request = (details.get("args") or [None])[0]
        self.logger.info(
            retries.RETRY_MESSAGE,
            details.get("wait", 0.0),
            self._endpoint(getattr(request, "url", None)),
            retries.describe_failure(details.get("exception")),
            details.get("tries", 0),
            self.backoff_max_tries(),
        )

    def _endpoint(self, url: str | None) -> str:
        """A request's path below its setting's base URL (`/namespaces/acme`), never its query string."""
        if not url:
            return self.path or "/"
        base = urlsplit(self.tap.urls.setting_of(url)[2]).path.rstrip("/")
        return safe_path(url).removeprefix(base) or "/"

    @override
    def request_decorator(self, func: _F) -> _F:
        """The SDK's retries, logged once (our line, not the backoff library's too), and their failures in one
        line: a URL where nothing answers names its setting, retries that ran out say how many there were."""
        retrying = backoff.on_exception(
            self.backoff_wait_generator,
            retries.RETRIABLE_EXCEPTIONS,
            max_tries=self.backoff_max_tries,
            on_backoff=self.backoff_handler,
            jitter=self.backoff_jitter,
            logger=None,
        )(func)

        @functools.wraps(func)
        def request(prepared_request: requests.PreparedRequest, *args: t.Any, **kwargs: t.Any) -> requests.Response:
            started = time.monotonic()
            try:
                return retrying(prepared_request, *args, **kwargs)
            except RetriableAPIError as exc:
                raise RetriesExhaustedError(
                    f"{exc} (gave up after {self.backoff_max_tries()} tries; the bookmark did not move: run again "
                    "to resume)"
                ) from None
            except (requests.RequestException, ConnectionResetError) as exc:
                failure = retries.connect_failure(exc)
                if failure is None:
                    raise RetriesExhaustedError(
                        f"{retries.describe_failure(exc)} for {safe_path(prepared_request.url)} (gave up after "
                        f"{self.backoff_max_tries()} tries; the bookmark did not move: run again to resume)"
                    ) from None
                setting, where, base = self.tap.urls.setting_of(prepared_request.url)
                raise UnreachableError(
                    f"cannot reach {where}: {failure} (tried for {time.monotonic() - started:.0f} s); "
                    f"{check_hint(setting, base)}"
                ) from None

        return t.cast(_F, request)

    # -- responses ------------------------------------------------------------------------------
    @override
    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status in self._absent:
            return
        if status < 400:
            if not is_json(response):  # every API answer the tap reads is a JSON object or array
                self._not_the_service(response)
            self.tap.run.answered.add(self.tap.urls.setting_of(response.url)[0])
            self.authenticator.accepted(bearer_of(response))
            return
        if status == 401:
            self._handle_unauthorized(response)
        if status == 403:
            raise FatalAPIError(self.refused(response, "access to"))
        if retries.is_retriable_status(status):
            raise RetriableAPIError(self.response_error_message(response), response)
        if is_html(response):
            self._not_the_service(response)
        raise FatalAPIError(self.response_error_message(response))

    def refused(self, response: requests.Response, what: str) -> str:
        """The line for Docker Hub's 403 to ``what`` (`access to`, `the report download`) at the response's URL."""
        return (
            f"Docker Hub refused {what} {safe_path(response.url)} (HTTP 403: {short_detail(response)}): the account "
            f"{self.config['username']!r} (setting `username`) lacks access to it"
        )

    def _not_the_service(self, response: requests.Response) -> t.NoReturn:
        """An answer that is not the API's: from a host that answered JSON earlier this run, a passing page (a
        maintenance or CDN page), retried; else the wrong service, one line naming the setting."""
        if self.tap.urls.setting_of(response.url)[0] in self.tap.run.answered:
            raise RetriableAPIError(
                f"{kind_of(response)} (HTTP {response.status_code}) for {safe_path(response.url)}, where the API "
                "answered JSON before",
                response,
            )
        raise WrongServiceError(self._wrong_service(response))

    def _wrong_service(self, response: requests.Response) -> str:
        setting, where, _ = self.tap.urls.setting_of(response.url)
        service = "the DVP API" if setting == "api_url" else "Docker Hub"
        return (
            f"{where} answered {kind_of(response)}, not {service} (HTTP {response.status_code} for "
            f"{response.request.method} {safe_path(response.url)}): check `{setting}`"
        )

    def _handle_unauthorized(self, response: requests.Response) -> None:
        """On a 401, log in again once and retry; a fresh token refused again is fatal. A 401 from another host
        a redirect led to is neither: the token is not sent across hosts, so no login would help."""
        first = response.history[0].url if response.history else response.url
        if not same_host(first, response.url):
            setting, where, _ = self.tap.urls.setting_of(first)
            raise FatalAPIError(
                f"{where} redirected {safe_path(first)} to another host ({urlsplit(response.url).netloc}), which "
                f"answered HTTP 401: the token is never sent to another host; check `{setting}`"
            )
        used = bearer_of(response)
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
    def tap(self) -> RunningTap:
        """The tap, as far as streams use it: its run-wide state (``tap.run``), URLs, progress, namespace metadata."""
        return t.cast("RunningTap", self._tap)

    # -- logs a person wants to read -------------------------------------------------------------
    @override
    def log(self, message: str, *args: t.Any, level: int = logging.INFO, **kwargs: t.Any) -> None:
        """The SDK's stream lines, at the level a person wants them (docs/operations.md, *Logging*):

        - "Beginning sync" of a child stream: at INFO the first time in a run, then at DEBUG (the parent's
          "done" line sums up each period), and always at DEBUG for a view the namespace does not offer;
        - "An unhandled error occurred" for an error the CLI prints in one line, or for the SDK's own record
          limit (`--test`): at DEBUG.
        """
        if level == logging.INFO and message.startswith("Beginning sync of") and self.parent_stream_type:
            announced = self.tap.run.announced
            if self.name in announced or not getattr(self, "context_applies", True):
                level = logging.DEBUG
            else:
                announced.add(self.name)
        elif message.startswith("An unhandled error occurred") and isinstance(
            sys.exc_info()[1], (*ONE_LINE_ERRORS, SyncLifecycleSignal, BrokenPipeError)
        ):
            level = logging.DEBUG
        super().log(message, *args, level=level, **kwargs)

    @override
    def get_record_counter(
        self, *, endpoint: str | None = None, log_interval: float = metrics.DEFAULT_LOG_INTERVAL
    ) -> metrics.Counter:
        """The SDK's record counter (the METRIC lines), also counting the run's rows for its summary."""
        counter = super().get_record_counter(endpoint=endpoint, log_interval=log_interval)
        return RowCounter(counter, self.tap.progress, self.name)

    # -- BATCH files -------------------------------------------------------------------------------
    def selected_keys(self) -> tuple[str, ...]:
        """The selected properties, in schema order: what RECORD lines and BATCH files carry."""
        mask = self.mask
        return tuple(key for key in self.schema["properties"] if mask.get(("properties", key), True))

    def maps_reason(self) -> str | None:
        """Why records must be mapped by the SDK's mapper (stream maps, flattening), or None."""
        if self.config.get("flattening_enabled"):
            return "flattening is enabled (flattening_enabled)"
        maps = self.stream_maps
        if len(maps) != 1 or type(maps[0]) is not SameRecordTransform or maps[0].stream_alias != self.name:
            return "stream maps apply to it (stream_maps)"
        return None

    def batch_shape(self) -> BatchShape:
        """What this stream's batch rows hold: its selected properties, then its stream maps and flattening."""
        selected = self.selected_keys()
        if self.maps_reason() is None:
            return BatchShape(selected, None, self.schema, selected)
        mapper = self.stream_maps[0]
        schema = mapper.transformed_schema or self.schema
        return BatchShape(selected, mapper, schema, tuple(schema["properties"]))

    def configured_batches(self) -> t.Any:
        """`batch_config` as the SDK reads it, None when it is not set (whether or not this stream writes BATCH)."""
        return super().get_batch_config(self.config)

    @override
    def get_batch_config(self, config: t.Mapping) -> t.Any:
        """None (RECORD messages) under a record limit (`--test`): the SDK applies the limit on its record path
        only, so its BATCH path would read every period and write every file to the storage. The run's check of
        the storage still writes and deletes its probe file (`RunningTap.preflight`)."""
        if self.ABORT_AT_RECORD_COUNT is not None:
            return None
        return super().get_batch_config(config)

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> t.Any:
        # The first hook the SDK's `Stream.sync` calls, before the stream's first message: the run's checks come
        # first (`RunningTap.preflight`, once a run). A hook before a run would make this simpler.
        self.tap.preflight()
        return super().get_replication_key_signpost(context)

    @override
    def log_sync_costs(self) -> None:
        super().log_sync_costs()
        # The SDK has no hook after a run; it ends one by asking every stream, in order, to log its costs: the
        # last stream asked logs the run's summary. (A hook after `Tap.sync_all` would make this simpler.)
        if self is list(self.tap.streams.values())[-1]:
            self.tap.progress.run_done()

    @override
    def get_batches(self, batch_config: t.Any, context: Context | None = None) -> t.Iterable[tuple[t.Any, list[str]]]:
        """The records of an API stream (namespaces, repositories, pull statistics) as batch files, written like the
        file-backed streams' (:class:`~tap_dockerdvp.files.batch_files.BatchFiles`): the SDK's batcher types parquet
        columns from the values (an empty ``extra_fields`` object cannot be written) and applies no stream map or
        flattening, although the SCHEMA it sends is the mapped one. Period streams override this again."""
        shape = self.batch_shape()
        writer = BatchFiles(batch_config, tap_name=self.tap_name, stream_name=self.name)
        pending: list[dict[str, t.Any]] = []

        def write() -> list[str]:
            rows = shape.rows(pending)
            pending.clear()
            counter.increment(len(rows))
            return writer.add_rows(rows, shape.keys, shape.schema)

        with writer, self.get_record_counter() as counter:  # a sync that fails abandons its open file
            partitions: list[Context | None] = [context] if context else [*(self.partitions or ())] or [None]
            for partition in partitions:
                for record in self.get_records(partition):
                    processed = self.post_process(record, partition)
                    if processed is None:
                        continue
                    pending.append(processed)
                    if len(pending) >= writer.room:
                        for url in write():
                            yield batch_config.encoding, [url]
            if pending:
                for url in write():
                    yield batch_config.encoding, [url]
            for url in writer.close():
                yield batch_config.encoding, [url]

    @cached_property
    @override
    def user_agent(self) -> str:
        from tap_dockerdvp import __version__

        return str(self.config.get("user_agent") or f"tap-dockerdvp/{__version__}")


def short_detail(response: requests.Response, limit: int = 200) -> str:
    """The error text of a response body, shortened, for one-line messages."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip().replace("\n", " ")
        return text[:limit] or response.reason or ""
    return error_detail(body, limit) or str(body)[:limit]
