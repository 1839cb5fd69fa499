"""Every footer shows Quit and `?` (Keys), the screen's essential keys (`keys.ESSENTIAL_KEYS`:
its way out, its save or apply key) and no key cut at the right edge: the main screen at
80x24 and 160x48 (composer or list focused), every dialog and the settings screen, opened
in the app against the demo server with a real SQLite history. Read from the footer's
laid-out keys."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import imgtui.tui.screens
from imgtui.store import Store
from imgtui.tui import testing
from imgtui.tui.keys import ESSENTIAL_KEYS
from imgtui.tui.screens.app_settings import AppSettingsScreen
from imgtui.tui.screens.attach import AttachScreen
from imgtui.tui.screens.batch import BatchScreen
from imgtui.tui.screens.confirm import ConfirmScreen
from imgtui.tui.screens.detail import DetailScreen
from imgtui.tui.screens.dialog import Dialog
from imgtui.tui.screens.import_link import ImportLinkScreen
from imgtui.tui.screens.keys_help import HelpScreen
from imgtui.tui.screens.name import NameScreen
from imgtui.tui.screens.params import ParamsScreen
from imgtui.tui.screens.paths import PathsScreen
from imgtui.tui.screens.profile_picker import ProfilePicker
from imgtui.tui.screens.prompt_search import PromptSearchScreen
from imgtui.tui.screens.search import SearchScreen
from imgtui.tui.screens.settings import SettingsScreen
from imgtui.tui.widgets.key_footer import KeyFooter
from tests.tui.pilot import settled, wait_for

SIZES = [(80, 24), (160, 48)]


@pytest.fixture
def history(tmp_path):
    store = Store(tmp_path / "data")
    store.open()
    testing.sample_history(store)
    store.close()


def footer_keys(screen) -> dict[str, object]:
    """The footer's keys as shown ("^q Quit"; hidden ones and the command palette's
    left out)."""
    footer = screen.query_one(KeyFooter)
    return {
        f"{k.key_display} {k.description}": k
        for k in footer.query("FooterKey")
        if k.display and k.parent.display and not k.has_class("-command-palette")
    }


async def check_footer(pilot, screen, what: str) -> dict[str, object]:
    """Quit and Keys shown, every key whole (it ends before the palette key or the
    footer's right edge); returns the keys shown."""
    footer = screen.query_one(KeyFooter)
    await wait_for(
        pilot,
        lambda: footer.fitted and {"^q Quit", "? Keys"} <= set(footer_keys(screen)),
        timeout=10,
        what=f"Quit and ? in the footer of {what}",
    )
    palette = [k for k in footer.children if k.has_class("-command-palette")]
    edge = palette[0].region.x if palette else footer.region.right
    for text, key in footer_keys(screen).items():
        assert footer.region.x <= key.region.x and key.region.right <= edge, f"{what}: {text}"
    active = screen.active_bindings
    essential = {
        b.binding.id for b in active.values() if b.binding.id in ESSENTIAL_KEYS and b.binding.show
    }
    shown = {active[k.key].binding.id for k in footer_keys(screen).values()}
    assert essential <= shown, f"{what}: {sorted(essential - shown)} hidden"
    return footer_keys(screen)


@pytest.mark.parametrize("size", SIZES)
async def test_main_screen_footer_keeps_quit_and_help(make_app, history, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settled(pilot)
        shown = await check_footer(pilot, app.screen, "the composer")
        assert "⏎ Generate" in shown
        app.task_list.focus()
        await wait_for(
            pilot,
            lambda: "⏎ Open" in footer_keys(app.screen) and app.screen.query_one(KeyFooter).fitted,
            what="the list's keys",
        )
        shown = await check_footer(pilot, app.screen, "the list")
        if size[0] >= 160:  # wide: every key the footer has
            assert {"f5 Retry", "f2 Params", "f4 Find", "f8 Grid"} <= set(shown)
        else:  # narrow: the list's own keys first, the app's that fit after them
            assert {"f5 Retry", "del Delete", "^s Save"} <= set(shown)
            assert "f8 Grid" not in shown, list(shown)


async def test_footer_fits_again_after_a_resize(make_app, history):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        assert "f8 Grid" in await check_footer(pilot, app.screen, "wide")
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: "f8 Grid" not in footer_keys(app.screen), what="refit")
        await check_footer(pilot, app.screen, "narrow")


def dialog_classes() -> set[type]:
    """Every modal screen class of imgtui (the `Dialog` base itself left out)."""
    found: set[type] = set()
    for info in pkgutil.walk_packages(imgtui.tui.screens.__path__, "imgtui.tui.screens."):
        module = importlib.import_module(info.name)
        for cls in vars(module).values():
            if inspect.isclass(cls) and cls.__module__ == module.__name__:
                from textual.screen import ModalScreen

                if issubclass(cls, ModalScreen) and cls is not Dialog:
                    found.add(cls)
    return found


@pytest.mark.parametrize("size", SIZES)
async def test_every_dialog_footer_shows_quit_and_help(make_app, history, size):
    app = make_app()
    # how each dialog is opened: its key on the main screen, else pushed as the app does
    by_key = {
        ParamsScreen: ("f2", None),
        ProfilePicker: ("ctrl+o", None),
        AttachScreen: ("ctrl+f", None),
        SearchScreen: ("f4", None),
        HelpScreen: ("f1", None),
        PromptSearchScreen: ("ctrl+r", None),
        DetailScreen: ("enter", "list"),
    }
    pushed = {
        ConfirmScreen: lambda: ConfirmScreen("Delete 2 tasks?"),
        NameScreen: lambda: NameScreen("Add to collection", "a name"),
        BatchScreen: lambda: BatchScreen(app.estimate_batch),
        PathsScreen: lambda: PathsScreen("Import", "files to import"),
        ImportLinkScreen: lambda: ImportLinkScreen(app.config.profiles),
        AppSettingsScreen: lambda: AppSettingsScreen(app.config.settings),
    }
    assert dialog_classes() <= set(by_key) | set(pushed), "a dialog with no case here"
    assert all(issubclass(cls, Dialog) for cls in dialog_classes())
    async with app.run_test(size=size) as pilot:
        await settled(pilot)
        for cls, (key, focus) in by_key.items():
            (app.task_list if focus == "list" else app.composer.area).focus()
            await pilot.press(key)
            await wait_for(pilot, lambda cls=cls: isinstance(app.screen, cls), what=cls.__name__)
            await check_footer(pilot, app.screen, cls.__name__)
            await app.pop_screen()
        for cls, make in pushed.items():
            await app.push_screen(make())
            await check_footer(pilot, app.screen, cls.__name__)
            await app.pop_screen()
        await pilot.press("f3")  # settings: a full screen, the same footer
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen), what="settings")
        await check_footer(pilot, app.screen, "settings")


