"""The queue: how many generations each profile runs at once, in order, and how a 429
slows a profile down. Core (no Textual); the runner owns one.

    queue = ProfileQueue()
    async with queue.slot(profile):           # waits in submission order (task `queued`)
        ...stream...                          # a 429 meanwhile: queue.throttle(profile, s)

A profile's limit is `Profile.max_concurrent` (read at every start, so an edit in settings
applies to the next start; `ProfileQueue(concurrency=k)` overrides it for every profile),
minus the profile's slowdown, and never below 1. Each HTTP 429 (issue 14, item 7) lowers
the limit by one and holds new starts on that profile for the reply's Retry-After seconds
(`DEFAULT_RETRY_AFTER` when it gave none, at most `MAX_HOLD`); tasks already streaming go
on. After every `limit` tasks that end without a 429, the slowdown shrinks by one again.
Profiles are told apart by name.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imgtui.config import Profile

__all__ = ["DEFAULT_RETRY_AFTER", "MAX_HOLD", "Load", "ProfileQueue"]

DEFAULT_RETRY_AFTER = 1.0  # seconds new starts wait after a 429 without Retry-After
MAX_HOLD = 60.0  # a Retry-After longer than this is capped (seconds)


@dataclass(frozen=True)
class Load:
    """One profile's queue, for display: `running` streaming, `queued` waiting, the
    `limit` in force now (after any 429 slowdown) and the configured `max_concurrent`."""

    running: int
    queued: int
    limit: int
    max_concurrent: int


@dataclass
class _Lane:
    running: int = 0
    slowdown: int = 0  # how many below max_concurrent, from 429 replies
    clean: int = 0  # tasks ended without a 429 since the last change of slowdown
    held: bool = False  # a Retry-After hold is in force
    max_concurrent: int = 1
    waiters: deque[asyncio.Future[None]] = field(default_factory=deque)

    @property
    def limit(self) -> int:
        return max(1, self.max_concurrent - self.slowdown)


class ProfileQueue:
    """Per-profile FIFO admission with a 429 slowdown (see the module docstring).

    `sleep(seconds)` waits out a Retry-After hold (tests pass one they release by hand);
    `concurrency`, when given, replaces every profile's `max_concurrent`.
    """

    def __init__(
        self,
        *,
        concurrency: int | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if concurrency is not None and concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        self.sleep = sleep
        self._lanes: dict[str, _Lane] = {}
        self._holds: set[asyncio.Task[None]] = set()

    def _lane(self, profile: Profile) -> _Lane:
        lane = self._lanes.setdefault(profile.name, _Lane())
        lane.max_concurrent = self.concurrency or max(1, profile.max_concurrent)
        return lane

    def load(self, profile: Profile) -> Load:
        """The profile's running and queued counts and its limit now."""
        lane = self._lane(profile)
        queued = sum(1 for w in lane.waiters if not w.done())
        return Load(lane.running, queued, lane.limit, lane.max_concurrent)

    @asynccontextmanager
    async def slot(self, profile: Profile) -> AsyncIterator[None]:
        """Hold one of the profile's places while the body runs; wait (FIFO) for one
        first. Cancelling the wait leaves the queue as if the task never came."""
        lane = self._lane(profile)
        if lane.waiters or lane.held or lane.running >= lane.limit:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            lane.waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    lane.running -= 1  # admitted, then cancelled before it ran
                    self._admit(lane)
                raise
            finally:
                if waiter in lane.waiters:
                    lane.waiters.remove(waiter)
        else:
            lane.running += 1
        throttled_before = lane.slowdown
        try:
            yield
        finally:
            lane.running -= 1
            if lane.slowdown == throttled_before and lane.slowdown > 0:
                lane.clean += 1
                if lane.clean >= lane.limit:
                    lane.slowdown -= 1
                    lane.clean = 0
            self._admit(lane)

    def throttle(self, profile: Profile, retry_after: float | None = None) -> None:
        """A 429 on the profile: one fewer at once, no new start for `retry_after` s."""
        lane = self._lane(profile)
        if lane.max_concurrent - lane.slowdown > 1:
            lane.slowdown += 1
        lane.clean = 0
        hold = DEFAULT_RETRY_AFTER if retry_after is None else retry_after
        hold = min(MAX_HOLD, max(0.0, hold))
        if hold > 0 and not lane.held:
            lane.held = True
            task = asyncio.get_running_loop().create_task(self._release_hold(lane, hold))
            self._holds.add(task)
            task.add_done_callback(self._holds.discard)

    async def _release_hold(self, lane: _Lane, seconds: float) -> None:
        try:
            await self.sleep(seconds)
        finally:
            lane.held = False
            self._admit(lane)

    def _admit(self, lane: _Lane) -> None:
        """Start waiting tasks, oldest first, while the lane has room."""
        while lane.waiters and not lane.held and lane.running < lane.limit:
            waiter = lane.waiters.popleft()
            if waiter.done():  # cancelled while waiting
                continue
            lane.running += 1
            waiter.set_result(None)

    async def aclose(self) -> None:
        """Stop pending Retry-After holds (at exit)."""
        for task in list(self._holds):
            task.cancel()
        self._holds.clear()
