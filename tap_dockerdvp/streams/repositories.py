"""The `repositories` stream: every repository of each namespace, from Docker Hub's paginated listing."""

from __future__ import annotations

import typing as t
from urllib.parse import parse_qsl

from singer_sdk import typing as th
from singer_sdk.pagination import BaseHATEOASPaginator
from typing_extensions import override

from tap_dockerdvp.dvp import answers, endpoints
from tap_dockerdvp.errors import UnexpectedAnswerError
from tap_dockerdvp.http.urls import safe_path
from tap_dockerdvp.streams.whole_tables import WholeTableStream

if t.TYPE_CHECKING:
    from urllib.parse import ParseResult

    import requests
    from singer_sdk.helpers.types import Context

PAGE_SIZE = 100  # the Hub's maximum
LISTING_TRIES = 3


class NextLinkPaginator(BaseHATEOASPaginator):
    @override
    def get_next_url(self, response: requests.Response) -> str | None:
        return response.json().get("next")


class _PageGone(Exception):
    """A page after the first answered 404: the listing shrank while it was read (the Hub answers 404 past the
    last page)."""


class RepositoriesStream(WholeTableStream):
    """`GET {hub_url}/v2/namespaces/{namespace}/repositories`, all pages, plus the namespace's `extraRepos`."""

    name = "repositories"
    url_base_setting = "hub_url"
    path = endpoints.REPOSITORIES
    primary_keys = ("namespace", "name")
    state_partitioning_keys: t.ClassVar[list[str]] = []
    _counts: list[t.Any]  # each page's `count`, of the listing being read

    schema = th.PropertiesList(
        th.Property("namespace", th.StringType, required=True, description="The DVP namespace"),
        th.Property("name", th.StringType, required=True, description="Repository name (`org/repo` for extra repos)"),
        th.Property("source", th.StringType, description="`hub` (namespace listing) or `extra_repos` (metadata)"),
        th.Property("repository_namespace", th.StringType, description="Namespace that owns the repository"),
        th.Property("repository_type", th.StringType),
        th.Property("status", th.IntegerType),
        th.Property("status_description", th.StringType),
        th.Property("description", th.StringType),
        th.Property("is_private", th.BooleanType),
        th.Property("star_count", th.IntegerType),
        th.Property("pull_count", th.IntegerType, description="Public pull counter (not comparable to DVP counts)"),
        th.Property("last_updated", th.DateTimeType),
        th.Property("last_modified", th.DateTimeType),
        th.Property("date_registered", th.DateTimeType),
        th.Property("affiliation", th.StringType),
        th.Property("media_types", th.ArrayType(th.StringType)),
        th.Property("content_types", th.ArrayType(th.StringType)),
        th.Property(
            "categories",
            th.ArrayType(th.ObjectType(th.Property("name", th.StringType), th.Property("slug", th.StringType))),
        ),
        th.Property("storage_size", th.IntegerType),
    ).to_dict()

    @property
    @override
    def partitions(self) -> list[dict] | None:
        return [{"namespace": namespace} for namespace in self.tap.namespace_metadata()]

    @override
    def get_new_paginator(self) -> NextLinkPaginator:
        return NextLinkPaginator()

    @override
    def get_url_params(self, context: Context | None, next_page_token: ParseResult | None) -> dict[str, t.Any]:
        if next_page_token is not None:
            return dict(parse_qsl(next_page_token.query))
        # by name: a push reorders a listing by last update (the Hub's default order is not documented)
        return {"page": 1, "page_size": PAGE_SIZE, "ordering": "name"}

    @override
    def validate_response(self, response: requests.Response) -> None:
        if response.status_code == 404 and self._counts:  # a page was read already: this one is past the end now
            raise _PageGone(safe_path(response.url))
        super().validate_response(response)

    @override
    def parse_response(self, response: requests.Response) -> t.Iterable[dict]:
        body = response.json()
        results = answers.listed(body, "results", what=f"GET {safe_path(response.url)}")
        self._counts.append(body.get("count") if isinstance(body, dict) else None)
        yield from results

    def listing(self, namespace: str) -> list[dict[str, t.Any]]:
        """The namespace's Hub repositories, all pages, fetched once per run (`repository_pull_stats` uses them).

        The pages must add up to the listing's `count`, each name once: a repository created or deleted while the
        pages are read shifts the rest by one, and the one pushed across a page boundary would be missed, then
        deleted in the target. The listing is then read again, up to ``LISTING_TRIES`` times in all."""
        cache = self.tap.run.repositories
        for attempt in range(1, LISTING_TRIES + 1):
            if namespace in cache:
                break  # read already this run
            self._counts = []
            try:
                rows = list(self.request_records({"namespace": namespace}))
            except _PageGone as gone:
                what = (
                    f"{namespace}: the Hub's repository listing answered 404 for {gone}: it changed while it was read"
                )
            else:
                names = {str(row.get("name")) for row in rows}
                counts = {count for count in self._counts if isinstance(count, int)}
                if not counts or (len(counts) == 1 and len(names) == len(rows) == counts.pop()):
                    cache[namespace] = rows
                    break
                what = (
                    f"{namespace}: the Hub's repository listing gave {len(rows)} rows ({len(names)} names) over its "
                    f"pages, counting {sorted(set(self._counts), key=str)}: it changed while it was read"
                )
            if attempt == LISTING_TRIES:
                raise UnexpectedAnswerError(f"{what}, {LISTING_TRIES} times; run again later")
            self.logger.warning("%s: reading it again", what)
        return cache[namespace]

    @override
    def fetch_rows(self, context: Context | None) -> t.Iterable[dict]:
        if not context:  # no namespaces
            return
        namespace = context["namespace"]
        listed = set()
        for item in self.listing(namespace):
            record = dict(item)
            record["repository_namespace"] = item.get("namespace") or namespace
            record["namespace"] = namespace
            record["source"] = "hub"
            listed.add(record["name"])
            yield record
        metadata = self.tap.namespace_metadata().get(namespace, {})
        for full_name in metadata.get("extraRepos") or []:
            owner, _, name = str(full_name).rpartition("/")
            if owner == namespace and name in listed:
                continue
            yield {
                "namespace": namespace,
                "name": full_name,
                "source": "extra_repos",
                "repository_namespace": owner or None,
            }
