"""The detail view shows the request exactly as sent: the body without the key, headers
and query values masked; after a restart too (it is kept in the history)."""

from __future__ import annotations

from textual.selection import SELECT_ALL

from imgtui.store import Store
from imgtui.tasks import Status
from imgtui.tui import testing
from imgtui.tui.screens.detail import DetailScreen
from imgtui.tui.widgets.folded_text import FoldedText
from tests.tui.pilot import SIZE, RecordingApp, settled, submit, wait_for

KEY = "sk-proj-DETAILSECRET0123456789"
HEADER = "org-DETAILHEADERSECRET"


def sent_text(app) -> str:
    """The request as a copy of the whole section gives it (unfolded: `FoldedText`)."""
    return app.screen.query_one("#sent", FoldedText).get_selection(SELECT_ALL)[0]


async def open_detail(pilot, app, task_id: str) -> str:
    app.open_detail(task_id)
    await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="detail")
    await pilot.pause()
    return sent_text(app)


async def test_detail_shows_the_request_as_sent_without_secrets(tmp_path, server):
    def make() -> RecordingApp:
        return RecordingApp(
            config=testing.demo_config(tmp_path, headers={"X-Org": HEADER}),
            store=Store(tmp_path / "data"),
            demo_base_url=server.base_url,
            renderer="halfcell",
        )

    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        testing.with_model(app, "gpt-image-2", api_key=KEY, stream=False)
        before = len(server.requests)
        task = await submit(pilot, "a fox, as sent")
        await wait_for(pilot, lambda: task.status is Status.DONE, what="done")
        (got,) = [r for r in server.requests[before:] if r["method"] == "POST"]
        assert got["headers"]["authorization"] == f"Bearer {KEY}"
        shown = await open_detail(pilot, app, task.id)
        assert f"POST {server.base_url}/images/generations" in shown
        assert "Authorization: Bearer ***" in shown and "X-Org: ***" in shown
        assert '"prompt": "a fox, as sent"' in shown and '"model": "gpt-image-2"' in shown
        assert "size" not in shown  # auto is the API's default: not sent, not shown
        assert KEY not in shown and HEADER not in shown
        await settled(pilot)
        task_id = task.id

    again = make()
    async with again.run_test(size=SIZE) as pilot:
        await settled(pilot)
        shown = await open_detail(pilot, again, task_id)
        assert "Authorization: Bearer ***" in shown and '"prompt": "a fox, as sent"' in shown
