"""Every place imgtui reaches into textual-image's or Textual's private parts, in one file.

Each touch names what it relies on; `check_internals()` verifies all of them at once and
`tests/tui/test_terminal_internals.py` calls it, so an upgrade of either library that moves
something fails loudly in one test instead of quietly in a user's terminal. The versions
these were written against are `TESTED_TEXTUAL` and `TESTED_TEXTUAL_IMAGE`.

What lives here:

- `OrderedKeys`: an App mixin that handles keys one at a time, in the order they arrived
  (Textual resolves a widget's key bindings only after the key has bubbled up through
  every parent's message queue, while a printable key is inserted at the first hop: with
  several keys in one read, `hello` Left `X` became `helloX`). It also stops a key that a
  modal screen handled by closing itself from running a binding of the screen beneath.
- `sixel_widget_class()`: textual-image's Sixel widget drawn from its first row with the
  cursor left where Textual expects it after an image, its cells never blanked, colour
  registers defined before any pixel, pictures padded to whole cells, and in Konsole cut
  to whole 6-pixel bands.
- `feed_keys()`: keys typed while the terminal was probed, handed to the app as key events.
- `resume_only_after_stop()` and `mute_output_if_terminal_gone()`: the app survives its terminal window
  closing (a SIGHUP, then a SIGCONT, from the kernel; every write fails from then on).
- `write_to_terminal()`: an escape sequence of imgtui's own (clipboard through tmux,
  desktop notifications) written between Textual's frames.
- `image_widget_class()`: textual-image's widgets with an `image` setter that skips the
  layout pass when a frame has the size of the one shown, a playing animation's
  renders replayed per frame (`FrameRenders`), and half cells drawn by
  `imgtui.tui.halfcell` in as many cells as textual-image's geometry gives; the half-cell
  one can fill its box (`fill`) and draw the picture centred, or a placeholder, in it;
  `cell_size()`.
- `import_textual_image()`: textual-image imported at start-up (in the probe thread)
  asking the terminal only what can change the renderer, and without numpy unless Sixel
  is used.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from textual import events

if TYPE_CHECKING:
    from collections.abc import Mapping

    from textual.app import App
    from textual.dom import DOMNode
    from textual.widget import Widget

TESTED_TEXTUAL = ((8, 0), (9, 0))  # [from, below)
TESTED_TEXTUAL_IMAGE = ((0, 12), (0, 15))

# A key whose trip up the DOM has not finished after this long (a widget on its way was
# removed and dropped it) no longer holds back the keys behind it.
KEY_STUCK_AFTER = 1.0
_SENT_TO = "_imgtui_sent_to"  # the screen a key was dispatched on (an attribute of the key)


class OrderedKeys:
    """App mixin: each key is fully handled (the focused widget, its parents, then the
    bindings) before the next one is dispatched, so keys that arrive in one read keep
    their order; and a key whose screen went away on its trip runs no binding elsewhere.

    Mix in before `App`: `class MyApp(OrderedKeys, App[None])`.

    Relies on (checked by `check_internals`): `App.on_event` forwarding a key to the
    focused widget with `Widget._forward_event` (which marks it `is_forwarded`), a key
    bubbling to each parent by `post_message` after its handlers ran, and the App's own
    `_on_key` running the non-priority bindings of `self.screen` when it gets there.
    """

    _key_in_flight: events.Key | None = None
    _key_sent_at = 0.0
    _key_backlog: deque[events.Key]

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            if not event.is_forwarded:
                backlog = self.__dict__.setdefault("_key_backlog", deque())
                if self._key_in_flight is not None:
                    if time.monotonic() - self._key_sent_at < KEY_STUCK_AFTER:
                        backlog.append(event)
                        return
                    self._key_in_flight = None  # lost on the way
                key = event
                if backlog:  # (only while the backlog is being handed out)
                    backlog.append(key)
                    key = backlog.popleft()
                await self._send_key(key)
                return
            sent_to = getattr(event, _SENT_TO, None)
            if sent_to is not None and self._app.screen is not sent_to:
                return  # a modal handled it and closed: no binding of the screen beneath
        await super().on_event(event)  # type: ignore[misc]

    @property
    def _app(self) -> App[Any]:
        return self  # type: ignore[return-value]

    async def _send_key(self, event: events.Key) -> None:
        app = self._app
        self._key_in_flight = event
        self._key_sent_at = time.monotonic()
        if not app.screen_stack:  # closing down
            self._key_done(event)
            return
        if not self._needs_app(event):
            self._forward_key(event)
            return
        target: DOMNode = app.focused or app.screen
        setattr(event, _SENT_TO, app.screen)
        # App.on_event: the priority bindings, else forward to `target`
        await super().on_event(event)  # type: ignore[misc]
        if not event.is_forwarded:  # a priority binding took it
            self._key_done(event)
            return
        self._follow_key(event, _chain(target), 0)

    def _needs_app(self, event: events.Key) -> bool:
        """A key that `App.on_event` must see first: one with a priority binding, or
        Escape (which may un-maximize). Any other key goes straight to the focused widget."""
        if event.key == "escape":
            return True
        for _, bindings in self._app.screen._binding_chain:
            if any(b.priority for b in bindings.key_to_bindings.get(event.key, ())):
                return True
        return False

    def _forward_key(self, event: events.Key) -> None:
        """What `App.on_event` does with a key no priority binding takes: to the focused
        widget (or the screen). Called from whichever pump finished the previous key, so
        the next one needs no trip through the App's queue."""
        app = self._app
        if not app.app_focus:
            app.app_focus = True
        target: Widget = app.focused or app.screen
        setattr(event, _SENT_TO, app.screen)
        target._forward_event(event)
        self._follow_key(event, _chain(target), 0)

    def _follow_key(self, event: events.Key, chain: list[DOMNode], hop: int) -> None:
        """Queue a callback behind the key at each node it bubbles through: when the one
        at the App runs, the key has been handled everywhere (or was stopped on the way)."""
        if event is not self._key_in_flight:
            return
        if hop and event._stop_propagation:  # chain[hop - 1] handled it and stopped it there
            self._key_done(event)
            return
        node = chain[hop]
        if hop == len(chain) - 1:
            scheduled = node.call_later(self._key_done, event)
        else:
            scheduled = node.call_later(self._follow_key, event, chain, hop + 1)
        if not scheduled:  # that node is closing: the key stops there
            self._key_done(event)

    def _key_done(self, event: events.Key) -> None:
        if event is not self._key_in_flight:
            return
        self._key_in_flight = None
        backlog = self.__dict__.get("_key_backlog")
        if backlog:
            following = backlog.popleft()
            self._key_in_flight = following  # reserved: keys arriving now queue behind it
            self._key_sent_at = time.monotonic()
            if self._app.screen_stack and not self._needs_app(following):
                self._forward_key(following)
            else:
                self._app.call_next(self._send_key, following)


