"""Which data plane a namespace is read from (the `data_source` setting): the legacy export, the DVP program's
report catalogue, or both.

`auto` reads, per namespace, whichever has data: the export when it lists years, the catalogue when it lists reports
(a catalogue the account may not read counts as none). Checked once per run; the choice is logged.
"""

from __future__ import annotations

EXPORT, REPORTS = "export", "reports"
DATA_SOURCES = ("auto", EXPORT, REPORTS, "both")
_NAMES = {EXPORT: "the legacy export", REPORTS: "the report catalogue"}


def configured(setting: str) -> frozenset[str] | None:
    """The planes a setting other than `auto` names; None for `auto` (detected per namespace)."""
    if setting == "auto":
        return None
    return frozenset({EXPORT, REPORTS} if setting == "both" else {setting})


def detected(has_export: bool, has_reports: bool) -> frozenset[str]:
    """`auto`: the planes that have data."""
    return frozenset({EXPORT} if has_export else set()) | frozenset({REPORTS} if has_reports else set())


def describe(sources: frozenset[str]) -> str:
    """``the legacy export and the report catalogue``, ``nothing``."""
    return " and ".join(_NAMES[s] for s in (EXPORT, REPORTS) if s in sources) or "nothing"