@pytest.mark.parametrize("size", SIZES)
async def test_settings_footer_keeps_back_and_save_beside_the_lists_keys(make_app, size):
    """At 80 columns the profile list's own keys (Add, Edit, Duplicate, Delete, Move,
    Activate...) came first and pushed Esc and Ctrl+S out of the footer; they now lead it
    and the list's keys follow while they fit, whichever part of the screen has focus."""
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settled(pilot)
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen), what="settings")
        screen = app.screen
        await wait_for(pilot, lambda: screen.profile_list.has_focus, what="the list's focus")
        await wait_for(
            pilot,
            lambda: "a Add" in footer_keys(screen) and screen.query_one(KeyFooter).fitted,
            what="the list's keys",
        )
        shown = list(await check_footer(pilot, screen, "settings, list focused"))
        assert shown[:3] == ["esc Back", "^s Save", "a Add"], shown
        assert shown[-2:] == ["^q Quit", "? Keys"], shown
        if size[0] < 160:
            assert "m Activate" not in shown, shown  # the list's later keys give way
        await pilot.press("tab")  # the form: its fields have no footer keys of their own
        await wait_for(
            pilot,
            lambda: "a Add" not in footer_keys(screen) and screen.query_one(KeyFooter).fitted,
            what="the form's footer",
        )
        shown = list(await check_footer(pilot, screen, "settings, form focused"))
        assert shown[:2] == ["esc Back", "^s Save"], shown


async def test_help_overlay_lists_a_dialogs_quit_and_keys_once(make_app, history):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ParamsScreen), what="F2")
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the overlay")
        sections = {s.title: dict((d, k) for k, d in s.rows) for s in app.screen.sections}
        assert "Apply" in sections["ParamsScreen"]
        assert "Quit" not in sections["ParamsScreen"] and "Keys" not in sections["ParamsScreen"]
        assert sections["Anywhere"]["Quit"] == "^q"


async def test_footer_composes_once_for_bindings_changed_together(make_app, history):
    """Start-up changes the bindings several times before a refresh: the footer composes
    and measures its keys once for them all, not once per change (each ~20 ms, which held
    back the first screen's footer: benchmarks/startup.py)."""
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        footer = app.screen.query_one(KeyFooter)
        await check_footer(pilot, app.screen, "the composer")
        recompose = footer.recompose
        started: list[int] = []

        async def counted() -> None:
            started.append(1)
            await recompose()

        footer.recompose = counted  # type: ignore[method-assign]
        for _ in range(3):
            app.screen.refresh_bindings()
        await wait_for(pilot, lambda: started and footer.fitted, what="the footer recomposed")
        await settled(pilot)
        assert len(started) == 1
        assert "⏎ Generate" in await check_footer(pilot, app.screen, "the composer")