def _chain(node: DOMNode | None) -> list[DOMNode]:
    """`node` and its ancestors up to the App: the way a key bubbles."""
    chain = []
    while node is not None:
        chain.append(node)
        node = node.parent
    return chain


def feed_keys(app: App[Any], data: str) -> int:
    """Post the keys in `data` (raw terminal input, e.g. typed while the terminal was
    probed) to `app`, in order, as if the driver had read them. Returns how many events.

    Relies on Textual's private `_xterm_parser.XTermParser` (the driver's own parser).
    """
    if not data:
        return 0
    from textual._xterm_parser import XTermParser

    count = 0
    for event in XTermParser().feed(data):  # (a lone Escape at the very end waits: dropped)
        if isinstance(event, events.Key):
            app.post_message(event)
            count += 1
    return count


def write_to_terminal(app: App[Any], data: str) -> bool:
    """Write `data` (an escape sequence built by `imgtui.desktop`: never untrusted text) to
    the terminal through the app's driver, the way Textual's own `copy_to_clipboard` does.
    False when there is no driver (not running, or closing).

    Relies on Textual's private `App._driver` (set while the app runs) and its public
    `Driver.write`.
    """
    driver = getattr(app, "_driver", None)
    if driver is None:
        return False
    driver.write(data)
    return True


# -- Sixel --------------------------------------------------------------------------------

_SIXEL_BAND = 6  # pixel rows per Sixel band
_COLOUR_DEF = re.compile(r"#(\d+);2;(\d+);(\d+);(\d+)")


def registers_first(sixel: str) -> str:
    """Move every colour-register definition (`#N;2;R;G;B`) in front of the pixel data.

    textual-image defines each register on first use, partway through the image; xterm
    then draws bands already sent in a wrong colour (a band of it, and streaks). Other
    encoders (libsixel, ImageMagick) define the palette first. Each register is defined
    once, so moving the definitions changes no colour.
    """
    definitions: dict[str, str] = {}

    def keep(match: re.Match[str]) -> str:
        definitions.setdefault(match.group(1), match.group(0))
        return "#" + match.group(1)

    start = sixel.find("#")
    if start < 0:
        return sixel
    body = _COLOUR_DEF.sub(keep, sixel[start:])
    return sixel[:start] + "".join(definitions.values()) + body


def whole_bands(image: Any) -> Any:
    """The image cut to a multiple of 6 pixel rows (Konsole paints a last partial band
    whole, 1-5 px into the text row below)."""
    extra = image.height % _SIXEL_BAND
    if extra == 0 or image.height <= _SIXEL_BAND:
        return image
    return image.crop((0, 0, image.width, image.height - extra))


