"""How a file is read: one decision, from the output and whether pyarrow is installed.

- ``batches`` (the SDK's record path, stream maps): the reader, :func:`~tap_dockerdvp.files.reader.read_batches`;
- ``record`` and ``jsonl``: with pyarrow, the Arrow lane (:mod:`tap_dockerdvp.files.arrow.lane`), whatever the
  file's size; without, the reader and its encoder (:class:`~tap_dockerdvp.files.encoders.Encoder`). The same bytes
  either way (a gzip BATCH file compresses them as they come, in the caller's thread: see ``BatchFiles.add``);
- ``parquet``: the Arrow lane (parquet needs pyarrow, which the setting's check asks for).

The reader stays the owner of every rule: the lane hands it what it cannot settle, and raises what it raises.
"""

from __future__ import annotations

import functools
import typing as t

from tap_dockerdvp.files.encoders import Encoder, Output, Piece
from tap_dockerdvp.files.reader import Reading, RowBatch, read_batches

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from tap_dockerdvp.dvp.views import ViewSpec
    from tap_dockerdvp.files.arrow.lane import TablePart

__all__ = ["Output", "Reading", "has_pyarrow", "read"]


@functools.cache
def has_pyarrow() -> bool:
    """Whether pyarrow can be imported (the ``arrow`` extra): then every file goes through the Arrow lane."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def read(
    blocks: Iterable[bytes], spec: ViewSpec, output: Output, *, skip: int, reading: Reading
) -> Iterator[RowBatch] | Iterator[Piece] | Iterator[TablePart]:
    """The rows of a file's bytes after row ``skip`` (written by an earlier attempt), made into ``output``: row
    batches, encoded pieces or Arrow tables. Raises the reader's errors after the rows before them."""
    if output.kind == "batches":
        return _batches(blocks, spec, skip, reading)
    if has_pyarrow():
        from tap_dockerdvp.files.arrow.lane import ArrowLane

        lane = ArrowLane(spec, output, reading)
        return lane.tables(blocks, skip=skip) if output.kind == "parquet" else lane.pieces(blocks, skip=skip)
    if output.kind == "parquet":  # never reached: BatchFiles refuses parquet without pyarrow, in one line
        raise RuntimeError("parquet needs pyarrow")
    return Encoder(output).pieces(_batches(blocks, spec, skip, reading))


def _batches(blocks: Iterable[bytes], spec: ViewSpec, skip: int, reading: Reading) -> Iterator[RowBatch]:
    batches = read_batches(blocks, spec, label=reading.label, skip=skip, stats=reading.stats, logger=reading.logger)
    return reading.edges.watch(batches)
