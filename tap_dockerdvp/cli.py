"""The command line's own concerns: the process it runs in, and the one line a user's mistake ends it with."""

from __future__ import annotations

import os
import platform
import sys


def prepare_process() -> None:
    """Settings of the process, made before anything loads pyarrow (it reads them when it loads).

    jemalloc for every Arrow buffer, the C++ library's own included, where pyarrow's wheels have it (Linux x86_64;
    elsewhere Arrow would print a warning): mimalloc, pyarrow's default, keeps the pages it freed, which costs a
    large file's read tens of MiB at its peak for no speed. jemalloc's own settings: one arena, as the Arrow work
    runs in a few threads taking turns, and freed pages given back at once (8 to 10 MiB less at the peak); no
    thread caches (5 to 7 MiB less). Both measured no slower. A value the user set stays.
    """
    if sys.platform.startswith("linux") and platform.machine() == "x86_64":
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
        os.environ.setdefault("JE_ARROW_MALLOC_CONF", "narenas:1,muzzy_decay_ms:0,tcache:false")
