"""Prompt history (issue 14, item 3): Up/Down in an empty composer recall earlier prompts,
Ctrl+R searches them, and they come back after a restart (from the task history)."""

from __future__ import annotations

from textual.widgets import OptionList

from imgtui.store import Store
from imgtui.tasks import Status
from imgtui.tui import testing
from imgtui.tui.screens.prompt_search import PromptSearchScreen
from tests.tui.pilot import SIZE, RecordingApp, settled, submit, wait_for

DEMO_DELAY = 0.0


def new_app(tmp_path, server) -> RecordingApp:
    return RecordingApp(
        config=testing.demo_config(tmp_path, partial_images=0),
        store=Store(tmp_path / "data"),
        demo_base_url=server.base_url,
        renderer="halfcell",
    )


async def send_all(pilot, prompts: list[str]) -> None:
    tasks = [await submit(pilot, p) for p in prompts]
    await wait_for(pilot, lambda: all(t.status is Status.DONE for t in tasks), 60, "tasks done")
    await settled(pilot)


async def test_up_and_down_walk_earlier_prompts_in_an_empty_composer(tmp_path, server):
    app = new_app(tmp_path, server)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await send_all(pilot, ["a red fox", "a grey owl", "a blue whale"])
        app.composer.area.focus()
        assert app.composer.text == ""
        seen = []
        for key in ("up", "up", "up", "up", "down", "down", "down", "down"):
            await pilot.press(key)
            seen.append(app.composer.text)
        assert seen == [
            "a blue whale", "a grey owl", "a red fox", "a red fox",  # no older one: stays
            "a grey owl", "a blue whale", "", "",
        ]  # fmt: skip
        # Edited text is the user's: Up moves the cursor, it does not replace the text.
        await pilot.press("up", "!")
        assert app.composer.text == "a blue whale!"
        await pilot.press("up")
        assert app.composer.text == "a blue whale!"


async def test_prompts_come_back_after_a_restart(tmp_path, server):
    app = new_app(tmp_path, server)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await send_all(pilot, ["first prompt", "second prompt", "first prompt"])
    again = new_app(tmp_path, server)
    async with again.run_test(size=SIZE) as pilot:
        await settled(pilot)
        again.composer.area.focus()
        await pilot.press("up")
        assert again.composer.text == "first prompt"  # its newest use; once
        await pilot.press("up")
        assert again.composer.text == "second prompt"
        await pilot.press("up")
        assert again.composer.text == "second prompt"


async def test_ctrl_r_searches_earlier_prompts(tmp_path, server):
    app = new_app(tmp_path, server)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await send_all(pilot, ["a [b]red[/b] fox", "a grey owl at night", "a grey cat"])
        app.composer.area.focus()
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptSearchScreen), what="search")
        screen = app.screen
        assert isinstance(screen, PromptSearchScreen)
        assert screen.found == ["a grey cat", "a grey owl at night", "a [b]red[/b] fox"]
        await pilot.press(*"grey")
        assert screen.found == ["a grey cat", "a grey owl at night"]
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: app.screen is not screen, what="search closed")
        assert app.composer.text == "a grey owl at night"

        # Markup in a prompt is shown as typed; no match says so; Escape changes nothing.
        await pilot.press("ctrl+r", *"[b]")
        search = app.screen
        assert isinstance(search, PromptSearchScreen)
        assert search.found == ["a [b]red[/b] fox"]
        shown = search.query_one("#prompts", OptionList).get_option_at_index(0).prompt
        assert str(shown) == "a [b]red[/b] fox"
        await pilot.press(*"zebra")
        assert search.found == []
        assert "No earlier prompt matches." in str(search.query_one("#found").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is not search, what="search closed")
        assert app.composer.text == "a grey owl at night"
