"""Pilot tests of the app against the real demo server (module fixture, fast pacing).

Every task goes through the real `imgtui.api.stream_images`, the real store in a tmp dir,
and the app's one handler (`on_task_event`), which the recording subclass observes.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from imgtui.store import Store
from imgtui.tasks import Status
from imgtui.tui import testing
from imgtui.tui.screens.detail import DetailScreen
from imgtui.tui.widgets.task_card import TaskCard
from tests.tui.pilot import SIZE, asking, card_text, settled, submit, wait_for

DEMO_DELAY = 0.05  # the shared demo server's pace in this module (conftest)


# -- streaming --------------------------------------------------------------------------


async def test_submit_streams_partials_then_done(make_app):
    app = make_app(partial_images=2)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        assert app.focused is app.composer.area
        task = await submit(pilot, "a lighthouse at dusk")
        assert app.composer.text == ""
        await wait_for(pilot, lambda: task.status is Status.DONE, what="done")
        await settled(pilot)
        # every event is applied in order: Started, both frames, the final image
        assert app.seen[task.id] == ["running", "frame 1 of 2", "frame 2 of 2", "done"]
        card = app.query_one(f"#task-{task.id}", TaskCard)
        assert card.has_final
        assert "done" in card_text(app, task.id)
        (image,) = task.images
        assert image.is_file() and image.read_bytes().startswith(b"\x89PNG")
        stored = app.store.get(task.id)
        assert stored.status is Status.DONE and stored.images == [image]


async def test_n3_card_counts_images(make_app):
    app = make_app(partial_images=1)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        testing.with_model(app, "gpt-image-2")
        app.set_params(app.params.__class__(app.params.profile, n=3))
        task = await submit(pilot, "three foxes")
        await wait_for(pilot, lambda: task.status is Status.DONE, what="done")
        await settled(pilot)
        assert len(task.images) == 3
        assert card_text(app, task.id, "pic-label") == "image 1 of 3"


async def test_cancel_closes_the_stream(make_app, server):
    app = make_app(partial_images=3, headers={"x-demo-delay": "3.0"})
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        before = server.disconnects
        task = await submit(pilot, "a slow picture")
        await wait_for(
            pilot,
            lambda: (task.slots and task.slots[0].bytes_received > 0) or task.first_partial_at,
            timeout=5,
            what="the stream to start",
        )
        await pilot.press("tab")
        assert app.focused is app.task_list
        await pilot.press("ctrl+x")
        assert task.status is Status.CANCELLED
        # the image takes longer than this wait: a disconnect means the app closed the stream
        assert await asyncio.to_thread(server.wait_for_disconnects, before + 1, 10.0)
        await settled(pilot)
        assert "cancelled" in card_text(app, task.id)
        assert app.store.get(task.id).status is Status.CANCELLED


async def test_footer_cancel_key_follows_the_selected_task(make_app):
    """The footer is refreshed only when the list has focus and the selection's keys change."""
    from textual.widgets._footer import FooterKey

    def cancel_enabled() -> bool | None:
        keys = [k for k in app.screen.query(FooterKey) if k.description == "Cancel"]
        return (not keys[0].has_class("-disabled")) if keys else None

    app = make_app(partial_images=3, headers={"x-demo-delay": "3.0"})
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        first = await submit(pilot, "cancelled early")
        app.cancel_task(first.id)
        second = await submit(pilot, "still running")
        await pilot.press("tab")
        assert app.task_list.selected_id == second.id
        await wait_for(
            pilot, lambda: cancel_enabled() is True, what="cancel offered for the running task"
        )
        await pilot.press("down")
        assert app.task_list.selected_id == first.id
        await wait_for(
            pilot, lambda: cancel_enabled() is False, what="cancel greyed for the cancelled task"
        )
        await pilot.press("up")
        await wait_for(pilot, lambda: cancel_enabled() is True, what="cancel offered again")
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: second.status is Status.CANCELLED, what="cancelled")
        await wait_for(pilot, lambda: cancel_enabled() is False, what="cancel greyed once it ended")


@pytest.mark.parametrize(
    "mode,kind",
    [
        ("auth", "auth"),
        ("moderation", "moderation"),
        ("cf524", "proxy_timeout"),
        ("drop", None),
    ],
)
async def test_fault_modes_show_their_message(make_app, mode, kind):
    app = make_app(model=f"fault-{mode}", partial_images=1)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await submit(pilot, f"fault {mode}")
        await wait_for(pilot, lambda: task.status.ended, timeout=10, what="the failure")
        assert task.status is Status.FAILED
        if kind is not None:
            assert task.error_kind == kind
        assert task.error_message
        text = card_text(app, task.id)
        assert task.error_message[:40] in text
        assert "failed" in card_text(app, task.id)


