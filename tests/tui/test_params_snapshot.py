"""Snapshot of the parameters dialog (F2): a GIF on gpt-image-2.6-flare at 16:9@2k, the size
snapped to the GIF frame cap with its notice, only the fields the model and format take.
Update with `pytest --snapshot-update` after a deliberate change."""

from __future__ import annotations

from datetime import date

from textual.app import App
from textual.widgets import Input

from imgtui.config import DEMO_URL, Profile
from imgtui.draft import Params
from imgtui.tui.screens.params import ParamsScreen


class Host(App):
    def __init__(self, screen) -> None:
        super().__init__()
        self.modal = screen

    def on_mount(self) -> None:
        self.push_screen(self.modal)


def test_params_dialog(snap_compare):
    profile = Profile("Demo", DEMO_URL, model="gpt-image-2.6-flare", partial_images=2)
    params = Params(
        profile,
        output_format="gif",
        frame_count=6,
        frame_duration_ms=120,
        complexity="medium",
        quality="xhigh",
        size_spec="16:9@2k",
    )
    app = Host(ParamsScreen(params, [profile], today=date(2026, 11, 30)))

    async def run_before(pilot) -> None:
        for field in app.modal.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 34), run_before=run_before)
