"""The `namespaces` stream: the DVP namespaces the account may read, with what each is entitled to."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th
from typing_extensions import override

from tap_dockerdvp.dvp import answers, endpoints
from tap_dockerdvp.dvp.sources import REPORTS
from tap_dockerdvp.errors import ConfigError, NamespaceNotFoundError
from tap_dockerdvp.http.urls import DEFAULT_API_URL
from tap_dockerdvp.streams.whole_tables import WholeTableStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


#: What a retired or missing endpoint of the legacy API answers
GONE = (404, 410)


class NamespacesStream(WholeTableStream):
    """One record per namespace: its NamespaceMetadata, from `GET /namespaces` (the access list).

    Docker's spec describes `GET /namespaces` as the namespaces "the user has access to" and `GET /` as those
    "which have data available" (legacy export data): a namespace on the current DVP program can be missing from
    `GET /` although its reports are readable. So namespaces are discovered from `GET /namespaces`, which also
    carries their metadata; `GET /` (+ `GET /namespaces/{ns}` each) is used only where `/namespaces` answers
    404 or 405. A configured namespace the list lacks is asked for directly; one that is not readable at all
    stops the run with one line.
    """

    name = "namespaces"
    path = endpoints.NAMESPACES
    primary_keys = ("namespace",)

    schema = th.PropertiesList(
        th.Property("namespace", th.StringType, required=True, description="Docker Hub namespace (organization)"),
        th.Property("publisher_type", th.StringType, description="`publisherType`, e.g. DVP (when Docker sends it)"),
        th.Property("extension_publisher", th.BooleanType, description="`extensionPublisher` (when Docker sends it)"),
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
    def fetch_rows(self, context: Context | None) -> t.Iterable[dict]:
        for metadata in self.tap.namespace_metadata().values():
            yield {
                "namespace": metadata["namespace"],
                "publisher_type": metadata.get("publisherType"),
                "extension_publisher": metadata.get("extensionPublisher"),
                "extra_repos": list(metadata.get("extraRepos") or []),
                "datasets": [
                    {
                        "name": dataset.get("name"),
                        "timespans": list(dataset.get("timespans") or []),
                        "views": list(dataset.get("views") or []),
                    }
                    for dataset in metadata.get("datasets") or []
                ],
            }

    # -- discovery (the tap calls this once per run: tap.namespace_metadata()) -----------------------
    def fetch_metadata(self) -> dict[str, dict[str, t.Any]]:
        """NamespaceMetadata of every namespace to extract: the `namespaces` setting, or all the account reads."""
        wanted = list(self.config.get("namespaces") or [])
        listed = self._access_list()
        if listed is None:  # no /namespaces: the namespaces with data, each asked for its metadata
            listed = self._root_list(wanted)
            if listed is None:  # the legacy API is gone: the setting's namespaces, from their reports
                return {namespace: _unlisted(namespace) for namespace in wanted}
        metadata = {namespace: self._metadata_of(namespace, listed, wanted) for namespace in wanted or list(listed)}
        if not metadata:
            self.logger.warning("Docker Hub user %r has no DVP namespaces: nothing to extract", self.config["username"])
        else:
            self.logger.info("Extracting DVP namespaces: %s", ", ".join(metadata))
        return metadata

    def _root_list(self, wanted: list[str]) -> dict[str, dict[str, t.Any]] | None:
        """`GET /` and `GET /namespaces/{ns}` of each namespace it lists (or of ``wanted``); None when the legacy
        API is gone and ``wanted`` can be read from the report catalogue alone."""
        root = self.get_json(endpoints.ROOT, absent=GONE)
        if root is None and wanted and self.config["data_source"] in ("auto", REPORTS):
            # The legacy API is deprecated and "will be retired"; the DVP program's reports are not on it
            self.logger.warning(
                "The legacy DVP Data API at `api_url` answers neither GET /namespaces nor GET / (retired?): "
                "reading the `namespaces` setting's namespaces (%s) from the report catalogue only",
                ", ".join(wanted),
            )
            return None
        if root is None:  # neither endpoint of the DVP API is there: the base URL is wrong
            raise ConfigError(
                f"{self.tap.urls.setting_of(self.tap.urls.api_url)[1]} answers HTTP 404 or 410 for both GET "
                f"/namespaces and GET /: it is not the DVP Data API's base URL (Docker's is {DEFAULT_API_URL}); "
                "fix `api_url`, or, if Docker retired it, set `namespaces` to read the report catalogue"
            )
        listed = {}
        for namespace in wanted or [str(ns) for ns in answers.listed(root, "namespaces", what="GET /")]:
            found = self.get_json(endpoints.NAMESPACE.format(namespace=namespace), not_found_ok=True)
            if isinstance(found, dict):
                listed[namespace] = {**found, "namespace": found.get("namespace") or namespace}
        return listed

    def _metadata_of(self, namespace: str, listed: dict[str, dict[str, t.Any]], wanted: list[str]) -> dict[str, t.Any]:
        """The metadata of ``namespace``: as listed, else asked for (a namespace the setting names)."""
        found = listed.get(namespace)
        if found is None and wanted:
            found = self.get_json(endpoints.NAMESPACE.format(namespace=namespace), absent=GONE)
            found = {**found, "namespace": namespace} if isinstance(found, dict) else None
        if found is None and self.config["data_source"] == REPORTS:  # the legacy API need not know it
            self.logger.info(
                "Namespace %s: the legacy DVP Data API does not list it; data_source=reports: reading its report "
                "catalogue",
                namespace,
            )
            found = _unlisted(namespace)
        if found is None:
            readable = ", ".join(sorted(listed)) or "none"
            raise NamespaceNotFoundError(
                f"namespace {namespace!r} is not readable by Docker Hub user {self.config['username']!r} (it can "
                f"read: {readable}); fix the `namespaces` setting"
            )
        return found

    def _access_list(self) -> dict[str, dict[str, t.Any]] | None:
        """`GET /namespaces` by namespace; None when the API has no such endpoint (404, 405)."""
        body = self.get_json(endpoints.NAMESPACES, absent=(405, *GONE))
        if body is None:
            self.logger.info("GET /namespaces is not available here: discovering namespaces from GET /")
            return None
        found: dict[str, dict[str, t.Any]] = {}
        for item in answers.listed(body, "namespaces", what="GET /namespaces"):
            if not (isinstance(item, dict) and item.get("namespace")):
                raise answers.unexpected(item, "NamespaceMetadata object", what="GET /namespaces")
            found[str(item["namespace"])] = item
        return found


def _unlisted(namespace: str) -> dict[str, t.Any]:
    """The metadata of a namespace the legacy API does not list: no export dataset (the report catalogue is read)."""
    return {"namespace": namespace, "extraRepos": None, "datasets": []}
