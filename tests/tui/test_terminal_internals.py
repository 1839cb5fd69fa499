"""imgtui's touches of Textual's and textual-image's private parts (`imgtui.tui.terminal`).

`test_private_touches_still_hold` fails loudly when an upgrade of either library moves
something imgtui relies on; the others check what the Sixel widget writes.
"""

from __future__ import annotations

import re

from PIL import Image
from rich.control import Control
from textual.app import App, ComposeResult
from textual.geometry import Region

from imgtui.tui import terminal


def test_private_touches_still_hold():
    assert terminal.check_internals() == []


def test_registers_first_moves_every_definition_before_the_pixels():
    sixel = '\x1bP0;1;0q"1;1;4;6#0;2;100;0;0#0~~#1;2;0;100;0#1~~$-#0~~#2;2;0;0;100#2~~\x1b\\'
    fixed = terminal.registers_first(sixel)
    head, body = fixed.split("~", 1)
    assert re.findall(r"#\d+;2;[\d;]+", head) == ["#0;2;100;0;0", "#1;2;0;100;0", "#2;2;0;0;100"]
    assert ";2;" not in body
    assert fixed.replace("#0;2;100;0;0#1;2;0;100;0#2;2;0;0;100", "", 1).count("~") == 8


def test_whole_bands_cuts_to_multiples_of_six():
    assert terminal.whole_bands(Image.new("RGB", (10, 140))).size == (10, 138)
    assert terminal.whole_bands(Image.new("RGB", (10, 138))).size == (10, 138)


class SixelHost(App[None]):
    def compose(self) -> ComposeResult:
        widget = terminal.sixel_widget_class()(None)
        widget.styles.width = 8
        widget.styles.height = 7
        yield widget


async def test_sixel_bytes_leave_the_cursor_on_the_image_row():
    """What the Sixel widget writes: palette first, whole bands, and the cursor put back on
    the image's last row, right of it (textual-image 0.12 put it a row lower: Textual then
    wrote the rest of that line one row too low, the ghosts of issue 13)."""
    app = SixelHost()
    async with app.run_test(size=(40, 12)) as pilot:
        outer = app.query_one(terminal.sixel_widget_class())
        outer.image = Image.new("RGB", (80, 140), (200, 30, 30))
        await pilot.pause()
        (inner,) = outer.children
        region = app.screen.find_widget(inner).visible_region
        strips = inner.render_lines(Region(0, 0, region.width, region.height))
        segments = list(strips[-1])
        text = "".join(s.text for s in segments)
        sixel = text[text.index("\x1bP") : text.index("\x1b\\") + 2]
        assert text.endswith(Control.move_to(region.right, region.bottom - 1).segment.text), (
            "cursor not left on the image's last row"
        )
        width, height = map(int, re.search(r'"1;1;(\d+);(\d+)', sixel).groups())
        assert height % 6 == 0 and width > 0
        first_pixel = re.search(r"#\d+[^#;\d]", sixel).start()
        assert ";2;" not in sixel[first_pixel:]


async def test_feed_keys_takes_nothing_and_keys():
    app = SixelHost()
    async with app.run_test() as pilot:
        assert terminal.feed_keys(app, "") == 0
        assert terminal.feed_keys(app, "ab\x1b[D") == 3
        await pilot.pause()


async def test_a_new_picture_of_the_same_size_repaints_without_blanking():
    """A partial frame after another (same size): the same inner widget gets it (textual-image
    recomposed: the picture painted twice, with a blank between) and the cells under the
    picture are not blanked first (the picture vanished until the terminal decoded the new
    one: a flash at every frame)."""
    app = SixelHost()
    async with app.run_test(size=(40, 12)) as pilot:
        outer = app.query_one(terminal.sixel_widget_class())
        outer.image = Image.new("RGB", (80, 140), (200, 30, 30))
        await pilot.pause()
        (inner,) = outer.children
        region = app.screen.find_widget(inner).visible_region
        crop = Region(0, 0, region.width, region.height)
        first = inner.render_lines(crop)
        outer.image = Image.new("RGB", (80, 140), (30, 200, 30))
        again = inner.render_lines(crop)  # the repaint this asks for
        await pilot.pause()
        assert list(outer.children) == [inner]
        for strip in again[:-1]:
            assert "".join(s.text for s in strip).strip(" ") == f"\x1b[{region.width}C"
            assert not any(s.text.isspace() and s.text for s in strip)
        assert "\x1bP" in "".join(s.text for s in again[-1])
        assert "".join(s.text for s in first[-1]) != "".join(s.text for s in again[-1])
