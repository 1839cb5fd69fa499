"""Costs and guards in the app, against the demo server: today's spending line, the daily
spending limit (new tasks refused, a running stream never stopped), a profile's price
overrides on the card and in the detail view, and the question before sending to a model
that is shut down or shutting down."""

from __future__ import annotations

from dataclasses import replace

from textual.widgets import Static

from imgtui.models.prices import cost_usd
from imgtui.tasks import Status
from imgtui.tui import testing
from imgtui.tui.screens.detail import DetailScreen
from tests.tui.pilot import SIZE, asking, card_text, settled, submit, wait_for


def bar_text(app) -> str:
    return str(app.param_bar.query_one("#params", Static).render())


def with_profile(app, **changes) -> None:
    """Change the saved profile (as settings would) and the composer's copy of it."""
    profile = replace(app.config.profiles[0], **changes)
    app.config.profiles[0] = profile
    app.use_profile(profile.name, announce=False)


async def test_daily_limit_refuses_new_tasks_but_never_stops_a_running_one(make_app, server):
    app = make_app(partial_images=1)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        first = await submit(pilot, "a priced fox")
        await wait_for(pilot, lambda: first.status is Status.DONE, what="done")
        spent = app.service.task_cost(first)
        assert spent is not None and spent > 0
        assert f"today ${spent:.2f} on Demo" in bar_text(app)
        # A slow task runs while the limit is set below what was already spent.
        testing.with_model(app, "gpt-image-2", headers={"x-demo-delay": "2.0"})
        running = await submit(pilot, "a slow fox")
        await wait_for(pilot, lambda: running.status is Status.RUNNING, what="running")
        with_profile(app, daily_limit_usd=spent / 2, headers={})
        assert "limit reached" in bar_text(app)
        requests = len(server.requests)
        tasks = len(app.tasks)
        app.composer.set_text("one more fox")
        await pilot.press("enter")
        await pilot.pause()
        assert len(app.tasks) == tasks and len(server.requests) == requests  # nothing sent
        assert app.composer.text == "one more fox"  # kept, to send another day
        assert any("daily spending limit" in n.message for n in app.notices)
        # the running stream was not touched
        await wait_for(pilot, lambda: running.status.ended, what="the running task")
        assert running.status is Status.DONE
        assert app.retry_task(first.id) is None  # a retry is a new task too


async def test_price_overrides_on_card_and_detail(make_app):
    app = make_app(partial_images=1)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await submit(pilot, "a fox at relay prices")
        await wait_for(pilot, lambda: task.status is Status.DONE, what="done")
        usage = task.slots[0].usage
        built_in = cost_usd("gpt-image-2", usage)
        assert f"${built_in:.3f}" in card_text(app, task.id)
        with_profile(app, price_overrides={"gpt-image-2": {"image_output": 300.0}})
        relay = cost_usd("gpt-image-2", usage, overrides={"gpt-image-2": {"image_output": 300}})
        assert relay is not None and relay > 5 * built_in
        app.task_list.card(task.id).refresh_task()
        await pilot.pause()
        assert f"${relay:.3f}" in card_text(app, task.id)
        app.open_detail(task.id)
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="detail")
        await pilot.pause()
        usage_text = str(app.screen.query_one("#usage", Static).render())
        assert f"cost: ${relay:.4f}" in usage_text


async def test_shut_down_model_is_sent_only_after_a_yes(make_app, server):
    app = make_app(partial_images=1)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        testing.with_model(app, "gpt-image-1")
        requests = len(server.requests)
        app.composer.set_text("a fox for a retired model")
        await pilot.press("enter")
        await wait_for(pilot, lambda: asking(app), what="question")
        question = str(app.screen.query_one("#question").render())
        assert "gpt-image-1 was shut down on 2026-10-23; use gpt-image-2.5-sunburst" in question
        await pilot.press("n")
        await pilot.pause()
        assert not app.tasks and len(server.requests) == requests
        assert app.composer.text == "a fox for a retired model"
        await pilot.press("enter")
        await wait_for(pilot, lambda: asking(app), what="question")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.tasks, what="the task")
        (task,) = app.tasks.values()
        assert task.model == "gpt-image-1" and app.composer.text == ""
        await wait_for(pilot, lambda: task.status.ended, what="the end")


async def test_shutdown_date_from_the_provider_list_is_used(make_app, server):
    """The provider's `shutdown_date` (its /models list, once fetched) counts, not only
    the built-in table: the demo lists gpt-image-1.5 as shutting down 2026-12-01."""
    app = make_app(partial_images=1)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await app.service.model_lists.fetch(app.params.profile)
        testing.with_model(app, "gpt-image-2.6-flare")
        assert app.service.shutdown_warning(app.params.profile, "gpt-image-2.6-flare") is None
        warning = app.service.shutdown_warning(app.params.profile, "gpt-image-1.5")
        assert warning is not None and "2026-12-01" in warning


async def test_batch_on_a_shut_down_model_asks_once(make_app, server):
    from imgtui.batch import BatchItem

    app = make_app(partial_images=1)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        items = [BatchItem("a fox", {"model": "gpt-image-1"}, 1), BatchItem("a hare", {}, 2)]
        requests = len(server.requests)
        assert app.launch_batch(items) == []
        await wait_for(pilot, lambda: asking(app), what="question")
        question = str(app.screen.query_one("#question").render())
        assert "gpt-image-1 was shut down on 2026-10-23" in question and "2 tasks" in question
        await pilot.press("n")
        await pilot.pause()
        assert not app.tasks and len(server.requests) == requests
        app.launch_batch(items)
        await wait_for(pilot, lambda: asking(app), what="question")
        await pilot.press("y")
        await wait_for(pilot, lambda: len(app.tasks) == 2, what="both tasks")
        await wait_for(
            pilot, lambda: all(t.status.ended for t in app.tasks.values()), what="the end"
        )
