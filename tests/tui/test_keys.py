"""Input you can trust (issue 13, items 1-4 and 9): pilot tests against the real demo server.

"Keys in one read" are fed the way Textual's driver delivers them: one raw string parsed by
the driver's own parser, every key posted to the app before any is handled
(`imgtui.tui.terminal.feed_keys`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
from textual.widgets import Input

from imgtui.store import Store
from imgtui.tasks import Status, Task
from imgtui.tui import testing
from imgtui.tui.app import ImgtuiApp
from imgtui.tui.screens.params import ParamsScreen
from imgtui.tui.screens.search import SearchScreen
from imgtui.tui.terminal import feed_keys
from imgtui.tui.widgets.task_card import TaskCard

DEMO_DELAY = 0.02
SIZE = (120, 40)
CTRL_U, LEFT = "\x15", "\x1b[D"


@pytest.fixture
def make_app(tmp_path, server):
    """`make(cls, **config)`: an app of class `cls` on the demo server."""

    def make(cls=ImgtuiApp, **config):
        return cls(
            config=testing.demo_config(tmp_path, **config),
            store=Store(tmp_path / "data"),
            demo_base_url=server.base_url,
            renderer="halfcell",
        )

    return make


async def until(pilot, predicate, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def idle(pilot) -> None:
    """Every key fed so far handled (the app's key queue drains in a few passes)."""
    for _ in range(5):
        await pilot.pause()


async def ready(pilot) -> None:
    await pilot.pause()


# -- 4. keys in one read keep their order -----------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(f"abc{CTRL_U}xyz", "xyz"), (f"hello{LEFT}X", "hellXo")],
    ids=["ctrl-u", "left"],
)
async def test_composer_keys_in_one_read_keep_their_order(make_app, raw, expected):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.focused is app.composer.area
        feed_keys(app, raw)
        await idle(pilot)
        assert app.composer.text == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(f"abc{CTRL_U}xyz", "xyz"), (f"hello{LEFT}X", "hellXo")],
    ids=["ctrl-u", "left"],
)
async def test_f2_and_settings_inputs_keep_the_order(make_app, raw, expected):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, ParamsScreen), "F2")
        await until(pilot, lambda: isinstance(app.focused, Input), "an input focused")
        field = app.focused
        assert isinstance(field, Input)
        field.value = ""
        feed_keys(app, raw)
        await idle(pilot)
        assert field.value == expected
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ParamsScreen), "F2 closed")

        await pilot.press("f3")
        await until(pilot, lambda: app.screen.query("#f-name"), "settings")
        name = app.screen.query_one("#f-name", Input)
        name.focus()
        await pilot.pause()
        name.value = ""
        feed_keys(app, raw)
        await idle(pilot)
        assert name.value == expected


# -- 1. a key a modal handles never reaches the screen beneath ---------------------------


async def test_enter_in_find_does_not_send_the_draft(make_app, server):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        requests_before = len(server.requests)
        app.composer.set_text("an unsent draft")
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, SearchScreen), "Find")
        await pilot.press("tab")  # to the status choice: Enter there is the screen's own key
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, SearchScreen), "Find closed")
        await idle(pilot)
        assert app.tasks == {}
        assert app.composer.text == "an unsent draft"
        assert len(server.requests) == requests_before


async def test_enter_in_find_does_not_open_a_task_from_the_list(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        task = Task(prompt="an old one", params={}, profile_name="Demo", api_mode="images")
        app.add_task(task)
        await until(pilot, lambda: app.task_list.cards, "the card")
        app.task_list.focus()
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, SearchScreen), "Find")
        await pilot.press("tab", "enter")
        await idle(pilot)
        assert app.screen is app.screen_stack[0]
        assert len(app.screen_stack) == 1  # no detail view opened beneath


# -- 2. letters typed in the task list go to the composer -------------------------------


async def test_words_typed_in_the_list_become_the_prompt_not_actions(make_app, server):
    app = make_app(partial_images=0)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.composer.set_text("first")
        await pilot.press("enter")
        await until(pilot, lambda: app.tasks, "the task")
        (task,) = app.tasks.values()
        await until(pilot, lambda: task.status is Status.DONE, "done")
        requests_before = len(server.requests)
        app.task_list.focus()
        await pilot.pause()
        feed_keys(app, "rose garden xs")
        await idle(pilot)
        assert app.focused is app.composer.area
        assert app.composer.text == "rose garden xs"
        assert len(app.tasks) == 1 and not task.starred
        assert len(server.requests) == requests_before
        # the deliberate keys still work
        app.task_list.focus()
        await pilot.press("ctrl+k")
        assert task.starred
        await pilot.press("f5")
        await until(pilot, lambda: len(app.tasks) == 2, "the retry")


