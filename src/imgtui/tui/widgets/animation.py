"""Plays an animated picture (`imgtui.images.Frames`) in a view, only while it can be seen.

    player = FramePlayer(view, paint)   # paint(picture) puts one frame on the screen
    player.play(frames)                 # paints frame 0, then one timer per frame
    player.stop()                       # forgets the animation (a still replaced it)
    player.detach() / player.wake()     # the view was unmounted / mounted again

The frames arrive decoded and shrunk to the view's box (`images.picture`, in a picture
thread), so a frame change is a repaint of one small picture. There is at most one timer
per player, set for the shown frame's own duration (`Frames.durations_ms`), on the event
loop's clock's grid of that duration: two views of one animation change frames in the
same pass of the loop, so the screen is updated once for both. The timer is a bare loop
callback (`loop.call_at`), not a Textual `Timer`: that one is an asyncio task, two
signature lookups and a callback message per frame: under load about a third of what
the card and the preview pane playing one GIF cost (`benchmarks/gif_cpu.py`: +4.3% ->
+2.9% of a core; quiet, +3.9% -> +3.6%). The player pauses, with no timer left, when
its view cannot be seen:

- scrolled out of its container, not displayed, or not mounted (`Widget.can_view_partial`
  of the view's screen);
- its screen is not the current one (another screen, e.g. a modal, is on top);
- the app is in the background (`App.app_focus` off: the terminal reported focus out) or
  suspended (Ctrl+Z).

A paused player costs nothing until something could have made it visible again: its
screen's layout or scroll changed (`screen_layout_refresh_signal`), the current screen
changed (`screen_change_signal`), the app got focus back or resumed. Then it checks once
and, if visible, plays on from the frame it stopped at.

What each frame rendered to is kept in the player's `renders` (`FrameRenders`): the
view's image widget renders a frame once (half cells: its strips; Sixel: its escape
sequence; kitty graphics: its picture, sent to the terminal once and then only placed)
and shows it again from there in every later loop, so a large animation costs a lookup
per frame, not a re-render of every cell (issue 16.2: 24% of a core in the detail view
before). The cache is emptied when the player pauses, stops or is detached: an
animation that cannot be seen holds no renders.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL.Image import Image
    from textual.widget import Widget

    from imgtui.images import Frames

__all__ = ["MAX_RENDER_BYTES", "FramePlayer", "FrameRenders"]

#: What one animation's renders may hold, in bytes (as `FrameRenders.put` is told them;
#: a half-cell frame: `imaging.HALFCELL_BYTES_PER_CELL` per cell, the worst case). 16
#: frames of the detail view at 160x48 (about 3,500 cells each) take 14 MB by that
#: measure (a smooth picture: ~5 MB); a larger animation (or terminal) caches the frames
#: that fit and renders the others at each loop.
MAX_RENDER_BYTES = 40 * 1024 * 1024


class FrameRenders:
    """What the frames of one animation rendered to, one entry per frame (the newest key):
    `get(picture, key)` gives what `put(picture, key, value, size)` stored for that very
    picture object under an equal key, else None. The key holds whatever the render
    depends on besides the picture (size, crop, colours, renderer). At most `budget`
    bytes in all (by the sizes `put` is given): past it, a frame is not stored.
    `enabled` is on while the animation plays (its player has a timer set): a paused or
    finished animation is drawn the usual way, and `clear` turns it off.
    A value with a `cleanup()` method (a TGP renderable: its picture in the terminal) is
    cleaned up when it is dropped; `on_clear` (if set) is called after `clear` dropped
    anything, so the view can draw its picture again the usual way.
    `misses` and `hits` count how often a frame was really rendered and how often a
    cached render was used."""

    def __init__(self, budget: int = MAX_RENDER_BYTES) -> None:
        self.budget = budget
        self.enabled = False
        self.size = 0  # bytes held, by the sizes given to `put`
        self.misses = 0
        self.hits = 0
        self.on_clear: Callable[[], None] | None = None
        self._by_picture: dict[int, tuple[Image, Hashable, Any, int]] = {}

    def __len__(self) -> int:
        return len(self._by_picture)

    def get(self, picture: Image, key: Hashable) -> Any:
        entry = self._by_picture.get(id(picture))
        if entry is not None and entry[0] is picture and entry[1] == key:
            self.hits += 1
            return entry[2]
        self.misses += 1
        return None

    def put(self, picture: Image, key: Hashable, value: Any, size: int) -> bool:
        """Keep `value` as what `picture` renders to under `key` (replacing the picture's
        older entry); False when it does not fit in the budget (then nothing is kept)."""
        old = self._by_picture.pop(id(picture), None)
        if old is not None:
            self.size -= old[3]
            _drop(old[2])
        if self.size + size > self.budget:
            return False
        self._by_picture[id(picture)] = (picture, key, value, size)
        self.size += size
        return True

    def clear(self) -> None:
        """Forget every render and stop caching until `enabled` is set again."""
        self.enabled = False
        if not self._by_picture:
            return
        dropped = list(self._by_picture.values())
        self._by_picture.clear()
        self.size = 0
        for entry in dropped:
            _drop(entry[2])
        if self.on_clear is not None:
            self.on_clear()


def _drop(value: Any) -> None:
    cleanup = getattr(value, "cleanup", None)
    if callable(cleanup):
        cleanup()


class FramePlayer:
    """One animation in one view (see the module docstring). Not a widget: the view owns
    it and hands `play` the frames; `paint` shows one frame in the view."""

    def __init__(self, view: Widget, paint: Callable[[Image], None]) -> None:
        self.view = view
        self.paint = paint
        self.frames: Frames | None = None
        self.index = 0  # the frame on screen
        self.plays = 0  # loops finished
        self._timer: asyncio.TimerHandle | None = None  # the next frame's loop callback
        self._subscribed_to: Any = None  # the screen whose signals wake a paused player
        self._suspended = False
        self.renders = FrameRenders()  # what each frame rendered to, while it plays
        self._due = -math.inf  # when the shown frame's time is up (the loop's clock)

    # -- state ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """A timer is set for the next frame (False when stopped, paused or finished)."""
        return self._timer is not None

    @property
    def finished(self) -> bool:
        """The animation played its loops (`Frames.loops`) and rests on its last frame."""
        frames = self.frames
        return frames is not None and frames.loops > 0 and self.plays >= frames.loops

    def visible(self) -> bool:
        """The view can be seen now: mounted, on the current screen, at least partly
        inside its scrolling containers, and the app in the foreground."""
        view = self.view
        if not view.is_attached or self._suspended:
            return False
        app = view.app
        if not app.app_focus:
            return False
        try:
            screen = view.screen
        except Exception:  # NoScreen: being removed
            return False
        if screen is not app.screen:
            return False
        return screen.can_view_partial(view)

    # -- control ----------------------------------------------------------------------------

    def play(self, frames: Frames) -> None:
        """Show `frames` from the first one and keep them moving while visible."""
        self._cancel()
        self.renders.clear()
        self.frames = frames
        self.index = 0
        self.plays = 0
        self.paint(frames.first)
        self._subscribe()
        self._schedule()

    def stop(self) -> None:
        """Forget the animation (the view shows something else now). Idempotent."""
        self._cancel()
        self.renders.clear()
        self.frames = None
        self.index = 0
        self.plays = 0

    def wake(self, _data: object = None) -> None:
        """Something that can change visibility happened: play on if paused and visible."""
        if self.frames is not None and self._timer is None:
            self._subscribe()
            self._schedule()

    def detach(self) -> None:
        """The view left the DOM (Textual drops its timers and signal subscriptions): no
        timer, no subscriptions, no renders; the frames stay, and `wake` plays on if it
        comes back."""
        self._cancel()
        self.renders.clear()
        if self._subscribed_to is not None:
            view, app = self.view, self.view.app
            for signal in (
                app.screen_change_signal,
                app.app_suspend_signal,
                app.app_resume_signal,
                self._subscribed_to.screen_layout_refresh_signal,
            ):
                signal.unsubscribe(view)
        self._subscribed_to = None

    # -- inside ---------------------------------------------------------------------------

    def _cancel(self) -> None:
        self._due = -math.inf
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule(self, *, seen: bool = False) -> None:
        """Set the loop callback for the next frame if the view can be seen (`seen`: the
        caller has just checked)."""
        frames = self.frames
        if frames is None or len(frames) < 2 or self.finished:
            return
        if not (seen or self.visible()):
            self.renders.clear()  # paused: nothing kept for an animation no one sees
            return
        period = frames.durations_ms[self.index] / 1000
        loop = asyncio.get_running_loop()
        now = loop.time()
        due = self._due + period
        if not now < due <= now + 2 * period:  # the first frame, after a pause, or behind
            # On the clock's grid of this duration: views of one animation (its card and
            # the preview pane) change frames together, in one screen update.
            due = (math.floor(now / period) + 1) * period
        self._due = due
        self.renders.enabled = True
        # A bare loop callback, not a Textual timer (a task, two signature lookups and a
        # callback message per frame): callbacks due at the same moment run in the same
        # pass of the loop, so the views of one animation share one screen update.
        self._timer = loop.call_at(due, self._tick)

    def _tick(self) -> None:
        """The loop callback: the next frame; an error goes to Textual's handler (the app
        exits with its traceback), as one in a Textual timer's callback would."""
        try:
            self._advance()
        except Exception as error:
            self.view.app.call_next(_reraise, error)

    def _advance(self) -> None:
        self._timer = None
        frames = self.frames
        if frames is None:
            return
        if not self.visible():
            self.renders.clear()
            return  # paused on this frame; `wake` plays on
        index = self.index + 1
        if index >= len(frames):
            self.plays += 1
            if self.finished:
                self.renders.clear()  # rests on the last frame: repainted by Textual alone
                return
            index = 0
        self.index = index
        self.paint(frames.pictures[index])
        self._schedule(seen=True)

    def _subscribe(self) -> None:
        """Listen (once per screen) for what can make a paused view visible again."""
        view = self.view
        if not view.is_running:
            view.call_after_refresh(self._subscribe_later)
            return
        try:
            screen = view.screen
        except Exception:
            return
        if self._subscribed_to is screen:
            return
        app = view.app
        if self._subscribed_to is None:  # app-wide ones once (`detach` drops them)
            app.screen_change_signal.subscribe(view, self.wake)
            app.app_suspend_signal.subscribe(view, self._on_suspend)
            app.app_resume_signal.subscribe(view, self._on_resume)
            view.watch(app, "app_focus", self.wake, init=False)
        screen.screen_layout_refresh_signal.subscribe(view, self.wake)
        self._subscribed_to = screen

    def _subscribe_later(self) -> None:
        if self.frames is not None:
            self._subscribe()
            self._schedule()

    def _on_suspend(self, _app: object) -> None:
        self._suspended = True
        self._cancel()
        self.renders.clear()

    def _on_resume(self, _app: object) -> None:
        self._suspended = False
        self.wake()


def _reraise(error: Exception) -> None:
    raise error
