"""The app's header: Textual's `Header` (icon, title — sub-title, clock space) whose title
line changes without a layout pass.

Textual's `Header` shows a new title or sub-title with `Static.update()`, which asks for a
layout of the whole screen (~10-40 ms on the event loop with 8 cards streaming:
`benchmarks/loop_lag.py`). The app's sub-title holds the header's counts (`2 running · 40
tasks`), which change whenever a task starts or ends, so every one of those meant a layout
pass while frames streamed. The title line here is one row of fixed size (the header's
width, text cut with an ellipsis), so it is repainted in place instead.

It looks and acts as `Header` does: the icon left (a click opens the command palette),
the title and sub-title centred, the clock's space right, a click elsewhere toggles the
tall (3-row) header.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

__all__ = ["AppHeader"]


class HeaderIcon(Static):
    """The icon at the left; a click opens the command palette (as Textual's header)."""

    DEFAULT_CSS = """
    HeaderIcon {
        dock: left;
        padding: 0 1;
        width: 8;
        content-align: left middle;
        &:hover { background: $foreground 10%; }
    }
    """

    def on_mount(self) -> None:
        if self.app.ENABLE_COMMAND_PALETTE:
            self.tooltip = "Open the command palette"
        else:
            self.disabled = True

    async def on_click(self, event: events.Click) -> None:
        event.stop()
        await self.run_action("app.command_palette")


class AppHeader(Widget):
    """Icon, `title — sub_title` (the screen's, else the app's), clock space (module doc)."""

    DEFAULT_CSS = """
    AppHeader {
        dock: top;
        width: 100%;
        background: $panel;
        color: $foreground;
        height: 1;
        &.-tall { height: 3; }
        #header-title {
            text-wrap: nowrap;
            text-overflow: ellipsis;
            content-align: center middle;
            width: 100%;
            height: 1;
        }
        #header-clock-space {
            dock: right;
            width: 10;
            padding: 0 1;
        }
    }
    """

    tall = reactive(False)
    """Three rows instead of one (a click on the header toggles it)."""

    def __init__(self, icon: str = "⭘", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.icon = icon
        self.title_line = Static("", id="header-title")
        self.shown = ""  # the title line as shown (plain text; for tests)

    def compose(self) -> ComposeResult:
        yield HeaderIcon(self.icon)
        yield self.title_line
        yield Static("", id="header-clock-space")

    def on_mount(self) -> None:
        for node in (self.app, self.screen):
            self.watch(node, "title", self.show_title, init=False)
            self.watch(node, "sub_title", self.show_title, init=False)
        self.show_title()

    def show_title(self) -> None:
        """Show the title and sub-title (`App.format_title`): repainted, no layout pass."""
        screen = self.screen
        title = screen.title if screen.title is not None else self.app.title
        sub_title = screen.sub_title if screen.sub_title is not None else self.app.sub_title
        content = self.app.format_title(title, sub_title)
        self.shown = content.plain
        self.title_line.update(content, layout=False)  # one row of fixed size

    def watch_tall(self, tall: bool) -> None:
        self.set_class(tall, "-tall")

    def on_click(self) -> None:
        self.toggle_class("-tall")
