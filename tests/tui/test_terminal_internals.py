"""imgtui's touches of Textual's and textual-image's private parts (`imgtui.tui.terminal`).

`test_private_touches_still_hold` fails loudly when an upgrade of either library moves
something imgtui relies on; the others check what the Sixel widget writes.
"""

from __future__ import annotations

import re

import pytest
from PIL import Image
from rich.control import Control
from textual.app import App, ComposeResult
from textual.geometry import Region

from imgtui.tui import terminal


def test_private_touches_still_hold():
    assert terminal.check_internals() == []


@pytest.mark.parametrize(
    "dist, tested",
    [("textual", terminal.TESTED_TEXTUAL), ("textual-image", terminal.TESTED_TEXTUAL_IMAGE)],
)
def test_install_caps_match_the_tested_ranges(dist, tested):
    """pyproject.toml lets pip install only the versions the private touches were checked
    against: a fresh install months later must not pick a release that moved them."""
    import tomllib
    from pathlib import Path

    from packaging.requirements import Requirement
    from packaging.version import Version

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    (spec,) = [Requirement(d).specifier for d in deps if Requirement(d).name == dist]
    low, high = (".".join(map(str, v)) for v in tested)
    assert {(s.operator, Version(s.version)) for s in spec} == {
        (">=", Version(low)),
        ("<", Version(high)),
    }


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


def _sixel_bytes(inner, app) -> tuple[list, str, Region]:
    region = app.screen.find_widget(inner).visible_region
    strips = inner.render_lines(Region(0, 0, region.width, region.height))
    text = "".join(s.text for s in strips[0])
    return strips, text[text.index("\x1bP") : text.index("\x1b\\") + 2], region


@pytest.mark.parametrize("konsole", [False, True])
async def test_sixel_bytes_draw_from_the_first_row_and_write_nothing_over_it(monkeypatch, konsole):
    """What the Sixel widget writes: the picture from the widget's first row, the cursor
    put back right of the widget on that row (textual-image 0.12 drew from the last row and
    left the cursor a row lower: Textual then wrote the rest of that line one row too low,
    the ghosts of issue 13), the cursor moved over the widget's cells on the other rows
    (nothing written over the picture; everything beside it written after it: Konsole
    repainted older pictures' strips there), palette first, every cell covered (in the
    widget's background beyond the picture: mlterm painted the rest of a cell white,
    Konsole an older picture), and in Konsole whole 6-pixel bands."""
    from textual_image.widget.sixel import get_cell_size

    if konsole:
        monkeypatch.setenv("KONSOLE_VERSION", "221203")
    else:
        monkeypatch.delenv("KONSOLE_VERSION", raising=False)
    app = SixelHost()
    async with app.run_test(size=(40, 12)) as pilot:
        outer = app.query_one(terminal.sixel_widget_class())
        outer.image = Image.new("RGB", (75, 140), (200, 30, 30))  # 7.5 cells wide
        await pilot.pause()
        (inner,) = outer.children
        strips, sixel, region = _sixel_bytes(inner, app)
        first = "".join(s.text for s in strips[0])
        assert first.startswith(Control.move_to(region.x, region.y).segment.text + "\x1bP")
        assert first.endswith(Control.move_to(region.right, region.y).segment.text)
        assert len(strips) == region.height
        for strip in strips[1:]:
            assert [s.text for s in strip] == [f"\x1b[{region.width}C"]
            assert strip.cell_length == region.width
        width, height = map(int, re.search(r'"1;1;(\d+);(\d+)', sixel).groups())
        cell = get_cell_size()
        assert width == region.width * cell.width
        if konsole:
            assert height % 6 == 0 and height > region.height * cell.height - 6
        else:
            assert height == region.height * cell.height
        first_pixel = re.search(r"#\d+[^#;\d]", sixel).start()
        assert ";2;" not in sixel[first_pixel:]


async def test_the_screen_writes_beside_a_picture_after_it():
    """The whole frame as Textual writes it: the picture goes out on the widget's first
    row, before any cell of the rows below is written (Konsole keeps older pictures'
    strips beside a new one in cells written before it)."""
    app = SixelHost()
    async with app.run_test(size=(40, 12)) as pilot:
        outer = app.query_one(terminal.sixel_widget_class())
        outer.image = Image.new("RGB", (80, 140), (200, 30, 30))
        await pilot.pause()
        (inner,) = outer.children
        region = app.screen.find_widget(inner).visible_region
        frame = app.screen._compositor.render_full_update().render_segments(app.console)
        at = frame.index("\x1bP")
        below = f"\x1b[{region.y + 2};1H"  # the start of the widget's second row
        assert frame.index(below) > at
        inside = frame[at:]
        for row in range(region.y + 1, region.bottom):
            line = inside[inside.index(f"\x1b[{row + 1};1H") :]
            line = line[: line.index("\n")] if "\n" in line else line
            assert f"\x1b[{region.width}C" in line  # moved over, not written


def test_whole_cells_pads_in_the_background_colour():
    picture = Image.new("RGB", (25, 37), (200, 30, 30))
    padded = terminal.whole_cells(picture, (10, 20), (1, 2, 3, 255))
    assert padded.size == (30, 40)
    assert padded.getpixel((24, 36)) == (200, 30, 30)
    assert padded.getpixel((29, 39)) == (1, 2, 3) and padded.getpixel((25, 0)) == (1, 2, 3)
    clear = terminal.whole_cells(Image.new("RGBA", (5, 5), (0, 0, 0, 0)), (10, 20), (9, 9, 9, 255))
    assert clear.size == (10, 20) and clear.getpixel((9, 19)) == (9, 9, 9, 255)
    assert terminal.whole_cells(Image.new("P", (10, 20)), (10, 20), None).size == (10, 20)
    assert terminal.whole_cells(Image.new("L", (3, 3)), (10, 20), None).mode == "RGB"
    assert terminal.terminal_colour((35, 46, 51, 255), "truecolor") == (35, 46, 51, 255)
    assert terminal.terminal_colour((35, 46, 51, 255), "standard") == (128, 128, 128, 255)
    lowered = terminal.terminal_colour((35, 46, 51, 255), "256")  # as Rich lowers it
    assert lowered == (0, 0, 95, 255)
    assert terminal.terminal_colour(None, "standard") is None
    assert terminal.sixel_cuts_bands({"KONSOLE_VERSION": "221203"})
    assert not terminal.sixel_cuts_bands({"TERM": "mlterm"})


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
        for strip in again[1:]:
            assert "".join(s.text for s in strip) == f"\x1b[{region.width}C"
        assert "\x1bP" in "".join(s.text for s in again[0])
        assert "".join(s.text for s in first[0]) != "".join(s.text for s in again[0])
