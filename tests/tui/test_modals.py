"""Modals on a bare host app, the result captured from `dismiss` (oterm's pattern)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Input, Select

from imgtui.config import DEMO_URL, Profile
from imgtui.draft import Params
from imgtui.tui.screens.attach import AttachScreen, check_image, complete_path
from imgtui.tui.screens.confirm import ConfirmScreen
from imgtui.tui.screens.params import ParamsScreen
from imgtui.tui.screens.settings import ProfilePicker
from imgtui.tui.widgets.composer import Attachments


class Host(App):
    def __init__(self, screen) -> None:
        super().__init__()
        self.modal = screen
        self.results: list = []

    def on_mount(self) -> None:
        self.push_screen(self.modal, self.results.append)


def _png(path: Path) -> Path:
    from PIL import Image

    Image.new("RGBA", (32, 32), (255, 0, 0, 128)).save(path)
    return path


@pytest.mark.parametrize(
    "keys,expected",
    [
        (["y"], True),
        (["n"], False),
        (["escape"], False),
        (["enter"], False),  # the refusal has focus: an Enter typed ahead deletes nothing
        (["right", "enter"], True),
    ],
)
async def test_confirm(keys, expected):
    app = Host(ConfirmScreen("Delete it?"))
    async with app.run_test() as pilot:
        await pilot.press(*keys)
        await pilot.pause()
    assert app.results == [expected]


PROFILES = [
    Profile("Demo", DEMO_URL, model="gpt-image-1", partial_images=3),
    Profile("Other", "https://example.com/v1", model="gpt-image-2", api_mode="responses"),
]


async def test_params_apply_and_validation():
    app = Host(ParamsScreen(Params(PROFILES[0]), PROFILES))
    async with app.run_test(size=(100, 40)) as pilot:
        screen = app.modal
        screen.query_one("#size", Input).value = "banana"
        await pilot.press("f2")
        await pilot.pause()
        assert app.results == []
        assert "expected auto, WIDTHxHEIGHT" in str(screen.query_one("#error").render())
        screen.query_one("#size", Input).value = "1536x1024"
        screen.query_one("#quality", Select).value = "high"
        screen.query_one("#n", Select).value = 3
        screen.query_one("#partials", Select).value = 1
        await pilot.press("f2")
        await pilot.pause()
    (params,) = app.results
    assert (params.size, params.quality, params.n, params.profile.partial_images) == (
        "1536x1024",
        "high",
        3,
        1,
    )
    assert params.profile.name == "Demo"


async def test_params_transparency_option_reaches_the_task_parameters():
    app = Host(ParamsScreen(Params(PROFILES[0]), PROFILES))
    async with app.run_test(size=(100, 40)) as pilot:
        assert app.modal.query_one("#transparent", Select).value == "off"
        app.modal.query_one("#transparent", Select).value = "local"
        await pilot.press("f2")
        await pilot.pause()
    (params,) = app.results
    assert params.transparent == "local"
    assert params.image_params().transparent == "local"
    again = Host(ParamsScreen(params, PROFILES))
    async with again.run_test(size=(100, 40)) as pilot:
        assert again.modal.query_one("#transparent", Select).value == "local"
        again.modal.query_one("#transparent", Select).value = "off"
        await pilot.press("f2")
        await pilot.pause()
    assert again.results[0].transparent is None


async def test_params_profile_switch_takes_its_model():
    app = Host(ParamsScreen(Params(PROFILES[0]), PROFILES))
    async with app.run_test(size=(100, 40)) as pilot:
        app.modal.query_one("#profile", Select).value = "Other"
        await pilot.pause()
        await pilot.press("f2")
        await pilot.pause()
    (params,) = app.results
    assert (
        params.profile.name == "Other"
        and params.model == "gpt-image-2"
        and params.profile.api_mode == "responses"
    )


async def test_params_escape_returns_none():
    app = Host(ParamsScreen(Params(PROFILES[0]), PROFILES))
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]


async def test_profiles_pick():
    app = Host(ProfilePicker(PROFILES, "Demo"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("down", "enter")
        await pilot.pause()
    assert app.results == ["Other"]


def test_complete_path(tmp_path):
    (tmp_path / "photos").mkdir()
    _png(tmp_path / "sunset.png")
    (tmp_path / "notes.txt").write_text("x")
    assert complete_path(str(tmp_path) + "/ph") == str(tmp_path) + "/photos/"
    assert complete_path(str(tmp_path) + "/sun") == str(tmp_path) + "/sunset.png"
    assert complete_path(str(tmp_path) + "/no") is None  # notes.txt is not an image


def test_check_image(tmp_path):
    good = _png(tmp_path / "a.png")
    assert check_image(str(good), "image") == good.resolve()
    (tmp_path / "b.png").write_text("not an image")
    with pytest.raises(Exception, match="not a PNG"):
        check_image(str(tmp_path / "b.png"), "image")
    with pytest.raises(Exception, match="no such file"):
        check_image(str(tmp_path / "c.png"), "image")


async def test_attach_add_complete_remove(tmp_path):
    _png(tmp_path / "sunset.png")
    _png(tmp_path / "mask.png")
    app = Host(AttachScreen(Attachments()))
    async with app.run_test(size=(110, 40)) as pilot:
        image = app.modal.query_one("#image", Input)
        image.value = str(tmp_path) + "/sun"
        await image.workers.wait_for_complete()  # the suggester runs in the input's worker
        await pilot.pause()  # its SuggestionReady message
        await pilot.press("tab")  # accepts the completion
        assert image.value == str(tmp_path / "sunset.png")
        await pilot.press("enter")
        image.value = str(tmp_path / "missing.png")
        await pilot.press("enter")
        assert "no such file" in str(app.modal.query_one("#error").render())
        mask = app.modal.query_one("#mask", Input)
        mask.value = str(tmp_path / "mask.png")
        mask.focus()
        await pilot.press("enter")
        await pilot.press("escape")
        await pilot.pause()
    (result,) = app.results
    assert result.images == [(tmp_path / "sunset.png").resolve()]
    assert result.mask == (tmp_path / "mask.png").resolve()


async def test_composer_keys():
    from textual import on

    from imgtui.tui.widgets.composer import Composer, PromptArea

    class ComposerHost(App):
        submitted: list[str] = []

        def compose(self):
            yield Composer()

        @on(PromptArea.Submitted)
        def _sub(self, event):
            self.submitted.append(event.text)

    app = ComposerHost()
    app.submitted = []
    async with app.run_test() as pilot:
        app.query_one(PromptArea).focus()
        await pilot.press("a", "ctrl+j", "b", "shift+enter", "c")
        assert app.query_one(PromptArea).text == "a\nb\nc"
        await pilot.press("enter")
        await pilot.pause()
    assert app.submitted == ["a\nb\nc"]
