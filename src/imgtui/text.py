"""One sanitiser for every string imgtui did not write itself (no Textual here).

Server error messages, revised prompts, model names, HTML titles, profile names, share
links and file names can carry terminal control sequences: a window title (OSC 0/2), a
clipboard write (OSC 52), a hyperlink (OSC 8), a screen clear (CSI 2J), a bell. `clean()`
removes every C0 and C1 control character except the newline (and a tab becomes a space),
so none of them can reach a terminal: printed by the CLI or drawn by the app.

The app never parses such text as Textual markup either: it shows `Content(clean(text))`
or a `Static(..., markup=False)`, and every toast goes out with `markup=False`
(`ImgtuiApp.notify`), so `[@click=...]` stays text and `[/]` cannot raise `MarkupError`.

`CleanWriter` wraps a text stream so that everything written through it is cleaned: the
CLI's stdout and stderr (JSON output is safe already: `json.dumps` escapes controls).
"""

from __future__ import annotations

import re
from typing import TextIO

# C0 controls except \n (\t handled below), DEL, C1 controls; and the Unicode bidi
# overrides and isolates, which reorder what a terminal shows ("Trojan Source").
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: object, *, newlines: bool = True) -> str:
    """`str(text)` without control characters: C0 (except newline), DEL, C1, bidi
    overrides. Tabs become spaces; with `newlines=False` newlines do too (one line)."""
    s = str(text)
    if s.isprintable() and "\t" not in s:  # the common case: nothing to do
        return s
    s = _CONTROLS.sub("", s.replace("\t", " "))
    return s if newlines else s.replace("\n", " ")


class CleanWriter:
    """A text stream whose `write` passes everything through `clean` (newlines kept).

    `raw` is the wrapped stream, for the caller's own control sequences (the CLI's live
    status line). Everything else (flush, fileno, isatty...) is the wrapped stream's.
    """

    def __init__(self, raw: TextIO) -> None:
        self.raw = raw

    def write(self, text: str) -> int:
        self.raw.write(clean(text))
        return len(text)

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> object:
        return getattr(self.raw, name)
