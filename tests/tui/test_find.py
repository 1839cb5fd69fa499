"""Find as a live filter, and "Delete failed tasks" that says what it will delete (issue 14.5).

Pilot tests on the demo server and a real SQLite history (`testing.sample_history`, dated
June 2025: older than any "last 30 days").
"""

from __future__ import annotations

import pytest
from textual.widgets import RadioButton, RadioSet, Select

from imgtui.store import Store, TaskFilter
from imgtui.tasks import Status
from imgtui.tui import testing
from imgtui.tui.screens.confirm import ConfirmScreen
from imgtui.tui.screens.search import HistoryFilter, SearchScreen
from tests.tui.pilot import SIZE, asking, settled, wait_for

EVERYTHING = ["interr00000e", "cancel00000d", "failed00000c", "three000000b", "done0000000a"]


@pytest.fixture
def history_app(tmp_path, make_app):
    with Store(tmp_path / "data") as store:
        testing.sample_history(store)
        store.add_to_collection("Foxes", ["three000000b"])
    return make_app(partial_images=0)


def shown(app) -> list[str]:
    return [card.imgtask.id for card in app.task_list.cards]


def matches(app) -> str:
    return str(app.screen.query_one("#matches").render())


async def follow(pilot, screen: SearchScreen) -> None:
    """A field changed in code: its Changed message handled, then the list caught up."""
    await pilot.pause()
    await screen.settled()


async def open_find(pilot) -> SearchScreen:
    await pilot.press("f4")
    screen = pilot.app.screen
    assert isinstance(screen, SearchScreen)
    await screen.settled()
    return screen


async def test_typing_filters_the_list_as_you_type_and_escape_clears(history_app):
    app = history_app
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        assert shown(app) == EVERYTHING
        screen = await open_find(pilot)
        assert matches(app) == "All 5 tasks."
        await pilot.press(*"lighth")  # no Enter: the list follows the typing
        await screen.settled()
        assert shown(app) == ["done0000000a"]
        assert matches(app) == "1 task matches “lighth”."
        assert isinstance(app.screen, SearchScreen)
        await pilot.press(*"zzz")
        await screen.settled()
        assert shown(app) == []
        assert matches(app) == "No task matches “lighthzzz”."
        empty = str(app.task_list.query_one("#empty").render())
        assert empty.startswith("No task matches “lighthzzz”.")
        assert "showing “lighthzzz” (F4)" in app.sub_title
        await pilot.press("escape")  # clears the filter
        await wait_for(pilot, lambda: shown(app) == EVERYTHING, what="every task again")
        assert not isinstance(app.screen, SearchScreen)
        assert app.history_filter == HistoryFilter() and "showing" not in app.sub_title


async def test_enter_keeps_the_filter_and_focuses_the_list(history_app):
    app = history_app
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await open_find(pilot)
        await pilot.press(*"fox", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, SearchScreen), what="closed")
        assert shown(app) == ["three000000b"] and app.focused is app.task_list
        assert app.history_filter.text == "fox"
        screen = await open_find(pilot)  # opens with the filter kept
        assert screen.chosen() == HistoryFilter("fox")


async def test_status_star_model_profile_date_and_collection(history_app):
    app = history_app
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        testing.with_model(app, "gpt-image-1.5")
        app.composer.set_text("a new one today")
        await pilot.press("enter")
        # gpt-image-1.5 shuts down on 2026-12-01: the app asks first
        await wait_for(pilot, lambda: asking(app), what="the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: len(app.tasks) == 6, what="the new task")
        new = next(t for t in app.tasks.values() if t.prompt == "a new one today")
        await wait_for(pilot, lambda: new.status is Status.DONE, what="done")
        await settled(pilot)
        app.toggle_star("three000000b")
        await settled(pilot)

        screen = await open_find(pilot)
        buttons = {b.name: b for b in screen.query_one("#status", RadioSet).query(RadioButton)}
        buttons["failed"].value = True
        await follow(pilot, screen)
        assert shown(app) == ["failed00000c"]
        buttons["starred"].value = True
        await follow(pilot, screen)
        assert shown(app) == ["three000000b"]
        buttons["all"].value = True

        models = screen.query_one("#models", Select)
        await wait_for(
            pilot,
            lambda: (
                {v for _, v in models._options if isinstance(v, str)}
                == {"gpt-image-1", "gpt-image-1.5"}
            ),
            what="the models history holds",
        )
        models.value = "gpt-image-1.5"
        await follow(pilot, screen)
        assert shown(app) == [new.id]
        models.value = Select.NULL

        profiles = screen.query_one("#profiles", Select)
        profiles.value = new.profile_name
        await follow(pilot, screen)
        assert new.id in shown(app)
        profiles.value = Select.NULL

        dates = screen.query_one("#date", Select)
        dates.value = "today"  # the sample history is from 2025: only the new task
        await follow(pilot, screen)
        assert shown(app) == [new.id]
        dates.value = "any"

        collections = screen.query_one("#collections", Select)
        collections.value = "Foxes"
        await follow(pilot, screen)
        assert shown(app) == ["three000000b"]
        assert matches(app) == "1 task matches collection Foxes."


def test_filter_task_filter_and_the_date_choices():
    assert HistoryFilter().task_filter(testing.T0) == TaskFilter()
    week = HistoryFilter("cat", "starred", "m", "p", "week", "c").task_filter(testing.T0)
    assert week == TaskFilter(
        search="cat",
        status=None,
        starred=True,
        model="m",
        profile="p",
        since=testing.T0 - 7 * 86400,
        collection="c",
    )
    assert HistoryFilter(status="failed").task_filter(testing.T0) == TaskFilter(status="failed")
    today = HistoryFilter(date="today").task_filter(testing.T0).since
    assert today is not None and testing.T0 - 86400 < today <= testing.T0


async def test_delete_failed_says_how_many_of_which_status_first(history_app, tmp_path):
    app = history_app
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        app.action_delete_failed()
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        question = str(app.screen.query_one("#question").render())
        assert question == (
            "Delete 1 failed task and 1 cancelled task, with their files? Interrupted tasks "
            "are kept (their preview may be all there is)."
        )
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), what="closed")
        app.toggle_star("failed00000c")  # a starred failed task is kept, and counted as kept
        app.action_delete_failed()
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        question = str(app.screen.query_one("#question").render())
        assert question.startswith("Delete 0 failed tasks and 1 cancelled task,")
        assert question.endswith("and 1 starred failed or cancelled task.")
        await pilot.press("y")
        await wait_for(pilot, lambda: "cancel00000d" not in shown(app), what="the deletion")
        await settled(pilot)
        assert "failed00000c" in shown(app)
        app.toggle_star("failed00000c")
        await settled(pilot)
        app.action_delete_failed()
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: "failed00000c" not in shown(app), what="the deletion")
        await settled(pilot)
        app.action_delete_failed()  # nothing left: a toast, no question
        await wait_for(
            pilot,
            lambda: any(n.title == "Nothing to delete" for n in app.notices),
            what="the toast",
        )
        assert not isinstance(app.screen, ConfirmScreen)
