"""The toast log (`imgtui.tui.notices`): what tests read instead of Textual's private,
expiring notification store; and the app's toasts as plain text."""

from __future__ import annotations

from textual.screen import Screen

from imgtui.tui.notices import NOTICE_LOG, Notice, NoticeLog, PlainNotices


class Plain(PlainNotices):
    pass


async def test_the_log_holds_each_toast_as_asked_and_only_the_newest() -> None:
    app = NoticeLog()
    async with app.run_test():
        app.notify("[b]bold[/b]", title="T", severity="warning")
        assert list(app.notices) == [Notice("[b]bold[/b]", "T", "warning", True)]
        for i in range(NOTICE_LOG + 5):
            app.notify(f"n{i}", markup=False)
        assert len(app.notices) == NOTICE_LOG
        assert app.notices[0].message == "n5" and app.notices[-1].message == f"n{NOTICE_LOG + 4}"


async def test_the_apps_toasts_are_plain_text_from_the_app_and_its_screens() -> None:
    app = Plain()
    async with app.run_test() as pilot:
        app.notify("a\x1b[2Jb [b]x[/b]\nnext", title="t\x07i", severity="error", markup=True)
        await app.push_screen(Screen())
        app.screen.notify("[@click=app.quit]from a screen[/]", markup=True)
        await pilot.pause()
        assert list(app.notices) == [
            Notice("a[2Jb [b]x[/b]\nnext", "ti", "error", False),
            Notice("[@click=app.quit]from a screen[/]", "", "information", False),
        ]
        assert app.is_running