async def test_focus_shows_on_the_selected_card(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.add_task(Task(prompt="a", params={}, profile_name="Demo", api_mode="images"))
        await until(pilot, lambda: app.task_list.cards, "the card")
        card = app.task_list.cards[0]
        await pilot.pause()
        unfocused = (card.styles.border_left, card.styles.background)
        app.task_list.focus()
        await pilot.pause()
        focused = (card.styles.border_left, card.styles.background)
        assert focused[0] != unfocused[0] and focused[1] != unfocused[1]


# -- 3. no crash under load -------------------------------------------------------------


def test_a_card_can_be_updated_before_it_is_composed():
    task = Task(prompt="early", params={}, profile_name="Demo", api_mode="images")
    card = TaskCard(task, "halfcell")
    card.tick()
    card.refresh_task()
    card.set_picture(None, unfinished=True)
    assert card.info_text().startswith("early")


async def test_many_prompts_sent_fast_all_finish(make_app, server):
    """100 prompts typed 50 ms apart, each with its Enter in the same read (the pace that
    crashed the app with `NoMatches` from the card timer): every task ends done."""
    app = make_app(partial_images=0)
    count = 100
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        # JPEG: the pace and the cards are what is tested, and a PNG costs the demo server
        # and the picture threads several times as much per image (100 of them here)
        app.set_params(replace(app.params, output_format="jpeg"))
        for i in range(count):
            feed_keys(app, f"p{i}\r")
            await asyncio.sleep(0.05)  # the pace is what is tested: no event to wait for
        await until(pilot, lambda: len(app.tasks) == count, "every prompt sent", timeout=60)
        await until(
            pilot,
            lambda: all(t.status.ended for t in app.tasks.values()),
            "every task ended",
            timeout=120,
        )
        assert {t.status for t in app.tasks.values()} == {Status.DONE}
        assert sorted(t.prompt for t in app.tasks.values()) == sorted(f"p{i}" for i in range(count))
        assert len(app.task_list.task_ids) == count
        assert app.is_running


# -- 9. prompts sent before the history loaded are kept ---------------------------------


class EarlyPromptApp(ImgtuiApp):
    """Sends a prompt while mounting, before the history store has opened."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.errors: list[str] = []

    def on_mount(self) -> None:
        self.early = self.submit("sent at once")

    def notify(self, message, *args, **kwargs) -> None:
        if kwargs.get("severity") == "error":
            self.errors.append(str(message))
        super().notify(message, *args, **kwargs)


async def test_a_prompt_sent_before_history_loaded_is_saved(make_app, tmp_path):
    app = make_app(EarlyPromptApp, partial_images=0)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.early.status is Status.DONE, "done")
        await asyncio.wait_for(app.history_loaded.wait(), 10)
        await asyncio.wait_for(app.shutdown(), 10)
        assert app.errors == []
    stored = Store(tmp_path / "data")
    stored.open()
    (task,) = stored.load(limit=10)
    assert task.prompt == "sent at once" and task.status is Status.DONE


async def test_attachments_set_before_the_composer_is_composed_are_shown_once_it_is(tmp_path):
    """Issue 13.3: a handler may touch the composer before its chips row exists (seen
    under load as NoMatches '#chips'); nothing raises, and the chips appear on mount."""
    from textual.app import App

    from imgtui.tui.widgets.composer import Attachments, Composer

    picture = tmp_path / "ref.png"
    composer = Composer(id="composer")
    composer.set_attachments(Attachments([picture]))  # not composed: no error

    class Host(App[None]):
        def compose(self):
            yield composer

    async with Host().run_test() as pilot:
        await pilot.pause()
        chips = [str(c.label) for c in composer.query("Chip")]
        assert chips == ["▣ ref.png ✕"]


async def test_a_card_names_the_image_it_shows(tmp_path):
    """n=4 whose image 2 finished first: the card shows image 2 and says so (it said
    "image 1 of 4" whatever it showed); without a slot, the first final is meant."""
    from PIL import Image
    from textual.app import App

    from imgtui.tasks import Slot

    task = Task(prompt="four", params={"n": 4}, profile_name="Demo", api_mode="images")
    task.slots = [Slot() for _ in range(4)]
    card = TaskCard(task, "halfcell")

    class Host(App[None]):
        def compose(self):
            yield card

    async with Host().run_test() as pilot:
        picture = Image.new("RGB", (8, 8))
        card.set_picture(picture, unfinished=False, slot=1)
        await pilot.pause()
        assert str(card.query_one("#pic-label").render()) == "image 2 of 4"
        task.slots[2].image_path = tmp_path / "3.png"
        card.set_picture(picture, unfinished=False)  # from history: Task.preview()'s pick
        await pilot.pause()
        assert str(card.query_one("#pic-label").render()) == "image 3 of 4"
