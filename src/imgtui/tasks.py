"""The task model, and the one place that turns api events into task state.

A task is one user request: a prompt and its parameters, run against one profile, producing
`n` images (slots). The TUI, the store and the CLI all read this model; only `apply()`
changes it in response to the wire.

Frames are complete images, not deltas (PROTOCOL.md §6): a slot keeps only its newest
partial frame, and a frame that arrives after a newer one, or after the slot ended, is dropped.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from imgtui.api.events import (
    Completed,
    Event,
    Failed,
    FailureKind,
    ImageMeta,
    Partial,
    Progress,
    Sent,
    Started,
    Submitted,
)
from imgtui.models.catalog import DEFAULT_MODEL


class Status(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # the process died while it ran (restored from history)

    @property
    def ended(self) -> bool:
        return self not in (Status.QUEUED, Status.RUNNING)


class SlotStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class Slot:
    """One requested image."""

    status: SlotStatus = SlotStatus.RUNNING
    partial_index: int | None = None  # index of the newest partial frame shown
    partial: bytes | None = field(
        default=None, repr=False
    )  # newest partial frame (a preview, never a result)
    partial_path: Path | None = None  # where the store saved the last partial of an unfinished slot
    image: bytes | None = field(default=None, repr=False)  # final image bytes, as received
    image_path: Path | None = None
    # The untouched image when `image` was made from it here (local transparency).
    original: bytes | None = field(default=None, repr=False)
    original_path: Path | None = None
    # The bytes of a final image that failed the check (truncated, not an image, a bomb),
    # kept for inspection as `<task_id>/<slot>.broken`: never a result (issue 10.6).
    broken_path: Path | None = None
    meta: ImageMeta = field(default_factory=ImageMeta)
    revised_prompt: str | None = None
    usage: dict[str, Any] | None = None
    response_id: str | None = None
    error: Failed | None = None
    bytes_received: int = 0

    @property
    def ended(self) -> bool:
        return self.status is not SlotStatus.RUNNING

    def picture(self) -> tuple[bytes | Path | None, bool]:
        """What this slot shows now: the final image (bytes, else its file), else the newest
        partial frame (bytes, else its file); and whether that is an unfinished preview.
        (None, True) before the first frame."""
        if self.image is not None or self.image_path is not None:
            return (self.image if self.image is not None else self.image_path), False
        if self.partial is not None or self.partial_path is not None:
            return (self.partial if self.partial is not None else self.partial_path), True
        return None, True


#: Output formats the API never streams (OPENAI-IMAGES.md §2.2): no `stream`, no
#: `partial_images` in their requests.
UNSTREAMED_FORMATS = ("gif", "svg")


@dataclass(frozen=True)
class ImageParams(Mapping[str, Any]):
    """The image parameters a task is asked with; names and values as in the API
    (PROTOCOL.md §2, OPENAI-IMAGES.md). Checked when the request is built
    (`imgtui.draft`), not here: history may hold values an older imgtui accepted.

    `partial_images` counts partial frames per image (0-3) and only applies with `stream`;
    `previous_response_id` continues a Responses conversation (refine); `transparent`
    is "local" when the background is keyed out on this machine (issue 15).

    Code reads the typed attributes. The object is also a read-only mapping of its set
    fields (`to_json()`), so `dict(params)` and `params["size"]` serialise it.
    """

    model: str = DEFAULT_MODEL
    size: str = "auto"
    quality: str = "auto"
    n: int = 1
    output_format: str = "png"
    background: str = "auto"
    output_compression: int | None = None
    moderation: str | None = None
    input_fidelity: str | None = None
    partial_images: int = 0
    stream: bool = True
    previous_response_id: str | None = None
    transparent: str | None = None
    # today's API (OPENAI-IMAGES.md §2; None: not set, not sent)
    complexity: str | None = None
    frame_count: int | None = None  # GIF
    frame_duration_ms: int | None = None  # GIF
    svg_model: str | None = None  # SVG: the text model that writes it
    svg_effort: str | None = None  # SVG: its reasoning effort
    safety_identifier: str | None = None
    markup: str | None = None  # edits: path of the markup overlay PNG

    @property
    def streams(self) -> bool:
        """The request streams: `stream` is on and the format streams (GIF and SVG never
        do, OPENAI-IMAGES.md §2.2: `stream` and `partial_images` are not sent for them;
        `stream` stays the profile's preference, which a reuse or retry carries on)."""
        return self.stream and self.output_format not in UNSTREAMED_FORMATS

    @property
    def frames(self) -> int:
        """Partial frames to expect per image: `partial_images` when the request streams
        (`streams`), else 0."""
        return self.partial_images if self.streams else 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (unset optional fields left out): what history stores."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    def __getitem__(self, key: str) -> Any:
        return self.to_json()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_json())

    def __len__(self) -> int:
        return len(self.to_json())

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ImageParams:
        """Read `to_json()` output (or an older history row). Unknown keys are ignored and
        a value of the wrong type falls back to the default, so old rows always load."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in obj:
                continue
            value = obj[f.name]
            default = getattr(cls, f.name)
            if f.name in (
                "n",
                "partial_images",
                "output_compression",
                "frame_count",
                "frame_duration_ms",
            ):
                ok = isinstance(value, int) and not isinstance(value, bool)
                if not ok and isinstance(value, float) and math.isfinite(value):
                    ok = value.is_integer()
                    value = int(value)
                if not ok:
                    continue
            elif f.name == "stream":
                if not isinstance(value, bool):
                    continue
            elif not isinstance(value, str) or (default is not None and not value):
                continue
            values[f.name] = value
        return cls(**values)


@dataclass
class Task:
    prompt: str
    params: ImageParams = field(
        default_factory=ImageParams
    )  # what was asked (a Mapping is read with ImageParams.from_json)
    profile_name: str = ""
    api_mode: str = "images"
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    status: Status = Status.QUEUED
    slots: list[Slot] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    first_partial_at: float | None = None
    finished_at: float | None = None
    input_images: list[str] = field(default_factory=list)  # paths of reference images
    mask: str | None = None
    parent_id: str | None = None  # the task this one refines
    starred: bool = False
    error_kind: str | None = None
    error_message: str | None = None
    error_hint: str | None = None
    # A polled provider's handle (`api.polled`): a restart resumes polling with it.
    job: dict[str, Any] | None = None
    # The HTTP requests as sent (`api.events.Sent`: secrets masked), for the detail view.
    sent: list[dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.params, ImageParams):
            self.params = ImageParams.from_json(self.params)

    # -- derived views -------------------------------------------------------------------

    @property
    def n(self) -> int:
        return self.params.n

    @property
    def model(self) -> str:
        return self.params.model

    @property
    def partial_images(self) -> int:
        """Partial frames per image this task streams (0 without streaming)."""
        return self.params.frames

    @property
    def images(self) -> list[Path]:
        """Final image files, slot order."""
        return [s.image_path for s in self.slots if s.image_path is not None]

    def retry_slots(self, slot: int | None = None) -> list[int]:
        """The images a retry runs again (issue 14.2): `slot` alone when given; else, when
        some images of an n > 1 task came and others did not, only those that did not;
        else all of them."""
        if slot is not None and 0 <= slot < max(1, self.n):
            return [slot]
        missing = [i for i, s in enumerate(self.slots) if s.image is None and s.image_path is None]
        if self.slots and 0 < len(missing) < len(self.slots):
            return missing
        return list(range(max(1, self.n)))

    def slot_image(self, slot: int) -> Path | None:
        """The final image file of `slot`, else the first final image file of any slot."""
        paths = [s.image_path for s in self.slots]
        if 0 <= slot < len(paths) and paths[slot] is not None:
            return paths[slot]
        return next((p for p in paths if p is not None), None)

    @property
    def response_id(self) -> str | None:
        return next((s.response_id for s in self.slots if s.response_id), None)

    @property
    def revised_prompt(self) -> str | None:
        return next((s.revised_prompt for s in self.slots if s.revised_prompt), None)

    @property
    def usage(self) -> dict[str, Any] | None:
        """Token usage summed over slots (numbers only; nested details summed too)."""
        total: dict[str, Any] = {}
        for s in self.slots:
            if s.usage:
                _add_usage(total, s.usage)
        return total or None

    def preview(self) -> tuple[bytes | Path | None, bool]:
        """What picture to show now and whether it is an unfinished preview.

        The first final image if any; else the newest partial frame across slots.
        """
        for s in self.slots:
            if s.image is not None or s.image_path is not None:
                return (s.image if s.image is not None else s.image_path), False
        best: Slot | None = None
        for s in self.slots:
            if (s.partial is not None or s.partial_path is not None) and (
                best is None or (s.partial_index or 0) > (best.partial_index or 0)
            ):
                best = s
        if best is None:
            return None, True
        return (best.partial if best.partial is not None else best.partial_path), True

    def progress(self) -> float:
        """0..1: with N partials, partial k puts a slot at (k+1)/(N+1); a final image is 1."""
        if not self.slots:
            return 0.0
        frames = self.partial_images + 1
        done = 0.0
        for s in self.slots:
            if s.status is SlotStatus.DONE:
                done += 1.0
            elif s.partial_index is not None:
                done += (s.partial_index + 1) / frames
        return done / len(self.slots)

    def status_word(self) -> str:
        """`queued`, `running`, `frame k of N` (partial frame k of the N asked for),
        `done`, `k of N done` (n > 1, some images failed), `failed`, `cancelled`,
        `interrupted`. Fractions always say what they count (issue 14.11)."""
        if self.status is Status.RUNNING:
            idx = max(
                (s.partial_index for s in self.slots if s.partial_index is not None), default=None
            )
            if idx is not None and self.partial_images:
                return f"frame {idx + 1} of {self.partial_images}"
        if self.status is Status.DONE and any(s.status is not SlotStatus.DONE for s in self.slots):
            return f"{len(self.images)} of {self.n} done"
        return self.status.value

    def elapsed(self, now: float | None = None) -> float:
        if self.started_at is None:
            return 0.0
        end = (
            self.finished_at
            if self.finished_at is not None
            else (time.time() if now is None else now)
        )
        return max(0.0, end - self.started_at)

    @property
    def active(self) -> bool:
        """Queued or running: not ended yet."""
        return not self.status.ended

    # -- transitions that are not wire events --------------------------------------------

    def queue(self) -> None:
        """Make the task ready for a (new) run: fresh slots, status `queued`. The runner's
        first `Started` event (sent once a concurrency slot is free) makes it `running`."""
        self.status = Status.QUEUED
        self.started_at = None
        self.finished_at = None
        self.first_partial_at = None
        self.error_kind = self.error_message = self.error_hint = None
        self.job = None
        self.slots = [Slot() for _ in range(self.n)]

    def start(self, now: float | None = None) -> None:
        """Queue the task and mark it running at once (history fixtures, tests)."""
        self.queue()
        self.status = Status.RUNNING
        self.started_at = time.time() if now is None else now

    def cancel(self, now: float | None = None) -> bool:
        """Mark a running task cancelled. Its last partial frames stay as labelled previews."""
        if self.status.ended:
            return False
        for s in self.slots:
            if not s.ended:
                s.status = SlotStatus.CANCELLED
        if any(s.status is SlotStatus.DONE for s in self.slots):
            self.status = Status.DONE  # keep what arrived; the rest was cancelled
        else:
            self.status = Status.CANCELLED
        self.error_kind, self.error_message, self.error_hint = (
            FailureKind.CANCELLED.value,
            "Cancelled",
            None,
        )
        self.finished_at = time.time() if now is None else now
        return True


def finite(value: Any) -> Any:
    """`value` (JSON-like: dicts, lists, numbers, strings) with every NaN or ±inf float
    replaced by None, so it can be stored as strict JSON (issue 10.5)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def _add_usage(total: dict[str, Any], usage: dict[str, Any]) -> None:
    for k, v in usage.items():
        if isinstance(v, bool):
            continue
        if isinstance(v, (int, float)):
            total[k] = total.get(k, 0) + v
        elif isinstance(v, dict):
            _add_usage(total.setdefault(k, {}), v)


