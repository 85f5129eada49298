"""Reading ahead in a thread: a file's download and gunzip overlap with the parsing of the bytes before them.

The socket reads and ISA-L's inflate release the GIL, so on two cores they cost the parser almost nothing. The
thread holds at most ``depth`` blocks (1 MiB each from the gunzip), so memory stays bounded; an error in the
source (a download that gave up, corrupt gzip data) is raised in the consumer, at the point it would have been
raised without the thread.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

_T = t.TypeVar("_T")


class _End:
    """The source's end: ``error`` is what it raised, if anything."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def ahead(source: Iterable[_T], depth: int = 4) -> Iterator[_T]:
    """The items of ``source``, read by a thread up to ``depth`` items ahead of the consumer."""
    items: queue.Queue[t.Any] = queue.Queue(depth)
    stop = threading.Event()
    iterator = iter(source)

    def produce() -> None:
        try:
            for item in iterator:
                while not stop.is_set():
                    try:
                        items.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(_End())
        except BaseException as exc:  # handed to the consumer, which raises it
            items.put(_End(exc))

    thread = threading.Thread(target=produce, name="tap-dockerdvp-readahead", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # let a producer blocked on a full queue see `stop`
            with contextlib.suppress(queue.Empty):
                items.get(timeout=0.1)
        close = getattr(iterator, "close", None)
        if close is not None:
            close()  # the producer is done with it: close it in this thread (a download's connection)
