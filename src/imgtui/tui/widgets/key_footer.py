"""The footer of every imgtui screen: Textual's `Footer`, fitted to its width so that Quit,
the help key and the screen's essential keys always show and no key is cut off at the
right edge.

At 80 columns Textual's footer showed the main screen's keys up to "^q Qu". This one keeps
the app's priority keys (Ctrl+Q Quit and `?` / F1 Keys, which work over every screen), at
the right end of every footer, and the screen's essential keys (`keys.ESSENTIAL_KEYS`: its
way out and its save or apply key), at the left end; then the others in the footer's own
order (the focused widget's first, then the screen's, then the app's) while each fits
whole; the rest are hidden (the `?` overlay lists every key of the screen:
`keys_help.key_sections`). Without the essential ones first, the settings screen's profile
list (a, e, d, Delete, [ ], m) left no room for Esc and Ctrl+S at 80 columns. Modal dialogs show Quit and Keys through
their own bindings (`screens.dialog.Dialog`): Textual's footer lists a modal screen's
bindings only.

Each key's width is measured once its footer has composed (Textual's own measure of the
key, its padding, border and margins), before it is painted; a resize only shows or hides
keys again.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.compose import compose
from textual.geometry import Size
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Label

from imgtui.tui.keys import ESSENTIAL_KEYS

__all__ = ["KeyFooter"]

_ANY = Size(1000, 1)  # room enough to measure a key at its natural width


class KeyFooter(Footer):
    """`Footer` fitted to its width, Quit, `?` and the essential keys always shown (module doc)."""

    def __init__(self, *, show_command_palette: bool = True, compact: bool = False) -> None:
        super().__init__(show_command_palette=show_command_palette, compact=compact)
        self._units: list[tuple[list[Widget], int, bool]] = []  # (widgets, width, always)
        self._docked: int = 0  # cells the command palette key takes at the right
        self._generation = 0  # recompositions started (only the last one fits its keys)
        self.fitted = False  # the keys shown are fitted to the width (False while composing)
        self._kept: set[str] = set()  # keys shown at any width (set by `compose`)
        self._queued = False  # a recomposition is queued after the next refresh

    def always_keys(self) -> set[str]:
        """The keys of the app's priority bindings a footer shows (Quit, Keys)."""
        return {b.key for b in Binding.make_bindings(self.app.BINDINGS) if b.priority and b.show}

    def essential_keys(self) -> set[str]:
        """The keys of the screen's active bindings listed in `keys.ESSENTIAL_KEYS` (by id)."""
        return {
            key
            for key, active in self.screen.active_bindings.items()
            if active.binding.id in ESSENTIAL_KEYS and active.binding.show
        }

    @staticmethod
    def _outer_width(widget: Widget) -> int:
        styles = widget.styles
        content = widget.get_content_width(_ANY, _ANY)
        return content + styles.gutter.width + styles.margin.width

    def compose(self) -> ComposeResult:
        """`Footer.compose`'s keys with the essential ones moved first and Quit and Keys
        last (before the palette key)."""
        nodes = compose(self, super().compose())  # groups keep their keys
        always = self.always_keys()
        last = [n for n in nodes if getattr(n, "key", None) in always]
        essential = (self.essential_keys() if nodes else set()) - always
        self._kept = always | essential  # the screen may be gone once `recompose` measures
        first = [n for n in nodes if getattr(n, "key", None) in essential]
        palette = [n for n in nodes if n.has_class("-command-palette")]
        rest = [n for n in nodes if n not in last and n not in first and n not in palette]
        for node in rest:
            node.display = False  # shown by `_fit` once measured: never cut meanwhile
        yield from first
        yield from rest
        yield from last
        yield from palette

    def bindings_changed(self, screen: Screen) -> None:
        """`Footer.bindings_changed`, but one recomposition queued at a time. Textual's
        queues one per change: start-up (focus, composer, history) changed the main
        screen's bindings 5 times, and the recompositions (~20-70 ms each: composing and
        measuring the keys) ran back to back before the footer's keys were first painted,
        ~150-190 ms after the rest of the screen (benchmarks/startup.py). The queued one
        reads the bindings when it runs, so it shows every change made before it."""
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._queued:
            self._queued = True
            self.call_after_refresh(self._recompose_queued)

    async def _recompose_queued(self) -> None:
        self._queued = False  # a change from here on queues another
        await self.recompose()

    async def recompose(self) -> None:
        """Compose the keys (`Footer.compose`), measure them, and fit them to the width."""
        self._generation += 1
        generation = self._generation
        self.fitted = False
        await super().recompose()
        if generation != self._generation:
            return  # composed again meanwhile: that one fits its keys
        if not self.is_attached:
            return  # its screen closed meanwhile
        always = self._kept
        self._units, self._docked = [], 0
        for widget in self.children:
            width = self._outer_width(widget)
            if widget.has_class("-command-palette"):
                self._docked += width
            elif isinstance(widget, Label) and self._units:  # a group's label: with it
                widgets, total, keep = self._units[-1]
                self._units[-1] = ([*widgets, widget], total + width, keep)
            else:
                self._units.append(([widget], width, getattr(widget, "key", None) in always))
        self._fit(self.size.width or self.app.size.width)
        self.fitted = True

    def _fit(self, width: int) -> None:
        """Show the always-shown keys (Quit, Keys, the essential ones), then the others in
        order while each fits whole."""
        room = width - self._docked - sum(w for _, w, always in self._units if always)
        full = False
        for widgets, need, always in self._units:
            shown = always or (not full and need <= room)
            if not always:
                if shown:
                    room -= need
                else:
                    full = True  # in order: a later, shorter key does not jump the queue
            for widget in widgets:
                widget.display = shown

    def on_resize(self, event: events.Resize) -> None:
        if self._units:
            self._fit(event.size.width)