def apply(task: Task, event: Event, now: float | None = None) -> bool:
    """Apply one event to the task. Returns False when the event was dropped (stale or late).

    This is the only function that changes a task in response to the wire; the TUI and the
    CLI both call it. A queued task becomes running at its first `Started`.
    """
    now = time.time() if now is None else now
    if not 0 <= event.slot < len(task.slots):
        return False
    slot = task.slots[event.slot]
    if slot.ended or task.status.ended:
        return False  # late: after a cancel or after the slot ended

    if isinstance(event, Started):
        if task.status is Status.QUEUED:  # the runner took a concurrency slot for it
            task.status = Status.RUNNING
            task.started_at = now
        return True
    if isinstance(event, Progress):
        slot.bytes_received = max(slot.bytes_received, event.bytes_received)
        return True
    if isinstance(event, Partial):
        if slot.partial_index is not None and event.index <= slot.partial_index:
            return False  # older than the frame shown
        slot.partial_index = event.index
        slot.partial = event.image
        slot.meta = slot.meta.merged(event.meta)
        slot.bytes_received = max(slot.bytes_received, event.bytes_received)
        if task.first_partial_at is None:
            task.first_partial_at = now
        return True
    if isinstance(event, Submitted):
        task.job = dict(event.handle)
        return True
    if isinstance(event, Sent):
        task.sent = [dict(call) for call in event.calls]
        return True
    if isinstance(event, Completed):
        slot.status = SlotStatus.DONE
        slot.image = event.image
        slot.original = event.original
        slot.meta = slot.meta.merged(event.meta)
        slot.revised_prompt = event.revised_prompt
        slot.usage = finite(event.usage)  # NaN/inf from a server would make the row unsavable
        slot.response_id = event.response_id
        slot.bytes_received = max(slot.bytes_received, event.bytes_received)
    elif isinstance(event, Failed):
        slot.status = (
            SlotStatus.CANCELLED if event.kind is FailureKind.CANCELLED else SlotStatus.FAILED
        )
        slot.error = event
    _settle(task, now)
    return True


def _settle(task: Task, now: float) -> None:
    """When every slot has ended, the task ends: done if any image arrived, else failed."""
    if not all(s.ended for s in task.slots):
        return
    task.finished_at = now
    failures = [s.error for s in task.slots if s.error is not None]
    if any(s.status is SlotStatus.DONE for s in task.slots):
        task.status = Status.DONE
    elif all(s.status is SlotStatus.CANCELLED for s in task.slots):
        task.status = Status.CANCELLED
    else:
        task.status = Status.FAILED
    if failures:
        first = failures[0]
        task.error_kind, task.error_message, task.error_hint = (
            first.kind.value,
            first.message,
            first.hint or None,
        )
        if task.status is Status.DONE:
            task.error_message = f"{len(failures)} of {task.n} images failed: {first.message}"
