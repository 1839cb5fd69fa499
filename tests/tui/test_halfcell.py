"""The half-cell renderer (`imgtui.tui.halfcell`) draws what textual-image draws, cell by
cell, without resizing the picture again or reading it through Pillow's getdata on the
event loop (issue 16: the card's picture on the path from a frame's arrival to the screen)."""

from __future__ import annotations

import os
import threading

from PIL import Image
from textual.app import App, ComposeResult
from textual.containers import Container
from textual.widget import Widget

from imgtui.tui import halfcell
from imgtui.tui.terminal import image_widget_class
from imgtui.tui.widgets.image_view import ImageView
from tests.tui.pilot import settled, submit, wait_for


def noise(width: int, height: int) -> Image.Image:
    """Every pixel its own colour (the worst case: no colour repeats)."""
    return Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))


def gradient(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """A smooth picture: colours repeat along each row."""
    picture = Image.new("RGB", (width, height))
    picture.putdata([(x * 9 % 256, y * 17 % 256, 128) for y in range(height) for x in range(width)])
    return picture.convert(mode)


class OnePicture(App[None]):
    """The half-cell widget alone in a 22 x 7 box, as a card holds it."""

    CSS = """
    Container { width: 22; height: 7; align: center middle; }
    .picture { width: auto; height: auto; }
    .bold { text-style: bold; }
    """

    def compose(self) -> ComposeResult:
        with Container():
            yield image_widget_class("halfcell")(None, classes="picture")


async def test_half_cells_are_textual_images_cells_segment_by_segment():
    """For pictures that fit the box exactly, that need a resize, that are wider than
    their widget, in other modes, and under a style with attributes, every line's
    segments (text and Rich style) equal textual-image's renderable's through Rich and
    Textual (`Widget.render_line`, the base's path)."""
    pictures = [
        noise(21, 14),  # 1.5K's card: exactly 21 x 7 cells
        noise(14, 14),  # 2K's
        noise(22, 12),  # 4K's
        noise(40, 30),  # needs a resize (as textual-image resizes)
        noise(7, 20),  # tall: fewer cells than the box is wide
        gradient(21, 14),  # colours repeat (the colour cache's hits)
        gradient(21, 14, "L"),
        gradient(21, 14, "RGBA"),
    ]
    app = OnePicture()
    async with app.run_test(size=(40, 12)) as pilot:
        widget = app.query_one(".picture", Widget)
        for bold in (False, True):
            widget.set_class(bold, "bold")
            for picture in pictures:
                widget.image = picture
                await pilot.pause()
                height = widget.size.height
                assert height > 0
                ours = [list(widget.render_line(y)) for y in range(height + 1)]
                theirs = [list(Widget.render_line(widget, y)) for y in range(height + 1)]
                assert ours == theirs, (picture.size, picture.mode, bold)
                assert {s.text for line in ours[:height] for s in line} == {halfcell.UPPER_HALF}
                assert [len(line) for line in ours[:height]] == [widget.size.width] * height


def test_strips_cut_to_the_widget_and_carry_the_widgets_attributes():
    """A widget narrower than the picture gets its lines cut; a base style with attributes
    stays under each cell's two colours."""
    from rich.style import Style

    picture = gradient(6, 4)
    lines = halfcell.strips(picture, 6, 2, 4, Style(bold=True, bgcolor="red"))
    assert [line.cell_length for line in lines] == [4, 4]
    first = list(lines[0])[1]
    assert first.style is not None and first.style.bold
    assert first.style.color is not None and first.style.color.triplet == (9, 0, 128)
    assert first.style.bgcolor is not None and first.style.bgcolor.triplet == (9, 17, 128)


async def test_the_cards_frames_are_drawn_without_a_resize_or_getdata_on_the_loop(
    make_app, monkeypatch
):
    """The picture thread shrinks a frame to the card's cells, so drawing it on the event
    loop resizes nothing (textual-image resized every frame again there) and never calls
    Pillow's deprecated `getdata` (counted on the loop's thread, not timed)."""
    on_loop: dict[str, int] = {"resize": 0, "getdata": 0, "lines": 0}
    loop_thread = threading.current_thread()

    def counting(name, real):
        def call(self, *args, **kwargs):
            if threading.current_thread() is loop_thread:
                on_loop[name] += 1
            return real(self, *args, **kwargs)

        return call

    monkeypatch.setattr(Image.Image, "resize", counting("resize", Image.Image.resize))
    monkeypatch.setattr(Image.Image, "getdata", counting("getdata", Image.Image.getdata))
    widget_class = image_widget_class("halfcell")
    real_render_line = widget_class.render_line

    def render_line(self, y):
        if self.parent is not None and self.parent.id == "thumb" and self.image is not None:
            on_loop["lines"] += 1
        return real_render_line(self, y)

    monkeypatch.setattr(widget_class, "render_line", render_line)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot)
        task = await submit(pilot, "a lighthouse at dusk")
        await wait_for(pilot, lambda: task.status.ended, what="the task")
        card = app.task_list.card(task.id)
        assert card is not None
        view = card.query_one("#thumb", ImageView)
        await wait_for(pilot, lambda: on_loop["lines"] > 0, what="the card's picture drawn")
        assert view.picture is not None
    assert on_loop["resize"] == 0
    assert on_loop["getdata"] == 0


