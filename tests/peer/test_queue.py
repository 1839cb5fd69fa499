"""The queue (issue 14, item 7) against the real demo server: each profile runs at most
its `max_concurrent` generations at once, the rest wait `queued` in submission order, and
HTTP 429 replies slow that profile down (fewer at once, new starts held for Retry-After)."""

from __future__ import annotations

import asyncio

from imgtui.api.client import RetryPolicy
from imgtui.api.events import Completed, Failed, Started
from imgtui.config import Profile
from imgtui.draft import Draft
from imgtui.queue import ProfileQueue
from imgtui.runner import Runner
from imgtui.tasks import ImageParams, Status, apply


async def no_wait(_seconds: float) -> None:
    return None


def draft_on(profile: Profile, prompt: str) -> Draft:
    return Draft(prompt, profile, ImageParams(size="1024x1024", partial_images=0)).check()


async def run_all(runner: Runner, drafts: list[Draft]) -> tuple[list, list[int]]:
    """Run every draft at once; the tasks, and the order in which they started."""
    tasks = [d.task() for d in drafts]
    started: list[int] = []

    def emit_for(i: int):
        def emit(event, _picture) -> None:
            apply(tasks[i], event)
            if isinstance(event, Started) and event.slot == 0:
                started.append(i)

        return emit

    for t in tasks:
        t.queue()
    await asyncio.gather(*(runner.run(d, emit_for(i)) for i, d in enumerate(drafts)))
    return tasks, started


async def test_twenty_prompts_run_four_at_a_time_in_order(server):
    server.clear()
    runner = Runner(retry=RetryPolicy(sleep=no_wait))
    profile = Profile("Queue", server.base_url, headers={"x-demo-delay": "0.3"})
    assert profile.max_concurrent == 4  # the default
    drafts = [draft_on(profile, f"queued prompt {i}") for i in range(20)]
    runs = asyncio.create_task(run_all(runner, drafts))
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # every run entered the queue
    load = runner.queue.load(profile)
    assert (load.running, load.queued, load.limit) == (4, 16, 4)
    tasks, started = await runs
    await runner.aclose()
    assert [t.status for t in tasks] == [Status.DONE] * 20
    assert started == list(range(20))  # in submission order
    assert server.max_in_flight == 4


async def test_the_limit_is_the_profiles_max_concurrent(server):
    server.clear()
    runner = Runner(retry=RetryPolicy(sleep=no_wait))
    two = Profile("Two", server.base_url, headers={"x-demo-delay": "0.3"}, max_concurrent=2)
    tasks, started = await run_all(runner, [draft_on(two, f"two {i}") for i in range(6)])
    await runner.aclose()
    assert [t.status for t in tasks] == [Status.DONE] * 6
    assert started == list(range(6))
    assert server.max_in_flight == 2


async def test_429_slows_the_profile_and_holds_new_starts_for_retry_after(server):
    server.clear()
    runner = Runner(retry=RetryPolicy(max_retries=1, sleep=no_wait))
    held: list[float] = []
    release = asyncio.Event()

    async def hold(seconds: float) -> None:
        held.append(seconds)
        await release.wait()

    runner.queue.sleep = hold
    limited = Profile("Busy", server.fault_url("ratelimit"), max_concurrent=4)
    events: list = []
    await runner.run(draft_on(limited, "too many"), lambda e, p: events.append(e))
    failed = [e for e in events if isinstance(e, Failed)]
    assert [(e.status, e.retry_after) for e in failed] == [(429, 1.0)]
    # two 429 replies (the first try and its one retry): two fewer at once
    assert runner.queue.load(limited).limit == 2
    assert held == [1.0]  # the reply's Retry-After

    # The same profile (by name), now answered: nothing starts until the hold ends.
    answered = Profile("Busy", server.base_url, headers={"x-demo-delay": "0.3"}, max_concurrent=4)
    server.clear()
    order: list[str] = []

    def note(event, _p) -> None:
        if isinstance(event, Started) and event.slot == 0:
            order.append("started")

    first = asyncio.create_task(runner.run(draft_on(answered, "after the hold"), note))
    await asyncio.sleep(0)
    assert runner.queue.load(answered).queued == 1
    order.append("released")
    release.set()
    await first
    assert order == ["released", "started"]

    # Three more: two at once; the second clean ending since the hold gives a place back.
    assert runner.queue.load(answered).limit == 2
    server.clear()
    tasks, started = await run_all(runner, [draft_on(answered, f"slow {i}") for i in range(3)])
    assert started == [0, 1, 2]
    await runner.aclose()
    assert [t.status for t in tasks] == [Status.DONE] * 3
    assert server.max_in_flight == 2
    assert runner.queue.load(answered).limit == 3


async def test_a_cancelled_waiter_leaves_the_order_intact():
    queue = ProfileQueue(concurrency=1)
    profile = Profile("One", "http://127.0.0.1:9/v1")
    order: list[str] = []
    gate = asyncio.Event()

    async def job(name: str) -> None:
        async with queue.slot(profile):
            order.append(name)
            await gate.wait()

    a = asyncio.create_task(job("a"))
    b = asyncio.create_task(job("b"))
    c = asyncio.create_task(job("c"))
    await asyncio.sleep(0)
    assert queue.load(profile).queued == 2
    b.cancel()
    gate.set()
    await asyncio.gather(a, c)
    assert b.cancelled()
    assert order == ["a", "c"]
    assert queue.load(profile) == queue.load(profile).__class__(0, 0, 1, 1)


async def test_completed_events_reach_every_task(server):
    """No task is lost in the queue: each of 8 on a limit of 1 completes."""
    server.clear()
    runner = Runner(concurrency=1, retry=RetryPolicy(sleep=no_wait))
    profile = Profile("Serial", server.base_url)
    done: list[int] = []

    def emit_for(i: int):
        return lambda e, p: done.append(i) if isinstance(e, Completed) else None

    drafts = [draft_on(profile, f"serial {i}") for i in range(8)]
    await asyncio.gather(*(runner.run(d, emit_for(i)) for i, d in enumerate(drafts)))
    await runner.aclose()
    assert done == list(range(8))
    assert server.max_in_flight == 1
