"""The settings screen and the profile picker, driven by a pilot on a bare host app.

Each test uses a real config file under tmp_path and the real `config.save`; the screen is
pushed on a host app and its dismiss value captured (oterm's modal tests do the same).
"""

from __future__ import annotations

import html
import os
import re
import stat
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Input, Select, Static, TextArea

from imgtui import config as cfg
from imgtui.config import DEMO_URL, Config, Profile, Settings
from imgtui.tui.notices import NoticeLog
from imgtui.tui.screens.confirm import ConfirmScreen
from imgtui.tui.screens.settings import (
    ImportLinkScreen,
    ProfilePicker,
    SettingsScreen,
    format_pairs,
    parse_pairs,
)

SECRET = "sk-proj-TOPSECRET0123456789zzzz"  # must never be rendered
SIZE = (120, 40)


class Host(NoticeLog):
    """Pushes one screen at start and records what it dismissed with."""

    def __init__(self, make_screen) -> None:
        super().__init__()
        self.make_screen = make_screen
        self.results: list[object] = []
        self.copied: list[str] = []

    def on_mount(self) -> None:
        self.push_screen(self.make_screen(), self.results.append)

    def copy_to_clipboard(self, text: str) -> None:  # no OSC 52 in tests; remember what was copied
        self.copied.append(text)


def make_config(tmp_path: Path, *, active: str = "OpenAI") -> Config:
    config = Config(
        path=tmp_path / "config.toml",
        profiles=[
            Profile("Demo", DEMO_URL, partial_images=3),
            Profile("OpenAI", "https://api.openai.com/v1", api_key="${IMGTUI_TEST_KEY}"),
            Profile(
                "Literal",
                "https://example.com/v1",
                api_key=SECRET,
                headers={"X-Org": "acme"},
                query={"api-version": "2025-04-01-preview"},
                timeout=120,
            ),
        ],
        settings=Settings(active_profile=active),
    )
    cfg.save(config)
    return config


@pytest.fixture
def config(tmp_path, monkeypatch) -> Config:
    monkeypatch.setenv("IMGTUI_CONFIG_FILE", str(tmp_path / "config.toml"))
    monkeypatch.delenv("IMGTUI_TEST_KEY", raising=False)
    return make_config(tmp_path)


def on_disk(config: Config) -> Config:
    return cfg.load(config.path)


def screen_of(app: Host) -> SettingsScreen:
    screen = app.screen
    assert isinstance(screen, SettingsScreen), screen
    return screen


async def highlight(pilot, name: str) -> None:
    screen = screen_of(pilot.app)
    plist = screen.profile_list
    plist.focus()
    plist.highlighted = plist.get_option_index(name)
    await pilot.pause()
    assert screen.editing == name


def set_value(screen: SettingsScreen, field: str, value: str) -> None:
    widget = screen.query_one(f"#f-{field}")
    if isinstance(widget, Input):
        widget.value = value
    elif isinstance(widget, TextArea):
        widget.text = value
    elif isinstance(widget, Select):
        widget.value = value
    else:  # Switch
        widget.value = value


def error_text(screen: SettingsScreen, field: str) -> str:
    label = screen.query_one(f"#err-{field}", Static)
    return str(label.render()) if label.has_class("-shown") else ""


def screen_text(app: App) -> str:
    """The visible text of the screen (from the SVG screenshot: what a user or a snapshot sees)."""
    svg = app.export_screenshot()
    return html.unescape("".join(re.findall(r"<text[^>]*>(.*?)</text>", svg))).replace("\xa0", " ")


# -- pure helpers ------------------------------------------------------------------------


def test_pairs_round_trip() -> None:
    pairs = {"api-version": "2025-04-01-preview", "X-Org": "a:b"}
    assert parse_pairs(format_pairs(pairs)) == (pairs, None)
    assert parse_pairs("# comment\n\n a : 1 \n") == ({"a": "1"}, None)
    assert parse_pairs("novalue")[1] == "line 1: expected `name: value`"
    assert parse_pairs("a: 1\na: 2")[1] == "line 2: a is given twice"


# -- add, edit, validate -----------------------------------------------------------------


