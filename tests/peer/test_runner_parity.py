"""The runner with the playground's features (issue 15), against the demo server and a real
store: polled providers (a restart resumes polling), local transparency (both versions
kept and saved, each with its recipe), a custom provider manifest."""

from __future__ import annotations

import asyncio
import io
import json

import numpy as np
from PIL import Image

from imgtui.api.events import Submitted
from imgtui.config import Profile, providers
from imgtui.demo.jobs import JobTable
from imgtui.draft import Draft
from imgtui.recipe import read
from imgtui.runner import Runner
from imgtui.store import Store
from imgtui.tasks import ImageParams, SlotStatus, Status, apply
from imgtui.transparency import GREEN


def saving(task, store):
    """An emit that applies events and persists like the app does."""

    def emit(event, _picture) -> None:
        if not apply(task, event):
            return
        slot = task.slots[event.slot] if event.slot < len(task.slots) else None
        if slot is not None and slot.status is SlotStatus.DONE and slot.image is not None:
            store.write_image(task, event.slot, slot.image)
            if slot.original is not None:
                store.write_original(task, event.slot, slot.original)
        store.save(task)

    return emit


async def test_a_restart_in_the_middle_of_polling_resumes_the_task(server, tmp_path):
    server.app.state.jobs = JobTable(polls_to_finish=10**6)  # never done while we watch
    profile = Profile("Relay", server.base_url, provider="sub2api-async", model="gpt-image-2")
    draft = Draft("a lighthouse", profile, ImageParams(model="gpt-image-2", n=2)).check()
    task = draft.task()
    task.queue()
    store = Store(tmp_path / "data")
    store.open()
    store.save(task)
    accepted = asyncio.Event()
    emit = saving(task, store)

    def first_run_emit(event, picture) -> None:
        emit(event, picture)
        if isinstance(event, Submitted):
            accepted.set()

    runner = Runner()
    runner.poll_interval = 0.01
    run = asyncio.create_task(runner.run(draft, first_run_emit))
    await accepted.wait()
    run.cancel()  # the process dies while the provider works on the task
    await asyncio.gather(run, return_exceptions=True)
    await runner.aclose()
    store.close()
    assert server.app.state.jobs.submitted == 1

    # The next start: the task is not marked interrupted, it is handed back to be polled.
    store = Store(tmp_path / "data")
    store.open()
    assert store.mark_interrupted() == 0
    (again,) = store.resumable()
    assert again.id == task.id and again.status is Status.RUNNING
    assert again.job == {
        "kind": "manifest",
        "provider": "sub2api-async",
        "task_id": "imgtask_000001",
    }
    server.app.state.jobs.polls_to_finish = server.app.state.jobs.polled + 1
    resumed = Draft.from_task(again, profile)
    resumed.job = again.job
    job = again.job
    again.queue()
    again.job = job
    runner = Runner()
    runner.poll_interval = 0.01
    await runner.run(resumed, saving(again, store))
    await runner.aclose()
    assert server.app.state.jobs.submitted == 1  # polled again, never submitted twice
    done = store.get(task.id)
    assert done.status is Status.DONE and len(done.images) == 2
    assert store.resumable() == []
    store.close()


async def test_local_transparency_keeps_both_versions_and_saves_them(server, tmp_path):
    profile = Profile("Demo", server.base_url, transparent_method="local", stream=False)
    draft = Draft(
        "a round sticker", profile, ImageParams(background="transparent", stream=False)
    ).check()
    assert draft.transparency == "local"
    task = draft.task()
    task.queue()
    store = Store(tmp_path / "data")
    store.open()
    runner = Runner()
    await runner.run(draft, saving(task, store))
    await runner.aclose()
    sent = server.requests[-1]["json"]
    assert sent["prompt"].startswith("a round sticker\n\n") and "#00FF00" in sent["prompt"]
    # no background parameter, png output: both the API's defaults, so neither is sent
    assert "background" not in sent and "output_format" not in sent

    slot = task.slots[0]
    with Image.open(slot.image_path) as im:
        alpha = np.asarray(im.convert("RGBA"))[..., 3]
    assert alpha[0, 0] == 0 and (alpha == 255).any()
    with Image.open(slot.original_path) as im:
        assert tuple(np.asarray(im.convert("RGB"))[0, 0]) == GREEN
    assert slot.meta.background == "transparent"

    saved = store.export_images(store.get(task.id), tmp_path / "out")
    assert [p.name.endswith("-original.png") for p in saved] == [False, True]
    for path in saved:
        recipe = read(path.read_bytes())
        assert recipe.prompt == "a round sticker" and recipe.task_id == task.id
    store.close()


async def test_native_transparency_sends_the_background(server):
    profile = Profile("Demo", server.base_url, stream=False)
    draft = Draft(
        "a sticker", profile, ImageParams(transparent="native", output_format="webp", stream=False)
    ).check()
    task = draft.task()
    task.queue()
    runner = Runner()
    await runner.run(draft, lambda e, _p: apply(task, e))
    await runner.aclose()
    sent = server.requests[-1]["json"]
    assert sent["background"] == "transparent" and sent["output_format"] == "webp"
    assert sent["prompt"] == "a sticker"
    with Image.open(io.BytesIO(task.slots[0].image)) as im:
        assert im.mode == "RGBA"


async def test_a_playground_manifest_generates_through_the_runner(server):
    server.app.state.jobs = JobTable(polls_to_finish=2)
    export = {
        "customProviders": [
            {
                "id": "custom-example-async",
                "name": "Example",
                "submit": {
                    "path": "images/generations",
                    "query": {"async": "true"},
                    "body": {"model": "$profile.model", "prompt": "$prompt", "n": "$params.n"},
                    "taskIdPath": "data",
                },
                "poll": {
                    "path": "images/tasks/{task_id}",
                    "statusPath": "data.status",
                    "successValues": ["SUCCESS"],
                    "failureValues": ["FAILURE"],
                    "errorPath": "data.fail_reason",
                    "result": {"b64JsonPaths": ["data.data.data.*.b64_json"]},
                },
            }
        ],
        "profiles": [
            {
                "name": "Example",
                "provider": "custom-example-async",
                "baseUrl": server.origin + "/tasks-api/v1",
                "model": "gpt-image-2",
            }
        ],
    }
    imported = providers.import_manifests(json.dumps(export))
    (profile,) = imported.profiles
    draft = Draft("a fox", profile, ImageParams(model=profile.model)).check()
    task = draft.task()
    task.queue()
    runner = Runner()
    runner.poll_interval = 0.01
    await runner.run(draft, lambda e, _p: apply(task, e))
    await runner.aclose()
    assert task.status is Status.DONE
    assert task.job == {
        "kind": "manifest",
        "provider": "custom-example-async",
        "task_id": "task_000001",
    }
