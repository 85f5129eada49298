"""Fault injection for the simulator.

A rule is a JSON object::

    {"match": "download", "kind": "truncate", "times": 1, "after": 0, "fraction": 0.3}

``match`` is an endpoint kind (``login``, ``api``, ``download``, ``repositories``, or a finer one:
``users-login``, ``2fa-login``, ``auth-token``, ``root``, ``namespaces``, ``namespace``, ``years``,
``timespans``, ``timespan``, ``exports``, ``pulls``, ``reports`` (the report catalogue),
``report-download`` (report files)), ``*`` for every request, or else a substring
or a regular expression searched in the request path (query string included). ``method`` optionally
limits the rule to one HTTP method. The rule lets the first ``after`` matching requests through,
then hits the next ``times`` ones (``times`` null or negative: every one). Rules are tried in
order; ``slow`` rules add up, then the first other rule that fires decides the response.

Kinds and their fields:

- ``status``: answer ``status`` (default 500) with ``body`` (JSON value or string; default a
  Hub-style error object) and optional ``headers`` (object).
- ``rate_limit``: 429 ``{"detail":"Rate limit exceeded","error":false}``; ``retry_after`` (seconds,
  default 1) sent as ``retry_after_style``: ``seconds`` (``Retry-After: 1``), ``epoch``
  (``Retry-After: <unix time>``), ``x-retry-after`` (``X-Retry-After: <unix time>``) or ``none``
  (no header).
- ``reset``: close the connection (TCP RST) without a response.
- ``truncate``: full headers and ``Content-Length``, then only ``fraction`` (default 0.5) of the
  body, then close.
- ``corrupt_gzip`` (downloads): flip the first byte of the gzip CRC32 trailer; same length, bad
  CRC.
- ``cut_csv`` (downloads): a valid gzip, with its own length, whose CSV ends in the middle of a
  line.
- ``expire_url`` (downloads): 403 ``AccessDenied`` / ``Request has expired`` XML.
- ``expire_token`` (requests with an ``Authorization`` header, report files on the Hub's host included): 401 as
  for an expired JWT; that token stays refused from then on, as an expired one would, so only a fresh login
  passes.
- ``html``: ``status`` (default 200) with an HTML error page.
- ``slow``: sleep ``seconds`` (default 1) first, then answer normally (or per the next rule).
- ``late_view`` (data-view listings, ``.../{timespan}/{dataview}``, only): the timespan is listed but its view
  is not ready yet: ``style`` ``404`` (default: 404 ``{"txnid", "message": "object not found", "errinfo"}``)
  or ``empty`` (200 ``{"data": []}``, or ``null`` with ``empty_lists="null"``). With ``times`` (and
  ``after``) the view is ready again once the rule is spent, e.g. on a later run. *Assumption*: the spec
  documents only a 200 and says nothing about when a timespan's files are ready.
- ``late_report`` (report files, ``report-download``, only): the catalogue lists the report but its file
  answers 404 (``{"message": "report not found"}`` on the Hub host, S3 ``NoSuchKey`` on presigned storage).

Match a single timespan with a path expression, e.g. ``{"match": "/years/2026/weeks/3/raw$", "kind":
"late_view", "times": 1}``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = (
    "status",
    "rate_limit",
    "reset",
    "truncate",
    "corrupt_gzip",
    "cut_csv",
    "expire_url",
    "expire_token",
    "html",
    "slow",
    "late_view",
    "late_report",
)
LATE_VIEW_STYLES = ("404", "empty")
#: Kinds that apply only to one endpoint kind (``server.classify``).
ENDPOINT_ONLY = {"late_view": "exports", "late_report": "report-download"}
DOWNLOAD_ONLY = frozenset({"corrupt_gzip", "cut_csv", "expire_url"})
RETRY_AFTER_STYLES = ("seconds", "epoch", "x-retry-after", "none")
_FIELDS = {
    "match",
    "kind",
    "times",
    "after",
    "method",
    "status",
    "body",
    "headers",
    "retry_after",
    "retry_after_style",
    "fraction",
    "seconds",
    "style",
}


@dataclass
class FaultRule:
    match: str
    kind: str
    times: int | None = 1
    after: int = 0
    method: str | None = None
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: float = 1
    retry_after_style: str = "seconds"
    fraction: float = 0.5
    seconds: float = 1.0
    style: str = "404"
    seen: int = 0  # matching requests so far
    fired: int = 0  # requests it hit
    _regex: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(FAULT_KINDS)}")
        if not isinstance(self.match, str) or not self.match:
            raise ValueError("fault rule needs a non-empty 'match' string")
        if self.retry_after_style not in RETRY_AFTER_STYLES:
            raise ValueError(f"retry_after_style must be one of {RETRY_AFTER_STYLES}")
        self.style = str(self.style)  # {"style": 404} from JSON is fine too
        if self.style not in LATE_VIEW_STYLES:
            raise ValueError(f"style must be one of {LATE_VIEW_STYLES}")
        if not 0 <= float(self.fraction) < 1:
            raise ValueError("fraction must be in [0, 1)")
        if self.times is not None and self.times < 0:
            self.times = None
        try:
            self._regex = re.compile(self.match)
        except re.error:
            self._regex = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        if not isinstance(data, dict):
            raise ValueError("a fault rule is a JSON object")
        unknown = set(data) - _FIELDS
        if unknown:
            raise ValueError(f"unknown fault rule fields: {sorted(unknown)}")
        if "match" not in data or "kind" not in data:
            raise ValueError("a fault rule needs 'match' and 'kind'")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in sorted(_FIELDS)}
        out.update(seen=self.seen, fired=self.fired)
        return out

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def matches(self, path: str, kinds: tuple[str, ...], method: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        if self.match == "*" or self.match in kinds or self.match in path:
            return True
        return bool(self._regex and self._regex.search(path))

    def applies(self, kinds: tuple[str, ...], is_download: bool, has_auth: bool) -> bool:
        if self.kind in ENDPOINT_ONLY:
            return ENDPOINT_ONLY[self.kind] in kinds
        if self.kind in DOWNLOAD_ONLY:
            return is_download
        if self.kind == "expire_token":
            return has_auth  # storage refuses any request with an Authorization header: only the Hub's carry one
        return True


class FaultSet:
    """Thread-safe ordered list of rules."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule | dict[str, Any] | list[Any]) -> list[FaultRule]:
        items = rule if isinstance(rule, list) else [rule]
        parsed = [r if isinstance(r, FaultRule) else FaultRule.from_dict(r) for r in items]
        with self._lock:
            self._rules.extend(parsed)
        return parsed

    def clear(self) -> int:
        with self._lock:
            n = len(self._rules)
            self._rules.clear()
        return n

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.to_dict() for r in self._rules]

    def pick(
        self,
        path: str,
        kinds: tuple[str, ...],
        method: str,
        *,
        is_download: bool,
        has_auth: bool,
    ) -> tuple[list[FaultRule], FaultRule | None]:
        """Return (the ``slow`` rules that fired, the rule deciding the response or None)."""
        slow: list[FaultRule] = []
        chosen: FaultRule | None = None
        with self._lock:
            for rule in self._rules:
                if not rule.matches(path, kinds, method) or not rule.applies(kinds, is_download, has_auth):
                    continue
                if rule.kind != "slow" and chosen is not None:
                    continue
                rule.seen += 1
                if rule.seen <= rule.after or rule.exhausted:
                    continue
                rule.fired += 1
                if rule.kind == "slow":
                    slow.append(rule)
                else:
                    chosen = rule
        return slow, chosen
