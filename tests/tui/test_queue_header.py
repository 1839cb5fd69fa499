"""The queue in the app (issue 14, item 7): a profile's `max_concurrent` holds further
tasks as `queued`, and the header counts running and queued tasks."""

from __future__ import annotations

from dataclasses import replace

from imgtui.store import Store
from imgtui.tasks import Status
from imgtui.tui import testing
from tests.tui.pilot import SIZE, RecordingApp, settled, submit, wait_for

DEMO_DELAY = 0.05


async def test_header_counts_running_and_queued_under_the_profiles_limit(tmp_path, server):
    cfg = testing.demo_config(tmp_path, partial_images=1, headers={"x-demo-delay": "1.0"})
    cfg.profiles[0] = replace(cfg.profiles[0], max_concurrent=1)
    app = RecordingApp(
        config=cfg, store=Store(tmp_path / "data"), demo_base_url=server.base_url,
        renderer="halfcell",
    )  # fmt: skip
    server.clear()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        tasks = [await submit(pilot, f"queued {i}") for i in range(3)]
        await wait_for(pilot, lambda: tasks[0].status is Status.RUNNING, what="first running")
        assert [t.status for t in tasks[1:]] == [Status.QUEUED, Status.QUEUED]
        await wait_for(pilot, lambda: app.sub_title.startswith("1 running"), what="header")
        assert app.sub_title.startswith("1 running · 2 queued · 3 tasks")
        await wait_for(
            pilot, lambda: all(t.status is Status.DONE for t in tasks), 60, "all three done"
        )
        assert app.sub_title.startswith("3 tasks")
    assert server.max_in_flight == 1