async def test_add_profile_is_saved_private(config) -> None:
    app = Host(lambda: SettingsScreen(config))
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        await pilot.press("a")
        assert screen.editing is None
        assert app.focused is screen.query_one("#f-name")
        await pilot.press("ctrl+u", *"Azure")  # typed, as a user would
        set_value(screen, "base_url", "https://x.openai.azure.com/openai/v1")
        set_value(screen, "api_key", "${AZURE_KEY}")
        set_value(screen, "api_mode", "responses")
        set_value(screen, "mainline_model", "gpt-5-mini")
        set_value(screen, "partial_images", "1")
        set_value(screen, "timeout", "300")
        set_value(screen, "headers", "X-Team: imaging\n")
        set_value(screen, "query", "api-version: 2025-04-01-preview")
        await pilot.pause()
        assert screen.dirty
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert screen.editing == "Azure" and not screen.dirty
        assert screen.profile_list.highlighted_option.id == "Azure"
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == ["OpenAI"]  # something changed: the active profile's name
    saved = on_disk(config).get("Azure")
    assert saved == Profile(
        "Azure",
        "https://x.openai.azure.com/openai/v1",
        api_key="${AZURE_KEY}",
        api_mode="responses",
        mainline_model="gpt-5-mini",
        partial_images=1,
        timeout=300,
        headers={"X-Team": "imaging"},
        query={"api-version": "2025-04-01-preview"},
    )
    assert stat.S_IMODE(os.stat(config.path).st_mode) == 0o600
    assert config.get("Azure") == saved  # the caller's config object follows


async def test_edit_profile(config) -> None:
    app = Host(lambda: SettingsScreen(config))
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        await highlight(pilot, "Literal")
        await pilot.press("e")
        set_value(screen, "name", "Example")
        set_value(screen, "model", "gpt-image-1.5")
        set_value(screen, "stream", False)
        await pilot.pause()
        assert screen.query_one("#f-partial_images", Input).disabled  # partials need streaming
        assert screen.query_one("#f-mainline_model", Input).disabled  # images mode
        await pilot.press("enter")  # Enter in a field saves
        await pilot.pause()
    on_file = on_disk(config)
    assert on_file.names() == ["Demo", "OpenAI", "Example"]
    edited = on_file.get("Example")
    assert (edited.model, edited.stream, edited.api_key, edited.timeout) == (
        "gpt-image-1.5",
        False,
        SECRET,
        120,
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("base_url", "ftp://example.com", "must start with http:// or https://"),
        ("partial_images", "7", "7: must be 0 to 3"),
        ("name", "Demo", "already exists"),
        ("headers", "no colon here", "line 1: expected `name: value`"),
        ("timeout", "0", "must be more than 0"),
    ],
)
async def test_invalid_field_shows_inline_and_writes_nothing(config, field, value, message) -> None:
    before = config.path.read_bytes()
    app = Host(lambda: SettingsScreen(config))
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        await highlight(pilot, "Literal")
        set_value(screen, field, value)
        await pilot.pause()
        assert message in error_text(screen, field)  # shown next to the field while typing
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert message in error_text(screen, field)
        assert screen.dirty  # the edit is kept for fixing
    assert config.path.read_bytes() == before
    assert config.get("Literal").base_url == "https://example.com/v1"


async def test_save_failure_keeps_edits(config) -> None:
    def broken_save(_: Config) -> None:
        raise PermissionError(13, "Permission denied")

    app = Host(lambda: SettingsScreen(config, save=broken_save))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = screen_of(app)
        set_value(screen, "model", "other-model")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert screen.dirty and screen.query_one("#f-model", Input).value == "other-model"
        assert any(n.severity == "error" and "Permission denied" in n.message for n in app.notices)
    assert (
        config.get("OpenAI").model == "gpt-image-2.6-sunburst"
    )  # the live config did not change either


# -- list actions ------------------------------------------------------------------------


async def test_delete_asks_first(config) -> None:
    app = Host(lambda: SettingsScreen(config))
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        await highlight(pilot, "Literal")
        await pilot.press("delete")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert on_disk(config).names() == ["Demo", "OpenAI", "Literal"]
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is screen
        assert screen.editing == "OpenAI"  # the row above the deleted last one
    assert on_disk(config).names() == ["Demo", "OpenAI"]


