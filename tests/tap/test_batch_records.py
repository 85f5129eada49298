"""BATCH files hold exactly the records that RECORD messages carry, in both encodings, for every stream.

The tap runs twice against the same simulator data (wide rows, unknown columns, reports with an unknown report
type, pull statistics): once writing RECORD messages, once writing BATCH files (`batch_config`). The files are
read back as an SDK target reads them (gzip JSONL line by line; parquet with pyarrow, ``to_pylist``) and
compared with the RECORD messages' records, stream by stream, row by row. Parquet values are typed, so both
sides are compared as values of the stream's schema (an RFC 3339 string and a timestamp of the same instant are
equal). Also: ``batch_size`` caps the rows of each file, and parquet without pyarrow stops the tap in one line.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
import typing as t
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from cli_support import CliRun
from tap_harness import VERSIONED_STREAMS, TapOutput, read_batch_file, run_tap, tap_config

from dockerdvp_simulator import SimConfig
from tap_dockerdvp.errors import StorageError

pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is in the dev extra (tap-dockerdvp[arrow])")

END = dt.date(2026, 11, 18)
BATCH_SIZE = 250


def sim_config() -> SimConfig:
    return SimConfig(
        namespaces=("acme", "globex"),
        extension_namespaces=("acme",),
        report_namespaces=("globex",),
        weeks=1,
        rows_per_week=600,
        files_per_timespan=2,  # a batch file never spans two source files
        row_shape="wide",
        extra_columns=("ip_hash", "os", "region"),  # unknown columns, `region` sometimes empty or null
        end_date=END,
        include_partial=False,
    )


def batch_config(root: Path, fmt: str) -> dict[str, t.Any]:
    encoding = {"format": fmt, "compression": "gzip"} if fmt == "jsonl" else {"format": fmt}
    return {"encoding": encoding, "storage": {"root": root.as_uri(), "prefix": f"{fmt}-"}, "batch_size": BATCH_SIZE}


def parquet_files(root: Path, batch_size: int) -> t.Any:
    """A parquet ``BatchFiles`` for ``pull_events`` under ``root``, from what the SDK's BatchConfig holds."""
    from tap_dockerdvp.files.batch_files import BatchFiles

    config = SimpleNamespace(
        encoding=SimpleNamespace(format="parquet", compression=None),
        storage=SimpleNamespace(root=root.as_uri(), prefix="", params=None),
        batch_size=batch_size,
    )
    return BatchFiles(config, tap_name="tap-dockerdvp", stream_name="pull_events")


def value_of(value: t.Any, prop: dict[str, t.Any]) -> t.Any:
    """``value`` as a value of ``prop``: date-time and date strings parsed, objects and arrays element-wise."""
    if value is None:
        return None
    types = prop.get("type", [])
    types = [types] if isinstance(types, str) else types
    if prop.get("format") == "date-time" and isinstance(value, str):
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if prop.get("format") == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if "object" in types and prop.get("properties") and isinstance(value, dict):
        return {k: value_of(v, prop["properties"].get(k, {})) for k, v in value.items()}
    if "array" in types and isinstance(value, list):
        return [value_of(v, prop.get("items", {})) for v in value]
    return value


def rows_by_key(records: list[dict], schema_message: dict) -> dict[tuple, dict]:
    stream, props, keys = (
        schema_message["stream"],
        schema_message["schema"]["properties"],
        schema_message["key_properties"],
    )
    out = {}
    for record in records:
        assert set(record) <= set(props), f"{stream}: keys the SCHEMA lacks: {set(record) - set(props)}"
        row = {k: value_of(record.get(k), prop) for k, prop in props.items()}  # an absent key is null
        key = tuple(row[k] for k in keys)
        assert key not in out, f"{stream}: duplicate key {key}"
        out[key] = row
    return out


