"""`imgtui.memory.unmap_big_buffers`: a big buffer freed on any thread leaves RSS at once."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from imgtui import memory

MIB = 1024 * 1024


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_freed_frame_buffer_goes_back_to_the_os_whatever_thread_made_it():
    assert memory.unmap_big_buffers() is True
    kept: list[bytes] = []

    def make() -> None:  # a frame decoded on a worker thread (its own glibc heap)
        kept.append(b"x" * (24 * MIB))

    for _ in range(3):  # the first frees would raise glibc's default threshold to 24 MiB
        worker = threading.Thread(target=make)
        worker.start()
        worker.join()
        before = rss_mib()
        kept.clear()
        assert rss_mib() < before - 20  # unmapped on free, not kept in the thread's heap
