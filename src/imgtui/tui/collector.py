"""The garbage-collector policy while tasks stream.

A full (generation 2) collection holds the GIL while it walks every tracked object: with
Textual's many small objects that paused the UI 100-260 ms mid-stream
(benchmarks/loop_lag.py). So: everything alive after start-up is frozen (`gc.freeze()`:
out of the collector's sight, refcounting still frees it), and while any task streams
full collections wait; the young generations, which hold most garbage, run as usual.
Once the last stream's final frame is on screen the thresholds come back, and Python's
own policy decides when the next full collection runs (it waits until the objects that
survived into the oldest generation since the last one are a quarter of those there).

No explicit `gc.collect()` then: it walks every object created since start-up, the cards
of all the session's tasks included, so one per burst of tasks made a long session
quadratic (`benchmarks/history.py --generate 1000` spent half its time there and stalled
past 800 tasks); and it was queued once per header update, so several ran back to back.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

__all__ = ["Collector"]

_DEFERRED = 1_000_000  # a generation-2 threshold never reached in practice


class Collector:
    """`streaming(n)` after every change in the count of running tasks."""

    def __init__(self, after_refresh: Callable[[Callable[[], None]], object]) -> None:
        self._after_refresh = after_refresh  # App.call_after_refresh
        self._thresholds = gc.get_threshold()
        self._running = 0
        self._resuming = False

    def freeze(self) -> None:
        """Start-up is done: move everything alive out of the collector's sight."""
        gc.freeze()

    def streaming(self, running: int) -> None:
        self._running = running
        young, middle, _full = self._thresholds
        if running:
            gc.set_threshold(young, middle, _DEFERRED)
        elif gc.get_threshold() != self._thresholds and not self._resuming:
            self._resuming = True  # once, however many updates come before it runs
            self._after_refresh(self._resume)  # not in the middle of painting the final frame

    @property
    def deferred(self) -> bool:
        """Full collections are held back (a task streams, or the resume is pending)."""
        return gc.get_threshold() != self._thresholds

    def _resume(self) -> None:
        self._resuming = False
        if self._running:
            return
        gc.set_threshold(*self._thresholds)

    def restore(self) -> None:
        """At exit: the thresholds as they were."""
        gc.set_threshold(*self._thresholds)