def whole_cells(
    image: Any,
    cell: tuple[int, int],
    background: tuple[int, ...] | None,
    at_least: tuple[int, int] = (0, 0),
) -> Any:
    """The image padded on the right and at the bottom, in `background` (RGB(A), the
    widget's colour), to whole character cells (`cell` = (width, height) in pixels), and
    to `at_least` pixels (the widget's cells: the picture then covers every one of them).

    A cell the picture covers only partly is left to the terminal: mlterm paints the rest
    of it in its default background (a white line under every picture in its default
    colours), Konsole keeps whatever picture was there before (strips of the detail view's
    large image beside every thumbnail after it closed). Covered whole, the cell is ours.
    """
    from PIL import Image as PILImage

    width, height = cell
    if width <= 0 or height <= 0:
        return image
    wide = -(-max(image.width, at_least[0]) // width) * width
    tall = -(-max(image.height, at_least[1]) // height) * height
    if (wide, tall) == image.size:
        return image
    rgb = tuple(background[:3]) if background else (0, 0, 0)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    fill = rgb + (255,) if image.mode == "RGBA" else rgb
    padded = PILImage.new(image.mode, (wide, tall), fill)
    padded.paste(image, (0, 0))
    return padded


def terminal_colour(
    colour: tuple[int, ...] | None, color_system: str | None
) -> tuple[int, ...] | None:
    """`colour` (RGB(A)) as the terminal shows it when Textual writes it in `color_system`
    (Rich's name: truecolor, 256, standard, windows): Textual lowers every colour to the
    terminal's palette, so padding beside a picture must be lowered alike to match the
    cells around it (the 16 colours' RGB are Rich's default terminal theme's)."""
    if colour is None or color_system in (None, "truecolor"):
        return colour
    from rich.color import Color, ColorSystem

    system = {
        "256": ColorSystem.EIGHT_BIT,
        "standard": ColorSystem.STANDARD,
        "windows": ColorSystem.WINDOWS,
    }.get(color_system)
    if system is None:
        return colour
    lowered = Color.from_rgb(*colour[:3]).downgrade(system).get_truecolor()
    return (lowered.red, lowered.green, lowered.blue, *colour[3:])


def sixel_cuts_bands(environ: Mapping[str, str] | None = None) -> bool:
    """Pictures are cut to whole 6-pixel bands only in Konsole ($KONSOLE_VERSION): other
    terminals draw a last partial band as it is, and a cut there leaves 1-5 px of the last
    cell row to the terminal (see `whole_cells`)."""
    import os

    env = os.environ if environ is None else environ
    return bool(env.get("KONSOLE_VERSION"))


_SIXEL_CLASS: type | None = None


def sixel_widget_class() -> type:
    """textual-image's Sixel widget, with an inner widget that (1) draws the picture from
    its first row and leaves the cursor right of it on that row, where Textual continues
    writing (0.12 drew it from the last row and left the cursor a row lower, so the rest of
    the line landed a row too low: ghosts after scrolling and modals), then moves over the
    widget's cells on the other rows, writing nothing there (no blank before the picture:
    issue 13.8), (2) defines colours before pixels, (3) covers all the widget's cells
    (`whole_cells`), (4) in Konsole sends whole 6-pixel bands, (5) encodes each frame of
    a playing animation once (`frame_renders`, a `FrameRenders` the view sets on the
    outer widget: the Sixel data per frame, crop, size, cell, options and colours); and an
    outer widget that composes its inner one once.

    Relies on `textual_image.widget.sixel.Image.compose` yielding `_ImageSixelImpl` (which
    keeps the source picture on `.image`: the frame a cached encoding belongs to), on its
    `_NoopRenderable`, and on
    `_ImageSixelImpl._get_sixel_segments(sixel_data)` and `_image_to_sixels(image, options,
    background)` (background: the widget's RGBA), and on `sixel.get_cell_size()`.
    """
    global _SIXEL_CLASS
    if _SIXEL_CLASS is not None:
        return _SIXEL_CLASS
    from PIL import Image as PILImage
    from rich.control import Control
    from rich.segment import ControlType, Segment
    from rich.style import Style
    from textual.strip import Strip
    from textual_image.widget import sixel as sixel_widget
    from textual_image.widget._base import Image as BaseImage

    impl = sixel_widget._ImageSixelImpl
    plain = Style()
    get_cell_size = sixel_widget.get_cell_size  # the cell size textual-image scales with

    class _Sixels(impl):  # type: ignore[misc, valid-type]
        DEFAULT_CSS = "_Sixels { width: 100%; height: 100%; }"

        _box = (0, 0)  # the cells being drawn (the crop), which the picture covers whole
        _crop: Any = None  # the same, as the Region asked for (a part of the render's key)

        def render_lines(self, crop):
            self._box = (crop.width, crop.height)
            self._crop = crop
            lines = super().render_lines(crop)
            if not lines:
                return lines
            # The picture goes out on the widget's first row and covers all its cells
            # (`whole_cells`); on every row the cursor then moves over the widget's cells,
            # leaving them as they are. So nothing is written over the picture (blanking
            # the cells first made it vanish until the terminal had decoded it again: a
            # flash at every frame), and everything right of and below the widget is
            # written after it: Konsole repaints the cells beside a new picture from its
            # older pictures (strips of the detail view's large image beside every
            # thumbnail after it closed) until text is written there again.
            skip = Strip(
                [
                    Segment(
                        f"\x1b[{crop.width}C", control=((ControlType.CURSOR_FORWARD, crop.width),)
                    )
                ],
                cell_length=crop.width,
            )
            sixel = [s for s in lines[-1] if s.control or not s.text.isspace()]
            return [Strip(sixel, cell_length=crop.width)] + [skip] * (len(lines) - 1)

        def _image_to_sixels(self, image, sixel_options=None, background=None):
            cell = get_cell_size()
            color_system = self.app.console.color_system
            renders = getattr(self.parent, "frame_renders", None)
            frame = self.image
            if renders is None or not renders.enabled or not isinstance(frame, PILImage.Image):
                renders = None
            else:
                key = ("sixel", self._crop, self.content_size, cell, sixel_options, background)
                key += (color_system, sixel_cuts_bands())
                cached = renders.get(frame, key)
                if cached is not None:
                    return cached
            box = (self._box[0] * cell.width, self._box[1] * cell.height)
            pad = terminal_colour(background, color_system)
            image = whole_cells(image, (cell.width, cell.height), pad, box)
            if sixel_cuts_bands():
                image = whole_bands(image)
            data = registers_first(super()._image_to_sixels(image, sixel_options, background))
            if renders is not None:
                renders.put(frame, key, data, len(data))
            return data

        def _get_sixel_segments(self, sixel_data: str):
            region = self.screen.find_widget(self).visible_region
            return [
                Segment(Control.move_to(region.x, region.y).segment.text, style=plain),
                Segment(sixel_data, style=plain, control=((ControlType.CURSOR_FORWARD, 0),)),
                Segment(Control.move_to(region.right, region.y).segment.text, style=plain),
            ]

    class SixelImage(sixel_widget.Image, Renderable=sixel_widget._NoopRenderable):
        _sixels: Any = None
        frame_renders: Any = None  # a playing animation's `FrameRenders` (see above)

        def compose(self):
            self._sixels = _Sixels(self.image, self._sixel_options)
            yield self._sixels

        def _set_image(self, value):
            """A picture goes to the Sixel widget composed once (textual-image recomposes
            at every change: a new widget, the picture painted twice with a blank between).
            Before the first compose, `compose` takes it from `image`."""
            inner = self._sixels
            same_size = (
                isinstance(value, PILImage.Image)
                and isinstance(self._image, PILImage.Image)
                and value.size == self._image.size
            )
            if same_size:
                self._image = value  # the size cannot change: no layout pass
            else:
                BaseImage.image.fset(self, value)
            if inner is not None:
                inner.image = value
                inner.refresh()

        image = property(sixel_widget.Image.image.fget, _set_image)

    SixelImage.__module__ = __name__
    _SIXEL_CLASS = SixelImage
    return SixelImage


# -- the guard ----------------------------------------------------------------------------


# -- the terminal window closing -----------------------------------------------------------


def resume_only_after_stop() -> None:
    """Let Textual's SIGCONT handler resume application mode only after a stop it saw.

    When a terminal window closes, the kernel sends the app SIGHUP and then SIGCONT.
    Textual's Linux driver takes any SIGCONT for the end of a Ctrl+Z suspension and starts
    application mode again, with a second output thread; that thread dies on its first
    write to the closed terminal, and once its queue holds 30 writes the app blocks for
    ever while quitting. Wrapping the SIGTSTP and SIGCONT handlers the driver installed
    (checked by `check_internals`) keeps Ctrl+Z working and ignores the stray SIGCONT.
    Call once the app runs on a real terminal (from `on_mount`); main thread only."""
    on_stop, on_cont = signal.getsignal(signal.SIGTSTP), signal.getsignal(signal.SIGCONT)
    if not (callable(on_stop) and callable(on_cont)):
        return  # not Textual's Linux driver (headless, Windows): nothing to guard
    stopped = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        stopped.set()
        on_stop(signum, frame)

    def cont(signum: int, frame: Any) -> None:
        if stopped.is_set():
            stopped.clear()
            on_cont(signum, frame)

    signal.signal(signal.SIGTSTP, stop)
    signal.signal(signal.SIGCONT, cont)


def mute_output_if_terminal_gone(app: App[Any]) -> bool:
    """After a SIGHUP: if the terminal is really gone (hung up: no longer a tty, every
    write fails with EIO), the app's driver writes nothing from now on, so quitting cannot
    block on it (Textual's output thread dies on the first failed write and its queue then
    fills). A SIGHUP sent with the window still open changes nothing: the terminal is
    restored as usual. Whether it muted. Uses `App._driver` and the driver's `fileno`,
    checked by `check_internals`."""
    driver = getattr(app, "_driver", None)
    fileno = getattr(driver, "fileno", None)
    if driver is None or not isinstance(fileno, int) or os.isatty(fileno):
        return False
    driver.write = lambda data: None
    driver.flush = lambda: None
    return True


def exit_if_still_running(code: int, after: float) -> None:
    """The last resort once a quitting app's data is safe: end the process with `code`
    if it is still running `after` seconds from now (something in a dependency blocked
    on the closed terminal). A daemon timer; a normal exit before then cancels it."""
    timer = threading.Timer(after, os._exit, (code,))
    timer.daemon = True
    timer.start()


# -- the image widgets -----------------------------------------------------------------------

_WIDGET_CLASSES: dict[str, type] = {}


def image_widget_class(kind: str) -> type[Any]:
    """The textual-image widget class for a concrete renderer kind (`imaging.image_widget_class`).

    A subclass whose `image` setter skips the full-screen layout pass when the new picture
    has the same pixel size as the one shown (every partial frame of a task does): the
    widget's size cannot change then, so a repaint of the widget is enough.

    The half-cell class also fills its box when `fill` is set (`fills_box`; `ImageView`
    sets it and sizes the widget 100% x 100%): it draws a picture centred in the box, in
    the cells textual-image's widget sized `auto` and centred by the box had
    (`picture_cells`), or, with no picture, its `placeholder` text (plain, never markup),
    so no picture ever changes its size and none costs a layout pass.
    """
    cls = _WIDGET_CLASSES.get(kind)
    if cls is not None:
        return cls
    from PIL import Image as PILImage
    from textual_image import widget as tw

    from imgtui.tui.imaging import HALFCELL_BYTES_PER_CELL

    base = {
        "halfcell": tw.HalfcellImage,
        "unicode": tw.UnicodeImage,
        "sixel": tw.SixelImage,
        "tgp": tw.TGPImage,
    }.get(kind, tw.HalfcellImage)
    if kind == "sixel":  # a different widget inside: imgtui's fixed one
        sixel: type[Any] = sixel_widget_class()
        _WIDGET_CLASSES[kind] = sixel
        return sixel
    base_setter = base.image.fset  # type: ignore[attr-defined]

    def set_image(self, value) -> None:
        if self.fill and (value is None or isinstance(value, PILImage.Image)):
            # The widget fills its box whatever the picture: a new picture (or none) is
            # a repaint of the widget, never a layout of the screen.
            renderable = getattr(self, "_renderable", None)
            if renderable is not None:
                renderable.cleanup()
                self._renderable = None
            self._image = value
            self._image_width, self._image_height = value.size if value is not None else (0, 0)
            self.refresh()
            return
        same_size = (
            isinstance(value, PILImage.Image)
            and getattr(self, "_image_width", None) == value.width
            and getattr(self, "_image_height", None) == value.height
            and isinstance(getattr(self, "_image", None), PILImage.Image)
        )
        if not same_size:
            base_setter(self, value)
            return
        renderable = getattr(self, "_renderable", None)
        if renderable is not None:
            renderable.cleanup()
            self._renderable = None
        self._image = value
        self.refresh()

    base_render_lines = base.render_lines

    def render_lines(self, crop):
        """Lines of a playing animation's frame come from its `FrameRenders` once the
        frame has been rendered at this size, crop and colours (`frame_renders`, set by
        the view). Half cells and unicode only: a TGP frame is its picture in the
        terminal (`render` below)."""
        renders = self.frame_renders
        picture = self.image
        if renders is None or not renders.enabled or not isinstance(picture, PILImage.Image):
            return base_render_lines(self, crop)
        key = (kind, crop, self.size, self.background_colors, tuple(self.get_line_filters()))
        strips = renders.get(picture, key)
        if strips is None:
            strips = base_render_lines(self, crop)
            renders.put(picture, key, strips, crop.area * HALFCELL_BYTES_PER_CELL)
        return strips

    base_render = base.render
    from textual_image.renderable.tgp import Image as tgp_renderable

    def render(self):
        """TGP: a playing animation's frame is sent to the terminal once and then only
        placed: its renderable (`textual_image.renderable.tgp.Image`, which transmits its
        picture at its first render and only writes placeholders after that) is kept in
        `frame_renders` per frame and size, and cleaned up (the picture deleted in the
        terminal) when the renders are dropped. The widget is sized `auto` (ImageView's
        CSS), so the renderable is made with width and height `auto`, as the base does."""
        renders = self.frame_renders
        picture = self.image
        if renders is None or not renders.enabled or not isinstance(picture, PILImage.Image):
            return base_render(self)
        key = (kind, self.size)
        placed = renders.get(picture, key)
        if placed is None:
            placed = tgp_renderable(picture, "auto", "auto")  # (sends at its first render)
            if not renders.put(picture, key, placed, 4 * picture.width * picture.height):
                return base_render(self)  # over the budget: the widget's own, cleaned up
        return placed

    base_render_line = base.render_line
    base_styled_size = base._get_styled_size
    from textual.content import Content
    from textual.strip import Strip
    from textual_image._geometry import ImageSize
    from textual_image._terminal import get_cell_size

    from imgtui.tui import halfcell

    def get_styled_size(self):
        """Filling its box (`fill`), the picture is sized as `auto` in both directions."""
        if self.fill:
            return "auto", "auto"
        return base_styled_size(self)

    def fill_render(self):
        """Filling its box with no picture: the placeholder text (plain, never markup)."""
        if self.fill and self._image is None:
            return Content(self.placeholder)
        return base_render(self)

    def picture_cells(self, picture, width: int, height: int) -> tuple[int, int, int, int]:
        """(left, top, cols, rows): where in a `width` x `height` box the picture's cells
        are and how many, exactly as textual-image's widget sized `auto` and centred by
        its box's `align: center middle` had them: the widget's width from the box, its
        height from that width (`get_content_width`, `get_content_height`), the widget
        centred (Textual rounds the offsets down), the picture's cells computed within
        the widget and drawn from its top left."""
        cell = get_cell_size()
        fit = ImageSize(picture.width, picture.height, "auto", "auto")
        wide = min(width, fit.get_cell_size(width, height or 2**32, cell)[0])
        tall = min(height, fit.get_cell_size(wide, height or 2**32, cell)[1])
        cols, rows = fit.get_cell_size(wide, tall, cell)
        return max(0, (width - wide) // 2), max(0, (height - tall) // 2), cols, rows

    def halfcell_render_line(self, y: int) -> Strip:
        """Half cells drawn by `imgtui.tui.halfcell` straight from the picture's pixels
        (the same cells as textual-image's renderable, without Rich on the loop), made once
        per picture, size and style. The number of cells is textual-image's own
        (`ImageSize.get_cell_size` with the widget's styled size and the terminal's cell
        size, as its renderable computes them), so the widget's measured size and its
        lines agree; filling its box (`fill`), those cells sit where `picture_cells` puts
        them, blank cells around. Anything else than a still PIL picture aligned top left
        or filling its box: the base."""
        picture = self._image
        fill = self.fill
        if not isinstance(picture, PILImage.Image) or (
            not fill and self.styles.content_align != ("left", "top")
        ):
            return base_render_line(self, y)
        width, height = self.size
        style = self.visual_style.rich_style
        made = self._halfcell_lines
        if made is None or made[0] is not picture or made[1] != (width, height, style):
            top = 0
            if fill:  # centred in the box, with blank cells around
                left, top, cols, rows = self.picture_cells(picture, width, height)
                inner = halfcell.strips(picture, cols, rows, width - left, style)
                lines = [Strip.join([Strip.blank(left, style), line]) for line in inner]
                lines = [line.extend_cell_length(width, style) for line in lines]
            else:
                cols, rows = ImageSize(
                    picture.width, picture.height, *self._get_styled_size()
                ).get_cell_size(width, height, get_cell_size())
                lines = halfcell.strips(picture, cols, rows, width, style)
            made = self._halfcell_lines = (picture, (width, height, style), lines, top)
        lines, top = made[2], made[3]
        if 0 <= y - top < len(lines) and y < height:
            return lines[y - top]
        return Strip.blank(width, style)

    image = property(base.image.fget, set_image)  # type: ignore[attr-defined]
    members: dict[str, Any] = {"image": image, "fill": False, "fills_box": False}
    if kind == "halfcell":
        members.update(
            render_line=halfcell_render_line,
            _halfcell_lines=None,
            fills_box=True,
            placeholder="",
            picture_cells=picture_cells,
            _get_styled_size=get_styled_size,
            render=fill_render,
        )
    if kind in ("halfcell", "unicode"):
        members.update(render_lines=render_lines, frame_renders=None)
    elif kind == "tgp":
        members.update(render=render, frame_renders=None)
    cls = type(f"Fast{base.__name__}", (base,), members, Renderable=base._Renderable)
    cls.__module__ = __name__
    _WIDGET_CLASSES[kind] = cls
    return cls


def cell_size() -> tuple[int, int]:
    """The terminal's cell size in pixels (width, height), as textual-image found it
    (`textual_image._terminal.get_cell_size`: cached after the first call)."""
    from textual_image._terminal import get_cell_size

    size = get_cell_size()
    return int(size.width), int(size.height)


# -- importing textual-image ----------------------------------------------------------------

_SIXEL_MARKERS = ("\x1b[?", "c")  # the reply markers textual-image waits for after DA1
_KITTY_MARKERS = ("\x1b_G", "\x1b\\")  # ... and after its Kitty graphics query


_KITTY_TERMS = ("xterm-kitty", "xterm-ghostty")


def in_multiplexer(environ: Mapping[str, str] | None = None) -> bool:
    """Inside tmux or GNU screen: both answer DA1 themselves and never pass a Kitty graphics
    query on (an application would have to wrap it in tmux's passthrough).

    $TMUX is inherited by a terminal started from inside tmux; kitty and Ghostty, which
    do answer the query, name themselves in $TERM.
    """
    env = os.environ if environ is None else environ
    term = env.get("TERM", "")
    if term.startswith(("tmux", "screen")):
        return True
    return bool(env.get("TMUX")) and term not in _KITTY_TERMS


def import_textual_image(renderer: str) -> None:
    """Import textual-image (call before Textual owns the terminal), asking the terminal
    only what can change the renderer `renderer` ends up as."""
    if "textual_image.renderable" in sys.modules:
        return
    from textual_image import _terminal

    tty = bool(sys.__stdout__ and sys.__stdout__.isatty())
    skip: set[tuple[str, str]] = set()
    if hasattr(_terminal, "probe_terminal"):  # the batched probe (cached): nothing to leave out
        sixel = renderer == "sixel" or (
            renderer == "auto" and tty and _terminal.probe_terminal().sixel
        )
    elif renderer != "auto":
        skip = {_SIXEL_MARKERS, _KITTY_MARKERS}
        sixel = renderer == "sixel"
    else:
        sixel = tty and _answers_sixel(_terminal)
        if not sixel:
            skip.add(_SIXEL_MARKERS)  # asked already
        if in_multiplexer():
            skip.add(_KITTY_MARKERS)

    ask = _terminal.capture_terminal_response

    def capture(start_marker: str, end_marker: str, timeout: float | None = None):
        if (
            start_marker,
            end_marker,
        ) in skip:  # the query then reports "unsupported" and sends nothing
            raise _terminal.TerminalError("not asked")
        return ask(start_marker, end_marker, timeout)

    no_numpy = None if sixel else _Unimportable("numpy", threading.current_thread())
    if no_numpy is not None:
        sys.meta_path.insert(0, no_numpy)
    if skip:
        _terminal.capture_terminal_response = capture  # the renderable modules bind it at import
    try:
        import textual_image.renderable
        import textual_image.widget  # noqa: F401  (caches the cell size)
    finally:
        if no_numpy is not None:
            sys.meta_path.remove(no_numpy)
        if skip:
            _terminal.capture_terminal_response = ask
            for name in ("textual_image.renderable.sixel", "textual_image.renderable.tgp"):
                module = sys.modules.get(name)
                if getattr(module, "capture_terminal_response", None) is capture:
                    module.capture_terminal_response = ask  # type: ignore[union-attr]


def _answers_sixel(terminal: Any) -> bool:
    """textual-image's Sixel check (`renderable.sixel.query_terminal_support`)."""
    try:
        with terminal.capture_terminal_response(*_SIXEL_MARKERS, timeout=0.1) as response:
            sys.__stdout__.write("\x1b[c")  # type: ignore[union-attr]
            sys.__stdout__.flush()  # type: ignore[union-attr]
    except (terminal.TerminalError, TimeoutError):
        return False
    return "4" in response.sequence[len(_SIXEL_MARKERS[0]) : -len(_SIXEL_MARKERS[1])].split(";")


class _Unimportable:
    """A meta path finder that makes `import <name>` fail in one thread (textual-image's
    Sixel encoder then does without numpy; no other renderer uses it)."""

    def __init__(self, name: str, thread: threading.Thread) -> None:
        self.name = name
        self.thread = thread

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname == self.name and threading.current_thread() is self.thread:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


def _version(dist: str) -> tuple[int, ...]:
    from importlib.metadata import version

    return tuple(int(p) for p in re.findall(r"\d+", version(dist))[:2])


def check_internals() -> list[str]:
    """Every private name and behaviour this module relies on, checked; the problems found
    (empty when all is as expected). Versions outside the tested ranges are problems too:
    re-check the touches above, then widen the range."""
    import inspect

    from textual import app as textual_app
    from textual.widget import Widget

    problems = []
    for dist, (low, high) in (
        ("textual", TESTED_TEXTUAL),
        ("textual-image", TESTED_TEXTUAL_IMAGE),
    ):
        if not low <= _version(dist) < high:
            problems.append(f"{dist} {_version(dist)} is outside the tested range {low}-{high}")
    on_event = inspect.getsource(textual_app.App.on_event)
    if "_forward_event(event)" not in on_event or "priority=True" not in on_event:
        problems.append("App.on_event no longer forwards keys after the priority bindings")
    if "_check_bindings(event.key)" not in inspect.getsource(textual_app.App._on_key):
        problems.append("App._on_key no longer runs the bindings of bubbled keys")
    if "self._driver.write(" not in inspect.getsource(textual_app.App.copy_to_clipboard):
        problems.append("App.copy_to_clipboard no longer writes through App._driver")
    stopped = events.Key("a", "a")
    stopped.stop()
    if getattr(stopped, "_stop_propagation", None) is not True:
        problems.append("Message.stop() no longer sets _stop_propagation")
    from textual.screen import Screen

    chain = getattr(Screen, "_binding_chain", None)
    if not isinstance(chain, property):
        problems.append("Screen._binding_chain is gone")
    if "app_focus" not in on_event:
        problems.append("App.on_event no longer sets app_focus on a key")
    if "_set_forwarded" not in inspect.getsource(Widget._forward_event):
        problems.append("Widget._forward_event no longer marks events forwarded")
    try:
        from textual._xterm_parser import XTermParser

        keys = [e.key for e in XTermParser().feed("a\x1b[D") if isinstance(e, events.Key)]
        if keys != ["a", "left"]:
            problems.append(f"XTermParser parses 'a' Left as {keys}")
    except ImportError:
        problems.append("textual._xterm_parser.XTermParser is gone")
    from textual_image.widget import sixel as sixel_widget

    impl = getattr(sixel_widget, "_ImageSixelImpl", None)
    if impl is None:
        problems.append("textual_image.widget.sixel._ImageSixelImpl is gone")
    else:
        if not hasattr(sixel_widget, "_NoopRenderable"):
            problems.append("textual_image.widget.sixel._NoopRenderable is gone")
        problems += [
            f"_ImageSixelImpl.{name} is gone"
            for name in ("_get_sixel_segments", "_image_to_sixels")
            if not callable(getattr(impl, name, None))
        ]
        if not callable(getattr(sixel_widget, "get_cell_size", None)):
            problems.append("textual_image.widget.sixel.get_cell_size is gone")
        if "_ImageSixelImpl(" not in inspect.getsource(sixel_widget.Image.compose):
            problems.append("textual_image's Sixel Image no longer composes _ImageSixelImpl")
        if "self.image = image" not in inspect.getsource(impl.__init__):
            problems.append("_ImageSixelImpl no longer keeps its source picture on .image")
    from textual_image import _terminal

    if hasattr(_terminal, "probe_terminal"):
        fields = getattr(getattr(_terminal, "TerminalCapabilities", None), "_fields", ())
        if fields != ("cell_size", "sixel", "tgp"):
            problems.append(f"textual_image TerminalCapabilities fields are {fields}")
        if "_result" not in inspect.getsource(_terminal.probe_terminal):
            problems.append("textual_image.probe_terminal no longer caches on _result")
    elif "_result" not in inspect.getsource(_terminal.get_cell_size):
        problems.append("textual_image.get_cell_size no longer caches on _result")
    from textual_image import widget as image_widgets

    setter = inspect.getsource(image_widgets.HalfcellImage.image.fset)  # type: ignore[attr-defined]
    for name in ("self._renderable.cleanup()", "self._image = ", "self._image_width = "):
        if name not in setter:
            problems.append(f"textual-image's Image.image setter no longer does {name!r}")
    for kind in ("HalfcellImage", "UnicodeImage", "SixelImage", "TGPImage"):
        if not isinstance(getattr(getattr(image_widgets, kind, None), "_Renderable", None), type):
            problems.append(f"textual_image.widget.{kind}._Renderable is gone")
    from textual_image import _geometry
    from textual_image.renderable import halfcell as halfcell_renderable

    if not callable(getattr(getattr(_geometry, "ImageSize", None), "get_cell_size", None)):
        problems.append("textual_image._geometry.ImageSize.get_cell_size is gone")
    if not callable(getattr(image_widgets.HalfcellImage, "_get_styled_size", None)):
        problems.append("textual-image's Image._get_styled_size is gone")
    drawn = inspect.getsource(halfcell_renderable.Image.__rich_console__)
    for name in ('Segment("▀"', "bgcolor=", "scaled(width, height)", "get_cell_size("):
        if name not in drawn:
            problems.append(f"textual-image's half cells no longer draw with {name!r}")
    if not callable(getattr(_terminal, "capture_terminal_response", None)):
        problems.append("textual_image._terminal.capture_terminal_response is gone")
    if not isinstance(getattr(_terminal, "TerminalError", None), type):
        problems.append("textual_image._terminal.TerminalError is gone")
    if not callable(getattr(_terminal, "get_cell_size", None)):
        problems.append("textual_image._terminal.get_cell_size is gone")
    from textual.drivers import linux_driver

    driver_init = inspect.getsource(linux_driver.LinuxDriver.__init__)
    if "signal.SIGCONT, self._sigcont_application" not in driver_init:
        problems.append("LinuxDriver no longer installs its SIGCONT handler in __init__")
    if "self.fileno" not in driver_init:
        problems.append("LinuxDriver no longer keeps its terminal's fileno")
    if "self._driver = driver" not in inspect.getsource(textual_app.App._build_driver):
        problems.append("App._driver is no longer where the App keeps its driver")
    from textual_image import _sixel

    if "#{i};2;{r};{g};{b}" not in inspect.getsource(_sixel):
        problems.append("textual_image._sixel no longer defines registers as #N;2;R;G;B")
    return problems


# -- the start-up probe -------------------------------------------------------------------

PROBE_TIMEOUT = 1.0  # every terminal answers DA1; a slow one (SSH, load) gets this long
_DA1 = re.compile(r"\x1b\[\?([\d;]*)c")
_XTVERSION = re.compile(r"\x1bP>\|([^\x1b]*)\x1b\\")
_KITTY_REPLY = re.compile(r"\x1b_G([^\x1b]*)\x1b\\")
_CELL_REPLY = re.compile(r"\x1b\[6;(\d+);(\d+)t")
_KITTY_QUERY = "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"
KITTY_PLACEHOLDERS = (0, 28)  # kitty draws Unicode-placeholder images from 0.28 on


class Capabilities:
    """What the terminal answered at start-up: Sixel (DA1 attribute 4), the Kitty graphics
    protocol, its name and version (XTVERSION), the cell size in pixels (0 when unknown)."""

    def __init__(
        self,
        sixel: bool = False,
        kitty_graphics: bool = False,
        version: str = "",
        cell: tuple[int, int] = (0, 0),
        answered: bool = False,
    ) -> None:
        self.sixel = sixel
        self.kitty_graphics = kitty_graphics
        self.version = version  # e.g. "kitty(0.26.5)", "XTerm(379)", "tmux 3.3a"
        self.cell = cell
        self.answered = answered  # DA1 came back (the probe saw the whole answer)

    def kitty_version(self) -> tuple[int, ...] | None:
        match = re.match(r"kitty\((\d+)\.(\d+)", self.version)
        return (int(match.group(1)), int(match.group(2))) if match else None

    @property
    def placeholders(self) -> bool:
        """Kitty graphics through Unicode placeholders, as textual-image draws them: not in
        kitty before 0.28 (green boxes there)."""
        version = self.kitty_version()
        return self.kitty_graphics and (version is None or version >= KITTY_PLACEHOLDERS)

    def renderer(self) -> str:
        """The renderer `auto` means here: Sixel, else Kitty graphics where placeholders
        work, else half cells."""
        if self.sixel:
            return "sixel"
        if self.placeholders:
            return "tgp"
        return "halfcell"


def parse_replies(data: str) -> tuple[Capabilities, str]:
    """Split what stdin gave during the probe into the terminal's answers and everything
    else (the user's keys, in order)."""
    caps = Capabilities()
    da1 = _DA1.search(data)
    if da1:
        caps.answered = True
        caps.sixel = "4" in da1.group(1).split(";")
    version = _XTVERSION.search(data)
    if version:
        caps.version = version.group(1)
    kitty = _KITTY_REPLY.search(data)
    if kitty:
        caps.kitty_graphics = kitty.group(1).rsplit(";", 1)[-1] == "OK"
    cell = _CELL_REPLY.search(data)
    if cell:
        caps.cell = (int(cell.group(2)), int(cell.group(1)))
    rest = data
    for pattern in (_DA1, _XTVERSION, _KITTY_REPLY, _CELL_REPLY):
        rest = pattern.sub("", rest)
    return caps, rest


_typed = ""


def typed_during_probe() -> str:
    """Keys the user typed while the terminal was probed (given out once)."""
    global _typed
    typed, _typed = _typed, ""
    return typed


def probe(ask_kitty: bool, timeout: float = PROBE_TIMEOUT) -> Capabilities:
    """Ask the terminal (stdin/stdout must be a tty) for XTVERSION, Kitty graphics (when
    `ask_kitty`), the cell size when the tty does not know it, and DA1 last: terminals
    answer in order, so DA1's reply ends the answer. Everything else read meanwhile is the
    user's typing: kept for `typed_during_probe()`, never lost, never taken for a reply.
    """
    import os
    import select
    import sys
    import termios
    import tty

    global _typed
    fd_in = sys.__stdin__.fileno()  # type: ignore[union-attr]
    out = sys.__stdout__
    assert out is not None
    cell = (0, 0)
    try:
        import fcntl
        import struct

        rows, cols, xpix, ypix = struct.unpack(
            "HHHH", fcntl.ioctl(out.fileno(), termios.TIOCGWINSZ, b"\0" * 8)
        )
        if rows and cols and xpix and ypix:
            cell = (xpix // cols, ypix // rows)
    except OSError:
        pass
    saved = termios.tcgetattr(fd_in)
    data = ""
    try:
        tty.setcbreak(fd_in, termios.TCSANOW)  # no echo, no line buffering
        query = "\x1b[>0q" + (_KITTY_QUERY if ask_kitty else "")
        query += ("\x1b[16t" if cell == (0, 0) else "") + "\x1b[c"
        out.write(query)
        out.flush()
        deadline = time.monotonic() + timeout
        raw = b""
        while not _DA1.search(data):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd_in], [], [], left)[0]:
                break
            chunk = os.read(fd_in, 4096)
            if not chunk:
                break
            raw += chunk
            data = raw.decode("utf-8", "replace")
    finally:
        termios.tcsetattr(fd_in, termios.TCSANOW, saved)
    caps, rest = parse_replies(data)
    if caps.cell == (0, 0):
        caps.cell = cell
    _typed += rest
    return caps


def seed_textual_image(caps: Capabilities) -> None:
    """Hand the probe's findings to textual-image, so it asks the terminal nothing itself:
    0.12 caches the cell size on `get_cell_size._result`; 0.13+ caches everything on
    `probe_terminal._result` (a `TerminalCapabilities`)."""
    from textual_image import _terminal

    cell = _terminal.CellSize(*(caps.cell if caps.cell != (0, 0) else (10, 20)))  # its default
    if hasattr(_terminal, "probe_terminal"):
        _terminal.probe_terminal._result = _terminal.TerminalCapabilities(  # type: ignore[attr-defined]
            cell, sixel=caps.sixel, tgp=caps.placeholders
        )
    else:
        _terminal.get_cell_size._result = cell  # type: ignore[attr-defined]
