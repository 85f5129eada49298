"""`readahead.ahead`: the items in order, the source's error in the consumer, a bounded lead, a clean stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from tap_dockerdvp.files.readahead import ahead
from tap_dockerdvp.files.reader import TruncatedFileError


def test_every_item_in_order() -> None:
    assert list(ahead(iter(range(1000)), depth=3)) == list(range(1000))
    assert list(ahead([])) == []


def test_the_sources_error_is_raised_in_the_consumer_after_the_items_before_it() -> None:
    def source() -> Iterator[bytes]:
        yield b"a"
        yield b"b"
        raise TruncatedFileError("x.csv.gz: corrupt or truncated gzip data")

    got = []
    with pytest.raises(TruncatedFileError, match=r"x\.csv\.gz"):
        for item in ahead(source()):
            got.append(item)
    assert got == [b"a", b"b"]


def test_the_thread_reads_at_most_depth_items_ahead() -> None:
    produced = []

    def source() -> Iterator[int]:
        for number in range(100):
            produced.append(number)
            yield number

    items = ahead(source(), depth=4)
    assert next(items) == 0
    time.sleep(0.3)
    # one taken, `depth` queued, one held by the blocked producer
    assert len(produced) <= 1 + 4 + 1, produced
    items.close()


def test_a_consumer_that_stops_early_stops_the_thread_and_closes_the_source() -> None:
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            number = 0
            while True:
                yield number
                number += 1
        finally:
            closed.set()

    before = threading.active_count()
    items = ahead(source(), depth=2)
    assert [next(items) for _ in range(5)] == [0, 1, 2, 3, 4]
    items.close()
    assert closed.is_set()
    assert threading.active_count() == before
