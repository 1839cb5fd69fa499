"""The app with the playground's features (issue 15): a task a polled provider accepted is
polled again after a restart; a locally keyed image keeps its original."""

from __future__ import annotations

import asyncio

from imgtui.api.events import Submitted
from imgtui.config import Config, Profile, Settings
from imgtui.demo.jobs import JobTable
from imgtui.draft import Draft
from imgtui.runner import Runner
from imgtui.store import Store
from imgtui.tasks import ImageParams, Status, apply
from tests.tui.pilot import SIZE, RecordingApp, settled, wait_for


def relay_config(tmp_path, base_url: str) -> Config:
    profile = Profile("Relay", base_url, provider="sub2api-async", model="gpt-image-2")
    settings = Settings(active_profile="Relay", renderer="halfcell")
    return Config(path=tmp_path / "config.toml", profiles=[profile], settings=settings)


async def accepted_then_killed(server, store: Store, profile: Profile):
    """What a previous run left: the provider accepted the task, then imgtui died."""
    draft = Draft("a lighthouse", profile, ImageParams(model="gpt-image-2")).check()
    task = draft.task()
    task.queue()
    accepted = asyncio.Event()

    def emit(event, _picture) -> None:
        apply(task, event)
        if isinstance(event, Submitted):
            store.save(task)
            accepted.set()

    runner = Runner()
    run = asyncio.create_task(runner.run(draft, emit))
    await accepted.wait()
    run.cancel()
    await asyncio.gather(run, return_exceptions=True)
    await runner.aclose()
    return task


async def test_a_restart_resumes_polling_instead_of_interrupting(tmp_path, server):
    server.app.state.jobs = JobTable(polls_to_finish=10**6)
    config = relay_config(tmp_path, server.base_url)
    store = Store(tmp_path / "data")
    store.open()
    task = await accepted_then_killed(server, store, config.profiles[0])
    store.close()
    server.app.state.jobs.polls_to_finish = 2

    app = RecordingApp(config=config, store=Store(tmp_path / "data"), renderer="halfcell")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await wait_for(
            pilot,
            lambda: app.tasks[task.id].status is Status.DONE,
            what="the resumed task to finish",
        )
        await app.history.drain(10)
        assert "interrupted" not in app.seen[task.id]
    assert server.app.state.jobs.submitted == 1
    store = Store(tmp_path / "data")
    store.open()
    done = store.get(task.id)
    assert done.status is Status.DONE and done.images[0].is_file()
    store.close()


async def test_palette_imports_a_playground_backup_and_images(tmp_path, make_app):
    import io
    import json
    import zipfile

    from PIL import Image

    from imgtui.backup import playground_task_id
    from imgtui.recipe import Recipe, embed
    from imgtui.tui.screens.paths import PathsScreen

    def png(colour) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", (32, 24), colour).save(buf, "PNG")
        return buf.getvalue()

    backup = tmp_path / "backup.zip"
    with zipfile.ZipFile(backup, "w") as zf:
        zf.writestr("images/a.png", png("red"))
        zf.writestr(
            "manifest.json",
            json.dumps(
                {
                    "version": 3,
                    "exportedAt": "2026-11-30T10:00:00.000Z",
                    "tasks": [
                        {
                            "id": "pg-1",
                            "prompt": "a fox from the playground",
                            "params": {"size": "1024x1024", "n": 1},
                            "outputImages": ["img-a"],
                            "inputImageIds": [],
                            "status": "done",
                            "createdAt": 1_760_000_000_000,
                        }
                    ],
                    "imageFiles": {"img-a": {"path": "images/a.png"}},
                }
            ),
        )
    carrying = tmp_path / "sent.png"
    carrying.write_bytes(embed(png("blue"), Recipe(prompt="came by mail", task_id="0123456789ab")))
    plain = tmp_path / "photo.png"
    plain.write_bytes(png("white"))

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        app.action_import_history()
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, PathsScreen) and app.screen.query("#paths-input"),
            what="the modal",
        )
        app.screen.query_one("#paths-input").value = f"{backup} {tmp_path / 'missing.zip'}"
        await pilot.press("enter")
        await pilot.pause()
        assert "no such file" in str(app.screen.query_one("#paths-error").render())
        app.screen.query_one("#paths-input").value = str(backup)
        await pilot.press("enter")
        pg = playground_task_id("pg-1")
        await wait_for(pilot, lambda: pg in app.tasks, what="the imported task")
        await wait_for(pilot, lambda: app.task_list.card(pg) is not None, what="its card")

        added = await app.import_images([carrying, plain])
        assert added == ["0123456789ab"]
        assert app.tasks["0123456789ab"].prompt == "came by mail"
        assert app.composer.attachments.images == [plain]


async def test_batch_mode_shows_count_and_cost_then_queues_every_line(tmp_path, make_app):
    from imgtui.tui.screens.batch import BatchScreen

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        app.action_batch()
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, BatchScreen) and app.screen.query("#batch-text"),
            what="the batch modal",
        )
        area = app.screen.query_one("#batch-text")
        area.text = 'a fox\n{"prompt": "a castle", "n": 2, "sise": "x"}\n'
        await pilot.pause()
        status = str(app.screen.query_one("#batch-status").render())
        assert "line 2" in status and "sise" in status
        area.text = 'a fox\n# note\n{"prompt": "a castle", "n": 2, "size": "1536x1024"}\na hat\n'
        await pilot.pause()
        status = str(app.screen.query_one("#batch-status").render())
        assert status.startswith("3 tasks; 4 images; cost unknown")
        before = set(app.tasks)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(set(app.tasks) - before) == 3, what="three tasks")
        new = [app.tasks[i] for i in set(app.tasks) - before]
        castle = next(t for t in new if t.prompt == "a castle")
        assert castle.params.n == 2 and castle.params.size == "1536x1024"
        await wait_for(
            pilot,
            lambda: all(t.status.ended for t in new),
            timeout=60,
            what="the batch to finish",
        )
        assert all(t.status.value == "done" for t in new)
        # Now finished tasks of this model exist: the estimate goes by their cost.
        from imgtui.batch import BatchItem

        estimate = app.estimate_batch([BatchItem("x"), BatchItem("y", {"n": 3})])
        assert estimate.startswith("4 images; about $")
