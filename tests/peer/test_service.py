"""The task service (`imgtui.service`) without Textual: a skin of plain asyncio tasks runs
tasks on the demo server through it, as the App runs them as workers. Real SQLite files."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

from imgtui.api.events import Event
from imgtui.config import Profile
from imgtui.draft import Draft, Params
from imgtui.service import PICTURE_THREADS, TaskService
from imgtui.store import Store
from imgtui.tasks import ImageParams, SlotStatus, Status, Task
from imgtui.tui import testing


class PlainSkin:
    """The service's four callables over asyncio: what a non-Textual skin gives it."""

    def __init__(self) -> None:
        self.notices: list[tuple[str, str, str]] = []
        self.ended: dict[str, asyncio.Event] = {}
        self.running: dict[str, asyncio.Event] = {}
        self.runs: dict[str, asyncio.Task[None]] = {}
        self.service: TaskService | None = None

    def notify(self, message, *, title="", severity="information", timeout=None) -> None:
        self.notices.append((severity, title, message))

    def spawn(self, name: str, coroutine) -> asyncio.Task[None]:
        self.runs[name] = asyncio.ensure_future(coroutine)
        return self.runs[name]

    def emit(self, task_id: str, event: Event, _picture) -> None:
        service = self.service
        assert service is not None
        task = service.tasks[task_id]
        before = task.status
        if service.record(task_id, event) is not None and task.status is not before:
            if task.status is Status.RUNNING:
                self.running.setdefault(task_id, asyncio.Event()).set()
            if task.status.ended:
                service.end(task)
                self.ended.setdefault(task_id, asyncio.Event()).set()

    async def wait_ended(self, task: Task) -> None:
        await asyncio.wait_for(self.ended.setdefault(task.id, asyncio.Event()).wait(), 30)

    async def wait_running(self, task: Task) -> None:
        await asyncio.wait_for(self.running.setdefault(task.id, asyncio.Event()).wait(), 30)


def make_service(tmp_path, server, config=None) -> tuple[TaskService, PlainSkin]:
    skin = PlainSkin()
    store = Store(tmp_path / "data")
    skin.service = TaskService(
        config or testing.demo_config(tmp_path),
        store,
        notify=skin.notify,
        spawn=skin.spawn,
        emit=skin.emit,
        changed=lambda task: None,
        box=(64, 32),
        demo_base_url=server.base_url,
        clock=testing.FixedClock(),
        history_limit=50,
    )
    return skin.service, skin


def draft_for(server, prompt: str, **headers: str) -> Draft:
    profile = Profile("Peer", server.base_url, partial_images=1, headers=dict(headers))
    return Draft(prompt, profile, ImageParams(partial_images=1)).check()


async def test_a_task_runs_to_disk_and_history_through_the_service(tmp_path, server):
    service, skin = make_service(tmp_path, server)
    assert await service.loaded(service.open_history()) == []
    draft = draft_for(server, "a lighthouse")
    task = service.new_task(draft)
    assert task.status is Status.QUEUED
    service.run(task, draft)
    await skin.wait_ended(task)
    await service.history.drain(10)
    assert task.status is Status.DONE
    slot = task.slots[0]
    assert slot.image is None  # on disk now, not in memory
    assert slot.image_path is not None and slot.image_path.is_file()
    saved = await service.history.call(service.store.get, task.id)
    assert saved.status is Status.DONE
    assert saved.slots[0].image_path == slot.image_path
    assert task.id not in service.handles
    assert skin.notices == []
    await service.aclose()


async def test_cancel_closes_the_stream_and_retry_runs_it_again(tmp_path, server):
    service, skin = make_service(tmp_path, server)
    await service.loaded(service.open_history())
    slow = draft_for(server, "slow fox", **{"x-demo-delay": "30"})
    task = service.new_task(slow)
    service.run(task, slow)
    run = skin.runs[task.id]
    await skin.wait_running(task)
    assert service.cancel(task.id) is task
    assert task.status is Status.CANCELLED
    assert service.cancel(task.id) is None  # already ended
    await asyncio.wait_for(asyncio.gather(run, return_exceptions=True), 10)
    assert run.cancelled()
    choice = Params.from_config(service.config)
    fast = replace(choice, profile=replace(choice.profile, headers={}))
    draft = service.retry_draft(task.id, fast)
    assert draft is not None and draft.prompt == "slow fox"
    again = service.new_task(draft)
    service.run(again, draft)
    await skin.wait_ended(again)
    assert again.status is Status.DONE and again.id != task.id
    await service.history.drain(10)
    rows = {t.id: t.status for t in await service.history.call(service.store.load)}
    assert rows == {task.id: Status.CANCELLED, again.id: Status.DONE}
    await service.aclose()


async def test_star_forget_and_delete_failed_reach_the_store(tmp_path, server):
    service, skin = make_service(tmp_path, server)
    await service.loaded(service.open_history())
    tasks = []
    for prompt in ("kept", "starred failure", "failure"):
        draft = draft_for(server, prompt)
        task = service.new_task(draft)
        tasks.append(task)
    kept, starred, failed = tasks
    for task in (starred, failed):
        task.status = Status.FAILED
        task.slots[0].status = SlotStatus.FAILED
        service.end(task)
    assert service.toggle_star(starred.id) is starred and starred.starred
    assert service.failed_ids() == [failed.id]
    for task_id in service.failed_ids():
        service.tasks.pop(task_id)
    assert await service.delete_failed() == 1
    service.forget(kept.id)
    await service.history.drain(10)
    assert [t.id for t in await service.history.call(service.store.load)] == [starred.id]
    assert list(service.tasks) == [starred.id]
    assert skin.notices == []
    await service.aclose()


async def test_the_picture_threads_run_before_the_first_frame(tmp_path, server):
    """Both picture threads exist once the service does: a thread the pool started at a
    frame's `submit` made the event loop wait for it to run (issue 16, loop lag)."""
    before = set(threading.enumerate())
    service, _ = make_service(tmp_path, server)
    started = [
        thread
        for thread in threading.enumerate()
        if thread not in before and thread.name.startswith("imgtui-picture")
    ]
    assert len(started) == PICTURE_THREADS
    assert all(thread.is_alive() for thread in started)
    await service.aclose()


async def test_a_model_chosen_for_the_implicit_demo_profile_is_back_after_a_restart(
    tmp_path, server
):
    """With no saved profile the active one is the built-in demo (`config.active()`); the
    model kept with its last choice must be recorded against the demo's own model, not
    the chosen one, or the next start reads it as 'changed in settings' and drops it."""
    from imgtui.config import Config
    from imgtui.draft import demo_profile

    config = Config(path=tmp_path / "config.toml")
    assert config.profiles == [] and config.active().name == demo_profile().name
    service, _skin = make_service(tmp_path, server, config)
    assert await service.loaded(service.open_history()) == []
    chosen = "gpt-image-2.6-flare"
    assert demo_profile().model != chosen
    params = Params.from_config(config)
    params = replace(params, profile=replace(params.profile, model=chosen))
    service.keep_params(params)
    await service.history.drain(10)

    restarted, _ = make_service(tmp_path, server, config)
    assert restarted.last_params.apply(Params.from_config(config)).model == chosen