async def test_deleting_the_active_profile_says_which_is_active_now(config) -> None:
    """Issue 14.10: another profile becomes active explicitly, and the toast names it."""
    app = Host(lambda: SettingsScreen(config))
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        await highlight(pilot, "OpenAI")  # the active one
        await pilot.press("delete")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "It is the active profile." in str(app.screen.query_one("#question").render())
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is screen
        assert any(
            n.message == "Deleted OpenAI. Literal is now the active profile." for n in app.notices
        )
        first_line = str(screen.profile_list.get_option("Literal").prompt).splitlines()[0]
        assert first_line.startswith("●")
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == ["Literal"]
    assert on_disk(config).settings.active_profile == "Literal"


async def test_reordering_keeps_the_default_active_profile(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("IMGTUI_TEST_KEY", "sk-test")
    config = make_config(tmp_path, active="")  # no choice saved: the first profile is active
    assert config.active().name == "Demo"
    app = Host(lambda: SettingsScreen(config))
    async with app.run_test(size=SIZE) as pilot:
        await highlight(pilot, "Literal")
        await pilot.press("[", "[")
        await pilot.pause()
        assert on_disk(config).names() == ["Literal", "Demo", "OpenAI"]
        assert on_disk(config).active().name == "Demo"
        assert on_disk(config).settings.active_profile == "Demo"


async def test_reorder_make_active_duplicate(config) -> None:
    app = Host(lambda: SettingsScreen(config))
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        await highlight(pilot, "Literal")
        await pilot.press("[")
        await pilot.pause()
        assert on_disk(config).names() == ["Demo", "Literal", "OpenAI"]
        await pilot.press("ctrl+up")
        await pilot.pause()
        assert on_disk(config).names() == ["Literal", "Demo", "OpenAI"]
        await pilot.press("]")
        await pilot.pause()
        assert on_disk(config).names() == ["Demo", "Literal", "OpenAI"]
        assert screen.profile_list.highlighted_option.id == "Literal"

        await pilot.press("m")
        await pilot.pause()
        assert on_disk(config).settings.active_profile == "Literal"
        first_line = str(screen.profile_list.get_option("Literal").prompt).splitlines()[0]
        assert first_line.startswith("●")

        await pilot.press("d")
        await pilot.pause()
        assert screen.editing == "Literal (copy)"
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == ["Literal"]
    on_file = on_disk(config)
    assert on_file.names() == ["Demo", "Literal", "OpenAI", "Literal (copy)"]
    copy = on_file.get("Literal (copy)")
    assert (copy.api_key, copy.headers, copy.timeout) == (SECRET, {"X-Org": "acme"}, 120)


async def test_escape_with_unsaved_changes_asks(config) -> None:
    before = config.path.read_bytes()
    app = Host(lambda: SettingsScreen(config))
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        set_value(screen, "model", "changed")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # keep editing
        await pilot.pause()
        assert app.screen is screen and screen.query_one("#f-model", Input).value == "changed"
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("y")  # discard
        await pilot.pause()
    assert app.results == [None]  # nothing was saved
    assert config.path.read_bytes() == before


async def test_moving_away_from_unsaved_edits_asks(config) -> None:
    app = Host(lambda: SettingsScreen(config))
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        set_value(screen, "model", "changed")
        await pilot.pause()
        screen.profile_list.focus()
        await pilot.press("down")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert screen.editing == "OpenAI" and screen.profile_list.highlighted_option.id == "OpenAI"
        await pilot.press("down")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert screen.editing == "Literal" and not screen.dirty


# -- share links -------------------------------------------------------------------------

LINK = (
    "https://gpt-image-playground.cooksleep.dev/?apiUrl=https%3A%2F%2Fcode0.ai&apiKey=sk-shared-key-abcdefgh1234"
    "&apiMode=responses&model=gpt-5.5&profileName=Code0&streamImages=false&streamPartialImages=1"
)


async def test_import_share_link(config) -> None:
    app = Host(lambda: SettingsScreen(config))
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        await pilot.press("i")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ImportLinkScreen)
        link_box = modal.query_one("#import-url", Input)
        assert link_box.password  # a link may carry a key
        link_box.value = LINK
        await pilot.pause()
        preview = str(modal.query_one("#import-preview", Static).render())
        assert "Code0" in preview and "sk-shared-key" not in preview
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen
        assert screen.editing == "Code0"
        assert screen.profile_list.highlighted_option.id == "Code0"
        assert "sk-shared-key-abcdefgh1234" not in screen_text(app)
    imported = on_disk(config).get("Code0")
    assert imported is not None
    assert (
        imported.base_url,
        imported.api_mode,
        imported.mainline_model,
        imported.stream,
        imported.partial_images,
        imported.api_key,
    ) == ("https://code0.ai/v1", "responses", "gpt-5.5", False, 1, "sk-shared-key-abcdefgh1234")


