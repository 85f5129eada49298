"""Pull statistics: the aggregated JSON pull endpoints, per namespace and per repository.

- `namespace_pull_stats`: ``GET /namespaces/{ns}/pulls?timespan=&period=&group=`` (``group`` from the
  `pull_stats_group` setting: ``namespace`` totals by default, or one row per repository).
- `repository_pull_stats`: ``GET /repos/pulls?repos=ns/a&repos=ns/b...`` in batches of at most 50 repositories
  (the API's limit), over the namespace's Hub repositories plus its ``extraRepos``. One request per 50
  repositories instead of one per repository (``/namespaces/{ns}/repos/{repo}/pulls``).

Both are FULL_TABLE: the API answers a rolling window (``period``) whose latest values can still change, and a
run costs a few requests. Targets upsert on the key (namespace, repo, country, start, timespan_type); ``repo``
and ``country`` are ``"*"`` (all) when the API does not group by them: never null, because a nullable key
column breaks some targets, and never ``""``, which CSV-loading targets (target-duckdb, pipelinewise) turn
into NULL.

The endpoints exist on the legacy API (``api_url``) and on the new program's proxylytics plane
(``{hub_url}/api/publisher/proxylytics/v1``). A namespace read only from the report catalogue (see the
`data_source` setting) is asked on proxylytics, every other namespace on the legacy API.
"""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th
from typing_extensions import override

from tap_dockerdvp.dvp import answers, endpoints
from tap_dockerdvp.dvp.sources import REPORTS
from tap_dockerdvp.streams.whole_tables import WholeTableStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_dockerdvp.streams.repositories import RepositoriesStream

ALL = "*"  # the key value of a column the API did not group by
_KNOWN_FIELDS = {"start", "end", "repo", "namespace", "country", "pullCount", "ipCount"}


class PullStatsStream(WholeTableStream):
    """Base: one partition per namespace; rows of the PullModel JSON."""

    primary_keys = ("namespace", "repo", "country", "start", "timespan_type")
    state_partitioning_keys: t.ClassVar[list[str]] = []

    schema = th.PropertiesList(
        th.Property("namespace", th.StringType, required=True, description="The DVP namespace asked for"),
        th.Property(
            "repo",
            th.StringType,
            required=True,
            description="Repository (`ns/repo` in repository_pull_stats, as the API writes it in "
            "namespace_pull_stats); `*` (all) when not grouped by repository",
        ),
        th.Property("country", th.StringType, required=True, description="Country if the API groups by it, else `*`"),
        th.Property("start", th.DateTimeType, required=True, description="First day of the timespan, 00:00Z"),
        th.Property("end", th.DateTimeType, description="Last day of the timespan (inclusive), 00:00Z"),
        th.Property("timespan_type", th.StringType, required=True, description="`weeks` or `months`"),
        th.Property("period", th.StringType, description="The `period` asked for, e.g. last-12-months"),
        th.Property("group", th.StringType, description="The `group` asked for (`namespace` or `repo`)"),
        th.Property("grouped_namespace", th.StringType, description="The row's own `namespace` field, if any"),
        th.Property("pull_count", th.IntegerType, description="`pullCount`"),
        th.Property("ip_count", th.IntegerType, description="`ipCount`: unique IPs (not additive across rows)"),
        th.Property("api", th.StringType, description="`legacy` (api_url) or `proxylytics` (hub_url)"),
        th.Property(
            "extra_fields",
            # no declared properties: flattening keeps it whole as JSON text
            th.CustomType({"type": ["object", "null"], "additionalProperties": {}}),
            description="Fields of the row this tap does not know (null when none)",
        ),
    ).to_dict()

    @property
    @override
    def partitions(self) -> list[dict] | None:
        return [{"namespace": ns} for ns in self.tap.namespace_metadata()]

    # -- helpers ----------------------------------------------------------------------------------
    def _plane(self, namespace: str) -> tuple[str, str]:
        """(name, base URL) of the API to ask for ``namespace``."""
        if self.tap.sources_for(namespace) == frozenset({REPORTS}):
            return "proxylytics", self.tap.urls.hub_url + endpoints.PROXYLYTICS
        return "legacy", self.tap.urls.api_url

    def _params(self, group: str | None) -> list[tuple[str, str]]:
        params = [("timespan", self.config["pull_stats_timespan"]), ("period", self.config["pull_stats_period"])]
        if group:
            params.append(("group", group))
        return params

    def _get(self, url: str, params: list[tuple[str, str]], context: Context) -> t.Any:
        return self.get_json("", context, url=url, params=params, not_found_ok=True)

    def _rows(self, namespace: str, pulls: t.Any, api: str, group: str | None, repo: str | None) -> t.Iterator[dict]:
        for row in pulls or []:
            if not isinstance(row, dict) or not row.get("start"):
                self.logger.warning("%s: a pull statistics row without `start` was skipped: %r", namespace, row)
                continue
            yield {
                "namespace": namespace,
                "repo": repo if repo is not None else str(row.get("repo") or ALL),
                "country": str(row.get("country") or ALL),
                "start": row.get("start"),
                "end": row.get("end"),
                "timespan_type": self.config["pull_stats_timespan"],
                "period": self.config["pull_stats_period"],
                "group": group,
                "grouped_namespace": row.get("namespace"),
                "pull_count": row.get("pullCount"),
                "ip_count": row.get("ipCount"),
                "api": api,
                # null when the row has none, like `extra_columns`: a parquet struct cannot be empty
                "extra_fields": {k: v for k, v in row.items() if k not in _KNOWN_FIELDS} or None,
            }


