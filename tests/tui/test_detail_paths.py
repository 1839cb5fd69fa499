"""The detail view's file paths wrap at their separators (`widgets.path_lines`), at 80x24
(the information under the picture) and 160x48 (the panel beside it); a selection copies a
path whole. Against the demo server, with the image files it wrote."""

from __future__ import annotations

import pytest
from textual.selection import SELECT_ALL

from imgtui.tui.widgets.path_lines import INDENT, PathLines, fold
from tests.tui.pilot import open_done_task, settled, wait_for


def test_fold_breaks_after_separators():
    path = "/home/ann/.local/share/imgtui/images/2026/11/30/3f2a9c0e1b7d4a55-0.png"
    assert fold(path, 43) == [
        "/home/ann/.local/share/imgtui/images/2026/",
        INDENT + "11/30/3f2a9c0e1b7d4a55-0.png",
    ]
    assert fold(path, 200) == [path]
    assert fold("input: /tmp/a/b.png", 13) == ["input: /tmp/", INDENT + "a/b.png"]
    # one name wider than a row is cut inside (nothing else would fit it), from its row
    assert fold("/x/" + "n" * 30, 14) == ["/x/" + "n" * 11, INDENT + "n" * 12, INDENT + "n" * 7]


def shown_rows(widget: PathLines) -> list[str]:
    """The widget's rows as drawn on screen (title first)."""
    return [widget.render_line(y).text.rstrip() for y in range(widget.size.height)]


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_detail_view_paths_wrap_at_separators(make_app, size):
    app = make_app(partial_images=0)
    async with app.run_test(size=size) as pilot:
        await settled(pilot)
        task = await open_done_task(pilot, "a lighthouse")
        files = app.screen.query_one("#files", PathLines)
        await wait_for(pilot, lambda: files.size.height > 1, what="the files shown")
        path = str(task.images[0])
        width = files.content_size.width
        assert len(path) > width  # the path needs more than one row here
        rows = shown_rows(files)
        assert rows[0] == "Files"
        body = rows[1:]
        assert all(len(row) <= width for row in body)
        # each row but the last ends at a separator; together they are the path
        assert all(row.endswith("/") for row in body[:-1]), body
        assert all(row.startswith(INDENT) for row in body[1:]), body
        assert body[0] + "".join(row.removeprefix(INDENT) for row in body[1:]) == path
        # selected with the mouse, the path copies whole (the folds taken out)
        app.screen.selections = {files: SELECT_ALL}
        await pilot.press("ctrl+c")
        assert app.clipboard == f"Files\n{path}"
