"""DEVELOPERS.md's "Change one stream" recipes cannot go stale.

*Add a column to a view* is followed once here. The simulator writes raw files with an `IP version` column (its
`extra_columns`), which the `raw` view does not know: its values land in `extra_columns`. Then the recipe's edit
is made - one more `Column` in the view's `ViewSpec` (`tap_dockerdvp/dvp/views.py`, made with the module's own
`_col`) and its line in `COLUMN_DESCRIPTIONS` - by replacing the spec object wherever the tap holds it, as editing
the file would. After it, with nothing else changed: the SCHEMA declares the column with its type and description,
and every row carries the typed value the simulator wrote, in RECORD messages with pyarrow (the Arrow lane) and
without (the reader), and in parquet BATCH files (typed from the schema); `extra_columns` is then null. If the
recipe ever needs a second edit, one of these fails.

Every recipe also names only files that exist and code names that are in the files it names.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest
from tap_harness import TapOutput, catalog_selecting, run_tap, tap_config

from dockerdvp_simulator import SimConfig
from dockerdvp_simulator import data as simdata
from tap_dockerdvp.dvp import views
from tap_dockerdvp.files import engine
from tap_dockerdvp.tap import STREAMS

ROOT = Path(__file__).resolve().parents[2]
NEW = "ip_version"  # the simulator's extra raw column "IP version": "4" or "6"
DESCRIPTION = "IP protocol version of the pulling address (4 or 6)."
CFG = SimConfig(namespaces=("acme",), weeks=1, rows_per_week=300, end_date=dt.date(2026, 11, 18),
                include_partial=False, extra_columns=(NEW,))  # fmt: skip


def follow_the_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    """The recipe's edit, made at run time: the `raw` view's ViewSpec with one more column, and its description."""
    old = views.VIEWS["raw"]
    new = dataclasses.replace(old, columns=(*old.columns, views.column(NEW, "integer", "ip_protocol_version")))
    monkeypatch.setitem(views.VIEWS, "raw", new)
    holders = [stream for stream in STREAMS if getattr(stream, "spec", None) is old]
    assert [stream.name for stream in holders] == ["pull_events"]  # the one stream of the view holds the spec
    for stream in holders:
        monkeypatch.setattr(stream, "spec", new)
    monkeypatch.setitem(views.COLUMN_DESCRIPTIONS, NEW, DESCRIPTION)


def extract(simulator, tmp_path: Path, *, parquet: bool = False) -> tuple[TapOutput, list[dict]]:
    """One run with only `pull_events` selected: its output, and its rows (from the parquet files with ``parquet``)."""
    sim = simulator(CFG)
    config = tap_config(sim, timespan_types=["weeks"])
    if parquet:
        config["batch_config"] = {"encoding": {"format": "parquet"}, "storage": {"root": tmp_path.as_uri()}}
    out = run_tap(config, catalog=catalog_selecting(config, ["pull_events"]))
    if not parquet:
        return out, out.records["pull_events"]
    import pyarrow.parquet as pq

    files = sorted(tmp_path.glob("*pull_events*.parquet"))
    assert files
    tables = [pq.read_table(path) for path in files]
    assert {str(table.schema.field(NEW).type) for table in tables} == {"int64"}
    return out, [row for table in tables for row in table.to_pylist()]


def written_values() -> list[int]:
    """The column's values as the simulator wrote them, in file order (one week, one file)."""
    ((_year, _week, start, end),) = simdata.complete_timespans(CFG, "acme", "weeks")
    return [int(row[NEW]) for row in simdata.raw_rows(CFG, "acme", start, end)]


def in_file_order(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: (row["file_index"], row["row_number"]))


def test_without_the_recipe_the_column_lands_in_extra_columns(simulator, tmp_path: Path) -> None:
    """The control: the column is unknown to the view, so the value is kept as text under its header."""
    out, rows = extract(simulator, tmp_path)
    assert NEW not in out.schemas()["pull_events"]["schema"]["properties"]
    assert [row["extra_columns"]["IP version"] for row in in_file_order(rows)] == [str(v) for v in written_values()]
    assert not any(NEW in row for row in rows)


@pytest.mark.parametrize("arrow", [True, False], ids=["arrow lane", "reader"])
def test_a_column_added_to_a_view_is_declared_and_typed(simulator, monkeypatch, tmp_path: Path, arrow: bool) -> None:
    follow_the_recipe(monkeypatch)
    monkeypatch.setattr(engine, "has_pyarrow", lambda: arrow)
    out, rows = extract(simulator, tmp_path)
    declared = out.schemas()["pull_events"]["schema"]["properties"]
    assert declared[NEW] == {"type": ["integer", "null"], "description": DESCRIPTION}
    assert list(declared)[-2:] == [NEW, "extra_columns"]  # the view's columns in order, then the catch-all
    values = [row[NEW] for row in in_file_order(rows)]
    assert values == written_values() and set(values) == {4, 6}
    assert all(type(v) is int for v in values)
    assert all(row["extra_columns"] is None for row in rows)  # the simulator's only unknown column is known now


def test_a_column_added_to_a_view_is_typed_in_parquet_batch_files(simulator, monkeypatch, tmp_path: Path) -> None:
    follow_the_recipe(monkeypatch)
    out, rows = extract(simulator, tmp_path, parquet=True)
    assert out.schemas()["pull_events"]["schema"]["properties"][NEW]["type"] == ["integer", "null"]
    assert [row[NEW] for row in in_file_order(rows)] == written_values()
    assert all(row["extra_columns"] is None for row in rows)


# -- every recipe names what exists ----------------------------------------------------------------------------
def recipes() -> dict[str, str]:
    text = (ROOT / "DEVELOPERS.md").read_text()
    section = text.split("\n## Change one stream\n", 1)[1].split("\n## ", 1)[0]
    parts = re.split(r"^### (.+)$", section, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


#: a name in code: CamelCase, UPPER_CASE, a leading underscore, or a call
CODE_NAME = re.compile(r"^(?:[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*|[A-Z][A-Z0-9_]+|_[a-z_]+|[a-z_]+\(\))$")


def test_there_are_three_recipes_and_the_column_one_is_this_test() -> None:
    found = recipes()
    assert list(found) == ["Add a column to a view", "Add an export view", "Add an API stream"]
    assert "tests/contract/test_recipe.py" in found["Add a column to a view"]


@pytest.mark.parametrize("title", ["Add a column to a view", "Add an export view", "Add an API stream"])
def test_a_recipe_names_files_that_exist_and_names_that_are_in_them(title: str) -> None:
    text = recipes()[title]
    quoted = re.findall(r"`([^`]+)`", text)
    paths = [q for q in quoted if re.fullmatch(r"[\w./-]+\.(?:py|md|yml|toml)", q)]
    assert paths, "a recipe names the files to edit"
    missing = [p for p in paths if not (ROOT / p).is_file()]
    assert not missing, f"{title}: no such file: {missing}"
    sources = "\n".join((ROOT / p).read_text() for p in paths)
    names = [q for q in quoted if CODE_NAME.fullmatch(q)]
    assert names, "a recipe names the code to change"
    absent = [n for n in names if not re.search(rf"\b{re.escape(n.removesuffix('()'))}\b", sources)]
    assert not absent, f"{title}: not in {paths}: {absent}"
