"""JSON schemas of the file-backed streams: one builder for the export views and the DVP program's reports.

A stream's schema is its context properties (which period, which file, which row: the key), then the view's
columns, then the object that keeps the columns the tap does not know. Key properties are never nullable
(targets make key columns NOT NULL). The catch-all object declares no ``properties``: flattening (tap- or
target-side) then keeps it whole as JSON text instead of inventing undeclared ``extra_columns__X`` keys.
"""

from __future__ import annotations

from typing import Any

from singer_sdk import typing as th

from tap_dockerdvp.dvp.report_views import GENERIC_SPEC
from tap_dockerdvp.dvp.views import COLUMN_DESCRIPTIONS, ViewSpec

#: An object of text values with no declared properties.
TEXT_MAP = th.CustomType({"type": ["object", "null"], "additionalProperties": {"type": ["string", "null"]}})

_KINDS: dict[str, Any] = {
    "string": th.StringType,
    "integer": th.IntegerType,
    "number": th.NumberType,
    "date": th.DateType,
    "date-time": th.DateTimeType,
}


def _key(name: str, kind: Any, description: str) -> th.Property:
    return th.Property(name, kind, required=True, description=description)


EXPORT_CONTEXT = (
    _key("namespace", th.StringType, "Docker Hub namespace (organisation) the export belongs to."),
    _key("timespan_type", th.StringType, 'Export timespan type: "months" or "weeks".'),
    _key("year", th.IntegerType, "Year of the export timespan."),
    _key("timespan", th.IntegerType, "Month (1-12) or ISO week number of the export timespan."),
    _key("timespan_start", th.DateTimeType, "Start of the timespan (inclusive), UTC."),
    _key("timespan_end", th.DateTimeType, "Last day of the timespan (inclusive), UTC."),
    _key("file_index", th.IntegerType, "0-based position of the source file in the export's file list."),
    _key("row_number", th.IntegerType, "1-based data row number within the source file."),
)

REPORT_CONTEXT = (
    _key("namespace", th.StringType, "Docker Hub namespace of the catalogue"),
    _key(
        "report_type",
        th.StringType,
        "Report type: the stream's type, or for report_other the normalised catalogue type",
    ),
    _key("granularity", th.StringType, "`week` or `month`"),
    _key("period_start", th.DateTimeType, "First day of the period, 00:00Z"),
    _key("period_end", th.DateTimeType, "Last day of the period (inclusive), 00:00Z"),
    _key("file_index", th.IntegerType, "0-based position of the file among the period's files (sorted by file name)"),
    th.Property("file_name", th.StringType, description="The report's file name (no query string)"),
    _key("row_number", th.IntegerType, "1-based data row within the file"),
)


def file_schema(
    spec: ViewSpec,
    context: tuple[th.Property, ...],
    *,
    describe: Any,
    extra_description: str = "Columns of the file this view does not know, keyed by their header (null when none).",
    leading: tuple[th.Property, ...] = (),
) -> dict[str, Any]:
    """The schema of a stream of ``spec``'s files: ``context``, ``leading``, the columns, then its catch-all."""
    names = {p.name for p in context}
    props = [*context, *leading]
    for col in spec.columns:
        if col.name not in names:  # an export's own Namespace column is `repository_namespace`, never `namespace`
            props.append(th.Property(col.name, _KINDS[col.kind], description=describe(col.name)))
    props.append(th.Property(spec.extra_key, TEXT_MAP, description=extra_description))
    return th.PropertiesList(*props).to_dict()


def export_schema(spec: ViewSpec) -> dict[str, Any]:
    return file_schema(spec, EXPORT_CONTEXT, describe=lambda name: COLUMN_DESCRIPTIONS.get(name, f"The {name} column."))


def report_schema(spec: ViewSpec) -> dict[str, Any]:
    if spec is GENERIC_SPEC:
        return file_schema(
            spec,
            REPORT_CONTEXT,
            describe=str,
            leading=(th.Property("catalogue_type", th.StringType, description="The catalogue's `type`, as written"),),
            extra_description="Every column: header as written → value",
        )
    return file_schema(
        spec,
        REPORT_CONTEXT,
        describe=lambda name: f"The {name.upper()} column.",
        extra_description="Columns the report does not document, by header",
    )
