"""The `namespaces` stream: the DVP namespaces the account may read, with what each is entitled to."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th
from typing_extensions import override

from tap_dockerdvp.client import DockerHubStream
from tap_dockerdvp.errors import NamespaceNotFoundError

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


class NamespacesStream(DockerHubStream):
    """One record per namespace, from `GET /` (or the `namespaces` setting) and `GET /namespaces/{ns}`."""

    name = "namespaces"
    path = "/namespaces"
    primary_keys = ("namespace",)
    replication_key = None

    schema = th.PropertiesList(
        th.Property("namespace", th.StringType, required=True, description="Docker Hub namespace (organization)"),
        th.Property("publisher_type", th.StringType, description="`publisherType`, e.g. DVP"),
        th.Property("extension_publisher", th.BooleanType, description="`extensionPublisher`"),
        th.Property(
            "extra_repos",
            th.ArrayType(th.StringType),
            description="`extraRepos`: repositories outside the namespace whose analytics it also receives",
        ),
        th.Property(
            "datasets",
            th.ArrayType(
                th.ObjectType(
                    th.Property("name", th.StringType),
                    th.Property("timespans", th.ArrayType(th.StringType)),
                    th.Property("views", th.ArrayType(th.StringType)),
                )
            ),
            description="Datasets with the data views and timespan types the namespace is entitled to",
        ),
    ).to_dict()

    @override
    def get_records(self, context: Context | None) -> t.Iterable[dict]:
        for metadata in self.load_metadata().values():
            yield {
                "namespace": metadata["namespace"],
                "publisher_type": metadata.get("publisherType"),
                "extension_publisher": metadata.get("extensionPublisher"),
                "extra_repos": metadata.get("extraRepos") or [],
                "datasets": [
                    {
                        "name": dataset.get("name"),
                        "timespans": list(dataset.get("timespans") or []),
                        "views": list(dataset.get("views") or []),
                    }
                    for dataset in metadata.get("datasets") or []
                ],
            }

    @override
    def get_child_context(self, record: dict, context: Context | None) -> dict:
        return {"namespace": record["namespace"]}

    # -- metadata shared with the timespans and export streams ------------------------------------
    def load_metadata(self) -> dict[str, dict[str, t.Any]]:
        """NamespaceMetadata per namespace, fetched once per run and cached on the tap."""
        cache: dict[str, dict[str, t.Any]] | None = getattr(self._tap, "_namespace_metadata", None)
        if cache is None:
            cache = self._fetch_metadata()
            self._tap._namespace_metadata = cache  # type: ignore[attr-defined]
        return cache

    def _fetch_metadata(self) -> dict[str, dict[str, t.Any]]:
        visible = list((self.get_json("/") or {}).get("namespaces") or [])
        wanted = list(self.config.get("namespaces") or visible)
        missing = [ns for ns in wanted if ns not in visible]
        if missing:
            raise NamespaceNotFoundError(
                f"namespace(s) {', '.join(missing)} not visible to Docker Hub user "
                f"{self.config['username']!r} (it can read: {', '.join(visible) or 'none'}); "
                "fix the `namespaces` setting"
            )
        if not wanted:
            self.logger.warning("Docker Hub user %r has no DVP namespaces: nothing to extract", self.config["username"])
        metadata = {}
        for namespace in wanted:
            found = self.get_json(f"/namespaces/{namespace}", not_found_ok=True)
            if found is None:
                raise NamespaceNotFoundError(
                    f"namespace {namespace!r} has no DVP metadata (HTTP 404); fix the `namespaces` setting"
                )
            found.setdefault("namespace", namespace)
            metadata[namespace] = found
        self.logger.info("Extracting DVP namespaces: %s", ", ".join(metadata) or "none")
        return metadata


def dataset_offers(metadata: dict[str, t.Any], *, view: str, timespan_type: str) -> bool:
    """Whether a namespace's metadata lists ``view`` for ``timespan_type`` in any of its datasets."""
    return any(
        view in (dataset.get("views") or []) and timespan_type in (dataset.get("timespans") or [])
        for dataset in metadata.get("datasets") or []
    )


def offered_timespan_types(metadata: dict[str, t.Any]) -> set[str]:
    return {tt for dataset in metadata.get("datasets") or [] for tt in dataset.get("timespans") or []}
