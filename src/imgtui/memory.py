"""Giving freed memory back to the operating system.

A 4K frame is ~24 MB of PNG and ~32 MB of base64, and the frames of parallel streams are
decoded on several threads. glibc's allocator keeps what such buffers leave behind in
its per-thread heaps instead of returning it: after 8 streams of 3840x2160 frames ended,
the app measured ~1 GB resident although under 10 MB of Python objects were alive
(`benchmarks/history.py`, `tests/system/test_memory.py`). `malloc_trim(0)` hands the free
pages of every heap back (glibc >= 2.8 releases whole free pages inside the heaps too).

Elsewhere (musl, macOS, Windows) this does nothing: those allocators return large blocks
on their own or have no such call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def give_back() -> bool:
    """Return the allocator's free memory to the OS. True if some was returned.

    Takes a few ms per GB of free heap (ctypes releases the GIL meanwhile): call it from a
    worker thread, after the big buffers of a finished task are dropped.
    """
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
