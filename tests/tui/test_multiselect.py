"""Marking several tasks and acting on them; collections (issue 15.4).

Each mark key is pressed in a pilot the way the terminal sends it (Ctrl+Space arrives as
Ctrl+@ from most terminals); the store is a real SQLite file with sample history.
"""

from __future__ import annotations

import zipfile

import pytest

from imgtui.store import Store
from imgtui.tui import testing
from imgtui.tui.screens.confirm import ConfirmScreen
from imgtui.tui.screens.name import NameScreen
from imgtui.tui.screens.search import HistoryFilter
from tests.tui.pilot import SIZE, asking, settled, wait_for


@pytest.fixture
def history(tmp_path):
    store = Store(tmp_path / "data")
    store.open()
    tasks = testing.sample_history(store)
    store.close()
    return [t.id for t in reversed(tasks)]  # as the list shows them: newest first


@pytest.mark.parametrize("mark_key", ["ctrl+@", "ctrl+space"])
async def test_mark_keys_range_all_invert_none(make_app, history, mark_key):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        lst = app.task_list
        assert [c.imgtask.id for c in lst.cards] == history
        lst.focus()
        await pilot.press(mark_key)
        assert lst.marked_ids == history[:1]
        await pilot.press("shift+down", "shift+down")  # a range, marking as it moves
        assert lst.marked_ids == history[:3]
        assert lst.index == 2
        assert "3 marked" in app.sub_title
        assert [c.has_class("-marked") for c in lst.cards] == [True, True, True, False, False]
        await pilot.press("alt+i")  # invert
        assert lst.marked_ids == history[3:]
        assert app.composer.text == ""  # alt+i is a key, not the letter i
        await pilot.press("escape")  # unmark all; the focus stays
        assert lst.marked == set() and app.focused is lst
        assert "marked" not in app.sub_title
        await pilot.press("ctrl+a")
        assert lst.marked_ids == history
        await pilot.press("escape", "home", "insert")  # Insert marks and moves down
        assert lst.marked_ids == history[:1] and lst.index == 1
        await pilot.press(mark_key)
        assert lst.marked_ids == history[:2]
        await pilot.press(mark_key)  # again: unmarks
        assert lst.marked_ids == history[:1]
        await pilot.press("escape", "escape")  # nothing marked: Esc goes to the composer
        assert app.focused is app.composer.area


