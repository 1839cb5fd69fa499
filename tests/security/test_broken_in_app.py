"""A broken final image in the app (issue 10, item 6): the slot fails, its bytes are kept
in the data folder as a `.broken` file whose path the detail view shows, the history
remembers it, and it never counts as a result."""

from __future__ import annotations

import pytest

from imgtui.config import Config, Profile, Settings
from imgtui.store import Store
from imgtui.tasks import SlotStatus, Status
from imgtui.tui.screens.detail import DetailScreen
from tests.security.hostile import NOT_AN_IMAGE, TRUNCATED
from tests.tui.pilot import SIZE, RecordingApp, settled, submit, wait_for


@pytest.mark.parametrize("mode, raw", [("truncated", TRUNCATED), ("not-image", NOT_AN_IMAGE)])
async def test_the_app_keeps_a_broken_final_as_a_broken_file(hostile, tmp_path, mode, raw):
    profile = Profile("Hostile", hostile.url(mode), partial_images=0)
    settings = Settings(active_profile="Hostile", renderer="halfcell")
    config = Config(path=tmp_path / "config.toml", profiles=[profile], settings=settings)
    data = tmp_path / "data"
    app = RecordingApp(config=config, store=Store(data), renderer="halfcell")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await submit(pilot, "a fox")
        slot = task.slots[0]
        await wait_for(pilot, lambda: slot.broken_path is not None, what="the kept bytes")
        await settled(pilot)

        assert task.status is Status.FAILED and slot.status is SlotStatus.FAILED
        assert task.images == [] and slot.image is None and slot.image_path is None
        kept = slot.broken_path
        assert kept.suffix == ".broken" and kept.is_relative_to(data)
        assert kept.read_bytes() == raw
        assert slot.error is not None and slot.error.raw is None  # not kept in memory too

        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the detail")
        status = str(app.screen.query_one("#status").render())
        assert "The final image is not usable" in status
        assert f"bytes kept at {kept}" in status

    with Store(data) as store:
        (again,) = store.load()
    assert again.slots[0].broken_path == kept and again.images == []
