"""`tasks.apply`, the one place wire events become task state: every event type against
every slot state, frames out of order, late frames, and how a task settles."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from imgtui.api.events import (
    Completed,
    Event,
    Failed,
    FailureKind,
    ImageMeta,
    Partial,
    Progress,
    Started,
)
from imgtui.tasks import SlotStatus, Status, Task, apply

T0 = 1_000.0  # the task starts here; events carry later times
FINAL = b"final image bytes"


def running_task(n: int = 2, partials: int = 3) -> Task:
    task = Task("a fox", {"n": n, "partial_images": partials, "stream": True})
    task.start(now=T0)
    return task


def frame(index: int, slot: int = 0) -> Partial:
    return Partial(slot, index, f"frame {index}".encode(), bytes_received=100 * (index + 1))


def failed(kind: FailureKind = FailureKind.SERVER, slot: int = 0) -> Failed:
    return Failed(slot, kind, f"{kind.value} went wrong", hint=f"{kind.value} hint")


# -- every event x every slot state ------------------------------------------------------

# How slot 0 of a two-image task is brought into each state (slot 1 keeps running, so the
# task is still running unless the state says otherwise).
SLOT_STATES: dict[str, Callable[[Task], None]] = {
    "fresh": lambda t: None,
    "partial 1": lambda t: apply(t, frame(1), now=T0 + 1),
    "done": lambda t: apply(t, Completed(0, FINAL), now=T0 + 1),
    "failed": lambda t: apply(t, failed(), now=T0 + 1),
    "cancelled slot": lambda t: apply(t, failed(FailureKind.CANCELLED), now=T0 + 1),
    "task cancelled": lambda t: t.cancel(now=T0 + 1),
}

EVENTS: dict[str, Event] = {
    "Started": Started(0),
    "Progress": Progress(0, 5_000),
    "Partial 0": frame(0),
    "Partial 2": frame(2),
    "Completed": Completed(0, FINAL, ImageMeta(size="1024x1024"), "revised", {"total_tokens": 7}),
    "Failed": failed(FailureKind.RATE_LIMIT),
    "Failed cancelled": failed(FailureKind.CANCELLED),
}

# (slot state, event) -> (accepted, slot 0's status after, its partial_index after).
# Anything not listed is dropped: an ended slot or task takes no event.
RUNNING, DONE, FAILED, CANCELLED = (
    SlotStatus.RUNNING,
    SlotStatus.DONE,
    SlotStatus.FAILED,
    SlotStatus.CANCELLED,
)
ACCEPTED: dict[tuple[str, str], tuple[SlotStatus, int | None]] = {
    ("fresh", "Started"): (RUNNING, None),
    ("fresh", "Progress"): (RUNNING, None),
    ("fresh", "Partial 0"): (RUNNING, 0),
    ("fresh", "Partial 2"): (RUNNING, 2),
    ("fresh", "Completed"): (DONE, None),
    ("fresh", "Failed"): (FAILED, None),
    ("fresh", "Failed cancelled"): (CANCELLED, None),
    ("partial 1", "Started"): (RUNNING, 1),
    ("partial 1", "Progress"): (RUNNING, 1),
    # ("partial 1", "Partial 0") is dropped: older than the frame shown
    ("partial 1", "Partial 2"): (RUNNING, 2),
    ("partial 1", "Completed"): (DONE, 1),
    ("partial 1", "Failed"): (FAILED, 1),
    ("partial 1", "Failed cancelled"): (CANCELLED, 1),
}


def snapshot(task: Task) -> tuple:
    """Everything `apply` may change, comparable."""
    slots = tuple(
        (
            s.status,
            s.partial_index,
            s.partial,
            s.image,
            s.meta,
            s.revised_prompt,
            s.usage,
            s.error,
            s.bytes_received,
        )
        for s in task.slots
    )
    return (
        task.status,
        task.first_partial_at,
        task.finished_at,
        task.error_kind,
        task.error_message,
        slots,
    )


@pytest.mark.parametrize("event_name", list(EVENTS))
@pytest.mark.parametrize("state", list(SLOT_STATES))
def test_every_event_in_every_slot_state(state: str, event_name: str) -> None:
    task = running_task()
    SLOT_STATES[state](task)
    before = snapshot(task)
    event = EVENTS[event_name]

    accepted = apply(task, event, now=T0 + 2)

    slot, other = task.slots
    expected = ACCEPTED.get((state, event_name))
    if expected is None:
        assert accepted is False
        assert snapshot(task) == before  # a dropped event changes nothing
        return
    assert accepted is True
    status, partial_index = expected
    assert slot.status is status
    assert slot.partial_index == partial_index
    assert other.status is RUNNING and task.status is Status.RUNNING  # slot 1 still streams
    assert task.finished_at is None


def test_the_table_covers_only_real_pairs() -> None:
    assert {s for s, _ in ACCEPTED} <= set(SLOT_STATES)
    assert {e for _, e in ACCEPTED} <= set(EVENTS)


# -- what each accepted event writes ----------------------------------------------------


def test_started_changes_nothing_on_a_running_task() -> None:
    task = running_task()
    before = snapshot(task)
    assert apply(task, Started(1), now=T0 + 1) is True
    assert snapshot(task) == before
    assert task.started_at == T0


def test_progress_only_grows() -> None:
    task = running_task()
    assert apply(task, Progress(0, 5_000), now=T0 + 1) is True
    assert apply(task, Progress(0, 3_000), now=T0 + 2) is True  # reordered: kept at the max
    assert task.slots[0].bytes_received == 5_000
    assert task.slots[1].bytes_received == 0


def test_partial_keeps_the_newest_frame_and_merges_meta() -> None:
    task = running_task()
    first = Partial(0, 0, b"coarse", ImageMeta(size="1024x1024"), bytes_received=10)
    second = Partial(0, 1, b"finer", ImageMeta(quality="low"), bytes_received=20)
    assert apply(task, first, now=T0 + 1) is True
    assert apply(task, second, now=T0 + 2) is True
    slot = task.slots[0]
    assert (slot.partial_index, slot.partial, slot.bytes_received) == (1, b"finer", 20)
    assert slot.meta == ImageMeta(size="1024x1024", quality="low")
    assert task.first_partial_at == T0 + 1  # the first frame's time, not the newest's
    assert task.status_word() == "frame 2 of 3"


def test_completed_writes_the_result_and_keeps_the_last_preview() -> None:
    task = running_task(n=1)
    apply(task, Partial(0, 2, b"preview", ImageMeta(size="1024x1024", background="opaque")))
    done = Completed(
        0,
        FINAL,
        ImageMeta(quality="high"),
        revised_prompt="a red fox",
        usage={"total_tokens": 12},
        response_id="resp_1",
        bytes_received=9_000,
    )
    assert apply(task, done, now=T0 + 5) is True
    slot = task.slots[0]
    assert slot.status is SlotStatus.DONE and slot.image == FINAL
    assert slot.partial == b"preview" and slot.partial_index == 2
    assert slot.meta == ImageMeta(size="1024x1024", quality="high", background="opaque")
    assert (slot.revised_prompt, slot.usage, slot.response_id) == (
        "a red fox",
        {"total_tokens": 12},
        "resp_1",
    )
    assert slot.bytes_received == 9_000
    assert task.status is Status.DONE and task.finished_at == T0 + 5
    assert task.error_kind is None and task.error_message is None
    assert task.preview() == (FINAL, False)
    assert task.progress() == 1.0


def test_failed_slot_keeps_its_error_and_preview() -> None:
    task = running_task(n=1)
    apply(task, frame(0), now=T0 + 1)
    error = failed(FailureKind.STREAM)
    assert apply(task, error, now=T0 + 3) is True
    slot = task.slots[0]
    assert slot.status is SlotStatus.FAILED and slot.error == error and slot.image is None
    assert slot.partial == b"frame 0"
    assert task.status is Status.FAILED and task.finished_at == T0 + 3
    assert (task.error_kind, task.error_message, task.error_hint) == (
        "stream",
        "stream went wrong",
        "stream hint",
    )
    assert task.preview() == (b"frame 0", True)


# -- frames out of order, late frames ----------------------------------------------------


@pytest.mark.parametrize(
    "order, shown, accepted",
    [
        ([0, 1, 2], 2, [True, True, True]),
        ([2, 1, 0], 2, [True, False, False]),
        ([1, 0, 2], 2, [True, False, True]),
        ([0, 2, 1], 2, [True, True, False]),
        ([1, 1], 1, [True, False]),  # a repeated frame is dropped too
    ],
)
def test_frames_out_of_order_keep_the_newest(order, shown, accepted) -> None:
    task = running_task(n=1)
    results = [apply(task, frame(i), now=T0 + 1 + k) for k, i in enumerate(order)]
    assert results == accepted
    assert task.slots[0].partial_index == shown
    assert task.slots[0].partial == f"frame {shown}".encode()
    assert task.first_partial_at == T0 + 1


@pytest.mark.parametrize(
    "ending",
    [
        Completed(0, FINAL),
        failed(FailureKind.SERVER),
        failed(FailureKind.CANCELLED),
    ],
    ids=["completed", "failed", "cancelled"],
)
@pytest.mark.parametrize(
    "late",
    [frame(3), Progress(0, 10**6), Completed(0, b"a second final"), failed(), Started(0)],
    ids=["partial", "progress", "completed", "failed", "started"],
)
def test_late_events_after_a_slot_ended_are_dropped(ending, late) -> None:
    task = running_task(n=1)
    apply(task, frame(0), now=T0 + 1)
    apply(task, ending, now=T0 + 2)
    before = snapshot(task)
    assert apply(task, late, now=T0 + 3) is False
    assert snapshot(task) == before
    assert task.finished_at == T0 + 2


@pytest.mark.parametrize(
    "late",
    [frame(1), frame(1, slot=1), Completed(1, FINAL), Progress(1, 7)],
    ids=["partial", "other slot's partial", "completed", "progress"],
)
def test_frames_after_a_cancel_are_dropped(late) -> None:
    task = running_task(n=2)
    apply(task, frame(0), now=T0 + 1)
    assert task.cancel(now=T0 + 2) is True
    before = snapshot(task)
    assert apply(task, late, now=T0 + 3) is False
    assert snapshot(task) == before
    assert task.status is Status.CANCELLED and task.error_kind == "cancelled"
    assert task.preview() == (b"frame 0", True)  # the last preview stays, labelled unfinished


@pytest.mark.parametrize("slot", [-1, 2, 99])
def test_an_event_for_a_slot_that_does_not_exist_is_dropped(slot) -> None:
    task = running_task(n=2)
    before = snapshot(task)
    for event in (Started(slot), Progress(slot, 1), frame(0, slot), Completed(slot, FINAL)):
        assert apply(task, event, now=T0 + 1) is False
    assert snapshot(task) == before


def test_events_for_a_task_that_never_started_are_dropped() -> None:
    task = Task("a fox", {"n": 1})  # queued: no slots yet
    assert apply(task, frame(0), now=T0) is False
    assert task.status is Status.QUEUED and task.slots == []


# -- how a task settles once every slot has ended --------------------------------------


@pytest.mark.parametrize(
    "endings, status, error_kind, error_message",
    [
        (["done", "done"], Status.DONE, None, None),
        (["done", "failed"], Status.DONE, "server", "1 of 2 images failed: server went wrong"),
        (["failed", "done"], Status.DONE, "server", "1 of 2 images failed: server went wrong"),
        (["failed", "failed"], Status.FAILED, "server", "server went wrong"),
        (["cancelled", "cancelled"], Status.CANCELLED, "cancelled", "cancelled went wrong"),
        (["cancelled", "failed"], Status.FAILED, "cancelled", "cancelled went wrong"),
        (["failed", "cancelled"], Status.FAILED, "server", "server went wrong"),
        (
            ["done", "cancelled"],
            Status.DONE,
            "cancelled",
            "1 of 2 images failed: cancelled went wrong",
        ),
    ],
)
def test_a_task_settles_when_its_last_slot_ends(endings, status, error_kind, error_message):
    task = running_task(n=2)
    make = {
        "done": lambda slot: Completed(slot, FINAL),
        "failed": lambda slot: failed(FailureKind.SERVER, slot),
        "cancelled": lambda slot: failed(FailureKind.CANCELLED, slot),
    }
    assert apply(task, make[endings[0]](0), now=T0 + 1) is True
    assert task.status is Status.RUNNING and task.finished_at is None
    assert apply(task, make[endings[1]](1), now=T0 + 2) is True
    assert task.status is status
    assert task.finished_at == T0 + 2
    assert task.error_kind == error_kind
    assert task.error_message == error_message


def test_done_with_a_missing_image_says_so() -> None:
    task = running_task(n=3)
    apply(task, Completed(0, FINAL), now=T0 + 1)
    apply(task, failed(slot=1), now=T0 + 2)
    apply(task, Completed(2, FINAL), now=T0 + 3)
    for slot in (0, 2):  # what the store does with each final image
        task.slots[slot].image_path = Path(f"image-{slot}.png")
    assert task.status is Status.DONE
    assert task.status_word() == "2 of 3 done"
    assert task.error_message == "1 of 3 images failed: server went wrong"


def test_usage_is_summed_over_slots() -> None:
    task = running_task(n=2)
    usage = {"input_tokens": 10, "output_tokens": 100, "details": {"image_tokens": 90}}
    apply(task, Completed(0, FINAL, usage=usage), now=T0 + 1)
    apply(task, Completed(1, FINAL, usage=usage | {"cached": True}), now=T0 + 2)
    assert task.usage == {
        "input_tokens": 20,
        "output_tokens": 200,
        "details": {"image_tokens": 180},
    }


def test_progress_counts_frames_and_final_images() -> None:
    task = running_task(n=2, partials=3)
    assert task.progress() == 0.0
    apply(task, frame(1, slot=0), now=T0 + 1)  # frame 2 of 3 + final: half of slot 0
    assert task.progress() == pytest.approx(0.25)
    apply(task, Completed(1, FINAL), now=T0 + 2)
    assert task.progress() == pytest.approx(0.75)


def test_an_explicit_clock_of_zero_is_used_not_the_wall_clock():
    """`now=0.0` is a time like any other (fixed clocks in tests start at 0)."""
    task = Task(prompt="p", profile_name="Demo")
    task.start(now=0.0)
    assert task.started_at == 0.0
    assert task.cancel(now=0.0)
    assert task.finished_at == 0.0