@pytest.fixture(scope="module")
def served() -> t.Iterator[tuple[SimConfig, dict[str, t.Any], TapOutput]]:
    """The simulator, the tap's config for it, and what the tap writes as RECORD messages."""
    from dockerdvp_simulator import Simulator

    sim = Simulator(sim_config()).start()
    try:
        config = tap_config(sim, data_source="both")
        yield sim.config, config, run_tap(config)
    finally:
        sim.stop()


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_batch_files_hold_the_records_of_the_record_messages(served, tmp_path: Path, fmt: str) -> None:
    _cfg, config, record_run = served
    expected = record_run.records
    assert {"pull_events", "report_other", "report_trends", "namespace_pull_stats", "repositories"} <= set(expected)
    assert any(r["extra_columns"] for r in expected["pull_events"])  # unknown columns are there to be kept
    assert all(r["values"] for r in expected["report_other"])

    batch_run = run_tap({**config, "batch_config": batch_config(tmp_path, fmt)})
    assert batch_run.versioned_records_only(), "BATCH mode wrote RECORD messages of a stream without versions"
    batches = [m for m in batch_run.messages if m["type"] == "BATCH"]
    files_of: Counter[str] = Counter()
    got: dict[str, list[dict]] = {}
    for message in batches:
        assert message["encoding"]["format"] == fmt
        for url in message["manifest"]:
            assert Path(url.removeprefix("file://")).name.startswith(f"{fmt}-tap-dockerdvp--{message['stream']}-")
            rows = read_batch_file(url, fmt)
            assert 0 < len(rows) <= BATCH_SIZE, f"{url}: {len(rows)} rows (batch_size {BATCH_SIZE})"
            files_of[message["stream"]] += 1
            got.setdefault(message["stream"], []).extend(rows)
    assert not set(got) & VERSIONED_STREAMS
    got.update(batch_run.records)
    assert set(got) == set(expected)
    assert files_of["pull_events"] >= 4, files_of  # 2 namespaces x 2 source files of 300 rows: 250 + 50 each

    schemas = batch_run.schemas()
    assert schemas == record_run.schemas(), "the SCHEMA messages differ between RECORD and BATCH mode"
    for stream, records in expected.items():
        want, have = rows_by_key(records, schemas[stream]), rows_by_key(got[stream], schemas[stream])
        assert have.keys() == want.keys(), f"{stream}: other keys in the batch files"
        differing = [key for key in want if have[key] != want[key]]
        assert not differing, (
            f"{stream}: {len(differing)} of {len(want)} rows differ, e.g.\n"
            f"RECORD: {want[differing[0]]}\nBATCH:  {have[differing[0]]}"
        )
    # the bookmarks move the same way
    for parent in ("timespans", "reports"):
        moved = batch_run.final_state["bookmarks"][parent]["partitions"]
        assert moved == record_run.final_state["bookmarks"][parent]["partitions"], parent


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_flattened_batch_files_declare_every_key_and_keep_the_unknown_values(served, tmp_path: Path, fmt: str):
    """With flattening on, every stream's batch rows carry only keys its SCHEMA declares, and the catch-all objects
    and arrays arrive whole, as JSON text."""
    _cfg, config, record_run = served
    flat = {"flattening_enabled": True, "flattening_max_depth": 1}
    out = run_tap({**config, **flat, "batch_config": batch_config(tmp_path, fmt)})
    schemas = out.schemas()
    got = out.batch_records()
    assert not set(got) & VERSIONED_STREAMS and out.versioned_records_only()
    got.update(out.records)  # flattened by the SDK, as RECORD messages
    assert got.keys() == record_run.records.keys()
    for stream, rows in got.items():
        declared = set(schemas[stream]["schema"]["properties"])
        assert all(set(row) <= declared for row in rows), f"{stream}: undeclared keys {set(rows[0]) - declared}"
        assert len(rows) == len(record_run.records[stream]), stream
    for stream, key in (("pull_events", "extra_columns"), ("report_other", "values"), ("namespaces", "datasets")):
        assert schemas[stream]["schema"]["properties"][key]["type"] in ("string", ["string", "null"]), stream
        want = sorted(json.dumps(r[key], sort_keys=True) for r in record_run.records[stream])
        have = sorted(json.dumps(json.loads(r[key]), sort_keys=True) for r in got[stream])
        assert have == want, f"{stream}.{key}: the flattened JSON text differs from the record's value"