def test_the_colour_cache_stays_within_its_bound(monkeypatch):
    """Made colours are kept up to `COLOUR_CACHE_MAX` (then the cache starts again), and
    each equals Rich's own `Color.from_triplet` of the same pixel."""
    from rich.color import Color
    from rich.color_triplet import ColorTriplet

    monkeypatch.setattr(halfcell, "COLOUR_CACHE_MAX", 100)
    monkeypatch.setattr(halfcell, "_colours", {})
    seen = 0
    for value in range(0, 250 * 65_537, 65_537):
        rgb = value.to_bytes(3, "big")
        made = halfcell.colour(rgb)
        assert made == Color.from_triplet(ColorTriplet(*rgb))
        seen = max(seen, len(halfcell._colours))
    assert seen == 100


class AutoAndFilled(App[None]):
    """The half-cell widget sized `auto` and centred by its box (as cards held it before),
    beside one that fills the same box (`fill`: what `ImageView` holds now)."""

    CSS = """
    Container { width: 50; height: 20; }
    #auto { align: center middle; }
    #auto > .picture { width: auto; height: auto; }
    #filled > .picture { width: 100%; height: 100%; }
    """

    def compose(self) -> ComposeResult:
        widget_class = image_widget_class("halfcell")
        with Container(id="auto"):
            yield widget_class(None, classes="picture")
        with Container(id="filled"):
            filled = widget_class(None, classes="picture")
            filled.fill = True
            yield filled


def cells(strip) -> list[tuple[str, object, object]]:
    """A line as (character, foreground, background) per cell; a blank cell as ' '."""
    out: list[tuple[str, object, object]] = []
    for segment in strip:
        for char in segment.text:
            if char == " ":
                out.append((" ", None, None))
            else:
                style = segment.style
                out.append((char, style.color, style.bgcolor))
    return out


async def test_a_widget_filling_its_box_draws_the_picture_where_the_centred_auto_one_did():
    """Filling its box, the half-cell widget draws every picture in the cells where the
    `auto` widget, centred by its box, drew it (issue 16: the filled one lays nothing out
    when a picture arrives), for boxes and pictures of many shapes."""
    app = AutoAndFilled()
    async with app.run_test(size=(120, 50)) as pilot:
        auto_box, filled_box = app.query_one("#auto"), app.query_one("#filled")
        auto, filled = auto_box.query_one(".picture"), filled_box.query_one(".picture")
        for width, height in [(50, 20), (22, 7), (97, 30), (71, 33), (40, 12)]:
            for box in (auto_box, filled_box):
                box.styles.width, box.styles.height = width, height
            for size in [(14, 14), (22, 12), (21, 14), (97, 60), (70, 66), (60, 97), (3, 50)]:
                picture = noise(*size)
                auto.image = filled.image = picture
                await pilot.pause()
                where = auto.region.translate(-auto_box.region.offset)
                expected = []
                for y in range(height):
                    line = [(" ", None, None)] * width
                    if where.y <= y < where.bottom:
                        drawn = cells(auto.render_line(y - where.y))
                        line[where.x : where.x + len(drawn)] = drawn
                    expected.append(line[:width])
                ours = [cells(filled.render_line(y)) for y in range(height)]
                assert ours == expected, ((width, height), size)
                assert filled.size == (width, height)


async def test_an_image_view_shows_pictures_and_its_placeholder_without_a_layout_pass():
    """A first picture, one of another shape, the placeholder again: each is a repaint of
    the view's one widget, never a layout of the screen (counted with the screen's own
    layout signal), and the placeholder is the view's text, centred."""

    class OneView(App[None]):
        CSS = "ImageView { width: 30; height: 9; }"

        def compose(self) -> ComposeResult:
            yield ImageView("halfcell", "waiting for\nfirst frame…")

    app = OneView()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(ImageView)
        await pilot.pause()
        (widget,) = view.children
        text = [str(widget.render_line(y).text) for y in range(9)]
        assert [line.strip() for line in text if line.strip()] == ["waiting for", "first frame…"]
        assert text[3].index("waiting") == (30 - len("waiting for")) // 2
        layouts: list[object] = []
        app.screen.screen_layout_refresh_signal.subscribe(app.screen, layouts.append)
        for picture in (noise(14, 14), noise(30, 10), None, noise(9, 18)):
            view.show(picture, "no image")
            await pilot.pause()
            await pilot.pause()
            assert view.picture is picture
            if picture is None:
                shown = [str(widget.render_line(y).text).strip() for y in range(9)]
                assert [line for line in shown if line] == ["no image"]
            else:
                drawn = {s.text for y in range(9) for s in widget.render_line(y)}
                assert halfcell.UPPER_HALF in drawn
        assert layouts == []
        assert widget.size == (30, 9)