async def test_shift_arrows_extend_and_shrink_a_range_from_its_anchor(make_app, history):
    """Shift+Up/Down as in file managers: the range runs from the anchor (where the first
    Shift+arrow started) to the cursor; moving back toward the anchor unmarks what the
    range added, never a mark made otherwise; any other move starts a new range."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        lst = app.task_list
        lst.focus()
        await pilot.press("ctrl+@", "down", "down")  # history[0] marked by hand
        await pilot.press("shift+down", "shift+down")  # anchor: history[2]
        assert lst.marked_ids == [history[0], *history[2:5]] and lst.index == 4
        await pilot.press("shift+up")  # back toward the anchor: unmarks
        assert lst.marked_ids == [history[0], *history[2:4]]
        await pilot.press("shift+up")
        assert lst.marked_ids == [history[0], history[2]]
        await pilot.press("shift+up")  # past the anchor: the range grows upward
        assert lst.marked_ids == history[:3] and lst.index == 1
        await pilot.press("shift+down")  # back: history[1] unmarked, the hand mark stays
        assert lst.marked_ids == [history[0], history[2]] and lst.index == 2
        await pilot.press("down")  # a plain move ends the range
        await pilot.press("shift+down")  # a new anchor: history[3]
        assert lst.marked_ids == [history[0], *history[2:5]]
        await pilot.press("shift+up", "shift+up")  # back past the new anchor
        assert lst.marked_ids == [history[0], *history[2:4]] and lst.index == 2
        await pilot.press("escape")
        assert lst.marked == set()


async def test_batch_actions_on_marked_tasks(make_app, history, tmp_path, server):
    app = make_app(output_dir=tmp_path / "out")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        lst = app.task_list
        lst.focus()
        done, three = history[4], history[3]  # the two tasks with final images
        await lst.select(three)
        await pilot.press("shift+down")  # marks both
        assert lst.marked_ids == [three, done]

        await pilot.press("f6")  # add to a collection: asks the name
        await wait_for(pilot, lambda: isinstance(app.screen, NameScreen), what="the name modal")
        app.screen.query_one("#name-input").value = "Keepers"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, NameScreen), what="closed")
        await app.history.drain(10)
        assert app.store.collections() == {"Keepers": 2}

        await pilot.press("ctrl+k")  # star both
        assert app.tasks[three].starred and app.tasks[done].starred
        await pilot.press("ctrl+s")  # save: 3 images of `three` + 1 of `done`
        await wait_for(
            pilot,
            lambda: (tmp_path / "out").is_dir() and len(list((tmp_path / "out").iterdir())) == 4,
            what="the saved images",
        )
        await pilot.press("ctrl+c")
        assert app.clipboard.splitlines() == [
            *map(str, app.tasks[three].images),
            *map(str, app.tasks[done].images),
        ]
        exported = await app.batch.export(lst.marked_ids)
        with zipfile.ZipFile(exported) as z:
            names = z.namelist()
        assert "manifest.json" in names and len([n for n in names if n.endswith(".png")]) == 4

        requests = len(server.requests)
        await pilot.press("f5")  # retry both
        # the sample tasks ran on gpt-image-1 (shut down): one question for both
        await wait_for(pilot, lambda: asking(app), what="the question")
        assert "Retry these 2 tasks anyway?" in str(app.screen.query_one("#question").render())
        await pilot.press("y")
        await wait_for(pilot, lambda: len(app.tasks) == 7, what="two retries")
        assert len(server.requests) > requests

        await pilot.press("delete")  # asks, naming how many
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        assert "Delete 2 tasks and their images?" in str(app.screen.query_one("#question").render())
        await pilot.press("y")
        await wait_for(pilot, lambda: three not in app.tasks and done not in app.tasks, what="gone")
        assert lst.marked == set()
        await app.history.drain(10)
        assert app.store.get(three) is None and app.store.get(done) is None
        assert app.store.collections() == {}


async def test_no_marks_act_on_the_selected_task_only(make_app, history):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        lst = app.task_list
        lst.focus()
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        question = str(app.screen.query_one("#question").render())
        assert "a bowl of ramen" in question  # the one selected task, by its prompt
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), what="closed")
        assert set(app.tasks) == set(history)


async def test_collection_view_and_taking_tasks_out(make_app, history):
    """A collection shows through Find's collection choice; the palette's *Remove from this
    collection* takes the marked tasks out (they stay in history)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        lst = app.task_list
        lst.focus()
        await pilot.press("ctrl+a", "f6")
        await wait_for(pilot, lambda: isinstance(app.screen, NameScreen), what="the name modal")
        app.screen.query_one("#name-input").value = "Everything"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, NameScreen), what="closed")
        await app.history.drain(10)
        assert app.store.collections() == {"Everything": 5}
        await pilot.press("escape")

        await app.apply_filter(HistoryFilter(collection="Everything"))
        assert [c.imgtask.id for c in lst.cards] == history
        assert "showing collection Everything" in app.sub_title
        await pilot.press("ctrl+@", "down", "ctrl+@")
        app.action_batch_selected("uncollect")
        await wait_for(pilot, lambda: len(lst.cards) == 3, what="the collection without two")
        assert [c.imgtask.id for c in lst.cards] == history[2:]
        assert app.store.collections() == {"Everything": 3}
        assert app.store.get(history[0]) is not None  # still in history
        assert lst.marked == set()
