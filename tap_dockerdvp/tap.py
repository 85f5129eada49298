"""tap-dockerdvp: the tap class, the one place where settings, streams and the run come together."""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import typing as t
from functools import cached_property

import click
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError
from singer_sdk.tap_base import CliTestOptionValue
from typing_extensions import override

from tap_dockerdvp import __version__, logs, settings
from tap_dockerdvp.cli import catalog_problem, checked_file, one_line_errors, read_json_object, state_problem
from tap_dockerdvp.dvp import answers, endpoints, sources
from tap_dockerdvp.dvp.catalogue import Catalogue
from tap_dockerdvp.dvp.periods import utc_today
from tap_dockerdvp.errors import ConfigError, InputFileError, StateError
from tap_dockerdvp.files.batch_files import check_storage, storage_secrets
from tap_dockerdvp.files.progress import RunProgress
from tap_dockerdvp.http.auth import DockerHubAuthenticator
from tap_dockerdvp.http.urls import Urls
from tap_dockerdvp.streams.exports import SUMMARY_STREAMS
from tap_dockerdvp.streams.namespaces import NamespacesStream
from tap_dockerdvp.streams.pull_events import PullEventsStream
from tap_dockerdvp.streams.pull_stats import NamespacePullStatsStream, RepositoryPullStatsStream
from tap_dockerdvp.streams.reports import REPORT_STREAMS, ReportsStream, load_catalogue
from tap_dockerdvp.streams.repositories import RepositoriesStream
from tap_dockerdvp.streams.run import RunState
from tap_dockerdvp.streams.timespans import TimespansStream
from tap_dockerdvp.streams.whole_tables import WholeTableStream

#: Every stream of the tap (the SDK syncs them in the order of their names).
STREAMS: tuple[type[Stream], ...] = (
    NamespacesStream,
    RepositoriesStream,
    TimespansStream,
    PullEventsStream,
    *SUMMARY_STREAMS,
    ReportsStream,
    *REPORT_STREAMS,
    NamespacePullStatsStream,
    RepositoryPullStatsStream,
)

#: The streams with bookmarks, all dates (a period's start): a state's values for them are checked before the run.
DATED_STREAMS = frozenset({"timespans", "reports"})


