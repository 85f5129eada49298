"""tap-dockerdvp: the tap class, its settings and its streams."""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import typing as t
from functools import cached_property

from jsonschema import Draft7Validator, ValidationError
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from tap_dockerdvp import __version__, redaction
from tap_dockerdvp.auth import DockerHubAuthenticator
from tap_dockerdvp.errors import ConfigError, TapError
from tap_dockerdvp.periods import TIMESPAN_TYPES
from tap_dockerdvp.progress import RunProgress
from tap_dockerdvp.report_views import OTHER, REPORT_SPECS, normalise_type, report_type_of
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

DEFAULT_API_URL = "https://hub.docker.com/api/publisher/analytics/v1"
DEFAULT_HUB_URL = "https://hub.docker.com"


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
            "api_url",
            th.StringType,
            default=DEFAULT_API_URL,
            title="DVP API URL",
            description="Base URL of the DVP Data API (point it at the simulator or a proxy)",
        ),
        th.Property(
            "hub_url",
            th.StringType,
            default=DEFAULT_HUB_URL,
            title="Docker Hub URL",
            description="Base URL of Docker Hub, for login and repository listings",
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
            "progress_interval_seconds",
            th.IntegerType,
            default=30,
            title="Progress interval",
            description="Seconds between progress lines (rows so far, rows/s) while a large file streams",
        ),
        th.Property(
            "user_agent",
            th.StringType,
            title="User agent",
            description="User-Agent header to send (default: tap-dockerdvp/<version>)",
        ),
    ).to_dict()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._namespace_metadata: dict[str, dict[str, t.Any]] | None = None
        self.progress = RunProgress(self.logger)
        redaction.install([str(self.config.get(key) or "") for key in ("password", "totp_secret")])

    @classmethod
    @override
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:
        """Run the CLI; an error the user can fix ends the run with its one-line message, not a traceback."""
        try:
            super().invoke(*args, **kwargs)
        except TapError as exc:
            cls.logger.error("%s", exc)
            sys.exit(1)

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
        # Resolve the namespaces first: a namespace the account cannot see fails the run before any output.
        self.streams["namespaces"].load_metadata()  # type: ignore[attr-defined]
        super().sync_all()
        self.progress.run_done()

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
        )

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Validate settings before anything runs; a failure is one line that names the setting."""
        with contextlib.suppress(ConfigValidationError):  # described below, one line per setting
            super()._validate_config(raise_errors=True)  # also fills in the defaults
        errors = [_describe(error) for error in Draft7Validator(self.config_jsonschema).iter_errors(self._config)]
        if not errors:
            try:
                self.check_settings(self._config)
            except ConfigError as exc:
                errors.append(str(exc))
        if errors and raise_errors:
            raise ConfigError("; ".join(errors))
        return errors

    @staticmethod
    def check_settings(config: t.Mapping[str, t.Any]) -> None:
        """Checks the JSON schema cannot express; each failure names the setting."""
        for key in ("username", "password"):
            if not str(config.get(key) or "").strip():
                raise ConfigError(f"setting `{key}` is empty: set it to your Docker Hub {key}")
        start = config.get("start_date")
        if start:
            try:
                dt.date.fromisoformat(str(start)[:10])
            except ValueError:
                raise ConfigError(f"setting `start_date` is not a date (YYYY-MM-DD): {start!r}") from None
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


def _describe(error: ValidationError) -> str:
    """A JSON-schema error as `setting `x`: problem`."""
    if error.validator == "required":
        return f"setting {error.message.split()[0].strip(chr(39))!r} is required".replace("'", "`")
    setting = str(error.absolute_path[0]) if error.absolute_path else "config"
    return f"setting `{setting}` is invalid: {error.message}"


if __name__ == "__main__":
    TapDockerDVP.cli()
