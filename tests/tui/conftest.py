"""Fixtures for pilot tests of the app."""

from __future__ import annotations

import pytest

from imgtui.store import Store
from imgtui.tui import testing
from tests.tui.pilot import RecordingApp


@pytest.fixture
def make_app(tmp_path, server):
    """`make(**config)`: a `RecordingApp` on the demo server, its store in `tmp_path`."""

    def make(**config) -> RecordingApp:
        cfg = testing.demo_config(tmp_path, **config)
        return RecordingApp(
            config=cfg,
            store=Store(tmp_path / "data"),
            demo_base_url=server.base_url,
            renderer="halfcell",
        )

    return make
