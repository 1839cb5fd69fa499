"""The history service: every `Store` call on one dedicated thread, in submission order.

The app's event loop never waits on SQLite or the disk: it submits calls and gets
asyncio futures back. Order matters: a task's final image is on disk before the row that
points at it is written, and the start-up history load runs before any later save.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

from imgtui.store.db import OpenReport, Store
from imgtui.tasks import Task

__all__ = ["History"]


class History:
    """`Store` calls on one thread. Call `call()`/`background()` from the event loop."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imgtui-store")
        self._pending: set[Future[Any]] = set()
        # Calls made before `open()` (the app opens the store after its first frame, and a
        # prompt may be sent before that): held, in order, and run right after the open.
        self._held: list[tuple[Callable[[], Any], Future[Any]]] | None = []

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        """Run `fn(*args, **kwargs)` on the store thread (after everything submitted
        before it; before `open()`, right after the open); await the result."""
        job = partial(fn, *args, **kwargs)
        future: Future[Any]
        if self._held is not None:
            future = Future()
            self._held.append((job, future))
        else:
            future = self._pool.submit(job)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return asyncio.wrap_future(future)

    def background(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Fire and forget; a failure goes to `on_error` (on the event loop)."""
        future = self.call(fn, *args)

        def done(f: asyncio.Future[Any]) -> None:
            if not f.cancelled() and f.exception() is not None and on_error is not None:
                on_error(f.exception())  # type: ignore[arg-type]

        future.add_done_callback(done)

    def open(self, limit: int | None) -> asyncio.Future[Any]:
        """Open the store, recover tasks a dead run left unfinished, and load the newest
        `limit` tasks: a future of (OpenReport, tasks). Calls made before this run right
        after it, in the order they were made."""
        held, self._held = self._held or [], None
        opened = self.call(self._open, limit)
        for job, future in held:
            self._pool.submit(_settle, future, job)
        return opened

    def _open(self, limit: int | None) -> tuple[OpenReport, list[Task]]:
        report = self.store.open()
        self.store.mark_interrupted()  # not while another imgtui holds the folder
        return report, self.store.load(limit=limit)

    async def drain(self, timeout: float) -> None:
        """Wait (at most `timeout` seconds) for every call submitted so far."""
        pending = [asyncio.wrap_future(f) for f in list(self._pending)]
        if pending:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), timeout)

    def close(self) -> None:
        """Finish the queued calls, stop the thread and close the store (which releases
        the data folder for the next imgtui). Blocks."""
        self._pool.shutdown(wait=True)
        self.store.close()


def _settle(future: Future[Any], job: Callable[[], Any]) -> None:
    """Store thread: run a held call and settle its future."""
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(job())
    except BaseException as exc:
        future.set_exception(exc)