class TapDockerDVP(Tap):
    """Docker Verified Publisher analytics: namespaces, repositories, timespans, summaries and pull events."""

    name = "tap-dockerdvp"
    plugin_version = __version__
    config_jsonschema = settings.SCHEMA

    def __init__(self, *args: t.Any, validate_config: bool = True, **kwargs: t.Any) -> None:
        logs.install_levels(self.logger)  # before the SDK builds the streams and logs each child stream
        known = self.known_settings()
        try:
            super().__init__(*args, validate_config=validate_config, **kwargs)  # validates, fills in defaults
        except ConfigValidationError as exc:  # ours, named per setting; else the SDK's own (flattening's)
            lines = settings.problems(self.config, known) or [f"{exc}: {error}" for error in exc.errors] or [str(exc)]
            raise ConfigError("\n".join(lines)) from None
        except ValueError:  # the SDK parses `--config ENV` values by type, and names no variable when one fails
            lines = settings.environment_problems(known, os.environ) if kwargs.get("parse_env_config") else []
            if not lines:
                raise
            raise ConfigError("\n".join(lines)) from None
        if validate_config:  # checked before anything runs: every problem, one line each naming its setting
            problems = settings.problems(self.config, known)
            if kwargs.get("parse_env_config"):  # a flag's text the SDK read as false without a word
                problems = [*settings.environment_problems(known, os.environ), *problems]
            if problems:
                raise ConfigError("\n".join(problems))
            self.check_catalog()
            self.check_raw_timespan_type()
        for line in (
            *settings.unknown_keys(self.config, known),
            *settings.unknown_map_streams(self.config, list(self.streams)),
            *settings.future_start(self.config, utc_today()),
        ):
            self.logger.warning("%s", line)
        if threading.current_thread() is threading.main_thread():
            # The SDK ends a run stopped by SIGTERM or SIGINT with exit code 0: a scheduler that stops a run at
            # its timeout would count it a success. Its handler is replaced (the SDK has no hook for the code).
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, _stopped)
        self.urls = Urls.of(self.config)
        if self.urls.hub_url_derived:
            self.logger.info("`hub_url` is not set: logging in at %s, the origin of `api_url`", self.urls.hub_url)
        self.run = RunState()
        self.progress = RunProgress(self.logger)
        batch_storage = (self.config.get("batch_config") or {}).get("storage") or {}
        logs.install_redactor(
            [
                *(str(self.config.get(key) or "") for key in ("password", "totp_secret")),
                *storage_secrets(batch_storage.get("params")),
            ]
        )

    @classmethod
    def known_settings(cls) -> dict[str, t.Any]:
        """The settings' JSON schema with the SDK's built-in ones (stream maps, flattening) added."""
        schema = {**cls.config_jsonschema, "properties": dict(cls.config_jsonschema["properties"])}
        cls.append_builtin_config(schema)
        return schema

    def check_raw_timespan_type(self) -> None:
        """`pull_events` reads only `raw_timespan_type` periods: with that type left out of `timespan_types` a
        selected `pull_events` would get no row, silently, while the bookmarks move past its periods."""
        raw, types = self.config["raw_timespan_type"], list(self.config["timespan_types"])
        if raw not in types and self.streams[PullEventsStream.name].selected:
            raise ConfigError(
                f"setting `raw_timespan_type` is {raw}, which `timespan_types` ({', '.join(types)}) leaves out: "
                f"`pull_events` would get no rows; add {raw} to `timespan_types`, or deselect `pull_events`"
            )

    def check_catalog(self) -> None:
        """A catalog that selects no stream of this tap would make a scheduled run do nothing, silently: refused.
        Streams it selects that the tap lacks are named in a WARNING."""
        catalog = self.input_catalog
        if catalog is None:
            return
        selected = sorted(stream_id for stream_id, entry in catalog.items() if entry.metadata.root.selected)
        unknown = [name for name in selected if name not in self.streams]
        if len(unknown) == len(selected):
            what = (
                f"the catalog selects {', '.join(selected)}, and none is a stream of tap-dockerdvp"
                if selected
                else "the catalog selects no stream at all"
            )
            raise InputFileError(
                f"{what}: select streams it has (`tap-dockerdvp --discover` lists them; in Meltano, "
                "`meltano select tap-dockerdvp --list --all`)"
            )
        for name in unknown:
            self.logger.warning(
                "The catalog selects stream %r, which tap-dockerdvp does not have: ignored "
                "(`tap-dockerdvp --discover` lists its streams)",
                name,
            )

    # -- the command line: every mistake a user can fix is one line, with a traceback only at DEBUG ---------
    @override
    @classmethod
    def invoke(cls, **kwargs: t.Any) -> None:
        """Run the CLI; an error the user can fix ends the run with its one-line message, not a traceback."""
        with one_line_errors(cls.logger):
            if kwargs.get("state") is not None:
                problem = functools.partial(state_problem, dated=DATED_STREAMS)
                kwargs["state"] = checked_file(kwargs["state"], "state", problem)
            if kwargs.get("catalog") is not None:
                kwargs["catalog"] = checked_file(kwargs["catalog"], "catalog", catalog_problem)
            super().invoke(**kwargs)

    @override
    @classmethod
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]) -> t.Any:
        with one_line_errors(cls.logger):
            for path in value:
                if path != "ENV":
                    read_json_object(path, kind="config")
        return super().cb_config(ctx, param, value)

    @override
    @classmethod
    def cb_discover(cls, ctx: click.Context, param: click.Option, value: bool) -> None:
        with one_line_errors(cls.logger):
            super().cb_discover(ctx, param, value)

    @override
    @classmethod
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """`--test`: the SDK's connection check (log in, read each stream up to its first record), or `--test=schema`;
        either way one line at the end says whether it passed, and a failure is that line alone."""
        if value == CliTestOptionValue.Disabled.value:
            return
        with one_line_errors(cls.logger, prefix="Connection test failed: "):
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
                    "Connection test passed: logged in at %s as %s; %s lists namespace(s) %s; each stream read up "
                    "to its first record",
                    tap.urls.hub_url,
                    tap.config["username"],
                    tap.urls.setting_of(tap.urls.api_url)[1],
                    ", ".join(namespaces) or "none",
                )
        ctx.exit()

    @override
    def load_state(self, state: dict[str, t.Any]) -> None:
        problem = state_problem(state, DATED_STREAMS) if isinstance(state, dict) else "it is not a JSON object"
        if problem:
            raise StateError(f"the state is not a Singer state: {problem}")
        super().load_state(state)

    @override
    def discover_streams(self) -> list[Stream]:
        return [stream(tap=self) for stream in STREAMS]

    # -- what the streams share (streams.run.RunningTap) ------------------------------------------------------
    def preflight(self) -> None:
        """What comes before the run writes any row, once: the BATCH storage takes a file; every namespace to
        extract is readable; and every row of the full-table streams that announce a table version is fetched, so
        a failed request ends the run before a target is told to delete anything (see
        :mod:`tap_dockerdvp.streams.whole_tables`). Every stream calls this from the first hook of its sync, before its
        first message (``get_replication_key_signpost``): the SDK has no hook before a run, which would make this
        simpler."""
        if self.run.preflown:
            return
        self.run.preflown = True
        batch_config = t.cast("NamespacesStream", self.streams["namespaces"]).configured_batches()
        if batch_config is not None:
            check_storage(batch_config, self.logger)
        self.namespace_metadata()
        for stream in self.streams.values():
            if isinstance(stream, WholeTableStream) and stream.announces_versions:
                stream.prefetch()

    def namespace_metadata(self) -> dict[str, dict[str, t.Any]]:
        """NamespaceMetadata of every namespace this run extracts, resolved once (see `NamespacesStream`)."""
        if self.run.namespaces is None:
            self.run.namespaces = t.cast("NamespacesStream", self.streams["namespaces"]).fetch_metadata()
        return self.run.namespaces

    def sources_for(self, namespace: str) -> frozenset[str]:
        """The data planes read for ``namespace`` this run (`export`, `reports`; the `data_source` setting),
        decided once and logged."""
        cache = self.run.sources
        if namespace not in cache:
            setting = str(self.config.get("data_source") or "auto")
            chosen = sources.configured(setting)
            if chosen is not None:
                self.logger.info(
                    "Namespace %s: data_source=%s: reading %s", namespace, setting, sources.describe(chosen)
                )
            else:
                chosen = self._detect_sources(namespace)
            cache[namespace] = chosen
        return cache[namespace]

    def _detect_sources(self, namespace: str) -> frozenset[str]:
        """`data_source: auto`: the planes that have data for ``namespace`` (a catalogue the account may not read
        counts as none)."""
        listing = t.cast("TimespansStream", self.streams["timespans"])
        path = endpoints.EXPORT_YEARS.format(namespace=namespace)
        why = ""
        try:
            has_reports = bool(load_catalogue(t.cast("ReportsStream", self.streams["reports"]), namespace).entries)
        except FatalAPIError as exc:  # 401/403/4xx: an account without the new program's reports
            has_reports, why = False, f" (the report catalogue is not readable: {exc})"
            self.run.catalogues[namespace] = Catalogue(namespace, [])
        # Where the catalogue has reports, a legacy export that refuses the account (403) or is gone (410, Docker
        # says it "will be retired") is none; where it has none, the legacy export's refusal is the run's error.
        years = listing.get_json(path, absent=(403, 404, 410) if has_reports else (404,))
        has_export = years is not None and bool(answers.listed(years, "years", what=f"GET {path}"))
        chosen = sources.detected(has_export, has_reports)
        checks = (("the legacy export lists years", has_export), ("the report catalogue lists reports", has_reports))
        found = " and ".join(part for part, ok in checks if ok)
        if chosen:
            self.logger.info(
                "Namespace %s: data_source=auto: %s: reading %s%s", namespace, found, sources.describe(chosen), why
            )
        else:
            self.logger.warning(
                "Namespace %s: data_source=auto: neither the legacy export nor the report catalogue has data%s: "
                "nothing to extract from either",
                namespace,
                why,
            )
        return chosen

    @cached_property
    def authenticator(self) -> DockerHubAuthenticator:
        """One authenticator per run, so every stream shares the JWT and its refreshes."""
        setting, where, _ = self.urls.setting_of(self.urls.hub_url)
        return DockerHubAuthenticator(
            hub_url=self.urls.hub_url,
            username=self.config["username"],
            password=self.config["password"],
            totp_secret=self.config.get("totp_secret") or None,
            timeout=float(self.config["request_timeout"]),
            max_tries=int(self.config["max_retries"]) + 1,
            retry_base_seconds=float(self.config["retry_base_seconds"]),
            user_agent=self.config.get("user_agent") or f"tap-dockerdvp/{__version__}",
            logger=self.logger,
            setting=setting,
            where=where,
        )


def _stopped(signum: int, _frame: object) -> None:
    """A run stopped by a signal: one line, and the shell's code for it (143 for SIGTERM, 130 for SIGINT). Bookmarks
    stay where the last STATE message put them; the next run resumes there."""
    name = signal.Signals(signum).name
    TapDockerDVP.logger.warning("Stopped by %s: the run is incomplete; the next run resumes from the last STATE", name)
    sys.exit(128 + signum)