def test_a_parquet_extra_columns_is_a_struct_of_the_unknown_headers(served, tmp_path: Path) -> None:
    _cfg, config, _records = served
    out = run_tap({**config, "batch_config": batch_config(tmp_path, "parquet")})
    (url, *_) = next(m["manifest"] for m in out.messages if m["type"] == "BATCH" and m["stream"] == "pull_events")
    schema = pq.read_schema(url.removeprefix("file://"))
    import pyarrow as pa

    assert schema.field("extra_columns").type == pa.struct([(h, pa.string()) for h in ("IP hash", "OS", "Region")])
    assert schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert schema.field("action_day").type == pa.date32()
    assert schema.field("row_number").type == pa.int64()
    values = pq.read_schema(
        next(
            m["manifest"][0] for m in out.messages if m["type"] == "BATCH" and m["stream"] == "report_other"
        ).removeprefix("file://")
    ).field("values")
    assert pa.types.is_struct(values.type) and "PUBLISHER_NAME" in {f.name for f in values.type}


# A real import of pyarrow fails as it does where the package is not installed.
HIDE_PYARROW = """
import sys
class HidePyarrow:
    def find_spec(self, name, path=None, target=None):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, HidePyarrow())
from tap_dockerdvp.tap import TapDockerDVP
TapDockerDVP.cli()
"""


def test_parquet_without_pyarrow_stops_in_one_line_naming_the_extra(served, tmp_path: Path) -> None:
    _cfg, config, _records = served
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**config, "batch_config": batch_config(tmp_path / "files", "parquet")}))
    args = ["--config", str(path)]
    proc = subprocess.run(
        [sys.executable, "-c", HIDE_PYARROW, *args], capture_output=True, text=True, timeout=60, check=False
    )
    run = CliRun(args, proc.returncode, proc.stdout, proc.stderr, 0.0)
    line = run.assert_fails_in_one_line("batch_config.encoding.format", "pip install 'tap-dockerdvp[arrow]'")
    assert line.startswith("setting `batch_config.encoding.format` is parquet, which needs pyarrow"), line
    assert not (tmp_path / "files").exists() or not any((tmp_path / "files").iterdir())
    assert '"type":"BATCH"' not in proc.stdout.replace(" ", "")


def test_a_parquet_batch_file_holds_more_than_one_row_group(tmp_path: Path) -> None:
    """Rows past the first row group go into the same file (the writer's schema is checked for each table)."""
    import pyarrow as pa

    from tap_dockerdvp.files.batch_files import PARQUET_ROW_GROUP

    writer = parquet_files(tmp_path, 3 * PARQUET_ROW_GROUP)
    chunk = PARQUET_ROW_GROUP // 2 + 1
    done = []
    for first in range(0, 2 * PARQUET_ROW_GROUP + 5, chunk):
        done += writer.add_table(pa.table({"row_number": pa.array(range(first, first + chunk), pa.int64())}))
    done += writer.close()
    assert len(done) == 1, done
    table = pq.read_table(done[0].removeprefix("file://"))
    assert table.column("row_number").to_pylist() == list(range(5 * chunk))
    metadata = pq.ParquetFile(done[0].removeprefix("file://")).metadata
    groups = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert groups == [PARQUET_ROW_GROUP, PARQUET_ROW_GROUP, 5 * chunk - 2 * PARQUET_ROW_GROUP]  # cut exactly


@pytest.mark.parametrize(
    ("batch_size", "rows", "expected"),
    [
        (10_000, 25_000, [[5_000, 5_000], [5_000, 5_000], [5_000]]),  # the SDK's default: no 1,808-row tail group
        (20_000, 20_000, [[6_667, 6_667, 6_666]]),
        (1 << 14, 1 << 14, [[1 << 13, 1 << 13]]),
        (3_000, 7_000, [[3_000], [3_000], [1_000]]),
    ],
    ids=["default", "three-groups", "two-full-groups", "small-batches"],
)
def test_a_full_parquet_batch_file_is_split_evenly_into_row_groups(
    tmp_path: Path, batch_size: int, rows: int, expected: list[list[int]]
) -> None:
    """A full file's rows go into as few row groups as the 8,192-row cap allows, all the same size: no small last
    group after a big one (the reading would wait for the big one's write at every file)."""
    import pyarrow as pa

    from tap_dockerdvp.files.arrow.lane import TablePart

    writer = parquet_files(tmp_path, batch_size)
    done = []
    for first in range(0, rows, 1_500):  # parts as the Arrow lane gives them; `add` cuts them at the files' ends
        part = pa.table({"row_number": pa.array(range(first, min(first + 1_500, rows)), pa.int64())})
        done += writer.add(TablePart(part, first_row=first + 1))
    done += writer.close()
    groups = []
    for url in done:
        metadata = pq.ParquetFile(url.removeprefix("file://")).metadata
        groups.append([metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)])
    assert groups == expected
    read = [n for url in done for n in pq.read_table(url.removeprefix("file://")).column("row_number").to_pylist()]
    assert read == list(range(rows))


