"""A profile on a shut-down model is flagged in settings, with one key (`u`) that switches
it to a current model; the file is never rewritten until that key is pressed."""

from __future__ import annotations

from datetime import date

from textual.app import App

from imgtui import config as cfg
from imgtui.config import Config, Profile, Settings
from imgtui.tui.screens.settings import SettingsScreen
from imgtui.tui.widgets.profile_list import ProfileList

TODAY = date(2026, 11, 30)


class Host(App[None]):
    def __init__(self, screen) -> None:
        super().__init__()
        self.modal = screen
        self.results: list[object] = []

    def on_mount(self) -> None:
        self.push_screen(self.modal, self.results.append)


def option_text(screen: SettingsScreen, name: str) -> str:
    plist = screen.query_one(ProfileList)
    return str(plist.get_option(name).prompt)


def footer_keys(app) -> set[str]:
    return {b.key for _, b, enabled, _ in app.screen.active_bindings.values() if enabled}


async def test_shut_down_model_flagged_and_switched_on_one_key(tmp_path, monkeypatch):
    monkeypatch.setenv("IMGTUI_CONFIG_FILE", str(tmp_path / "config.toml"))
    config = Config(
        path=tmp_path / "config.toml",
        profiles=[
            Profile("Old", "https://relay.example/v1", model="gpt-image-1"),
            Profile("Soon", "https://relay.example/v1", model="gpt-image-1-mini"),
            Profile("Fine", "https://relay.example/v1", model="gpt-image-2.6-flare"),
        ],
        settings=Settings(active_profile="Old"),
    )
    cfg.save(config)
    before = config.path.read_bytes()
    app = Host(SettingsScreen(config, today=TODAY))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.modal
        await pilot.pause()
        old = option_text(screen, "Old")
        assert "⚠ gpt-image-1 shut down 2026-10-23" in old
        assert "u: switch to gpt-image-2.5-sunburst" in old
        assert "⚠ gpt-image-1-mini shuts down 2026-12-01" in option_text(screen, "Soon")
        assert "⚠" not in option_text(screen, "Fine")
        assert config.path.read_bytes() == before  # flagged, not rewritten
        screen.query_one(ProfileList).focus()
        await pilot.pause()
        assert "u" in footer_keys(app)  # the highlighted profile (Old) is flagged

        await pilot.press("u")
        await pilot.pause()
        saved = cfg.load(config.path)
        assert saved.get("Old").model == "gpt-image-2.5-sunburst"
        assert saved.get("Soon").model == "gpt-image-1-mini"  # only the one asked for
        assert "⚠" not in option_text(screen, "Old")
        assert screen.query_one("#f-model").value == "gpt-image-2.5-sunburst"  # the form too
        assert "u" not in footer_keys(app)

        await pilot.press("down")  # Soon
        await pilot.pause()
        assert "u" in footer_keys(app)
        await pilot.press("u")
        await pilot.pause()
        assert cfg.load(config.path).get("Soon").model == "gpt-image-2.6-flare"

        await pilot.press("down")  # Fine: nothing to switch, the key does nothing
        await pilot.pause()
        assert "u" not in footer_keys(app)
        written = config.path.read_bytes()
        await pilot.press("u")
        await pilot.pause()
        assert config.path.read_bytes() == written
