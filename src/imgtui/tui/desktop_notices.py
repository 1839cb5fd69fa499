"""Told when done: a desktop notification when a task ends while the terminal window is not
focused (issue 14.9).

Textual learns about focus when the terminal reports it (it asks with `CSI ? 1004 h`; the
terminal then sends focus-in/out, which become `AppFocus`/`AppBlur` and `App.app_focus`).
A terminal that never reports focus counts as focused: no notices. The escape is
`imgtui.desktop.notification` (OSC 9, 777, 99 or the bell); inside tmux it is wrapped for
tmux's passthrough when the pane allows it, else the bell (tmux passes bells on). The
`notify` setting (app settings, Ctrl+G) turns it off.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from imgtui import desktop
from imgtui.tasks import Task
from imgtui.tui.terminal import write_to_terminal

if TYPE_CHECKING:
    from textual.app import App

__all__ = ["DoneNotifier"]


class DoneNotifier:
    """Call `task_ended` for every task that ends; it decides whether and how to tell."""

    def __init__(
        self,
        app: App[Any],
        enabled: Callable[[], bool],
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.app = app
        self.enabled = enabled  # the `notify` setting, read at each end (it can change)
        self.env = env
        self.notices = desktop.DoneNotices()

    def task_ended(self, task: Task, still_active: int) -> None:
        """`task` reached an end state; `still_active` tasks still run or wait."""
        if self.app.app_focus or not self.enabled():
            return
        said = self.notices.ended(task.status.value, task.prompt, still_active)
        if said is None:
            return
        env = os.environ if self.env is None else self.env
        sequence = desktop.notification(*said, desktop.notification_kind(env))
        if desktop.inside_tmux(env) and sequence != "\x07":
            self.app.run_worker(self._through_tmux(sequence, env), exit_on_error=False)
        else:
            write_to_terminal(self.app, sequence)

    async def _through_tmux(self, sequence: str, env: Mapping[str, str]) -> None:
        try:
            options = await asyncio.to_thread(desktop.tmux_options, env)
        except desktop.DesktopError:
            options = None
        if options is not None and options.passes_through:
            write_to_terminal(self.app, desktop.tmux_passthrough(sequence))
        else:
            write_to_terminal(self.app, "\x07")
