"""Where Docker's APIs answer: every path the tap requests, relative to its setting's base URL.

``api_url`` (the legacy DVP Data API, ``/api/publisher/analytics/v1``) holds the namespaces, the export listings and
the pull statistics; ``hub_url`` (Docker Hub) holds the login, the repository listing and the DVP program's report
catalogue (proxylytics), whose pull statistics take the same query as the legacy ones.
"""

from __future__ import annotations

# -- api_url ------------------------------------------------------------------------------------------------
#: `GET /`: the namespaces with legacy export data (used only where `/namespaces` is missing)
ROOT = "/"
#: the namespaces the account can read, with their metadata (datasets, views, timespan types)
NAMESPACES = "/namespaces"
NAMESPACE = "/namespaces/{namespace}"
#: years, then weeks or months with data: `{EXPORT_YEARS}/{year}/{weeks|months}`
EXPORT_YEARS = "/namespaces/{namespace}/pulls/exports/years"
#: a data view's files for one timespan; the spec documents the `pulls` dataset only (see `DOCUMENTED_DATASET`)
VIEW_FILES = "/namespaces/{namespace}/{dataset}/exports/years/{year}/{timespan_type}/{timespan}/{view}"
DOCUMENTED_DATASET = "pulls"
NAMESPACE_PULLS = "/namespaces/{namespace}/pulls"
#: the pull statistics' `period` (a rolling window ending now) and `group` values (PeriodType, GroupType)
PULL_STATS_PERIODS = ("last-2-months", "last-3-months", "last-6-months", "last-12-months")
PULL_STATS_GROUPS = ("namespace", "repo")
REPOS_PULLS = "/repos/pulls"
#: repositories per `GET /repos/pulls` request at most (the spec's limit)
MAX_REPOS_PER_REQUEST = 50

# -- hub_url --------------------------------------------------------------------------------------------------
REPOSITORIES = "/v2/namespaces/{namespace}/repositories"
#: the DVP program's API; its pull statistics answer under it with the legacy paths
PROXYLYTICS = "/api/publisher/proxylytics/v1"
REPORT_CATALOGUE = PROXYLYTICS + "/namespaces/{namespace}/reports"
