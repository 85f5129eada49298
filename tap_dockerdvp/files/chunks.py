"""A file's decompressed bytes cut into chunks of whole lines: the unit the Arrow lane parses.

A chunk ends at a line break and never copies the blocks it is made of until it is parsed. Whether a cut fell
inside quotes (a line break inside a quoted value) is for the parser to settle: :func:`quotes_closed` counts.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Iterator

#: Decompressed bytes per block and per chunk: the inflater's output, and what the Arrow lane parses at once. Arrow's
#: parser and kernels have a fixed cost per call; what a chunk becomes (columns, JSON text, parquet pages) is several
#: times its size and sets the tap's peak memory. Measured on 2 cores: 2 MiB is 5 to 10% faster and takes 140 to
#: 170 MiB at the peak instead of 110 to 140.
CHUNK_BYTES = 1 << 20


class LineChunks:
    """A file's decompressed blocks cut into chunks of whole lines of about ``size`` bytes (a line longer than that
    is a chunk of its own), without copying the blocks: a chunk is a list of pieces to join, bytes objects but the
    last, which may be a memoryview of the start of a block. Whether quotes are open at a cut is for the caller to
    check (:func:`quotes_closed`). The bytes not handed out are :meth:`rest`, the source's next blocks come after
    them."""

    def __init__(self, source: Iterator[bytes], first: bytes, size: int) -> None:
        self.source, self.size = source, size
        self._rest: list[bytes] = [first] if first else []
        self.exhausted = False

    def next(self) -> list[bytes | memoryview] | None:
        """The next chunk, or None when no whole line is left (then the source is exhausted)."""
        pieces, self._rest = self._rest, []
        total = sum(map(len, pieces))
        searched = 0  # pieces known to hold no line break
        while True:
            if total >= self.size or self.exhausted:
                for index in range(len(pieces) - 1, searched - 1, -1):
                    piece = pieces[index]
                    if end := piece.rfind(b"\n") + 1:
                        self._rest = [p for p in (piece[end:], *pieces[index + 1 :]) if p]  # less than a line
                        return [*pieces[:index], piece if end == len(piece) else memoryview(piece)[:end]]
                searched = len(pieces)
                if self.exhausted:
                    self._rest = pieces
                    return None
            block = next(self.source, None)
            if block is None:
                self.exhausted = True
                continue
            pieces.append(block)
            total += len(block)

    def rest(self) -> list[bytes]:
        """The bytes after the chunks handed out."""
        return self._rest


def quotes_closed(chunk: bytes) -> bool:
    """Whether a chunk that starts outside quotes ends outside them: an even count of quote characters."""
    return chunk.count(b'"') % 2 == 0
