"""What a run shares between its streams: ``tap.run`` (what it learns once), and what streams use of the tap.

Streams never stash run-wide values on the tap object; they read and write these fields. They reach the tap through
:class:`RunningTap`, so no stream module imports the tap's own (``tap.py`` sits above the streams).
"""

from __future__ import annotations

import functools
import logging
import typing as t
from dataclasses import dataclass, field

from singer_sdk import metrics
from typing_extensions import override

if t.TYPE_CHECKING:
    from singer_sdk import Stream

    from tap_dockerdvp.dvp.catalogue import Catalogue
    from tap_dockerdvp.files.progress import RunProgress
    from tap_dockerdvp.http.auth import DockerHubAuthenticator
    from tap_dockerdvp.http.urls import Urls


class RunningTap(t.Protocol):
    """The tap as its streams see it (``DockerHubStream.tap``): ``tap.py``'s ``TapDockerDVP`` is one."""

    run: RunState
    progress: RunProgress
    urls: Urls
    logger: logging.Logger

    @property
    def config(self) -> t.Mapping[str, t.Any]: ...

    @property
    def streams(self) -> t.Mapping[str, Stream]: ...

    @property
    def authenticator(self) -> DockerHubAuthenticator: ...

    def namespace_metadata(self) -> dict[str, dict[str, t.Any]]:
        """NamespaceMetadata of every namespace this run extracts, resolved once."""
        ...

    def sources_for(self, namespace: str) -> frozenset[str]:
        """The data planes read for ``namespace`` this run (`export`, `reports`), decided once."""
        ...

    def preflight(self) -> None:
        """Checks made once, before the run writes any row (the BATCH storage, the namespaces)."""
        ...


@dataclass
class RunState:
    #: NamespaceMetadata of every namespace this run extracts (None until resolved)
    namespaces: dict[str, dict[str, t.Any]] | None = None
    #: the DVP program's report catalogue per namespace (fetched once; again when a URL expires)
    catalogues: dict[str, Catalogue] = field(default_factory=dict)
    #: the data planes read per namespace (`export`, `reports`), decided once
    sources: dict[str, frozenset[str]] = field(default_factory=dict)
    #: the Hub repository listing per namespace (`repositories` and `repository_pull_stats` share it)
    repositories: dict[str, list[dict[str, t.Any]]] = field(default_factory=dict)
    #: dataset → the path segment its data views answer under (`pulls`, or the dataset's own name)
    view_paths: dict[str, str] = field(default_factory=dict)
    #: state partition → why its bookmark stops before a period this run (a late file)
    held_back: dict[tuple[tuple[str, str], ...], str] = field(default_factory=dict)
    #: whether `RunningTap.preflight` ran
    preflown: bool = False
    #: the settings (`api_url`, `hub_url`) whose host answered JSON this run: an HTML page from it later is a
    #: passing fault (a maintenance or CDN page), retried, not the wrong service
    answered: set[str] = field(default_factory=set)
    #: child streams whose "Beginning sync" was logged at INFO (later ones go to DEBUG)
    announced: set[str] = field(default_factory=set)
    _logged: set[tuple[t.Any, ...]] = field(default_factory=set)

    def log_once(
        self,
        logger: logging.Logger | logging.LoggerAdapter,
        key: tuple[t.Any, ...],
        level: int,
        message: str,
        *args: t.Any,
    ) -> None:
        """Log ``message`` the first time ``key`` is seen this run."""
        if key not in self._logged:
            self._logged.add(key)
            logger.log(level, message, *args)


class RowCounter(metrics.Counter):
    """A stream's record counter (it writes the SDK's `record_count` METRIC lines) that also adds every row to
    the run's rows per stream."""

    def __init__(self, counter: metrics.Counter, progress: RunProgress, stream: str) -> None:
        super().__init__(counter.metric, dict(counter.tags), counter.log_interval)
        self._add = functools.partial(progress.add_rows, stream)

    @override
    def increment(self, value: int = 1) -> None:
        self._add(value)
        super().increment(value)
