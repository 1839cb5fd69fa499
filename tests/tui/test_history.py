"""Pilot tests of the history features: find/filter, export, delete failed, settings wiring."""

from __future__ import annotations

import json
import zipfile

import pytest

from imgtui.config import load
from imgtui.store import Store
from imgtui.tasks import Status
from imgtui.tui import testing
from imgtui.tui.screens.confirm import ConfirmScreen
from imgtui.tui.screens.search import HistoryFilter, SearchScreen
from imgtui.tui.screens.settings import ImportLinkScreen, SettingsScreen
from tests.tui.pilot import SIZE, settled, submit, wait_for

DEMO_DELAY = 0.05  # the shared demo server's pace in this module (conftest)


@pytest.fixture
def history_app(tmp_path, make_app):
    with Store(tmp_path / "data") as store:
        testing.sample_history(store)
    return make_app(partial_images=1)


def shown_ids(app) -> list[str]:
    return app.task_list.task_ids


async def test_find_by_text_and_status_then_show_all(history_app):
    app = history_app
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        everything = shown_ids(app)
        assert len(everything) >= 5
        await pilot.press("f4")
        assert isinstance(app.screen, SearchScreen)
        await pilot.press(*"lighthouse", "enter")
        await wait_for(pilot, lambda: shown_ids(app) == ["done0000000a"], what="the text filter")
        assert "lighthouse" in app.sub_title
        await app.apply_filter(HistoryFilter(status="failed"))
        await pilot.pause()
        assert shown_ids(app) == ["failed00000c"]
        assert all(app.tasks[i].status is Status.FAILED for i in shown_ids(app))
        await app.apply_filter(HistoryFilter())
        await pilot.pause()
        assert shown_ids(app) == everything and "showing" not in app.sub_title


async def test_f4_in_the_list_opens_find_and_escape_keeps_the_list(history_app):
    app = history_app
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        before = shown_ids(app)
        app.task_list.focus()
        await pilot.press("f4")
        assert isinstance(app.screen, SearchScreen)
        await pilot.press(*"zzz", "escape")  # Esc clears the filter: every task again
        await wait_for(pilot, lambda: not isinstance(app.screen, SearchScreen), what="closed")
        await wait_for(pilot, lambda: shown_ids(app) == before, what="every task")
        assert app.history_filter == HistoryFilter()


async def test_star_then_filter_starred(history_app):
    app = history_app
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await app.task_list.select("three000000b")
        app.task_list.focus()
        await pilot.press("ctrl+k")
        await settled(pilot)
        assert app.tasks["three000000b"].starred
        await app.apply_filter(HistoryFilter(status="starred"))
        await pilot.pause()
        assert shown_ids(app) == ["three000000b"]


async def test_export_zip_has_manifest_and_images(history_app, tmp_path):
    app = history_app
    app.config.settings.output_dir = str(tmp_path / "exports")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        path = await app.export_zip()
    assert path is not None and path.parent == tmp_path / "exports"
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read(next(n for n in names if n.endswith("manifest.json"))))
        assert any(n.endswith(".png") for n in names)
        blob = b"".join(zf.read(n) for n in names if n.endswith(".json"))
    tasks = manifest["tasks"] if isinstance(manifest, dict) else manifest
    assert {t["id"] for t in tasks} >= {"done0000000a", "failed00000c"}
    assert b"api_key" not in blob and b"sk-" not in blob


async def test_delete_failed_asks_and_removes_files(history_app, tmp_path):
    app = history_app
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        assert "failed00000c" in shown_ids(app)
        app.action_delete_failed()
        await wait_for(
            pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation"
        )
        await pilot.press("y")
        await wait_for(pilot, lambda: "failed00000c" not in shown_ids(app), what="the deletion")
        await settled(pilot)
    with Store(tmp_path / "data") as store:
        assert store.get("failed00000c") is None
        assert store.get("done0000000a") is not None


async def test_settings_import_link_drives_the_next_task(make_app, server, tmp_path):
    app = make_app(partial_images=1)
    link = (
        f"https://gpt-image-playground.cooksleep.dev/?apiUrl={server.base_url}&apiKey=sk-link-99999999"
        "&apiMode=responses&model=gpt-5&profileName=Linked&streamImages=true&streamPartialImages=1"
    )
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("f3")
        assert isinstance(app.screen, SettingsScreen)
        await pilot.press("ctrl+l")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ImportLinkScreen), what="the import modal"
        )
        app.screen.query_one("Input").value = link
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen), what="the import")
        await pilot.pause()
        assert app.screen.config.settings.active_profile != "Linked"  # never made active unsaid
        await pilot.press("m")  # the imported profile is highlighted in the list: use it
        await pilot.press("escape")
        await wait_for(
            pilot, lambda: not isinstance(app.screen, SettingsScreen), what="leaving settings"
        )
        assert app.params.profile.name == "Linked" and app.params.profile.api_mode == "responses"
        server.clear()
        task = await submit(pilot, "a castle on a hill")
        await wait_for(pilot, lambda: task.status is Status.DONE, what="the task")
        assert "sk-link-99999999" not in app.export_screenshot()
    body = server.requests[-1]["json"]
    assert server.requests[-1]["path"].endswith("/responses")
    assert body["tools"][0]["partial_images"] == 1
    assert server.requests[-1]["headers"]["authorization"] == "Bearer sk-link-99999999"
    saved = load(app.config.path)
    assert saved.settings.active_profile == "Linked"


async def test_ctrl_o_switches_profile_for_new_tasks_only(make_app, server):
    from dataclasses import replace

    from imgtui.config import save
    from imgtui.tui.screens.settings import ProfilePicker

    app = make_app(partial_images=1)
    second = replace(app.config.profiles[0], name="Second", model="gpt-image-2.5-flare")
    app.config.add(second)
    save(app.config)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        first = app.params.profile.name
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfilePicker), what="the picker")
        await pilot.press("2")
        await wait_for(pilot, lambda: app.params.profile.name == "Second", what="the switch")
        assert first == "Demo" and app.params.profile.model == "gpt-image-2.5-flare"
        task = await submit(pilot, "with the second profile")
        assert task.profile_name == "Second" and task.model == "gpt-image-2.5-flare"
        await wait_for(pilot, lambda: task.status is Status.DONE, what="the task")
    assert load(app.config.path).settings.active_profile == "Second"
