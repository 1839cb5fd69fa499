"""Text that wraps at sensible points and copies whole: request lines, URLs, JSON.

Textual wraps text at spaces and cuts a longer word wherever the row ends, so the detail
view's "Request as sent" broke a URL mid-word (`POST https://api.example.com/v1/images/ge`
| `nerations`). `fold_rows(line, width)` wraps at spaces as Textual does, but breaks a word
wider than a row only at a URL's seams: after `/` (a run of them: `https://`), before `?`,
`&` and `#` (as the Chicago Manual of Style breaks URLs; a `name=value` pair stays whole);
only a piece wider than a whole row is cut inside, filling the row it starts on. Continuation rows are
indented by the line's own indentation plus `INDENT`, so JSON keeps its shape.

`FoldedText` shows a title and a `Content` body (styles kept) folded to its width each
time it is drawn, and copies a mouse selection from the unfolded text: a URL that spans
three rows copies as one line, with no indentation inside it. Its text is cleaned of
control characters (`imgtui.text.clean`) and never parsed as markup (callers pass
`Content` or plain strings).
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import NamedTuple

from rich.cells import cell_len, chop_cells
from textual.content import Content
from textual.geometry import Offset, Size
from textual.selection import Selection
from textual.widgets import Static

from imgtui.text import clean

__all__ = ["INDENT", "FoldedText", "fold_rows"]

INDENT = "  "  # before each continuation row, after the line's own indentation
MIN_ROOM = 8  # narrower continuation rows than this: no folding, Textual wraps as usual

_WORD = re.compile(r"\S+\s*|\s+")  # a word and the spaces after it
_SEAM = re.compile(r"/+|(?=[?&#])")  # a URL's break points: after /, before ? & #


def _pieces(word: str) -> list[int]:
    """Offsets inside `word` after which it may break (its URL seams), in order."""
    cuts = {m.end() for m in _SEAM.finditer(word)}
    return sorted(c for c in cuts if 0 < c < len(word))


def fold_rows(line: str, width: int) -> list[tuple[int, int]]:
    """`line` (no newline) as rows of at most `width` cells: `(start, end)` offsets into
    `line`, each row `line[start:end]`; continuation rows are shown after the line's
    indentation plus `INDENT` (counted in `width`). Spaces at a fold are left out of both
    rows. Breaks at spaces; a word wider than a continuation row breaks at its URL seams
    (module doc), a piece wider than a row is cut, filling the row it starts on. One row,
    unfolded, when the line fits or `width` leaves fewer than `MIN_ROOM` cells after the
    indentation (Textual then wraps it as usual)."""
    indent = len(line) - len(line.lstrip(" ")) + len(INDENT)
    if cell_len(line) <= width or width - indent < MIN_ROOM:
        return [(0, len(line))]
    units: list[tuple[int, int, int]] = []  # (start, end of the visible part, end)
    for m in _WORD.finditer(line):
        start, end = m.span()
        visible = start + len(m.group().rstrip())
        if cell_len(line[start:visible]) <= width - indent:
            units.append((start, visible, end))
            continue
        cuts = [start, *(start + c for c in _pieces(line[start:visible])), visible]
        units += [(a, b, b) for a, b in pairwise(cuts)]
        units[-1] = (units[-1][0], visible, end)
    rows: list[tuple[int, int]] = []
    row_start, shown_end, used = 0, 0, 0  # the row so far: line[row_start:shown_end], cells
    for begin, visible, end in units:
        start = begin  # moves on as the unit is cut
        wide = cell_len(line[start:visible])
        if used + wide > width and shown_end > row_start and wide <= width - indent:
            rows.append((row_start, shown_end))  # fold before this unit
            row_start, used = start, indent
        while used + cell_len(line[start:visible]) > width:  # wider than a row: cut it
            if used < width:
                head = chop_cells(line[start:visible], width - used)[0] or line[start]
                start += len(head)
                shown_end = start
            rows.append((row_start, shown_end))  # (a full row: the cut starts the next)
            row_start, used = start, indent
        used += cell_len(line[start:end])
        if visible > start:
            shown_end = visible
    rows.append((row_start, max(shown_end, row_start)))
    return rows


class _Row(NamedTuple):
    line: int  # index of the unfolded line
    start: int  # offset of the row's first character in that line
    prefix: int  # cells of indentation in front of it (0 on a line's first row)
    length: int  # characters of the line shown on the row


class FoldedText(Static):
    """A title and a body, folded at spaces and URL seams to the widget's width, copied
    unfolded (module doc)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = Content("")
        self._folded: dict[int, tuple[Content, list[_Row]]] = {}

    def show(self, title: str, body: Content | str | None) -> None:
        """Show `body` under `title` (bold, accent); hidden when `body` is empty. A body
        with control characters is shown as their cleaned plain text (styles dropped)."""
        self.display = bool(body)
        if isinstance(body, str):
            body = Content(clean(body))
        elif body is not None and clean(body.plain) != body.plain:
            body = Content(clean(body.plain))
        body = body.rstrip("\n") if body is not None else None  # no blank row at its end
        self.text = Content.assemble((title, "bold $accent"), "\n", body or "")
        self._folded.clear()
        self.refresh(layout=True)

    def folded(self, width: int) -> tuple[Content, list[_Row]]:
        """The text folded to `width` cells, and where each of its rows comes from."""
        if (cached := self._folded.get(width)) is not None:
            return cached
        plain = self.text.plain
        parts: list[Content] = []
        rows: list[_Row] = []
        offset = 0
        for index, line in enumerate(plain.split("\n")):
            spans = fold_rows(line, width)
            prefix = len(line) - len(line.lstrip(" ")) + len(INDENT)
            for n, (start, end) in enumerate(spans):
                piece = self.text[offset + start : offset + end]
                parts.append(Content.assemble(" " * prefix, piece) if n else piece)
                rows.append(_Row(index, start, prefix if n else 0, end - start))
            offset += len(line) + 1
        result = (Content("\n").join(parts), rows)
        if len(self._folded) > 8:
            self._folded.clear()
        self._folded[width] = result
        return result

    def render(self) -> Content:
        return self.folded(self.content_size.width or 1000)[0]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.folded(width)[1])

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The selected text from the unfolded lines (no folds, no continuation indent)."""
        rows = self.folded(self.content_size.width or 1000)[1]

        def unfold(at: Offset | None) -> Offset | None:
            if at is None:
                return None
            row = rows[min(max(at.y, 0), len(rows) - 1)]
            x = min(max(at.x - row.prefix, 0), row.length)
            return Offset(row.start + x, row.line)

        unfolded = Selection(unfold(selection.start), unfold(selection.end))
        return unfolded.extract(self.text.plain), "\n"
