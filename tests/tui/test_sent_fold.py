"""The detail view's "Request as sent" wraps URLs at their seams (`widgets.folded_text`):
after `/`, before `?`, `&` and `#`, never inside a word that fits a row; every
character stays (a selection copies the URL whole), server text is never markup and loses
its control characters. The fold itself, a bare host app, and the app against the demo
server."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.content import Content
from textual.selection import SELECT_ALL

from imgtui.tui.widgets.folded_text import INDENT, FoldedText, fold_rows
from tests.tui.pilot import open_done_task, settled, wait_for

AZURE = (
    "POST https://my-resource.openai.azure.com/openai/deployments/"
    "gpt-image-1-eastus/images/generations?api-version=2025-04-01-preview"
)


def folded(line: str, width: int) -> list[str]:
    indent = " " * (len(line) - len(line.lstrip(" "))) + INDENT
    return [(indent if n else "") + line[a:b] for n, (a, b) in enumerate(fold_rows(line, width))]


def test_a_url_breaks_at_its_seams_only():
    assert folded(AZURE, 42) == [
        "POST https://my-resource.openai.azure.com/",
        "  openai/deployments/gpt-image-1-eastus/",
        "  images/generations",
        "  ?api-version=2025-04-01-preview",  # a name=value pair stays whole
    ]
    # a host that does not fit after "POST https://" starts the next row
    assert folded(AZURE, 40)[:2] == ["POST https://", "  my-resource.openai.azure.com/openai/"]
    assert folded("POST http://127.0.0.1:44757/v1/images/generations", 42) == [
        "POST http://127.0.0.1:44757/v1/images/",
        "  generations",
    ]
    assert folded(AZURE, 200) == [AZURE]


def test_words_wrap_at_spaces_and_json_keeps_its_indentation():
    line = '  "prompt": "a red fox in a field of poppies at dawn, oil on canvas",'
    rows = folded(line, 30)
    assert rows == [
        '  "prompt": "a red fox in a',
        "    field of poppies at dawn,",
        '    oil on canvas",',
    ]
    # a word wider than a row, with no seam, is cut (filling its rows)
    assert folded("x-id: " + "a" * 40, 20) == [
        "x-id: " + "a" * 14,
        INDENT + "a" * 18,
        INDENT + "a" * 8,
    ]


def test_every_character_stays_in_order():
    for width in range(12, 90):
        rows = fold_rows(AZURE, width)
        assert all(len(row) <= width for row in folded(AZURE, width)), width
        assert "".join(AZURE[a:b] for a, b in rows).replace(" ", "") == AZURE.replace(" ", "")


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield FoldedText(id="sent")


async def test_folded_text_is_not_markup_has_no_controls_and_copies_whole():
    app = Host()
    async with app.run_test(size=(44, 20)) as pilot:
        widget = app.query_one(FoldedText)
        body = Content.assemble(
            (AZURE + "\n", "bold"), "X-Note: [b]not markup[/b] \x1b]0;title\x07 end\n"
        )
        widget.show("Request as sent", body)
        await pilot.pause()
        rows = [widget.render_line(y).text.rstrip() for y in range(widget.size.height)]
        assert rows == [
            "Request as sent",
            "POST https://my-resource.openai.azure.com/",
            "  openai/deployments/gpt-image-1-eastus/",
            "  images/generations",
            "  ?api-version=2025-04-01-preview",
            "X-Note: [b]not markup[/b] ]0;title end",
        ]
        assert widget.text.plain.count("\x1b") == 0 and widget.text.plain.count("\x07") == 0
        app.screen.selections = {widget: SELECT_ALL}
        assert app.screen.get_selected_text() == (
            f"Request as sent\n{AZURE}\nX-Note: [b]not markup[/b] ]0;title end"
        )


async def test_detail_view_request_url_wraps_at_a_slash(make_app):
    app = make_app(partial_images=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot)
        task = await open_done_task(pilot, "a lighthouse")
        sent = app.screen.query_one("#sent")
        await wait_for(pilot, lambda: sent.size.height > 1, what="the request shown")
        url = task.sent[0]["url"]
        width = sent.content_size.width
        assert len(f"POST {url}") > width  # the panel beside the picture is narrower
        rows = [sent.render_line(y).text.rstrip() for y in range(sent.size.height)]
        assert rows[:3] == [
            "Request as sent",
            f"POST {url.removesuffix('generations')}",
            "  generations",
        ]
        app.screen.selections = {sent: SELECT_ALL}
        await pilot.press("ctrl+c")
        assert f"\nPOST {url}\n" in app.clipboard
