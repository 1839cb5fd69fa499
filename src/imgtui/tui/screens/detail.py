"""One task, large: the picture as big as the terminal allows, and everything about it.

`DetailScreen(ModalScreen[DetailResult | None])`. Actions that stay on this screen (save,
open, copy path) run here with what the app passed in (the history service, the picture
threads, the output folder); cancel is posted as a `TaskActionRequested`; actions that
change the main screen (retry, reuse, refine, delete) dismiss with a `DetailResult`.

The picture is decoded and shrunk to the image box in a thread; while the task runs the
app forwards each change and the newest partial frame replaces the shown one.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from imgtui import desktop, images
from imgtui.api.events import Progress, Started
from imgtui.spending import CostFn, task_cost
from imgtui.store import History
from imgtui.tasks import SlotStatus, Status, Task
from imgtui.text import clean
from imgtui.tui import clipboard, imaging
from imgtui.tui.keys import task_binding
from imgtui.tui.messages import TaskAction, TaskActionRequested
from imgtui.tui.screens.dialog import Dialog
from imgtui.tui.widgets.folded_text import FoldedText
from imgtui.tui.widgets.image_view import ImageView
from imgtui.tui.widgets.key_footer import KeyFooter
from imgtui.tui.widgets.path_lines import PathLines
from imgtui.tui.widgets.task_card import STATUS_STYLE, format_elapsed


@dataclass(frozen=True)
class DetailResult:
    """What the user asked the app to do: retry, reuse, refine (of image `slot`) or delete."""

    action: TaskAction
    slot: int = 0


def _slot_source(task: Task, index: int) -> tuple[bytes | Path | None, bool, int | None]:
    """A slot's picture: final bytes/file, else its newest partial; whether unfinished; partial index."""
    if not 0 <= index < len(task.slots):
        return None, True, None
    s = task.slots[index]
    if s.image is not None:
        return s.image, False, None
    if s.image_path is not None:
        return s.image_path, False, None
    if s.partial is not None:
        return s.partial, True, s.partial_index
    if s.partial_path is not None:
        return s.partial_path, True, s.partial_index
    return None, True, None


