"""File paths that wrap at their separators, so a path stays readable in a narrow panel.

Textual wraps text at spaces only: a path has none, so it was cut anywhere
(`/home/ann/.local/share/imgt` | `ui/images/2026/...`). `fold(line, width)` breaks a line
after a `/` (or a space) instead, each continuation indented by `INDENT`; only a single
name longer than a row is cut inside (from the row it starts on). `PathLines` shows a titled list of such lines,
folded to its width whenever it is drawn, and copies a selection without the folds.
"""

from __future__ import annotations

import re

from rich.cells import cell_len, chop_cells
from textual.content import Content
from textual.geometry import Size
from textual.selection import Selection
from textual.widgets import Static

from imgtui.text import clean

__all__ = ["INDENT", "PathLines", "fold"]

INDENT = "  "  # before each continuation line
_PIECE = re.compile(r"[^/ ]*(?:/+| +)|[^/ ]+")  # a name and the separators after it


def fold(line: str, width: int) -> list[str]:
    """`line` in rows of at most `width` cells (continuations: at most `width` with
    `INDENT` in front), broken after `/` or a space; a name wider than a row is cut,
    filling the row it starts on."""
    if width <= len(INDENT) or cell_len(line) <= width:
        return [line]
    rows: list[str] = []
    row = ""
    for name in _PIECE.findall(line):
        piece = name
        room = width - (len(INDENT) if rows else 0)
        fits_a_row = cell_len(piece) <= width - len(INDENT)
        if row and cell_len(row + piece) > room and fits_a_row:
            rows.append(row)
            row = ""
            room = width - len(INDENT)
        while cell_len(row + piece) > room:  # one name wider than a row: cut it
            head, *_ = chop_cells(piece, room - cell_len(row))
            rows.append(row + head)
            row, piece = "", piece[len(head) :]
            room = width - len(INDENT)
        row += piece
    if row:
        rows.append(row)
    return [rows[0], *(INDENT + r for r in rows[1:])]


class PathLines(Static):
    """A title and lines of paths (`show`), each folded at its separators (`fold`)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = ""
        self.lines: list[str] = []

    def show(self, title: str, lines: list[str]) -> None:
        """Show `lines` (file paths, with a word before or after) under `title`; hidden
        when there are none. Control characters are removed (`imgtui.text.clean`)."""
        self.title = title
        self.lines = [clean(line, newlines=False) for line in lines]
        self.display = bool(lines)
        self.refresh(layout=True)

    def rows(self, width: int) -> list[str]:
        """Every line folded to `width` cells."""
        return [row for line in self.lines for row in fold(line, width)]

    def render(self) -> Content:
        rows = self.rows(self.content_size.width or 1000)
        return Content.assemble((self.title, "bold $accent"), "\n", "\n".join(rows))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 1 + len(self.rows(width)) if self.lines else 0

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The selected text with the folds taken out (a path copies whole)."""
        text = str(self.render())
        return selection.extract(text).replace("\n" + INDENT, ""), "\n"
