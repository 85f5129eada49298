"""The ``tap-dockerdvp`` command and ``python -m tap_dockerdvp``: the process is set up first, then the tap loads."""

from __future__ import annotations

import gc
import os
import platform
import sys


def prepare_process() -> None:
    """Settings of the process, made before numpy and pyarrow load (they read them when they load).

    jemalloc for every Arrow buffer, the C++ library's own included, where pyarrow's wheels have it (Linux x86_64;
    elsewhere Arrow would print a warning): mimalloc, pyarrow's default, keeps the pages it freed, which costs a
    large file's read tens of MiB at its peak for no speed. jemalloc's own settings: one arena, as the Arrow work
    runs in a few threads taking turns, and freed pages given back at once (8 to 10 MiB less at the peak); no
    thread caches (5 to 7 MiB less). Both measured no slower.

    One OpenBLAS thread: numpy is no dependency of the tap, but where it is installed anyway pyarrow and the SDK
    (through joblib) import it, and the tap does no linear algebra; OpenBLAS's own threads spin when it loads
    (0.08 CPU s) and hold 2 MiB. A value the user set stays.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if sys.platform.startswith("linux") and platform.machine() == "x86_64":
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
        os.environ.setdefault("JE_ARROW_MALLOC_CONF", "narenas:1,muzzy_decay_ms:0,tcache:false")


#: The cyclic collector's first threshold: objects made and not yet freed before it runs (the default is 700).
_GC_THRESHOLD = 10_000


def main() -> None:
    """Run the tap's command line in a process set up for it."""
    prepare_process()
    # The imports make some 50,000 objects that live as long as the process, and no garbage worth the cyclic
    # collector's time (1,900 objects): without it they take 0.03 s less, and frozen, no later collection traces them.
    gc.disable()
    from tap_dockerdvp.tap import TapDockerDVP  # only now: it loads the SDK, and numpy where it is installed

    gc.freeze()
    # The reader holds a batch of rows (2,048 lists from csv.reader, see files.reader.BATCH_ROWS) before it frees
    # them, so the default threshold (700 more objects made than freed) collected every third of a batch, tracing
    # the rows still held: 1,800 collections and about 1 s of a million rows' 15 s without pyarrow. Above a
    # batch, a run of a million rows collects a few times; cycles (tracebacks, mostly) are still collected.
    gc.set_threshold(_GC_THRESHOLD, *gc.get_threshold()[1:])
    gc.enable()

    try:
        TapDockerDVP.cli()
    finally:
        # What is left is module state and a few objects of garbage (10 at the end of a run): frozen, the
        # interpreter's exit does not trace them all again (its collections took two thirds of a 0.08 s exit). The
        # exit still runs every handler and flushes every stream.
        gc.freeze()


if __name__ == "__main__":
    main()