class NamespacePullStatsStream(PullStatsStream):
    """`GET /namespaces/{ns}/pulls`: namespace totals (or per repository, with `pull_stats_group: repo`)."""

    name = "namespace_pull_stats"
    path = endpoints.NAMESPACE_PULLS

    @override
    def fetch_rows(self, context: Context | None) -> t.Iterable[dict]:
        if not context:  # no namespaces
            return
        namespace = context["namespace"]
        api, base = self._plane(namespace)
        group = str(self.config["pull_stats_group"])
        body = self._get(f"{base}/namespaces/{namespace}/pulls", self._params(group), context)
        if body is None:
            self.logger.warning("%s: the %s API has no pull statistics for this namespace (HTTP 404)", namespace, api)
            return
        pulls = answers.listed(body, "pulls", what=f"{namespace}: the pull statistics")
        if not pulls:
            self.logger.info(
                "%s: no pull statistics in %s (`pulls` is empty)", namespace, self.config["pull_stats_period"]
            )
        yield from self._rows(namespace, pulls, api, group, None)


class RepositoryPullStatsStream(PullStatsStream):
    """`GET /repos/pulls?repos=...`: one row per repository and timespan, 50 repositories per request."""

    name = "repository_pull_stats"
    path = endpoints.REPOS_PULLS

    @override
    def fetch_rows(self, context: Context | None) -> t.Iterable[dict]:
        if not context:  # no namespaces
            return
        namespace = context["namespace"]
        api, base = self._plane(namespace)
        repos = self._repositories(namespace)
        empty = 0
        for first in range(0, len(repos), endpoints.MAX_REPOS_PER_REQUEST):
            batch = repos[first : first + endpoints.MAX_REPOS_PER_REQUEST]
            params = [("repos", name) for name in batch] + self._params(None)
            body = self._get(f"{base}/repos/pulls", params, context)
            what = f"{namespace}: the repositories' pull statistics"
            answered = answers.mapping(body, "repos", what=what) if body is not None else {}
            answered = answers.by_repository(answered, batch, what=what)
            for name in batch:
                pulls = answers.listed(answered.get(name) or {"pulls": None}, "pulls", what=f"{what} of {name}")
                if not pulls:
                    empty += 1
                yield from self._rows(namespace, pulls, api, "repo", name)
        if empty:
            self.logger.info("%s: %d of %d repositories have no pull statistics", namespace, empty, len(repos))

    def _repositories(self, namespace: str) -> list[str]:
        """`ns/repo` of every Hub repository of the namespace, then its extraRepos (order kept, no duplicates)."""
        listing = t.cast("RepositoriesStream", self.tap.streams["repositories"])
        names: list[str] = []
        for item in listing.listing(namespace):
            owner = item.get("namespace") or namespace
            names.append(f"{owner}/{item['name']}")
        metadata = self.tap.namespace_metadata().get(namespace, {})
        names.extend(str(full) for full in metadata.get("extraRepos") or [] if "/" in str(full))
        return list(dict.fromkeys(names))
