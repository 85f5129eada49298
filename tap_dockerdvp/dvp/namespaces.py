"""A namespace's metadata (Docker's `NamespaceMetadata`) as data: which data views and timespan types it is entitled to.

Its `datasets` list each dataset's `views` and `timespans`; the spec's `publisherType` and `extensionPublisher`
appear only in the newer examples and are optional, `extraRepos` may be null.
"""

from __future__ import annotations

import typing as t


def dataset_offering(metadata: dict[str, t.Any], *, view: str, timespan_type: str) -> str | None:
    """The name of the dataset of a namespace's metadata that lists ``view`` for ``timespan_type``, if any."""
    for dataset in metadata.get("datasets") or []:
        if view in (dataset.get("views") or []) and timespan_type in (dataset.get("timespans") or []):
            return str(dataset.get("name") or "pulls")
    return None


def offered_timespan_types(metadata: dict[str, t.Any]) -> set[str]:
    return {tt for dataset in metadata.get("datasets") or [] for tt in dataset.get("timespans") or []}