def _fmt_time(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "—"


def sent_content(task: Task) -> Content | None:
    """The task's HTTP requests as sent (`Task.sent`, secrets already masked): method and
    URL, query and headers, then the JSON body or form fields and files. None when the
    task has none recorded (a polled provider, an older history row, not started yet)."""
    if not task.sent:
        return None
    parts: list = []
    for i, call in enumerate(task.sent):
        if len(task.sent) > 1:
            parts.append((f"call {i + 1} of {len(task.sent)}\n", "$foreground-muted"))
        parts.append((f"{call.get('method', 'POST')} {call.get('url', '')}\n", "bold"))
        for title in ("query", "headers", "form"):
            values = call.get(title)
            if isinstance(values, dict):
                for name, value in values.items():
                    parts += [(f"{name}: ", "$foreground-muted"), f"{value}\n"]
        for f in call.get("files") or []:
            if isinstance(f, dict):
                parts.append(
                    f"file {f.get('field')}: {f.get('filename')} "
                    f"({f.get('type')}, {f.get('bytes', 0):,} bytes)\n"
                )
        if "json" in call:
            parts.append(json.dumps(call["json"], indent=1, ensure_ascii=False) + "\n")
    return Content.assemble(*parts)


def _flatten_usage(usage: dict, prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in usage.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += _flatten_usage(value, f"{name}.")
        else:
            rows.append((name, f"{value:,}" if isinstance(value, int) else str(value)))
    return rows


class DetailScreen(Dialog["DetailResult | None"]):
    DEFAULT_CSS = """
    DetailScreen {
        align: center middle;
        & > #dialog {
            width: 100%;
            height: 100%;
            margin: 1 2;
            border: thick $primary 80%;
            background: $surface;
        }
        #body { height: 1fr; }
        #left { width: 1fr; height: 100%; }
        #big { width: 1fr; height: 1fr; background: $background; }
        #pager { height: 1; padding: 0 1; color: $text-muted; }
        #info {
            width: 46;
            height: 100%;
            padding: 0 1 0 2;
            border-left: vkey $panel;
            scrollbar-size-vertical: 1;
        }
        #info > Static { margin-bottom: 1; }
        Footer { background: $panel; }
        &.-narrow {
            & > #dialog { margin: 0; }
            #body { layout: vertical; }
            #left { width: 100%; height: 1fr; }
            #info {
                width: 100%; height: 35%; min-height: 5;
                border-left: none; border-top: hkey $panel;
            }
        }
    }
    """
    NARROW = 100  # columns below which the picture and the information stack

    KEYS_TITLE = "Detail view"

    # The task keys are the list's (`imgtui.tui.keys`): no letter acts here either.
    BINDINGS = [
        Binding("escape", "close", "Close", id="detail.close"),
        Binding("left", "page(-1)", "Prev", id="detail.prev", key_display="←"),
        Binding("right", "page(1)", "Next", id="detail.next", key_display="→"),
        Binding("enter", "open", "Open image", id="detail.open"),
        task_binding("save", "save"),
        task_binding("copy", "copy"),
        task_binding("retry", "result('retry')"),
        task_binding("reuse", "result('reuse')", show=True),
        task_binding("refine", "result('refine')", show=True),
        task_binding("star", "star"),
        task_binding("cancel", "cancel_task"),
        task_binding("delete", "result('delete')"),
    ]

    def __init__(
        self,
        task: Task,
        kind: str,
        clock: Callable[[], float] = time.time,
        index: int = 0,
        *,
        history: History,
        output_dir: Path,
        pictures: Executor | None = None,
        cost_of: CostFn = task_cost,
    ) -> None:
        super().__init__()
        self.imgtask = task
        self.cost_of = cost_of  # the task's cost at its profile's prices (`PriceBook`)
        self.kind = kind
        self.clock = clock
        self.index = index
        self.history = history
        self.output_dir = output_dir
        self.pictures = pictures
        self._shown_key: tuple | None = None
        self._box: tuple[int, int] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "Task"
            with Horizontal(id="body"):
                with Vertical(id="left"):
                    yield ImageView(self.kind, "", id="big")
                    yield Static("", id="pager")
                with VerticalScroll(id="info"):
                    for section in ("prompt", "revised", "status", "params"):
                        yield Static("", id=section)
                    yield FoldedText(id="sent")  # URLs wrap at their seams, copy whole
                    for section in ("usage", "timings"):
                        yield Static("", id=section)
                    yield PathLines(id="files")  # paths wrap at their separators
            yield KeyFooter()

    def on_mount(self) -> None:
        self.set_class(self.app.size.width < self.NARROW, "-narrow")
        self.refresh_info()
        self.call_after_refresh(self._load_picture)
        self.set_interval(1.0, self._tick)

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < self.NARROW, "-narrow")
        self.call_after_refresh(self._load_picture, True)

    # -- live updates from the app -------------------------------------------------------

    def task_changed(self, event: object) -> None:
        """The app applied `event` to this task (None: a change without an event, e.g. cancel)."""
        if isinstance(event, (Progress, Started)):
            return
        self.refresh_info()

    def _tick(self) -> None:
        if self.imgtask.status is Status.RUNNING:
            self._update_status()

    # -- rendering ----------------------------------------------------------------------

    def _section(self, name: str, title: str, body: Content | str | None) -> None:
        widget = self.query_one(f"#{name}", Static)
        if not body:
            widget.display = False
            return
        widget.display = True
        # Prompts, revised prompts, errors, model names, file names: no control characters.
        plain = body if isinstance(body, str) else body.plain
        if clean(plain) != plain:
            body = Content(clean(plain))
        widget.update(Content.assemble((title, "bold $accent"), "\n", body))

    def refresh_info(self) -> None:
        t = self.imgtask
        self.query_one("#dialog").border_title = f"Task {t.id}" + (
            "  ★ starred" if t.starred else ""
        )
        slot = t.slots[self.index] if 0 <= self.index < len(t.slots) else None
        self._section("prompt", "Prompt", Content(t.prompt))
        revised = (slot.revised_prompt if slot else None) or t.revised_prompt
        self._section("revised", "Revised prompt", Content(revised) if revised else None)
        self._update_status()
        self._section("params", "Parameters", self._params_content())
        usage = t.usage
        rows = _flatten_usage(usage) if usage else []
        cost = self.cost_of(t)
        if rows:
            rows.append(("cost", f"${cost:.4f}" if cost is not None else "not priced"))
        self._section(
            "usage",
            "Usage",
            Content.assemble(
                *[
                    part
                    for i, (k, v) in enumerate(rows)
                    for part in (
                        (f"{k}: ", "$foreground-muted"),
                        v,
                        "\n" if i < len(rows) - 1 else "",
                    )
                ]
            )
            if rows
            else None,
        )
        self.query_one("#sent", FoldedText).show("Request as sent", sent_content(t))
        self._section("timings", "Timings", self._timings_content())
        files = [str(p) for p in t.images] + [
            f"{s.partial_path} (preview)" for s in t.slots if s.partial_path
        ]
        files += [f"input: {p}" for p in t.input_images]
        if t.mask:
            files.append(f"mask: {t.mask}")
        self.query_one("#files", PathLines).show("Files", files)
        self._update_pager()
        self._load_picture()
        self.refresh_bindings()

    def _update_status(self) -> None:
        t = self.imgtask
        running = t.status is Status.RUNNING
        parts: list = [(t.status_word(), STATUS_STYLE[t.status])]
        if t.started_at is not None:
            parts.append(("  " + format_elapsed(t.elapsed(self.clock()), running), "dim"))
        if t.n > 1 and not t.status_word().endswith(" done"):
            done = sum(1 for s in t.slots if s.status is SlotStatus.DONE)
            parts.append((f"  · {done} of {t.n} done", "$foreground-muted"))
        slot = t.slots[self.index] if 0 <= self.index < len(t.slots) else None
        message = (slot.error.message if slot and slot.error else None) or t.error_message
        hint = (slot.error.hint if slot and slot.error else None) or t.error_hint
        if message and t.status is not Status.CANCELLED:
            parts += ["\n", (message, "$error")]
            if hint:
                parts += ["\n", (hint, "$foreground-muted")]
        if slot is not None and slot.broken_path is not None:
            parts += ["\n", ("bytes kept at ", "$foreground-muted"), str(slot.broken_path)]
        self._section("status", "Status", Content.assemble(*parts))

    def _params_content(self) -> Content:
        t = self.imgtask
        p = t.params
        slot = t.slots[self.index] if 0 <= self.index < len(t.slots) else None
        meta = slot.meta if slot else None
        rows: list = [
            (("profile    ", "$foreground-muted"), f"{t.profile_name}  ({t.api_mode} API)\n"),
            (("model      ", "$foreground-muted"), f"{t.model}\n"),
        ]
        for key in ("size", "quality", "background", "output_format"):
            asked = getattr(p, key)
            actual = getattr(meta, key, None) if meta else None
            line: list = [(f"{key.replace('output_', ''):<11}", "$foreground-muted"), str(asked)]
            if actual and actual != asked:
                line += [("  →  ", "$foreground-muted"), (str(actual), "bold")]
            elif actual:
                line += [("  ✓", "$success")]
            line.append("\n")
            rows.append(tuple(line))
        rows.append((("n          ", "$foreground-muted"), f"{t.n}\n"))
        if p.streams:
            partials = str(t.partial_images)
        elif p.stream:  # GIF, SVG: never streamed, whatever the profile says
            partials = f"0 ({p.output_format} does not stream)"
        else:
            partials = "0 (no streaming)"
        rows.append((("partials   ", "$foreground-muted"), partials))
        if t.parent_id:
            rows.append((("\nrefines    ", "$foreground-muted"), t.parent_id))
        if t.response_id:
            rows.append((("\nresponse   ", "$foreground-muted"), t.response_id))
        return Content.assemble(*[part for row in rows for part in row])

    def _timings_content(self) -> Content:
        t = self.imgtask
        parts: list = [("created      ", "$foreground-muted"), _fmt_time(t.created_at)]
        if t.started_at and t.first_partial_at:
            parts += [
                ("\nfirst frame  ", "$foreground-muted"),
                f"{t.first_partial_at - t.started_at:.1f}s",
            ]
        if t.finished_at and t.started_at:
            parts += [
                ("\ntotal        ", "$foreground-muted"),
                f"{t.finished_at - t.started_at:.1f}s",
            ]
        return Content.assemble(*parts)

    def _update_pager(self) -> None:
        t = self.imgtask
        _, unfinished, partial_index = _slot_source(t, self.index)
        parts: list = []
        if t.n > 1:
            parts += [
                ("← ", "$foreground-muted" if self.index > 0 else "$foreground-disabled"),
                (f"image {self.index + 1} of {t.n}", "bold"),
                (" →", "$foreground-muted" if self.index < t.n - 1 else "$foreground-disabled"),
                "   ",
            ]
        slot = t.slots[self.index] if 0 <= self.index < len(t.slots) else None
        if slot is not None and slot.status is SlotStatus.FAILED and slot.error:
            parts.append((f"failed: {slot.error.message}", "$error"))
        elif unfinished and partial_index is not None:
            label = "preview" if t.status is Status.RUNNING else "unfinished preview"
            of = f", frame {partial_index + 1} of {t.partial_images}" if t.partial_images else ""
            parts.append((f"{label}{of}", "italic $warning"))
        self.query_one("#pager", Static).update(Content.assemble(*parts))

    def _placeholder(self) -> str:
        t = self.imgtask
        if t.status is Status.RUNNING:
            return "waiting for the first frame…"
        slot = t.slots[self.index] if 0 <= self.index < len(t.slots) else None
        if slot is not None and slot.error is not None:
            return "no image"
        return "no image"

    def _load_picture(self, force: bool = False) -> None:
        source, _unfinished, partial_index = _slot_source(self.imgtask, self.index)
        view = self.query_one("#big", ImageView)
        w, h = view.size
        if not (w and h):
            return
        box = imaging.box_pixels(self.kind, w, h)
        key = (self.index, id(source) if isinstance(source, bytes) else source, partial_index, box)
        if source is None:
            self._shown_key = key
            view.show(None, self._placeholder())
            return
        if key == self._shown_key and not force:
            return
        self._shown_key = key
        self._decode(source, box, key)

    @work(group="detail-picture", exclusive=True, exit_on_error=False)
    async def _decode(self, source: bytes | Path, box: tuple[int, int], key: tuple) -> None:
        loop = asyncio.get_running_loop()
        checker = max(2, box[0] // 24)  # transparency shows on a checkerboard here
        picture = await loop.run_in_executor(self.pictures, images.picture, source, box, checker)
        if key != self._shown_key:
            return  # a newer frame or another image was asked for meanwhile
        self.query_one("#big", ImageView).show(picture, "cannot read this image")

    # -- actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        t = self.imgtask
        has_image = bool(t.images) or any(s.image is not None for s in t.slots)
        has_any = has_image or any(s.partial_path for s in t.slots)
        if action == "page":
            return t.n > 1
        if action in ("save", "copy", "open"):
            return True if has_any else None
        if action == "cancel_task":
            return True if t.status is Status.RUNNING else None
        if action == "result" and parameters and parameters[0] == "refine":
            refinable = has_image or (t.api_mode == "responses" and t.response_id)
            return True if refinable else None
        return True

    def action_close(self) -> None:
        self.dismiss(None)

    def action_result(self, action: str) -> None:
        self.dismiss(DetailResult(TaskAction(action), self.index))

    def action_page(self, delta: int) -> None:
        n = max(1, self.imgtask.n)
        self.index = (self.index + delta) % n
        self.refresh_info()

    def action_cancel_task(self) -> None:
        self.post_message(TaskActionRequested(TaskAction.CANCEL, self.imgtask.id, self.index))

    def _current_file(self) -> Path | None:
        t = self.imgtask
        slot = t.slots[self.index] if 0 <= self.index < len(t.slots) else None
        if slot is not None:
            for p in (slot.image_path, slot.partial_path):
                if p is not None:
                    return Path(p)
        if t.n > 1:
            return None  # n > 1: the image shown, never another one
        return next((Path(p) for p in t.images), None)

    def action_star(self) -> None:
        """Star or unstar the task (the app saves it); the screen stays."""
        self.post_message(TaskActionRequested(TaskAction.STAR, self.imgtask.id, self.index))

    def action_copy(self) -> None:
        """Ctrl+C copies what is selected with the mouse, else the shown image itself
        (`action_copy_image`)."""
        selected = self.get_selected_text()
        if selected:
            self.app.copy_to_clipboard(selected)
            self.notify(f"{len(selected)} characters", title="Copied")
            return
        self.action_copy_image()

    @work(group="detail-copy", exclusive=True, exit_on_error=False)
    async def action_copy_image(self) -> None:
        """The image itself to the system clipboard (PNG); where the desktop has no way
        (over SSH), its path through the terminal, and the toast says why."""
        path = self._current_file()
        if path is None:
            self.notify(f"The {self._which()} is not on disk.", severity="warning")
            return
        copied = await clipboard.copy_image(self.app, path)
        title, message, severity = copied.toast(path)
        self.notify(message, title=title, severity=severity, markup=False)  # type: ignore[arg-type]

    @work(group="detail-action", exit_on_error=False)
    async def action_open(self) -> None:
        path = self._current_file()
        if path is None:
            self.notify("The image is not on disk yet.", severity="warning")
            return
        error = await desktop.open_in_viewer(path)
        if error:
            self.notify(error, title="Can't open the image", severity="error", markup=False)

    @work(group="detail-action", exit_on_error=False)
    async def action_save(self) -> None:
        """Save the image shown (n > 1: this one only, issue 14.2; the list's save key
        saves every image of the task)."""
        folder = self.output_dir
        slots = None if self.imgtask.n <= 1 else [self.index]
        try:
            saved = await self.history.call(
                self.history.store.export_images, self.imgtask, folder, slots
            )
        except Exception as exc:  # StoreError / OSError: say so, keep the screen
            self.notify(str(exc), title="Not saved", severity="error", markup=False)
            return
        if not saved:
            self.notify(f"No {self._which()} to save yet.", severity="warning")
            return
        what = saved[0].name if len(saved) == 1 else f"{len(saved)} images"
        self.notify(f"{what} → {folder}", title=f"Saved {self._which()}", markup=False)

    def _which(self) -> str:
        """`image 2 of 4` (the one shown, n > 1), else `image`."""
        n = self.imgtask.n
        return f"image {self.index + 1} of {n}" if n > 1 else "image"
