"""Which streamed frames get decoded into pictures: only those of cards that can be seen.

A 4K frame costs ~100-300 ms of Pillow decode in a picture thread and ~33 MB of pixels
(`benchmarks/preview_latency.py`, `tests/system/test_memory.py`); with 8 streams in a
40-row terminal about half of the cards are scrolled off, and behind the detail view all
of them are covered. So, per running task:

- the task's `service.FrameDecoder` (thread side) always base64-decodes the frame (the
  bytes go to disk and to the detail view), but decodes and shrinks the picture only
  while its `wanted` is set;
- `PictureGate.frame_shown` (UI side, after each frame event) sets `wanted` from the
  card's visibility now, and marks the card stale when its frame was not decoded;
- on every layout or scroll change of the main screen and on a screen change, stale cards
  that can be seen again get their newest frame (`Task.preview`) decoded once, in a
  picture thread, so a card never shows an older frame than its task has.

Frames of one stream are decoded one at a time (the runner awaits each before reading
the next event), so no stream ever has an older frame decoded while a newer one waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgtui import images
from imgtui.api.events import Completed, Partial

if TYPE_CHECKING:
    from textual.app import App
    from textual.widget import Widget

    from imgtui.service import FrameDecoder
    from imgtui.tui.widgets.task_card import TaskCard

__all__ = ["PictureGate", "can_be_seen"]


def can_be_seen(widget: Widget) -> bool:
    """`widget` is mounted, on the current screen (none covers it) and at least partly
    inside its scrolling containers (`Widget.can_view_partial`)."""
    if not widget.is_attached:
        return False
    try:
        screen = widget.screen
    except Exception:  # NoScreen: being removed
        return False
    if screen is not widget.app.screen:
        return False
    return screen.can_view_partial(widget)


class PictureGate:
    """The UI side (see the module docstring). `decoders`: the running tasks' decoders by
    task id (the service's); `card(task_id)` finds a card; `run_in_thread(fn, *args)` runs
    picture work in the picture threads; `box` the card picture's pixel box."""

    def __init__(
        self,
        app: App[Any],
        decoders: dict[str, FrameDecoder],
        card: Callable[[str], TaskCard | None],
        run_in_thread: Callable[..., asyncio.Future],
        box: tuple[int, int],
    ) -> None:
        self.app = app
        self.decoders = decoders
        self.card = card
        self.run_in_thread = run_in_thread
        self.box = box
        self.stale: set[str] = set()  # cards showing an older frame than their task has
        self._decoding: set[str] = set()
        self._watched: Any = None

    def frame_shown(
        self, task_id: str, card: TaskCard | None, event: object, decoded: bool
    ) -> None:
        """After a frame event was applied (`decoded`: it came with a picture). `card` is
        None when the task list has not mounted the task's card (its row is far off
        screen): nothing to decode for then; a card mounted later decodes its task's
        newest frame itself."""
        self.watch()
        visible = card is not None and can_be_seen(card)
        decoder = self.decoders.get(task_id)
        if decoder is not None:
            decoder.wanted = visible
        if card is None:
            return
        if decoded:
            self.stale.discard(task_id)
        elif isinstance(event, (Partial, Completed)) and not card.has_final:
            self.stale.add(task_id)
            if visible:
                self._catch_up(card)

    def watch(self) -> None:
        """Listen to the main screen's layout/scroll changes and to screen changes (once)."""
        screen = self.app.screen_stack[0] if self.app.screen_stack else None
        if screen is None or self._watched is screen or not screen.is_running:
            return
        self._watched = screen
        screen.screen_layout_refresh_signal.subscribe(screen, self.visibility_changed)
        self.app.screen_change_signal.subscribe(screen, self.visibility_changed)

    def visibility_changed(self, _data: object = None) -> None:
        """Re-check running decoders' `wanted`, and catch up stale cards now in view."""
        for task_id, decoder in self.decoders.items():
            card = self.card(task_id)
            decoder.wanted = card is not None and can_be_seen(card)
        for task_id in list(self.stale):
            card = self.card(task_id)
            if card is None:
                self.stale.discard(task_id)
            elif can_be_seen(card):
                self._catch_up(card)

    def _catch_up(self, card: TaskCard) -> None:
        task = card.imgtask
        if task.id in self._decoding:
            return
        source, unfinished = task.preview()
        if source is None:
            return
        self._decoding.add(task.id)
        future = self.run_in_thread(images.picture, source, self.box)

        def done(f: asyncio.Future) -> None:
            self._decoding.discard(task.id)
            if f.cancelled() or f.exception() is not None:
                return
            picture = f.result()
            now_source = task.preview()[0]
            if picture is None or card.has_final:
                self.stale.discard(task.id)
                return
            if now_source is source or (isinstance(source, Path) and now_source == source):
                self.stale.discard(task.id)
                card.set_picture(picture, unfinished=unfinished)
            elif can_be_seen(card):  # a newer frame came meanwhile: that one
                card.set_picture(picture, unfinished=unfinished)
                self._catch_up(card)

        future.add_done_callback(done)
