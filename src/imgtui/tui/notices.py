"""Toasts as text, and the log of what was shown.

`NoticeLog` is an App that remembers the last `NOTICE_LOG` toasts it was asked to show
(`notices`, oldest first, as `Notice`s): what a test or a messages view reads, instead of
Textual's private notification store (whose entries also expire with their toast).

`PlainNotices` is the imgtui app's: every toast (the screens' too: `Screen.notify` goes
to the App) is cleaned of control characters (`imgtui.text.clean`) and never parsed as
Textual markup, since error messages, prompts and file names from servers, share links
and disks reach it. Its log holds the toasts as shown.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from textual.app import App

from imgtui.text import clean

__all__ = ["NOTICE_LOG", "Notice", "NoticeLog", "PlainNotices"]

NOTICE_LOG = 200  # toasts remembered


@dataclass(frozen=True)
class Notice:
    """One toast: its text and title, severity ("information", "warning" or "error") and
    whether Textual was asked to parse it as markup."""

    message: str
    title: str
    severity: str
    markup: bool


class NoticeLog(App[None]):
    """An App that remembers its toasts in `notices` (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notices: deque[Notice] = deque(maxlen=NOTICE_LOG)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Textual's `App.notify`, noted in `notices` first."""
        self.notices.append(Notice(message, title, str(severity), markup))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)


class PlainNotices(NoticeLog):
    """Toasts never parsed as markup, control characters removed (module docstring)."""

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Show a toast as plain text: `markup` is ignored."""
        super().notify(
            clean(message), title=clean(title), severity=severity, timeout=timeout, markup=False
        )
