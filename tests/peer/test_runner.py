"""The task runner against the real demo server: concurrency per profile (queued tasks wait
in order), injectable retry back-off, every slot ending in exactly one result, cancel."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from imgtui.api.client import RetryPolicy
from imgtui.api.events import Completed, Failed, FailureKind, Started
from imgtui.config import Profile
from imgtui.draft import Draft
from imgtui.runner import Runner
from imgtui.tasks import ImageParams, Status, apply


def draft_for(base_url: str, prompt: str = "a fox", **params) -> Draft:
    profile = Profile("Peer", base_url, partial_images=1)
    return Draft(prompt, profile, ImageParams(partial_images=1, **params)).check()


async def test_tasks_over_the_limit_stay_queued_in_order(server):
    server.clear()
    runner = Runner(concurrency=1)
    drafts = [draft_for(server.base_url, f"task {i}") for i in range(3)]
    tasks = [d.task() for d in drafts]
    log: list[tuple[int, str]] = []

    def emit_for(i: int):
        def emit(event, _picture) -> None:
            apply(tasks[i], event)
            log.append((i, type(event).__name__))

        return emit

    for t in tasks:
        t.queue()
    runs = [asyncio.create_task(runner.run(d, emit_for(i))) for i, d in enumerate(drafts)]
    await asyncio.sleep(0)
    assert [t.status for t in tasks] == [Status.QUEUED] * 3
    await asyncio.gather(*runs)
    await runner.aclose()
    assert [t.status for t in tasks] == [Status.DONE] * 3
    # one at a time, in submission order: task i starts only after task i-1 completed
    order = [(i, kind) for i, kind in log if kind in ("Started", "Completed")]
    assert order == [(0, "Started"), (0, "Completed"), (1, "Started"), (1, "Completed"),
                     (2, "Started"), (2, "Completed")]  # fmt: skip


async def test_limits_are_per_profile(server):
    runner = Runner(concurrency=1)
    slow = replace(
        draft_for(server.base_url, "slow"),
        profile=Profile("Slow", server.base_url, headers={"x-demo-delay": "30"}),
    )
    other = draft_for(server.base_url, "other profile")
    started = asyncio.Event()

    def on_slow(event, _p) -> None:
        if isinstance(event, Started):
            started.set()

    done: list = []
    slow_run = asyncio.create_task(runner.run(slow, on_slow))
    await started.wait()
    await runner.run(other, lambda e, _p: done.append(e))  # not blocked by the other profile
    assert isinstance(done[-1], Completed)
    slow_run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow_run
    assert server.wait_for_disconnects(1, 3.0)
    await runner.aclose()


async def test_retry_backoff_is_injected(server):
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    runner = Runner(retry=RetryPolicy(max_retries=2, sleep=record))
    events: list = []
    await runner.run(draft_for(server.fault_url("ratelimit")), lambda e, _p: events.append(e))
    await runner.aclose()
    assert waits == [1.0, 1.0]  # the demo's Retry-After: 1, twice, never slept for real
    (failed,) = [e for e in events if isinstance(e, Failed)]
    assert failed.kind is FailureKind.RATE_LIMIT


async def test_a_request_that_cannot_be_built_fails_every_slot(server, tmp_path: Path):
    image = tmp_path / "in.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    draft = replace(draft_for(server.base_url, n=2), images=(image,))
    image.unlink()  # gone between the check and the run
    task = draft.task()
    task.queue()
    events: list = []
    await Runner().run(draft, lambda e, _p: (events.append(e), apply(task, e)))
    assert sorted(e.slot for e in events if isinstance(e, Failed)) == [0, 1]
    assert all(e.kind is FailureKind.BAD_REQUEST for e in events)
    assert task.status is Status.FAILED and "no such file" in (task.error_message or "")


async def test_decoder_runs_for_frames_and_its_picture_is_handed_on(server):
    seen: list = []
    runner = Runner()
    await runner.run(
        draft_for(server.base_url), lambda e, p: seen.append((type(e).__name__, p)), len_of_image
    )
    await runner.aclose()
    pictures = [(kind, p) for kind, p in seen if p is not None]
    assert [kind for kind, _ in pictures] == ["Partial", "Completed"]
    assert all(p > 1000 for _, p in pictures)


def len_of_image(event) -> int:
    return len(event.image)


async def test_demo_profile_starts_the_embedded_server():
    from imgtui.config import demo_profile

    runner = Runner()
    draft = Draft("demo", demo_profile(), ImageParams(partial_images=0)).check()
    events: list = []
    await runner.run(draft, lambda e, _p: events.append(e))
    await runner.aclose()
    assert isinstance(events[-1], Completed)
    assert runner.demo_base_url and runner.demo_base_url.startswith("http://127.0.0.1:")
