"""Arrow tables typed from a stream's JSON schema: parquet batch files of row batches or of records.

The Arrow lane builds its tables from text columns (:mod:`tap_dockerdvp.files.arrow.lane`); the types come from
here in both cases, so a parquet file has the same schema whichever way its rows were read.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping, Sequence

import pyarrow as pa

from tap_dockerdvp.files.encoders import dumps

if t.TYPE_CHECKING:
    from tap_dockerdvp.files.reader import RowBatch


def arrow_type(prop: Mapping[str, t.Any]) -> pa.DataType | None:
    """The Arrow type of a JSON-schema property; None for an object without declared properties (its type
    depends on the keys the rows carry)."""
    types = prop.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    fmt = prop.get("format")
    if "object" in types:
        fields = prop.get("properties")
        if not fields:
            return None
        children = [(name, arrow_type(sub)) for name, sub in fields.items()]
        return pa.struct([(name, child if child is not None else pa.string()) for name, child in children])
    if "array" in types:
        item = arrow_type(prop.get("items", {}))
        return pa.list_(item if item is not None else pa.string())
    if "integer" in types:
        return pa.int64()
    if "number" in types:
        return pa.float64()
    if "boolean" in types:
        return pa.bool_()
    if fmt == "date-time":
        return pa.timestamp("us", tz="UTC")
    if fmt == "date":
        return pa.date32()
    return pa.string()


def _object_array(values: Sequence[Mapping[str, t.Any] | None]) -> pa.Array:
    """A struct column of the keys the rows carry (text values); null when no row has any."""
    keys = list(dict.fromkeys(k for row in values if row for k in row))
    if not keys:
        return pa.nulls(len(values))
    struct = pa.struct([(k, pa.string()) for k in keys])
    return pa.array([None if row is None else {k: _text(row.get(k)) for k in keys} for row in values], type=struct)


def _text(value: t.Any) -> str | None:
    return value if value is None or isinstance(value, str) else dumps(value)


def arrow_column(values: Sequence[t.Any], prop: Mapping[str, t.Any]) -> pa.Array:
    """``values`` (Python values as the JSON records hold them) as an Arrow array typed from ``prop``."""
    kind = arrow_type(prop)
    if kind is None:
        return _object_array(values)
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return pa.array(values, type=pa.string()).cast(kind)  # RFC 3339 text → timestamps and dates, in C++
    return pa.array(values, type=kind)


class ArrowRows:
    """Arrow tables of batches (or of records), with the columns ``keys`` typed from the stream's schema."""

    def __init__(self, keys: Sequence[str], schema: Mapping[str, t.Any], *, extra_key: str = "extra_columns") -> None:
        self.keys = tuple(keys)
        self.extra_key = extra_key
        self.props = {key: schema["properties"][key] for key in self.keys}

    def from_batch(self, batch: RowBatch, constants: Mapping[str, t.Any]) -> pa.Table:
        count = batch.count
        arrays = []
        for key in self.keys:
            if key in constants:
                values: Sequence[t.Any] = [constants[key]] * count
            elif key == "row_number":
                values = range(batch.first_row, batch.first_row + count)
            elif key == self.extra_key:
                values = batch.extra_columns()
            else:
                values = batch.values(key)
            arrays.append(arrow_column(values, self.props[key]))
        return pa.Table.from_arrays(arrays, names=list(self.keys))

    def from_records(self, records: Sequence[Mapping[str, t.Any]]) -> pa.Table:
        arrays = [arrow_column([r.get(key) for r in records], self.props[key]) for key in self.keys]
        return pa.Table.from_arrays(arrays, names=list(self.keys))
