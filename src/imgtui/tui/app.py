"""The imgtui app: compose the main screen, bind keys, route messages.

Data flows one way (STYLE.md): the core's task service (`imgtui.service.TaskService`)
owns the tasks, the store thread, the picture threads and the runner (`imgtui.runner`, the
same one `imgtui generate` streams through). The App runs each task's coroutine as one
Textual worker in its own group; the worker posts each event as a `TaskEvent`, and
`on_task_event` hands it to the service (which calls `tasks.apply` and writes what must be
on disk) and then to the card (`controllers.tasks`).

The rest lives in the controllers (mixins of this App, one concern each): `tasks` (task
events and actions on screen), `composing` (submit, batches, parameters, profile,
attachments), `history` (load, find, import, export). Palette commands live in
`commands`, the collector policy in `collector`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker

from imgtui.config import Config, ConfigError
from imgtui.draft import Params, find_profile
from imgtui.runner import Runner
from imgtui.service import TaskService
from imgtui.tui import imaging
from imgtui.tui.collector import Collector
from imgtui.tui.commands import app_commands
from imgtui.tui.controllers.batch import TaskBatch
from imgtui.tui.controllers.composing import Composing
from imgtui.tui.controllers.history import HistoryControl
from imgtui.tui.keys import HELP_KEYS
from imgtui.tui.messages import TaskAction, TaskActionRequested, TaskEvent
from imgtui.tui.screens.confirm import ConfirmScreen
from imgtui.tui.screens.search import HistoryFilter
from imgtui.tui.terminal import (
    OrderedKeys,
    exit_if_still_running,
    feed_keys,
    mute_output_if_terminal_gone,
    resume_only_after_stop,
    typed_during_probe,
)
from imgtui.tui.widgets.header import AppHeader
from imgtui.tui.widgets.key_footer import KeyFooter
from imgtui.tui.widgets.task_list import TaskList

HISTORY_LIMIT = 200


class ImgtuiApp(OrderedKeys, HistoryControl, Composing):
    """Generate images and watch them form."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "imgtui"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("f2", "edit_params", "Params", id="app.params"),
        Binding("ctrl+o", "pick_profile", "Profile", id="app.profile"),
        Binding("ctrl+f", "attach", "Attach", id="app.attach"),
        Binding("f3", "open_settings", "Settings", id="app.settings"),
        Binding("f4", "find", "Find", id="app.find"),
        # Priority, so it works over modals too; a text field that takes `?` keeps it.
        Binding(HELP_KEYS, "help", "Keys", id="app.help", key_display="?", priority=True),
        Binding("f8", "toggle_grid", "Grid", id="app.grid"),
    ]

    def __init__(
        self,
        config: Config | None = None,
        store: Any = None,
        demo_base_url: str | None = None,
        renderer: str | None = None,
        clock: Callable[[], float] = time.time,
        history_limit: int = HISTORY_LIMIT,
        runner: Runner | None = None,
    ) -> None:
        super().__init__()
        if config is None:
            from imgtui.config import load

            config = load()
        if store is None:
            from imgtui.config import data_dir
            from imgtui.store import Store

            store = Store(data_dir())
        self.image_kind = imaging.prepare_renderer(
            renderer
            if renderer and renderer != "auto"
            else imaging.renderer_name(config.settings.renderer)
        )
        self.service = TaskService(
            config,
            store,
            notify=self.notify,
            spawn=self.spawn_task,
            emit=lambda task_id, event, picture: self.post_message(
                TaskEvent(task_id, event, picture)
            ),
            changed=self.forward_to_detail,
            box=self.thumb_box,
            runner=runner,
            demo_base_url=demo_base_url,
            clock=clock,
            history_limit=history_limit,
        )
        self.config = config
        self.store = store
        self.history = self.service.history
        self.runner = self.service.runner
        self.tasks = self.service.tasks
        self.clock = clock
        # the active profile's last choice (`draft.LastParams`), else the settings' defaults
        self.params = self.service.last_params.apply(Params.from_config(config))
        self.history_filter = HistoryFilter()
        self.history_loaded = asyncio.Event()
        self.collector = Collector(self.call_after_refresh)
        self.batch = TaskBatch(self, self.apply_filter)

    def spawn_task(self, name: str, coroutine: Coroutine[Any, Any, None]) -> Worker[None]:
        """A task's coroutine as one worker in its own group (cancelling it cancels nothing else)."""
        return self.run_worker(
            coroutine, name=f"task {name}", group=f"task-{name}", exit_on_error=False
        )

    def action_help(self) -> None:
        """`?` / F1: the keys of the screen shown, from its bindings (issue 14.11)."""
        from imgtui.tui.screens.keys_help import HelpScreen, key_sections

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)  # the same key closes it
        else:
            self.push_screen(HelpScreen(key_sections(self.screen)))

    def action_help_quit(self) -> None:  # Textual's own hint uses markup
        self.notify("Press Ctrl+Q to quit the app", title="Do you want to quit?")

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield AppHeader(icon="◧")
        yield self.gallery
        yield self.param_bar
        yield self.composer
        yield KeyFooter()

    def action_toggle_grid(self) -> None:
        """F8: the cards as a grid over the whole width, or the list beside the preview."""
        self.gallery.toggle_grid()

    def on_mount(self) -> None:
        if not self.is_headless:
            self._handle_signals()
        self.show_params()
        self.composer.area.focus()
        feed_keys(self, typed_during_probe())  # typed while the terminal was probed
        self.update_subtitle()
        self.call_after_refresh(self.start_history)
        self.set_interval(1.0, self.tick)

    # -- routing --------------------------------------------------------------------------

    def on_task_event(self, message: TaskEvent) -> None:
        """Wire event -> task state (the service) -> this card (`show_event`)."""
        task = self.tasks.get(message.task_id)
        if task is None:
            return
        before = task.status
        if self.service.record(message.task_id, message.event) is not None:
            self.show_event(task, message.event, before, message.picture)

    @on(TaskList.Requested)
    def _list_request(self, event: TaskList.Requested) -> None:
        self.run_task_action(TaskAction(event.action), event.task_id)

    @on(TaskList.BatchRequested)
    def _batch_request(self, event: TaskList.BatchRequested) -> None:
        self.batch.run(event.action, event.task_ids)

    @on(TaskList.MarksChanged)
    def _marks_changed(self) -> None:
        self.update_subtitle()

    def action_batch_selected(self, action: str) -> None:
        """A batch action (`TaskBatch.run`) on the marked tasks, else the selected one."""
        ids = self.task_list.marked_ids or [i for i in [self.task_list.selected_id] if i]
        self.batch.run(action, ids)

    @on(TaskActionRequested)
    def _screen_request(self, event: TaskActionRequested) -> None:
        self.run_task_action(event.action, event.task_id, event.slot)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from app_commands(self)

    # -- quitting -----------------------------------------------------------------------

    def _handle_signals(self) -> None:
        """SIGTERM and SIGHUP (the terminal window closed) end the app like Ctrl+Q with yes:
        streams closed, the store caught up, the terminal restored (issue 10.7)."""
        resume_only_after_stop()  # the SIGCONT that follows a SIGHUP is no resume
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self._on_signal, signum)

    def _on_signal(self, signum: int) -> None:
        if signum == signal.SIGHUP:  # the window closed: writing to it can only fail
            mute_output_if_terminal_gone(self)
        self.call_later(self._quit_on_signal, signum)

    async def _quit_on_signal(self, signum: int) -> None:
        await self.shutdown()
        if signum == signal.SIGHUP:  # the data is safe; nothing may keep the process alive
            exit_if_still_running(128 + signum, after=10.0)
        self.exit(return_code=128 + signum)

    async def action_quit(self) -> None:
        if isinstance(self.screen, ConfirmScreen):
            return  # already asking
        active = [t for t in self.tasks.values() if t.active]
        if not active:
            await self.shutdown()
            self.exit()
            return

        async def done(yes: bool | None) -> None:
            if yes:
                await self.shutdown()
                self.exit()

        count = len(active)
        self.push_screen(
            ConfirmScreen(
                f"{count} tasks are still running. Quit and cancel them? Their last previews are kept."
                if count != 1
                else "1 task is still running. Quit and cancel it? Its last preview is kept.",
                yes="Quit",
                title="Quit",
            ),
            done,
        )

    async def shutdown(self, timeout: float = 2.0) -> None:
        """Cancel every task, close their streams, and wait for the store to catch up."""
        workers = [w for w in self.service.handles.values() if isinstance(w, Worker)]
        self.action_cancel_all()
        for worker in workers:
            worker.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                asyncio.gather(*(w.wait() for w in workers), return_exceptions=True), timeout
            )
        await self.history.drain(timeout)

    async def on_unmount(self) -> None:
        self.collector.restore()
        await self.service.aclose()


def run_app(renderer: str | None = None, profile: str | None = None) -> int:
    """Start the app (the `imgtui` command with no arguments). Returns the exit code."""
    from imgtui.config import load

    try:
        config = load()
    except ConfigError as exc:
        print(f"imgtui: {exc}", file=sys.stderr)
        return 2
    found = find_profile(config, profile) if profile is not None else None
    if profile is not None and found is None:
        print(f"imgtui: no profile named {profile!r}", file=sys.stderr)
        return 2
    kind = imaging.prepare_renderer(imaging.renderer_name(renderer or config.settings.renderer))
    app = ImgtuiApp(config=config, renderer=kind)
    if found is not None:
        app.params = app.service.last_params.apply(replace(app.params, profile=replace(found)))
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(run_app())
