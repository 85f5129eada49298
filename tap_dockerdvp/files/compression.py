"""gzip in and out, with ISA-L where it has a wheel (three to four times faster than zlib, the same bytes).

In: a file that starts with the gzip magic is inflated member after member (zero padding between or after members
is ignored); damage raises :class:`~tap_dockerdvp.errors.TruncatedFileError`, so the file is read again. Out: a
piece of JSON lines becomes one gzip member at a fast level (a file of members end to end is one gzip file).
"""

from __future__ import annotations

import typing as t

from tap_dockerdvp.errors import TruncatedFileError
from tap_dockerdvp.files import chunks

try:  # the one import of ISA-L; zlib has the same API
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover - a platform without an isal wheel
    import zlib as _zlib  # type: ignore[no-redef]

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

GZIP_MAGIC = b"\x1f\x8b"
#: Level 1: the target decompresses once; a higher level costs the tap several times the CPU for a few % of size.
LEVEL = 1
# compressed bytes given to the inflater at a time: what it leaves of them for the next block is copied each time,
# so a download's 1 MiB chunk given whole would be copied several times over
_FEED = 1 << 17
_INFLATE_ERRORS: tuple[type[BaseException], ...] = (t.cast("type[BaseException]", _zlib.error),)


def decompressed(data: Iterable[bytes], label: str) -> Iterator[bytes]:
    """A file's bytes: inflated (in blocks of at most ``chunks.CHUNK_BYTES``) when it starts with the gzip magic,
    else as they come."""
    source = (bytes(c) for c in data if c)
    head = b""
    for chunk in source:
        head += chunk
        if len(head) >= len(GZIP_MAGIC):
            break
    if head.startswith(GZIP_MAGIC):
        yield from _gunzip(head, _fed(source, _FEED), label)
        return
    if head:
        yield head
    yield from source


def _fed(data: Iterable[bytes], size: int) -> Iterator[bytes]:
    """The chunks in pieces of at most ``size`` bytes."""
    for chunk in data:
        if len(chunk) <= size:
            yield chunk
        else:
            yield from (chunk[i : i + size] for i in range(0, len(chunk), size))


def _gunzip(first: bytes, blocks: Iterator[bytes], label: str) -> Iterator[bytes]:
    """The inflated bytes of a gzip stream (``first``, then ``blocks``), at most ``chunks.CHUNK_BYTES`` at a time."""
    data = first
    inflater: t.Any = None
    while True:
        if inflater is None:
            data = data.lstrip(b"\x00")  # zero padding between or after members
            if not data:
                data = next(blocks, b"")
                if not data:
                    return
                continue
            inflater = _zlib.decompressobj(wbits=31)
        try:
            out = inflater.decompress(data, chunks.CHUNK_BYTES)
        except _INFLATE_ERRORS as exc:
            raise TruncatedFileError(f"{label}: corrupt or truncated gzip data ({exc})") from None
        if out:
            yield out
        if inflater.eof:
            data, inflater = inflater.unused_data, None
            continue
        data = inflater.unconsumed_tail
        if data:
            continue
        data = next(blocks, b"")
        if data:
            continue
        while out := inflater.decompress(b"", chunks.CHUNK_BYTES):  # output zlib still holds
            yield out
        if not inflater.eof:
            raise TruncatedFileError(
                f"{label}: the gzip data ends before the end of its last member; the file looks cut"
            )
        return


def gzip_member(data: bytes | memoryview) -> bytes:
    """``data`` as one gzip member."""
    compressor = _zlib.compressobj(LEVEL, _zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()
