"""One meaning per key and the `?` overlay (issue 14.11; the detail view's keys, issue 13).

Pilot tests against the real demo server with real SQLite files.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from textual.binding import Binding
from textual.selection import SELECT_ALL

import imgtui.tui
from imgtui.tasks import Status
from imgtui.tui.keys import TASK_KEYS
from imgtui.tui.screens.detail import DetailScreen
from imgtui.tui.screens.keys_help import HelpScreen
from imgtui.tui.widgets.composer import PromptArea
from imgtui.tui.widgets.task_list import TaskList
from tests.tui.pilot import SIZE, open_done_task, settled, submit, wait_for

# Keys that move, confirm or leave: their words differ by place, their role does not.
NAVIGATION = {"escape", "enter", "tab", "up", "down", "left", "right", "home", "end"}
# The few keys with two words for one meaning, and why.
SYNONYMS = {
    "ctrl+s": {"Save", "Run all"},  # saves what the screen holds; a batch dialog runs it
    "ctrl+f": {"Attach", "Refine"},  # attach an image for an edit: a file, or this task's
    "delete": {"Delete", "Remove"},
    "f2": {"Params", "Apply"},  # F2 opens the parameters and applies them
}


def imgtui_bindings() -> dict[str, set[tuple[str, str]]]:
    """key -> {(description, class)} over every imgtui class that declares BINDINGS."""
    found: dict[str, set[tuple[str, str]]] = {}
    for info in pkgutil.walk_packages(imgtui.tui.__path__, "imgtui.tui."):
        if info.name.endswith("__main__"):
            continue  # running it starts the app
        module = importlib.import_module(info.name)
        for cls in vars(module).values():
            if inspect.isclass(cls) and cls.__module__ == module.__name__:
                for b in Binding.make_bindings(vars(cls).get("BINDINGS", [])):
                    if b.description:
                        found.setdefault(b.key, set()).add((b.description, cls.__name__))
    return found


def test_every_key_has_one_meaning_across_the_app():
    found = imgtui_bindings()
    assert "ctrl+k" in found and "f5" in found  # the walk reached the list and the detail view
    for key, uses in found.items():
        if key in NAVIGATION:
            continue
        words = {description for description, _ in uses}
        allowed = SYNONYMS.get(key, words if len(words) == 1 else set())
        assert words <= allowed, f"{key} means {sorted(uses)}"


def test_the_list_and_the_detail_view_bind_the_same_task_keys():
    def keys_of(cls) -> dict[str, str]:
        return {
            b.id.removeprefix("task."): b.key
            for b in Binding.make_bindings(cls.BINDINGS)
            if b.id and b.id.startswith("task.")
        }

    in_list, in_detail = keys_of(TaskList), keys_of(DetailScreen)
    shared = set(in_list) & set(in_detail)
    assert shared == {"cancel", "retry", "delete", "save", "copy", "star", "reuse", "refine"}
    for action in shared:
        assert in_list[action] == in_detail[action] == TASK_KEYS[action][0]
    # no letter acts in either (letters in the list type; the detail view has none)
    for cls in (TaskList, DetailScreen):
        for b in Binding.make_bindings(cls.BINDINGS):
            assert not (len(b.key) == 1 and b.key.isalpha()), f"{cls.__name__}: {b.key}"


async def test_detail_view_letters_do_nothing_and_ctrl_keys_act(make_app, server, tmp_path):
    app = make_app(partial_images=0, output_dir=tmp_path / "out")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await open_done_task(pilot, "a lighthouse")
        requests = len(server.requests)
        await pilot.press(*"soerfxc")  # the old letter keys
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        assert list(app.tasks) == [task.id] and len(server.requests) == requests
        assert not (tmp_path / "out").exists() and not task.starred

        await pilot.press("ctrl+k")  # star, as in the list
        await wait_for(pilot, lambda: task.starred, what="the star")
        await wait_for(
            pilot,
            lambda: "★ starred" in str(app.screen.query_one("#dialog").border_title),
            what="the star in the title",
        )
        screen = app.screen
        screen.selections = {screen.query_one("#prompt"): SELECT_ALL}
        await pilot.press("ctrl+c")  # copy: the selected text first
        assert app.clipboard == "Prompt\na lighthouse"
        screen.selections = {}
        await pilot.press("ctrl+c")  # else the image's path
        assert app.clipboard == str(task.images[0])
        await pilot.press("ctrl+s")  # save, as in the list
        await wait_for(
            pilot,
            lambda: (tmp_path / "out").is_dir() and len(list((tmp_path / "out").iterdir())) == 1,
            what="the saved image",
        )
        await app.history.drain(10)
        assert app.store.get(task.id).starred


async def test_list_keys_star_save_copy_and_reuse(make_app, tmp_path):
    app = make_app(partial_images=0, output_dir=tmp_path / "out")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await submit(pilot, "a windmill")
        await wait_for(pilot, lambda: task.status is Status.DONE, what="done")
        await settled(pilot)
        app.task_list.focus()
        await pilot.press("ctrl+k")
        assert task.starred
        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: (tmp_path / "out").is_dir() and len(list((tmp_path / "out").iterdir())) == 1,
            what="the saved image",
        )
        await pilot.press("ctrl+c")
        assert app.clipboard == str(task.images[0])
        await pilot.press("ctrl+e")  # reuse: the prompt back in the composer
        await pilot.pause()
        assert app.composer.text == "a windmill" and app.focused is app.composer.area


async def test_help_overlay_lists_the_focused_screens_keys_from_its_bindings(make_app):
    app = make_app(partial_images=0)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await submit(pilot, "a kite")
        await wait_for(pilot, lambda: task.status is Status.DONE, what="done")
        app.task_list.focus()
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the overlay")
        help_screen = app.screen
        first = help_screen.sections[0]
        assert (first.title, first.focused) == ("Task list", True)
        rows = dict((d, k) for k, d in first.rows)
        for b in Binding.make_bindings(TaskList.BINDINGS):
            if b.description:
                assert app.get_key_display(b) in rows[b.description]
        titles = [s.title for s in help_screen.sections]
        assert titles == ["Task list", "Composer", "Anywhere"]
        assert "Letters and other text typed here go to the composer" in help_screen.text()
        assert app.composer.text == ""  # the ? was not typed
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), what="closed")

        # in the composer ? is text; F1 opens the overlay with the composer first
        app.composer.area.focus()
        await pilot.press("question_mark")
        assert app.composer.text == "?" and not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the overlay")
        assert app.screen.sections[0].title == PromptArea.KEYS_TITLE
        await pilot.press("f1")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), what="closed")

        # over the detail view: its own keys, as the footer shows them
        app.task_list.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the detail view")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the overlay")
        detail = next(s for s in app.screen.sections if s.title == "Detail view")
        shown = {d: k for k, d in detail.rows}
        for b in Binding.make_bindings(DetailScreen.BINDINGS):
            assert app.get_key_display(b) in shown[b.description]
        assert shown["Save"] == "^s" and shown["Retry"] == "f5"
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="back")