def test_parquet_dictionaries_where_values_repeat_and_statistics_for_numbers(tmp_path: Path) -> None:
    """No dictionary for a column of distinct values; min/max statistics for numbers, none for text."""
    import pyarrow as pa

    writer = parquet_files(tmp_path, 10_000)
    rows = 1000
    agents = [f"containerd/v1.7.{i % 9} (linux; amd64) go/go1.23.{i % 5} kernel/6.{i % 3}-generic" for i in range(rows)]
    table = pa.table({
        "row_number": pa.array(range(rows), pa.int64()),
        "country": pa.array(["US", "DE", "CN", None] * (rows // 4)),
        "user_agent": pa.array(agents),
        "extra": pa.StructArray.from_arrays([pa.array([f"{i:032x}" for i in range(rows)])], names=["IP hash"]),
    })  # fmt: skip
    writer.add_table(table)
    (url,) = writer.close()
    path = url.removeprefix("file://")
    assert pq.read_table(path).to_pylist() == table.to_pylist()
    group = pq.ParquetFile(path).metadata.row_group(0)
    columns = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
    dictionary = {name: "RLE_DICTIONARY" in column.encodings for name, column in columns.items()}
    statistics = {name: column.is_stats_set for name, column in columns.items()}
    assert dictionary == {"row_number": False, "country": True, "user_agent": True, "extra.IP hash": False}
    assert statistics == {"row_number": True, "country": False, "user_agent": False, "extra.IP hash": False}


def test_a_failed_parquet_write_is_raised_not_lost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parquet writes run in a thread behind the reader: an error there still ends the file (and the run)."""
    import pyarrow as pa

    from tap_dockerdvp.files.batch_files import PARQUET_ROW_GROUP

    def full(self: pq.ParquetWriter, table: pa.Table, row_group_size: int | None = None) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    writer = parquet_files(tmp_path, 10 * PARQUET_ROW_GROUP)
    with pytest.raises(StorageError, match=r"^setting `batch_config.storage.root`: .*\(No space left on device\)$"):
        for first in range(0, 4 * PARQUET_ROW_GROUP, 10_000):
            writer.add_table(pa.table({"row_number": pa.array(range(first, first + 10_000), pa.int64())}))
        writer.close()


def test_a_parquet_file_is_handed_out_only_once_written_while_the_next_rows_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full file is finished by the writer thread while rows go on into the next one; its URL comes out only
    when its footer is written (a slow disk here), in order, and the last file's too when the writer closes."""
    import threading

    import pyarrow as pa

    footer_may_go = threading.Event()
    real_close = pq.ParquetWriter.close

    def slow_close(self: pq.ParquetWriter) -> None:
        footer_may_go.wait(10)
        real_close(self)

    monkeypatch.setattr(pq.ParquetWriter, "close", slow_close)
    writer = parquet_files(tmp_path, 1000)

    def rows(first: int) -> pa.Table:
        return pa.table({"row_number": pa.array(range(first, first + 500), pa.int64())})

    handed: list[str] = []
    for first in range(0, 1500, 500):  # the first file fills at 1,000 rows; the third table opens the second
        handed += writer.add_table(rows(first))
    assert handed == []  # the first file's footer is not written yet: its URL stays back, the rows went on
    assert writer.rows == 500
    footer_may_go.set()
    handed += writer.close()
    assert len(handed) == 2
    tables = [pq.read_table(url.removeprefix("file://")) for url in handed]
    assert [table.column("row_number").to_pylist() for table in tables] == [list(range(1000)), list(range(1000, 1500))]


class StorageFile(io.RawIOBase):
    """The storage's file object, watched: the size of every write it takes, and a disk that fills at ``full``."""

    def __init__(self, inner: t.Any, full: bool = False) -> None:
        self.inner, self.full, self.writes = inner, full, []  # type: list[int]

    def writable(self) -> bool:
        return True

    def write(self, data: t.Any) -> int:
        if self.full:
            raise OSError(28, "No space left on device")
        self.writes.append(len(data))
        return self.inner.write(data)

    def tell(self) -> int:
        return self.inner.tell()

    def close(self) -> None:
        self.inner.close()
        super().close()


def watched_storage(monkeypatch: pytest.MonkeyPatch, *, full: bool = False) -> list[StorageFile]:
    """Every file object a ``BatchFiles`` opens, wrapped in a :class:`StorageFile` (in the order opened)."""
    from tap_dockerdvp.files.batch_files import BatchFiles

    opened: list[StorageFile] = []
    real_open = BatchFiles._open

    def watched_open(self: BatchFiles) -> None:
        real_open(self)
        self._handle = StorageFile(self._handle, full)
        opened.append(self._handle)

    monkeypatch.setattr(BatchFiles, "_open", watched_open)
    return opened


def wide_rows(first: int, count: int) -> t.Any:
    import pyarrow as pa

    return pa.table({
        "row_number": pa.array(range(first, first + count), pa.int64()),
        "digest": pa.array([f"sha256:{i * 7919:064x}" for i in range(first, first + count)]),
        "country": pa.array(["US", "DE", "CN", "FR"] * (count // 4)),
    })  # fmt: skip


def test_a_parquet_file_goes_to_the_storage_in_a_few_large_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer thread gathers a file's bytes in Arrow's memory and hands them to the storage's file object a
    megabyte at a time: one write per page took the interpreter's lock thousands of times a run."""
    from tap_dockerdvp.files.batch_files import PARQUET_BUFFER

    opened = watched_storage(monkeypatch)
    writer = parquet_files(tmp_path, 40_000)
    urls: list[str] = []
    for first in range(0, 60_000, 5_000):  # a full file of 8 row groups, then half of one
        urls += writer.add_table(wide_rows(first, 5_000))
    urls += writer.close()
    assert len(urls) == len(opened) == 2
    for url, storage in zip(urls, opened, strict=True):
        size = Path(url.removeprefix("file://")).stat().st_size
        assert storage.closed and sum(storage.writes) == size
        assert len(storage.writes) <= size // PARQUET_BUFFER + 1, storage.writes
    assert pq.ParquetFile(urls[0].removeprefix("file://")).metadata.num_row_groups > 1
    rows = [pq.read_table(url.removeprefix("file://")).column("row_number").to_pylist() for url in urls]
    assert rows == [list(range(40_000)), list(range(40_000, 60_000))]


def test_a_storage_that_refuses_a_parquet_files_bytes_is_raised_not_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """A disk that is full when the buffered bytes go out (at the latest when the file is finished): the error the
    storage raised ends the file in one line naming the setting, its URL is never handed out, and it is said once
    (Arrow prints nothing of it when it lets the buffer go)."""
    import gc

    watched_storage(monkeypatch, full=True)
    writer = parquet_files(tmp_path, 10_000)
    handed: list[str] = []
    with pytest.raises(StorageError, match=r"^setting `batch_config.storage.root`: .*\(No space left on device\)$"):
        for first in range(0, 20_000, 5_000):
            handed += writer.add_table(wide_rows(first, 5_000))
        handed += writer.close()
    assert handed == []
    del writer
    gc.collect()
    assert capfd.readouterr().err == ""


def test_a_parquet_file_abandoned_with_rows_in_its_buffer_is_deleted_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """A download read again: the open file, whose row groups are still in the writer's buffer, is deleted, and
    Arrow prints nothing (it would complain of a buffer flushed into a closed file)."""
    import gc

    opened = watched_storage(monkeypatch)
    writer = parquet_files(tmp_path, 40_000)
    for first in range(0, 25_000, 5_000):
        writer.add_table(wide_rows(first, 5_000))
    assert writer.rollback(restart=True) == 0
    gc.collect()
    assert len(opened) == 1 and opened[0].closed
    assert list(tmp_path.iterdir()) == []
    assert capfd.readouterr().err == ""
    writer.add_table(wide_rows(0, 5_000))  # the rows read again go to a new file
    (url,) = writer.close()
    assert pq.read_table(url.removeprefix("file://")).column("row_number").to_pylist() == list(range(5_000))


def test_a_sync_that_fails_abandons_its_open_parquet_file(tmp_path: Path) -> None:
    """A stream's sync that raises (or is stopped) leaves no half-written batch file behind, and nothing for the
    interpreter's exit to write (an object store's upload then waited for ever)."""

    class Stopped(Exception):
        pass

    writer = parquet_files(tmp_path, 40_000)
    with pytest.raises(Stopped), writer:
        for first in range(0, 25_000, 5_000):
            writer.add_table(wide_rows(first, 5_000))
        raise Stopped
    assert list(tmp_path.iterdir()) == []


def test_a_sync_that_fails_deletes_the_files_it_finished_but_did_not_hand_out(tmp_path: Path) -> None:
    """A full file is finished by the writer thread and handed out later: when the sync fails first, its rows are
    read again by the next run, and the file, never announced, must not stay for a reader of the whole folder."""

    class Stopped(Exception):
        pass

    writer = parquet_files(tmp_path, 10_000)
    handed_out: list[str] = []
    with pytest.raises(Stopped), writer:
        handed_out += writer.add_table(wide_rows(0, 10_000))  # full: finished while the next rows are read
        writer.source_done()
        handed_out += writer.add_table(wide_rows(10_000, 3_000))
        raise Stopped
    left = sorted(p.as_uri() for p in tmp_path.iterdir())
    assert left == sorted(handed_out), "a file finished but never handed out was left behind"


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
@pytest.mark.parametrize("rule", ["False", 'namespace == "acme"'], ids=["drops all", "drops globex"])
def test_a_stream_map_that_drops_rows_leaves_no_empty_batch_file(served, tmp_path: Path, fmt: str, rule: str) -> None:
    """An empty BATCH file stops target-postgres (it inserts a row of nulls); the SDK's own batcher sends none."""
    _cfg, config, record_run = served
    maps = {"pull_events": {"__filter__": rule}, "namespace_summary": {"__filter__": rule}}
    config = {**config, "stream_maps": maps, "batch_config": {**batch_config(tmp_path, fmt), "batch_size": 50}}
    out = run_tap(config)
    batches = [m for m in out.messages if m["type"] == "BATCH"]
    for message in batches:
        for url in message["manifest"]:
            assert read_batch_file(url, fmt), f"{message['stream']}: an empty batch file {url}"
    kept = out.batch_records()
    for stream in ("pull_events", "namespace_summary"):
        expected = [r for r in record_run.records[stream] if rule != "False" and r["namespace"] == "acme"]
        assert len(kept.get(stream, [])) == len(expected), stream
    files = {p.name for p in tmp_path.iterdir() if not p.name.endswith(".tmp")}
    assert files == {url.rsplit("/", 1)[1] for m in batches for url in m["manifest"]}  # none left behind


def test_a_file_being_written_has_no_final_name_until_it_is_complete(tmp_path: Path) -> None:
    """A process killed mid-file (SIGKILL, out of memory) runs no clean-up: the file it was writing stayed under its
    final name, never announced, and a reader of the whole folder counted its rows twice once the next run read
    them again (jsonl), or failed on a file without a footer (parquet)."""
    writer = parquet_files(tmp_path, 10_000)
    handed_out = writer.add_table(wide_rows(0, 10_000))  # full: finished by the writer thread
    handed_out += writer.add_table(wide_rows(10_000, 6_000))  # a row group of the next file written, not finished
    writing = [p.name for p in tmp_path.iterdir() if p.as_uri() not in handed_out]
    assert writing and all(name.startswith(".") and name.endswith(".part") for name in writing), writing
    handed_out += writer.close()
    assert sorted(p.as_uri() for p in tmp_path.iterdir()) == sorted(handed_out)  # renamed, nothing else left
    assert all(not Path(urlsplit(u).path).name.startswith(".") for u in handed_out)
    assert sum(pq.read_metadata(urlsplit(u).path).num_rows for u in handed_out) == 16_000
