"""Helpers for tests, screenshots and benchmarks: a fixed clock, sample history, an app
wired to a temporary data dir. Nothing here runs at import time.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from imgtui.api.events import Failed, FailureKind, ImageMeta
from imgtui.config import DEMO_URL, Config, Profile, Settings
from imgtui.tasks import ImageParams, Slot, SlotStatus, Status, Task

T0 = 1_750_000_000.0  # a fixed "now" for deterministic screenshots


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def demo_config(
    root: Path,
    *,
    model: str = "gpt-image-2",
    partial_images: int = 2,
    headers: dict[str, str] | None = None,
    output_dir: Path | None = None,
    api_mode: str = "images",
    max_concurrent: int | None = None,
) -> Config:
    """A config with one profile on the demo server (no key, nothing from the environment);
    `max_concurrent` None keeps the profile's default."""
    profile = Profile(
        "Demo",
        DEMO_URL,
        model=model,
        partial_images=partial_images,
        headers=dict(headers or {}),
        api_mode=api_mode,
    )
    if max_concurrent is not None:
        profile.max_concurrent = max_concurrent
    settings = Settings(
        active_profile="Demo",
        renderer="halfcell",
        output_dir=str(output_dir) if output_dir else str(root / "exports"),
    )
    return Config(path=root / "config.toml", profiles=[profile], settings=settings)


@lru_cache(maxsize=32)
def picture_png(
    prompt: str,
    width: int = 1536,
    height: int = 1024,
    partial: tuple[int, int] | None = None,
    variant: int = 0,
) -> bytes:
    """The demo server's picture for `prompt` (or its partial frame k of N), as PNG bytes.
    Remembered per arguments: sample histories and screenshots ask for the same few often,
    and each costs a render and an encode (tenths of a second)."""
    from imgtui.demo.pictures import coarse_frame, encode, render_picture

    image = render_picture(prompt, width, height, variant=variant)
    if partial is not None:
        image = coarse_frame(image, *partial)
    return encode(image, "png")


def _task(
    prompt: str,
    *,
    created: float,
    status: Status,
    n: int = 1,
    partials: int = 2,
    size: str = "1536x1024",
    quality: str = "high",
    model: str = "gpt-image-1",
    profile: str = "Demo",
    elapsed: float = 14.2,
    task_id: str,
) -> Task:
    task = Task(
        prompt=prompt,
        params=ImageParams(
            model=model,
            size=size,
            quality=quality,
            n=n,
            output_format="png",
            partial_images=partials,
            stream=True,
        ),
        profile_name=profile,
        id=task_id,
        created_at=created,
    )
    task.status = status
    task.started_at = created
    task.first_partial_at = created + 3.1
    task.finished_at = created + elapsed
    task.slots = [
        Slot(
            status=SlotStatus.DONE, meta=ImageMeta(size=size, quality=quality, output_format="png")
        )
        for _ in range(n)
    ]
    return task


def sample_history(store: Any, now: float = T0) -> list[Task]:
    """Write a varied, deterministic history to an open store; returns tasks oldest first."""
    out: list[Task] = []

    done = _task(
        "a lighthouse at dusk, oil painting, warm light on the waves",
        created=now - 3600,
        status=Status.DONE,
        task_id="done0000000a",
    )
    done.slots[0].usage = {"input_tokens": 18, "output_tokens": 4160, "total_tokens": 4178}
    done.slots[
        0
    ].revised_prompt = (
        "An oil painting of a lighthouse at dusk with warm light reflecting on waves."
    )
    out.append(done)

    three = _task(
        "three variations of a paper-cut fox in a snowy forest",
        created=now - 2400,
        status=Status.DONE,
        n=3,
        size="1024x1024",
        quality="medium",
        task_id="three000000b",
        elapsed=21.7,
    )
    out.append(three)

    failed = _task(
        "a photo of a famous person",
        created=now - 1800,
        status=Status.FAILED,
        task_id="failed00000c",
        elapsed=1.4,
    )
    failed.first_partial_at = None
    failed.slots = [
        Slot(
            status=SlotStatus.FAILED,
            error=Failed(
                0,
                FailureKind.MODERATION,
                "The request was rejected by the safety system.",
                "Rephrase the prompt; details of real people and some topics are refused.",
            ),
        )
    ]
    failed.error_kind, failed.error_message, failed.error_hint = (
        "moderation",
        "The request was rejected by the safety system.",
        "Rephrase the prompt; details of real people and some topics are refused.",
    )
    out.append(failed)

    cancelled = _task(
        "isometric city block at night, neon signs, rain",
        created=now - 1200,
        status=Status.CANCELLED,
        task_id="cancel00000d",
        elapsed=6.3,
    )
    cancelled.slots = [Slot(status=SlotStatus.CANCELLED, partial_index=0)]
    cancelled.error_kind, cancelled.error_message = "cancelled", "Cancelled"
    out.append(cancelled)

    interrupted = _task(
        "a bowl of ramen, studio lighting, top-down",
        created=now - 600,
        status=Status.RUNNING,
        task_id="interr00000e",
        elapsed=0,
    )
    interrupted.finished_at = None
    interrupted.slots = [Slot(status=SlotStatus.RUNNING, partial_index=1)]
    out.append(interrupted)

    for task in out:
        store.save(task)
        for i, slot in enumerate(task.slots):
            if slot.status is SlotStatus.DONE:
                w, h = (int(x) for x in task.params.size.split("x"))
                store.write_image(task, i, picture_png(task.prompt, w, h, variant=i))
            elif slot.partial_index is not None:
                store.write_partial(
                    task,
                    i,
                    picture_png(task.prompt, partial=(slot.partial_index, task.partial_images)),
                )
        store.save(task)
    return out


def with_model(app: Any, model: str, **profile_changes: Any) -> None:
    """Point the app's composer at another model (e.g. a demo fault mode)."""
    app.set_params(
        replace(app.params, profile=replace(app.params.profile, model=model, **profile_changes))
    )
