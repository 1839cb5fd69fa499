"""History that reaches back (issue 14, item 4): with 1,000 tasks in a real SQLite store,
the header counts all of them (a COUNT query, not the page read), End and PgDn move in big
steps, older pages load as the list reaches its end, every task is reachable, and only the
rows on screen (and a few around) have cards mounted."""

from __future__ import annotations

from imgtui.store import Store
from imgtui.tasks import ImageParams, Status, Task
from imgtui.tui import testing
from imgtui.tui.screens.search import HistoryFilter
from tests.tui.pilot import SIZE, RecordingApp, settled, wait_for

DEMO_DELAY = 0.0
TOTAL = 1000
PAGE = 300
MOUNTED_AT_MOST = 40  # cards mounted at once, whatever the history's length


def seed(store: Store) -> None:
    for i in range(TOTAL):
        task = Task(
            prompt=f"history prompt {i:04d}",
            params=ImageParams(),
            profile_name="Demo",
            id=f"hist{i:08d}",
            created_at=1_700_000_000.0 + i,
        )
        task.status = Status.FAILED
        store.save(task)


def expected_ids() -> list[str]:
    return [f"hist{i:08d}" for i in reversed(range(TOTAL))]


def shown_on_screen(app, task_id: str) -> bool:
    """The task's card is mounted and inside the list's visible region."""
    card = app.task_list.card(task_id)
    if card is None or not card.is_mounted:
        return False
    return app.task_list.region.contains_region(card.region)


async def test_a_thousand_tasks_are_counted_and_all_reachable(tmp_path, server):
    with Store(tmp_path / "data") as store:
        seed(store)
    app = RecordingApp(
        config=testing.demo_config(tmp_path),
        store=Store(tmp_path / "data"),
        demo_base_url=server.base_url,
        renderer="halfcell",
        history_limit=PAGE,
    )
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await wait_for(pilot, lambda: app.service.stored_total == TOTAL, what="the COUNT")
        assert app.sub_title == f"{TOTAL} tasks"
        assert len(app.task_list.tasks) == PAGE  # one page read so far
        app.task_list.focus()

        # PgDn: a screenful of rows at a time, the selected card on screen.
        await pilot.press("pagedown")
        await pilot.pause()
        step = app.task_list.index
        assert step >= 3
        await pilot.press("pagedown")
        await wait_for(pilot, lambda: shown_on_screen(app, app.task_list.selected_id), what="PgDn")
        assert app.task_list.index == 2 * step

        # End, again and again: each End reaches the oldest task read, and the next page
        # comes in, until the oldest stored task is selected and on screen.
        oldest = expected_ids()[-1]
        presses = 0
        while app.task_list.selected_id != oldest:
            before = len(app.task_list.tasks)
            await pilot.press("end")
            presses += 1
            await wait_for(
                pilot,
                lambda before=before: (
                    len(app.task_list.tasks) > before or app.task_list.selected_id == oldest
                ),
                30,
                "older tasks",
            )
            assert len(app.task_list.cards) <= MOUNTED_AT_MOST
        assert presses == -(-TOTAL // PAGE)  # one End per page: big steps
        await wait_for(pilot, lambda: shown_on_screen(app, oldest), what="the oldest card")
        assert app.task_list.task_ids == expected_ids()  # every task, in order, once
        assert len(app.tasks) == TOTAL
        assert app.sub_title == f"{TOTAL} tasks"

        # Home comes back to the newest; a middle task can be selected and shown.
        await pilot.press("home")
        await wait_for(pilot, lambda: shown_on_screen(app, expected_ids()[0]), what="Home")
        middle = expected_ids()[TOTAL // 2]
        assert await app.task_list.select(middle)
        await wait_for(pilot, lambda: shown_on_screen(app, middle), what="the middle task")
        assert len(app.task_list.cards) <= MOUNTED_AT_MOST


async def test_a_find_pages_through_every_match(tmp_path, server):
    """Find reads its matches a page at a time too: End goes on into the store until the
    oldest match, and no task that does not match is shown."""
    with Store(tmp_path / "data") as store:
        for i in range(TOTAL):
            task = Task(
                prompt=f"history prompt {i:04d}",
                params=ImageParams(),
                profile_name="Demo",
                id=f"hist{i:08d}",
                created_at=1_700_000_000.0 + i,
            )
            task.status = Status.FAILED if i % 2 else Status.CANCELLED
            store.save(task)
    app = RecordingApp(
        config=testing.demo_config(tmp_path),
        store=Store(tmp_path / "data"),
        demo_base_url=server.base_url,
        renderer="halfcell",
        history_limit=PAGE,
    )
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await app.apply_filter(HistoryFilter(status="failed"))
        await pilot.pause()
        assert len(app.task_list.tasks) == PAGE
        app.task_list.focus()
        oldest = "hist00000001"
        while app.task_list.selected_id != oldest:
            before = len(app.task_list.tasks)
            await pilot.press("end")
            await wait_for(
                pilot,
                lambda before=before: (
                    len(app.task_list.tasks) > before or app.task_list.selected_id == oldest
                ),
                30,
                "older matches",
            )
        failed = [f"hist{i:08d}" for i in reversed(range(TOTAL)) if i % 2]
        assert app.task_list.task_ids == failed
        assert app.sub_title.startswith(f"{TOTAL} tasks") and "failed" in app.sub_title