async def test_import_invalid_link_changes_nothing(config) -> None:
    before = config.path.read_bytes()
    app = Host(lambda: SettingsScreen(config))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        await pilot.pause()
        modal = app.screen
        modal.query_one(
            "#import-url", Input
        ).value = "https://example.com/?apiMode=images&profileName=Nope"
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is modal  # stays open with the reason
        assert "no apiUrl" in str(modal.query_one("#import-preview", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
    assert config.path.read_bytes() == before


async def test_copy_link_leaves_key_out_unless_asked(config) -> None:
    app = Host(lambda: SettingsScreen(config))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await highlight(pilot, "Literal")
        await pilot.press("c")
        await pilot.pause()
        assert len(app.copied) == 1
        assert SECRET not in app.copied[0] and "apiKey" not in app.copied[0]
        assert cfg.profile_from_share_url(app.copied[0]).base_url == "https://example.com/v1"
        warnings = [n.message for n in app.notices if n.severity == "warning"]
        assert any(
            "extra headers" in w and "timeout (s)" in w for w in warnings
        )  # share_url_losses
        assert all(SECRET not in n.message for n in app.notices)

        await pilot.press("C")  # the explicit variant asks first
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert len(app.copied) == 1
        await pilot.press("C")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert len(app.copied) == 2 and SECRET in app.copied[1]
        assert SECRET not in screen_text(app)


async def test_copy_link_of_demo_is_refused(config) -> None:
    app = Host(lambda: SettingsScreen(config))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await highlight(pilot, "Demo")
        await pilot.press("c")
        await pilot.pause()
        assert app.copied == []
        assert any(n.severity == "error" and "demo" in n.message for n in app.notices)


# -- the key on screen -------------------------------------------------------------------


async def test_key_is_never_rendered(config) -> None:
    app = Host(
        lambda: SettingsScreen(config, environ={"IMGTUI_TEST_KEY": "sk-from-env-5555666677778888"})
    )
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        await highlight(pilot, "Literal")
        key_box = screen.query_one("#f-api_key", Input)
        assert key_box.value == SECRET and key_box.password
        key_box.focus()
        await pilot.pause()
        text = screen_text(app)
        assert SECRET not in text and SECRET[-12:] not in text
        assert "set (sk-…zzzz)" in text  # the masked status
        key_box.value = "$" + SECRET  # not a reference: stays masked
        await pilot.pause()
        assert key_box.password and SECRET not in screen_text(app)
        key_box.value = SECRET
        await pilot.pause()
        await highlight(pilot, "OpenAI")
        text = screen_text(app)
        assert "${IMGTUI_TEST_KEY} → set" in text
        assert "sk-from-env" not in text
        assert not screen.query_one("#f-api_key", Input).password  # a reference is not secret


# -- connection test ---------------------------------------------------------------------


async def run_test_connection(pilot, screen: SettingsScreen) -> str:
    await pilot.press("t")
    await pilot.pause()
    await screen.workers.wait_for_complete()
    await pilot.pause()
    return str(screen.query_one("#test-result", Static).render())


async def test_connection_ok_and_failure(config, server) -> None:
    app = Host(lambda: SettingsScreen(config, demo_base_url=server.base_url))
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        await highlight(pilot, "Demo")
        assert "OK" in await run_test_connection(pilot, screen)

        await highlight(pilot, "Literal")
        set_value(screen, "base_url", server.base_url)
        await pilot.pause()
        screen.profile_list.focus()
        assert "OK" in await run_test_connection(pilot, screen)

        set_value(screen, "base_url", server.fault_url("auth"))
        await pilot.pause()
        result = await run_test_connection(pilot, screen)
        assert result.startswith("✗") and "OK" not in result
        assert screen.query_one("#test-result").has_class("-failed")
        assert SECRET not in result
    assert (
        on_disk(config).get("Literal").base_url == "https://example.com/v1"
    )  # testing saves nothing


async def test_connection_of_demo_profile_starts_the_embedded_server(config) -> None:
    app = Host(lambda: SettingsScreen(config))  # no demo_base_url anywhere: the screen starts one
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        await highlight(pilot, "Demo")
        assert "OK" in await run_test_connection(pilot, screen)
        assert screen.demo_base_url and screen.demo_base_url.startswith("http://127.0.0.1:")


# -- the picker --------------------------------------------------------------------------


async def test_profile_picker(config) -> None:
    app = Host(lambda: ProfilePicker(config.profiles, active="OpenAI"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "enter")
        await pilot.pause()
    assert app.results == ["Literal"]

    app = Host(lambda: ProfilePicker(config))
    async with app.run_test(size=SIZE) as pilot:
        assert SECRET not in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]

    app = Host(lambda: ProfilePicker(config))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        await pilot.pause()
    assert app.results == ["Demo"]


# -- snapshot ----------------------------------------------------------------------------


def test_settings_snapshot(snap_compare) -> None:
    config = Config(
        path=Path(
            "/tmp/imgtui-settings-snapshot/config.toml"
        ),  # shown in the title; never written here
        profiles=[
            Profile("Demo", DEMO_URL, partial_images=3),
            Profile(
                "OpenAI",
                "https://api.openai.com/v1",
                api_key="${IMGTUI_SNAPSHOT_KEY}",
                query={"api-version": "2025-04-01-preview"},
            ),
        ],
        settings=Settings(active_profile="OpenAI"),
    )
    app = Host(lambda: SettingsScreen(config, environ={}))
    assert snap_compare(app, terminal_size=SIZE)


# -- the form is the field table ------------------------------------------------------------


async def test_every_table_field_has_a_control_and_the_new_fields_save(config) -> None:
    app = Host(lambda: SettingsScreen(config))
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        for f in cfg.PROFILE_FIELDS:
            assert screen.query_one(f"#f-{f.name}") is not None, f.name
        await highlight(pilot, "Literal")
        set_value(screen, "deadline", "1200")
        set_value(screen, "max_concurrent", "2")
        set_value(screen, "daily_limit_usd", "3.5")
        set_value(screen, "transparent_method", "local")
        set_value(screen, "size_in_prompt", True)
        set_value(screen, "omit_params", "size, quality")
        set_value(screen, "price_overrides", "gpt-image-2: image_output=28")
        await pilot.pause()
        set_value(screen, "max_concurrent", "0")
        await pilot.pause()
        assert "must be 1 to 32" in error_text(screen, "max_concurrent")
        set_value(screen, "max_concurrent", "2")
        set_value(screen, "price_overrides", "gpt-image-2: image_outptu=28")
        await pilot.pause()
        assert "unknown rate" in error_text(screen, "price_overrides")
        set_value(screen, "price_overrides", "gpt-image-2: image_output=28")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not screen.dirty
    saved = on_disk(config).get("Literal")
    assert (
        saved.deadline,
        saved.max_concurrent,
        saved.daily_limit_usd,
        saved.transparent_method,
        saved.size_in_prompt,
        saved.omit_params,
        saved.price_overrides,
    ) == (1200, 2, 3.5, "local", True, ["size", "quality"], {"gpt-image-2": {"image_output": 28}})


async def test_app_settings_are_edited_from_settings_and_saved(config) -> None:
    from imgtui.tui.screens.app_settings import AppSettingsScreen

    app = Host(lambda: SettingsScreen(config))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+g")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, AppSettingsScreen)
        assert modal.query_one("#f-notify").value is True
        modal.query_one("#f-notify").value = False
        modal.query_one("#f-renderer", Select).value = "halfcell"
        modal.query_one("#f-n", Input).value = "11"
        await pilot.pause()
        assert "must be 1 to 10" in str(modal.query_one("#err-n", Static).render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is modal  # not applied while a field is wrong
        modal.query_one("#f-n", Input).value = "2"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
    saved = on_disk(config).settings
    assert (saved.notify, saved.renderer, saved.n, saved.active_profile) == (
        False,
        "halfcell",
        2,
        "OpenAI",
    )
    assert config.settings.notify is False  # the live config follows