async def test_request_error_keeps_the_composer(make_app, tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        app.composer.attach(tmp_path / "missing.png")
        app.composer.set_text("edit this")
        await pilot.press("enter")
        await pilot.pause()
        assert app.tasks == {}
        assert app.composer.text == "edit this"
        assert app.composer.attachments.images == [tmp_path / "missing.png"]
        (note,) = app.notices
        assert note.severity == "error" and "image" in note.title and "no such file" in note.message


async def test_typing_ahead_after_enter_starts_the_next_prompt(make_app):
    """Enter and the next prompt in one terminal read: the text typed after Enter, before
    the app took the first prompt, is the start of the next prompt, not part of the first."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        area = app.composer.area
        area.focus()
        area.insert("alpha")
        area.action_submit()
        area.insert("beta")  # before the Submitted message is handled
        await wait_for(pilot, lambda: len(app.tasks) == 1, what="the first task")
        (task,) = app.tasks.values()
        assert task.prompt == "alpha"
        assert app.composer.text == "beta"


async def test_attachment_chips_show_their_labels(make_app, tmp_path):
    from imgtui.tui.widgets.composer import Chip

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        app.composer.attach(tmp_path / "reference.png")
        await pilot.pause()
        (chip,) = app.query(Chip)
        assert chip.size.height == 1 and chip.outer_size.height == 1  # no border eating the text
        assert "reference.png" in str(chip.label)
        assert chip.region.height == 1 and chip.region.width >= len("▣ reference.png ✕")


# -- the detail modal ---------------------------------------------------------------


async def test_detail_pager_save_copy_retry_refine_delete(make_app, tmp_path, monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "TMUX"):  # no desktop clipboard for the image
        monkeypatch.delenv(name, raising=False)
    app = make_app(partial_images=1, output_dir=tmp_path / "out")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        app.set_params(app.params.__class__(app.params.profile, n=2, size="1024x1024"))
        task = await submit(pilot, "two paper boats")
        await wait_for(pilot, lambda: task.status is Status.DONE, what="done")
        await settled(pilot)

        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the detail modal")
        screen = app.screen
        assert "image 1 of 2" in str(screen.query_one("#pager").render())
        await pilot.press("right")
        assert screen.index == 1 and "image 2 of 2" in str(screen.query_one("#pager").render())

        await pilot.press("ctrl+s")  # save the image shown
        await wait_for(
            pilot,
            lambda: (tmp_path / "out").is_dir() and len(list((tmp_path / "out").iterdir())) == 1,
            what="the saved image",
        )
        await pilot.press("ctrl+c")  # the shown image; no desktop here: its path (OSC 52)
        await wait_for(pilot, lambda: app.clipboard == str(task.images[1]), what="the copy")

        await pilot.press("f5")  # retry: a new run of the same prompt, of the image shown
        await wait_for(pilot, lambda: len(app.tasks) == 2, what="the retry")
        retry = next(t for t in app.tasks.values() if t.id != task.id)
        assert retry.prompt == task.prompt and retry.params == replace(task.params, n=1)
        await wait_for(pilot, lambda: retry.status is Status.DONE, what="the retry to finish")

        await app.task_list.select(task.id)
        app.task_list.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the detail modal")
        await pilot.press("ctrl+f")  # refine: the composer now edits this image
        await pilot.pause()
        assert app.composer.attachments.parent_id == task.id
        assert app.composer.attachments.images == [task.images[0]]
        assert app.focused is app.composer.area
        edit = await submit(pilot, "make the boats red")
        assert edit.input_images == [str(task.images[0])] and edit.parent_id == task.id
        await wait_for(pilot, lambda: edit.status is Status.DONE, what="the edit")
        assert app.composer.attachments.images == []

        await app.task_list.select(task.id)
        app.task_list.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the detail modal")
        await pilot.press("delete")
        await wait_for(pilot, lambda: asking(app), what="the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: task.id not in app.tasks, what="the delete")
        await settled(pilot)
        assert app.store.get(task.id) is None
        assert not task.images[0].exists()
        assert app.task_list.card(task.id) is None


async def test_detail_shows_live_partial_and_open_failure_toasts(make_app, monkeypatch, server):
    from imgtui import desktop

    async def no_viewer(path):
        return "xdg-open is not available (No such file or directory)"

    monkeypatch.setattr(desktop, "open_in_viewer", no_viewer)
    # the final image is held until the preview was seen (x-demo-hold), whatever the load
    app = make_app(partial_images=3, headers={"x-demo-hold": "live-detail"})
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await submit(pilot, "watch it sharpen")
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the detail modal")
        screen = app.screen
        await wait_for(
            pilot,
            lambda: "preview" in str(screen.query_one("#pager").render()),
            what="a live preview",
        )
        assert task.status is Status.RUNNING
        server.release("live-detail")
        await wait_for(pilot, lambda: task.status is Status.DONE, timeout=15, what="done")
        await wait_for(
            pilot,
            lambda: "preview" not in str(screen.query_one("#pager").render()),
            what="the final image in the pager",
        )
        await settled(pilot)
        await pilot.press("enter")  # open in the system viewer
        await wait_for(
            pilot,
            lambda: any("Can't open" in (n.title or "") for n in app.notices),
            what="the toast",
        )
        await pilot.press("escape")
        assert not isinstance(app.screen, DetailScreen)


async def test_toast_when_a_task_ends_behind_a_modal(make_app):
    from imgtui.tui.screens.params import ParamsScreen

    app = make_app(partial_images=1)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("f2")  # the parameters modal is open for the task's whole life
        await wait_for(pilot, lambda: isinstance(app.screen, ParamsScreen), what="the modal")
        task = app.submit("behind the modal")  # what Enter in the composer does
        assert task is not None
        await wait_for(pilot, lambda: task.status is Status.DONE, what="done")
        await pilot.pause()
        assert isinstance(app.screen, ParamsScreen)
        assert any("behind the modal" in (n.title or "") for n in app.notices)


# -- responses mode -------------------------------------------------------------------


async def test_refine_in_responses_mode_follows_up(make_app):
    app = make_app(partial_images=1, api_mode="responses")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await submit(pilot, "a red bicycle")
        await wait_for(pilot, lambda: task.status is Status.DONE, what="done")
        assert task.response_id
        app.refine_task(task.id)
        assert app.composer.attachments.previous_response_id == task.response_id
        follow = await submit(pilot, "make it blue")
        assert (
            follow.params.previous_response_id == task.response_id and follow.parent_id == task.id
        )
        await wait_for(pilot, lambda: follow.status.ended, what="the follow-up")
        assert follow.status is Status.DONE


# -- history, delete, quit ------------------------------------------------------------


async def test_interrupted_history_shows_preview_and_retries(make_app, tmp_path):
    with Store(tmp_path / "data") as store:
        testing.sample_history(store)
    app = make_app(partial_images=1)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await app.workers.wait_for_complete()
        await pilot.pause()
        interrupted = app.tasks["interr00000e"]
        assert interrupted.status is Status.INTERRUPTED
        card = app.query_one("#task-interr00000e", TaskCard)
        assert card_text(app, "interr00000e", "pic-label") == "unfinished preview"
        assert "interrupted" in card_text(app, "interr00000e")
        await app.task_list.select("interr00000e")
        app.task_list.focus()
        await pilot.press("f5")
        # The sample task ran on gpt-image-1, shut down on 2026-10-23: asked first.
        await wait_for(pilot, lambda: asking(app), what="the question")
        assert "gpt-image-1 was shut down on 2026-10-23" in str(
            app.screen.query_one("#question").render()
        )
        await pilot.press("y")
        await wait_for(pilot, lambda: len(app.tasks) == 6, what="the retry")
        retry = app.tasks[app.task_list.selected_id]
        assert retry.prompt == interrupted.prompt
        await wait_for(pilot, lambda: retry.status is Status.DONE, what="the retry to finish")
        assert card is app.query_one("#task-interr00000e", TaskCard)


async def test_delete_running_task_cancels_it_first(make_app, server):
    app = make_app(partial_images=3, headers={"x-demo-delay": "3.0"})
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        before, streams = server.disconnects, server.streams_started
        task = await submit(pilot, "delete me while running")
        await wait_for(pilot, lambda: server.streams_started > streams, what="the stream")
        await pilot.press("tab", "delete")
        await wait_for(pilot, lambda: asking(app), what="the confirmation")
        assert "still running" in str(app.screen.query_one("#question").render())
        await pilot.press("y")
        await wait_for(pilot, lambda: task.id not in app.tasks, what="the delete")
        assert task.status is Status.CANCELLED
        assert await asyncio.to_thread(server.wait_for_disconnects, before + 1, 2.0)
        await settled(pilot)
        assert app.store.get(task.id) is None


async def test_quit_asks_while_tasks_run(make_app, server):
    app = make_app(partial_images=3, headers={"x-demo-delay": "3.0"})
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        before, streams = server.disconnects, server.streams_started
        task = await submit(pilot, "still running at quit")
        await wait_for(pilot, lambda: server.streams_started > streams, what="the stream")
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: asking(app), what="the question")
        await pilot.press("n")
        await pilot.pause()
        assert task.status is Status.RUNNING and app.is_running
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: asking(app), what="the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running, what="the exit")
    assert task.status is Status.CANCELLED
    assert await asyncio.to_thread(server.wait_for_disconnects, before + 1, 2.0)
    with Store(app.store.root) as store:
        assert store.get(task.id).status is Status.CANCELLED


async def test_quit_without_running_tasks_does_not_ask(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running, what="the exit")


async def test_palette_has_every_task_action(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for title in (
            "Parameters",
            "Switch profile",
            "Attach reference image",
            "Open task",
            "Cancel task",
            "Retry task",
            "Reuse parameters",
            "Refine image",
            "Delete task",
            "Delete failed tasks",
        ):
            assert title in titles
