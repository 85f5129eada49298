"""tap-dockerdvp: the tap class, its settings and its streams."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import datetime as dt
import io
import logging
import shutil
import sys
import typing as t
from collections.abc import Callable, Iterator
from functools import cached_property
from urllib.parse import urlsplit

import click
from jsonschema import Draft7Validator, ValidationError
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.tap_base import CliTestOptionValue
from typing_extensions import override

from tap_dockerdvp import __version__, log_levels, parallel, redaction
from tap_dockerdvp.auth import DockerHubAuthenticator
from tap_dockerdvp.batch_files import BATCH_CONFIG_SETTING, check_storage, storage_secrets
from tap_dockerdvp.cli_inputs import catalog_problem, load_json_object, read_json_object, state_problem
from tap_dockerdvp.errors import ONE_LINE_ERRORS, ConfigError, InputFileError, StateError
from tap_dockerdvp.periods import TIMESPAN_TYPES
from tap_dockerdvp.progress import RunProgress
from tap_dockerdvp.report_views import OTHER, REPORT_SPECS, normalise_type, report_type_of
from tap_dockerdvp.run_state import RunState
from tap_dockerdvp.streams.exports import SUMMARY_STREAMS
from tap_dockerdvp.streams.namespaces import NamespacesStream
from tap_dockerdvp.streams.pull_events import PullEventsStream
from tap_dockerdvp.streams.pull_stats import (
    PULL_STATS_GROUPS,
    PULL_STATS_PERIODS,
    NamespacePullStatsStream,
    RepositoryPullStatsStream,
)
from tap_dockerdvp.streams.reports import DATA_SOURCES, REPORT_STREAMS, ReportsStream, data_sources
from tap_dockerdvp.streams.repositories import RepositoriesStream
from tap_dockerdvp.streams.timespans import TimespansStream
from tap_dockerdvp.streams.whole_tables import WholeTableStream

DEFAULT_API_URL = "https://hub.docker.com/api/publisher/analytics/v1"
DEFAULT_HUB_URL = "https://hub.docker.com"  # the origin of DEFAULT_API_URL: see `_default_hub_url`


class TapDockerDVP(Tap):
    """Docker Verified Publisher analytics: namespaces, repositories, timespans, summaries and pull events."""

    name = "tap-dockerdvp"
    plugin_version = __version__

    config_jsonschema = th.PropertiesList(
        th.Property(
            "username",
            th.StringType,
            required=True,
            title="Username",
            description="Docker Hub username of a member of the publisher organization",
        ),
        th.Property(
            "password",
            th.StringType,
            required=True,
            secret=True,
            title="Password or personal access token",
            description="A Docker Hub personal access token (recommended) or the account password",
        ),
        th.Property(
            "totp_secret",
            th.StringType,
            secret=True,
            title="TOTP secret",
            description="Base32 TOTP seed, only for accounts that log in with a password and two-factor auth",
        ),
        th.Property(
            "namespaces",
            th.ArrayType(th.StringType),
            title="Namespaces",
            description="DVP namespaces to extract (default: every namespace the account can read)",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description="On the first run, skip timespans that start before this date (YYYY-MM-DD)",
        ),
        th.Property(
            "end_date",
            th.DateTimeType,
            title="End date",
            description="Do not extract timespans or report periods that start on or after this date (YYYY-MM-DD, "
            "exclusive). With `start_date` it cuts a backfill into windows; give each window its own state ID",
        ),
        th.Property(
            "lookback_timespans",
            th.IntegerType,
            default=0,
            title="Lookback timespans",
            description="Each run first extracts again the N most recent completed timespans (and report periods) "
            "up to the bookmark of each partition, so data Docker revised after it was read is picked up; rows "
            "upsert on their keys",
        ),
        th.Property(
            "timespan_types",
            th.ArrayType(th.StringType(allowed_values=list(TIMESPAN_TYPES))),
            default=list(TIMESPAN_TYPES),
            title="Timespan types",
            description="Granularities to extract: `weeks`, `months` or both",
        ),
        th.Property(
            "raw_timespan_type",
            th.StringType(allowed_values=list(TIMESPAN_TYPES)),
            default="weeks",
            title="Raw timespan type",
            description="Granularity of the raw pull files (`pull_events`): a month's rows are its weeks' rows",
        ),
        th.Property(
            "data_source",
            th.StringType(allowed_values=list(DATA_SOURCES)),
            default="auto",
            title="Data source",
            description="Where to read analytics: `export` (legacy DVP export API), `reports` (the DVP program's "
            "report catalogue), `both`, or `auto`: per namespace, whichever has data (checked once per run)",
        ),
        th.Property(
            "report_type_map",
            th.ObjectType(additional_properties=th.StringType),
            title="Report type map",
            description="Catalogue report `type` -> report stream (summary, trends, technographic, "
            "technographic_companies, tracked_companies or other), for type names this tap does not know",
        ),
        th.Property(
            "pull_stats_timespan",
            th.StringType(allowed_values=list(TIMESPAN_TYPES)),
            default="weeks",
            title="Pull statistics timespan",
            description="`timespan` of the pull statistics endpoints: `weeks` or `months`",
        ),
        th.Property(
            "pull_stats_period",
            th.StringType(allowed_values=list(PULL_STATS_PERIODS)),
            default="last-12-months",
            title="Pull statistics period",
            description="`period` of the pull statistics endpoints (a rolling window ending now)",
        ),
        th.Property(
            "pull_stats_group",
            th.StringType(allowed_values=list(PULL_STATS_GROUPS)),
            default="namespace",
            title="Pull statistics group",
            description="`group` of namespace_pull_stats: `namespace` totals or one row per `repo` "
            "(repository_pull_stats always has one row per repository)",
        ),
        th.Property(
            "emit_activate_version_messages",
            th.BooleanType,
            default=True,
            title="Emit ACTIVATE_VERSION messages",
            description="Send ACTIVATE_VERSION for the full-table streams (namespaces, repositories, the pull "
            "statistics), so a target can delete their rows that disappeared (e.g. a deleted repository); the "
            "incremental streams never send it. Turn it off for runs sharded by namespace",
        ),
        th.Property(
            "api_url",
            th.StringType,
            default=DEFAULT_API_URL,
            title="DVP API URL",
            description="Base URL of the DVP Data API (point it at the simulator or a proxy)",
        ),
        th.Property(
            "hub_url",
            th.StringType,
            title="Docker Hub URL",
            description="Base URL of Docker Hub, for login and repository listings, and the only host the "
            "credentials go to. Default: the origin (scheme://host:port) of `api_url`, so https://hub.docker.com for "
            "the default `api_url`",
        ),
        th.Property(
            "request_timeout",
            th.IntegerType,
            default=300,
            title="Request timeout",
            description="Seconds to wait for a connection or for the next bytes of a response",
        ),
        th.Property(
            "max_retries",
            th.IntegerType,
            default=8,
            title="Maximum retries",
            description="Retries per request or file after a 429, 5xx, network error or broken download",
        ),
        th.Property(
            "retry_base_seconds",
            th.NumberType,
            default=2.0,
            title="Retry base wait",
            description="First exponential-backoff wait in seconds (doubles per retry, with jitter, up to 5 min)",
        ),
        th.Property(
            "parallel_workers",
            th.IntegerType,
            default=0,
            title="Parallel workers",
            description="How large files (8 MB and more, compressed) use the CPUs. With pyarrow installed (the "
            "parquet extra) Arrow's C++ parser reads them in the tap's process, a thread parsing ahead: 1 turns the "
            "threads off. Without pyarrow, worker processes parse and encode them besides the tap's own: 0 (the "
            "default) starts one per CPU, at most 4; 1 reads every file in the tap's process",
        ),
        th.Property(
            "late_data_grace_days",
            th.IntegerType,
            default=14,
            title="Late data grace days",
            description="Days after a listed period's last day during which files the API lists but cannot "
            "serve yet (HTTP 404, no files) hold its bookmark back, so the next run tries again; after that the "
            "period is taken as empty, with a WARNING",
        ),
        th.Property(
            "progress_interval_seconds",
            th.IntegerType,
            default=30,
            title="Progress interval",
            description="Seconds between progress lines (rows and MB out of the file's size) while a long file "
            "streams; a file read faster says only a DEBUG line",
        ),
        th.Property(
            "user_agent",
            th.StringType,
            title="User agent",
            description="User-Agent header to send (default: tap-dockerdvp/<version>)",
        ),
        BATCH_CONFIG_SETTING,
    ).to_dict()

    def __init__(self, *args: t.Any, validate_config: bool = True, **kwargs: t.Any) -> None:
        log_levels.install(self.logger)  # before the SDK builds the streams and logs each child stream
        self._hub_url_from_api_url = False
        try:
            super().__init__(*args, validate_config=validate_config, **kwargs)  # validates, fills in defaults
        except ConfigValidationError:
            raise ConfigError("; ".join(self.setting_problems())) from None
        self._default_hub_url()
        if validate_config:  # settings are checked before anything runs; each failure names its setting
            problems = self.setting_problems()
            if problems:
                raise ConfigError("; ".join(problems))
        self.run = RunState()
        self.progress = RunProgress(self.logger)
        redaction.install(
            [
                *(str(self.config.get(key) or "") for key in ("password", "totp_secret")),
                *storage_secrets(((self.config.get("batch_config") or {}).get("storage") or {}).get("params")),
            ]
        )

    # -- the command line: every mistake a user can fix is one line, with a traceback only at DEBUG ---------
    @override
    @classmethod
    def invoke(cls, **kwargs: t.Any) -> None:
        """Run the CLI; an error the user can fix ends the run with its one-line message, not a traceback."""
        with _one_line_errors(cls.logger):
            if kwargs.get("state") is not None:
                kwargs["state"] = _checked_file(kwargs["state"], "state", state_problem)
            if kwargs.get("catalog") is not None:
                kwargs["catalog"] = _checked_file(kwargs["catalog"], "catalog", catalog_problem)
            super().invoke(**kwargs)

    @override
    @classmethod
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]) -> t.Any:
        with _one_line_errors(cls.logger):
            for path in value:
                if path != "ENV":
                    read_json_object(path, kind="config")
        return super().cb_config(ctx, param, value)

    @override
    @classmethod
    def cb_discover(cls, ctx: click.Context, param: click.Option, value: bool) -> None:
        with _one_line_errors(cls.logger):
            super().cb_discover(ctx, param, value)

    @override
    @classmethod
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """`--test`: the SDK's connection check (log in, read one record of every stream), or `--test=schema`;
        either way one line at the end says whether it passed, and a failure is that line alone."""
        if value == CliTestOptionValue.Disabled.value:
            return
        with _one_line_errors(cls.logger, prefix="Connection test failed: "):
            config = ctx.params.get("config")
            tap = cls(
                config=dict(getattr(config, "config", None) or {}),
                parse_env_config=bool(getattr(config, "parse_env", False)),
                validate_config=True,
            )
            if value == CliTestOptionValue.Schema.value:
                tap.write_schemas()
                tap.logger.info("Schema test passed: %d streams", len(tap.streams))
            else:
                namespaces = tap.namespace_metadata()
                tap.run_connection_test()
                tap.logger.info(
                    "Connection test passed: logged in at %s as %s; %s lists namespace(s) %s; one record read "
                    "per stream",
                    tap.config["hub_url"],
                    tap.config["username"],
                    tap.url_setting(tap.config["api_url"])[1],
                    ", ".join(namespaces) or "none",
                )
        ctx.exit()

    @override
    def load_state(self, state: dict[str, t.Any]) -> None:
        problem = state_problem(state) if isinstance(state, dict) else "it is not a JSON object"
        if problem:
            raise StateError(f"the state is not a Singer state: {problem}")
        super().load_state(state)

    @override
    def discover_streams(self) -> list[Stream]:
        streams: list[type[Stream]] = [
            NamespacesStream,
            RepositoriesStream,
            TimespansStream,
            PullEventsStream,
            *SUMMARY_STREAMS,
            ReportsStream,
            *REPORT_STREAMS,
            NamespacePullStatsStream,
            RepositoryPullStatsStream,
        ]
        return [stream(tap=self) for stream in streams]

    # The SDK marks sync_all final but has no hook before or after a run; this adds one at each end.
    @override  # type: ignore[misc]
    def sync_all(self) -> None:
        for name in self.unknown_selected_streams():
            self.logger.warning(
                "The catalog selects stream %r, which tap-dockerdvp does not have: ignored "
                "(`tap-dockerdvp --discover` lists its streams)",
                name,
            )
        # Before any request to Docker: BATCH files can be written where `batch_config` says (pull_events always
        # writes BATCH files with it; the full-table streams may not, see below).
        batch_config = self.streams["pull_events"].get_batch_config(self.config)
        if batch_config is not None:
            check_storage(batch_config, self.logger)
            with_versions = [
                s.name for s in self.streams.values() if isinstance(s, WholeTableStream) and s.announces_versions
            ]
            if with_versions:
                self.logger.info(
                    "With batch_config, %s still send RECORD messages: each carries its table version, so a target "
                    "can delete the rows of older versions (ACTIVATE_VERSION); rows loaded from BATCH files carry none",
                    ", ".join(with_versions),
                )
        # Resolve the namespaces first: a namespace the account cannot see fails the run before any output.
        self.namespace_metadata()
        # Then every row of the full-table streams that announce a new table version: a failed request must end
        # the run before ACTIVATE_VERSION lets a target delete the old rows (see streams/whole_tables.py).
        for stream in self.streams.values():
            if isinstance(stream, WholeTableStream) and stream.announces_versions:
                stream.prefetch()
        try:
            super().sync_all()
        finally:
            if self.run.pool is not None:
                self.run.pool.shutdown(cancel_futures=True)
                self.run.pool = None
                shutil.rmtree(self.run.spool, ignore_errors=True)
        self.progress.run_done()

    def worker_pool(self) -> tuple[cf.ProcessPoolExecutor, int, str] | None:
        """The worker processes that read large files (`parallel_workers`) and their spool directory, started once
        per run; None if off."""
        workers = parallel.worker_count(int(self.config["parallel_workers"]))
        if not workers:
            return None
        if self.run.pool is None:
            self.run.pool = parallel.start_pool(workers)
            self.run.spool = parallel.spool_directory()
            self.logger.debug("Started %d worker processes to read large files", workers)
        return self.run.pool, workers, self.run.spool

    def reads_on_threads(self) -> bool:
        """Whether the Arrow lane may use threads (Arrow's parser, gzip): not with `parallel_workers: 1`."""
        return int(self.config["parallel_workers"]) != 1

    def namespace_metadata(self) -> dict[str, dict[str, t.Any]]:
        """NamespaceMetadata of every namespace this run extracts, resolved once (see `NamespacesStream`)."""
        if self.run.namespaces is None:
            self.run.namespaces = t.cast("NamespacesStream", self.streams["namespaces"]).fetch_metadata()
        return self.run.namespaces

    def unknown_selected_streams(self) -> list[str]:
        """Streams the input catalog selects that this tap does not have."""
        catalog = self.input_catalog
        if catalog is None:
            return []
        return sorted(
            stream_id
            for stream_id, entry in catalog.items()
            if stream_id not in self.streams and entry.metadata.root.selected
        )

    def sources_for(self, namespace: str) -> frozenset[str]:
        """The data planes read for ``namespace`` this run (`export`, `reports`), decided once and logged."""
        return data_sources(self, namespace)

    @cached_property
    def authenticator(self) -> DockerHubAuthenticator:
        """One authenticator per run, so every stream shares the JWT and its refreshes."""
        return DockerHubAuthenticator(
            hub_url=self.config["hub_url"],
            username=self.config["username"],
            password=self.config["password"],
            totp_secret=self.config.get("totp_secret") or None,
            timeout=float(self.config["request_timeout"]),
            max_tries=int(self.config["max_retries"]) + 1,
            retry_base_seconds=float(self.config["retry_base_seconds"]),
            user_agent=self.config.get("user_agent") or f"tap-dockerdvp/{__version__}",
            logger=self.logger,
            where=self.url_setting(self.config["hub_url"])[1],
        )

    def url_setting(self, url: str | None) -> tuple[str, str, str]:
        """(setting, how messages name it, its value) for the configured URL ``url`` is under."""
        api_url = str(self.config["api_url"]).rstrip("/")
        if (url or "").startswith(api_url):
            return "api_url", f"`api_url` {api_url}", api_url
        hub_url = str(self.config["hub_url"]).rstrip("/")
        note = " (not set, so the origin of `api_url`)" if self._hub_url_from_api_url else ""
        return "hub_url", f"`hub_url` {hub_url}{note}", hub_url

    def _default_hub_url(self) -> None:
        """`hub_url` left unset is the origin of `api_url`: credentials never go to a host the user did not
        choose (with `api_url` at a proxy or the simulator, logging in at hub.docker.com would send them there)."""
        if self._config.get("hub_url"):
            return
        api_url = str(self._config.get("api_url") or DEFAULT_API_URL)
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self._config["hub_url"] = DEFAULT_HUB_URL  # `api_url` itself is rejected below
            return
        self._config["hub_url"] = f"{parts.scheme}://{parts.netloc}"
        if api_url.rstrip("/") != DEFAULT_API_URL:
            self._hub_url_from_api_url = True
            self.logger.info("`hub_url` is not set: logging in at %s, the origin of `api_url`", self._config["hub_url"])

    def setting_problems(self) -> list[str]:
        """What is wrong with the settings, one line each naming the setting: the JSON schema's rules, then the
        checks it cannot express."""
        config = self._config
        problems = [_describe(error) for error in Draft7Validator(self.config_jsonschema).iter_errors(config)]
        if not problems:
            try:
                self.check_settings(config)
            except ConfigError as exc:
                problems.append(str(exc))
        return problems

    @staticmethod
    def check_settings(config: t.Mapping[str, t.Any]) -> None:
        """Checks the JSON schema cannot express; each failure names the setting."""
        advice = {"username": "your Docker Hub username", "password": "a Docker Hub personal access token"}
        for key in ("username", "password"):
            if not str(config.get(key) or "").strip():
                raise ConfigError(f"setting `{key}` is empty: set it to {advice[key]}")
        dates = {}
        for key in ("start_date", "end_date"):
            value = config.get(key)
            if value:
                try:
                    dates[key] = dt.date.fromisoformat(str(value)[:10])
                except ValueError:
                    raise ConfigError(f"setting `{key}` is not a date (YYYY-MM-DD): {value!r}") from None
        if "start_date" in dates and "end_date" in dates and dates["end_date"] <= dates["start_date"]:
            raise ConfigError(
                f"setting `end_date` ({dates['end_date']}) must be after `start_date` ({dates['start_date']}): the "
                "window is [start_date, end_date)"
            )
        unknown = sorted(set(config["timespan_types"]) - set(TIMESPAN_TYPES))
        if unknown or not config["timespan_types"]:
            raise ConfigError(
                f"setting `timespan_types` must list weeks and/or months, got {config['timespan_types']!r}"
            )
        for key in ("api_url", "hub_url"):
            if not str(config[key]).startswith(("http://", "https://")):
                raise ConfigError(f"setting `{key}` must be an http(s) URL, got {config[key]!r}")
        for key, target in dict(config.get("report_type_map") or {}).items():
            if not report_type_of(str(target))[1] and normalise_type(str(target)) != OTHER:
                raise ConfigError(
                    f"setting `report_type_map` maps {key!r} to {target!r}: use one of "
                    f"{', '.join((*REPORT_SPECS, OTHER))}"
                )
        if int(config["max_retries"]) < 0 or int(config["request_timeout"]) <= 0:
            raise ConfigError("settings `max_retries` must be >= 0 and `request_timeout` > 0")
        if int(config["parallel_workers"]) < 0:
            raise ConfigError(f"setting `parallel_workers` must be >= 0, got {config['parallel_workers']!r}")
        if int(config.get("lookback_timespans") or 0) < 0:
            raise ConfigError(f"setting `lookback_timespans` must be >= 0, got {config['lookback_timespans']!r}")
        if int(config["late_data_grace_days"]) < 0:
            raise ConfigError(f"setting `late_data_grace_days` must be >= 0, got {config['late_data_grace_days']!r}")


@contextlib.contextmanager
def _one_line_errors(logger: logging.Logger, prefix: str = "") -> Iterator[None]:
    """End the process with exit code 1 and the error's one-line message (its traceback only at DEBUG)."""
    try:
        yield
    except ONE_LINE_ERRORS as exc:
        if not isinstance(exc, (ConfigError, InputFileError)):  # where in the code a bad input was noticed is no help
            logger.debug("Traceback of the error below", exc_info=True)
        logger.error("%s%s", prefix, exc)
        sys.exit(1)


def _checked_file(file: t.IO[str], kind: str, problem: Callable[[dict[str, t.Any]], str | None]) -> t.IO[str]:
    """The `--state` / `--catalog` file, read and checked; the SDK then reads the same text again."""
    name = getattr(file, "name", kind)
    try:
        text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{kind} file {name} cannot be read: {exc}") from None
    found = problem(load_json_object(text, kind=kind, name=name))
    if found:
        raise (StateError if kind == "state" else InputFileError)(f"{kind} file {name}: {found}")
    return io.StringIO(text)


def _describe(error: ValidationError) -> str:
    """A JSON-schema error as `setting `x`: problem`."""
    if error.validator == "required":
        return f"setting {error.message.split()[0].strip(chr(39))!r} is required".replace("'", "`")
    setting = str(error.absolute_path[0]) if error.absolute_path else "config"
    return f"setting `{setting}` is invalid: {error.message}"


if __name__ == "__main__":
    TapDockerDVP.cli()
