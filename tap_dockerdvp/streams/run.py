"""What one run learns once and every stream shares: ``tap.run``, typed.

Streams never stash run-wide values on the tap object; they read and write these fields.
"""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass, field

if t.TYPE_CHECKING:
    from tap_dockerdvp.streams.reports import Catalogue


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
