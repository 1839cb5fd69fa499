"""Fixtures for pilot tests of the app."""

from __future__ import annotations

import pytest

from imgtui.store import Store
from imgtui.tui import testing
from tests.tui.pilot import RecordingApp


@pytest.fixture
def make_app(tmp_path, server):
    """`make(app_class=RecordingApp, **config)`: the app on the demo server, its store in
    `tmp_path`, its config `testing.demo_config(tmp_path, **config)`."""

    def make(app_class: type[RecordingApp] = RecordingApp, **config) -> RecordingApp:
        cfg = testing.demo_config(tmp_path, **config)
        return app_class(
            config=cfg,
            store=Store(tmp_path / "data"),
            demo_base_url=server.base_url,
            renderer="halfcell",
        )

    return make
