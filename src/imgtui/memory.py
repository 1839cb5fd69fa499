"""Giving freed memory back to the operating system.

A 4K frame is ~24 MB of PNG and ~32 MB of base64, and the frames of parallel streams are
decoded on several threads. glibc's allocator keeps what such buffers leave behind in
its per-thread heaps instead of returning it: after 8 streams of 3840x2160 frames ended,
the app measured ~1 GB resident although under 10 MB of Python objects were alive
(`benchmarks/history.py`, `tests/system/test_memory.py`). `malloc_trim(0)` hands the free
pages of every heap back (glibc >= 2.8 releases whole free pages inside the heaps too).

`unmap_big_buffers()` (called once by the `Runner`) goes further: every block of
`BIG_BUFFER` bytes or more gets pages of its own (mmap) and goes back to the OS the moment
it is freed, whatever thread allocated it. glibc's default raises that threshold to
32 MiB as big blocks are freed, so 4K frames (24-32 MB) landed in per-thread heaps, and
after 8 4K streams ended the app kept 190-340 MiB instead of 135-165 (test_memory).

Elsewhere (musl, macOS, Windows) this does nothing: those allocators return large blocks
on their own or have no such call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable
from typing import Any, cast


@functools.cache
def _libc_function(name: str) -> Any | None:
    """glibc's function `name` (a ctypes function), or None where there is no such libc."""
    path = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(path) if path else ctypes.CDLL(None)
        return getattr(libc, name)
    except (OSError, AttributeError):
        return None


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    trim = _libc_function("malloc_trim")
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return cast("Callable[[int], int]", trim)


BIG_BUFFER = 4 * 1024 * 1024  # bytes: blocks this big are mapped and unmapped on their own
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)


@functools.cache
def unmap_big_buffers() -> bool:
    """Make the allocator map every block of `BIG_BUFFER` bytes or more on its own and
    unmap it when freed (glibc `mallopt(M_MMAP_THRESHOLD)`, which also stops glibc from
    raising that threshold). True when set; False where there is no glibc. Process-wide,
    once."""
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, BIG_BUFFER))


def give_back() -> bool:
    """Return the allocator's free memory to the OS. True if some was returned.

    Takes a few ms per GB of free heap (ctypes releases the GIL meanwhile): call it from a
    worker thread, after the big buffers of a finished task are dropped.
    """
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
