"""The task list: newest first, one card per task, keyboard selection.

The list owns focus; cards are not focusable. Actions on the selected task are posted as
`TaskList.Requested` messages: the app owns tasks and workers.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import events
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from imgtui.tasks import Status, Task
from imgtui.tui.keys import task_binding
from imgtui.tui.widgets.task_card import TaskCard

_UNKNOWN = object()
# Actions that act on every marked task while any are marked; of those, the ones a single
# selected task still runs through `Requested` (the others go through `BatchRequested`).
BATCH_ACTIONS = ("delete", "retry", "star", "save", "copy", "collect")
SINGLE_ACTIONS = ("delete", "retry", "star")
PAGE = 20  # cards mounted at a time from history; more as the user scrolls down

EMPTY_TEXT = (
    "No images yet.\nType a prompt below and press Enter: the picture sharpens here as it forms."
)


class TaskList(VerticalScroll, can_focus=True, can_focus_children=False):
    """Printable keys never act here: typed text goes to the composer (`app.type_in_prompt`),
    so a word typed with the list focused cannot retry, cancel or star anything; those take
    a Ctrl, F or Delete key, the same ones as in the detail view (`imgtui.tui.keys`).

    Marks (multi-select): Ctrl+Space (or Insert, which also moves down) marks a task,
    Shift+Up/Down mark while moving, Ctrl+A marks all, Alt+I inverts, Esc unmarks all.
    While any are marked, Delete, F5, Ctrl+S, Ctrl+K and F6 act on the marked tasks."""

    KEYS_TITLE = "Task list"
    KEYS_NOTE = "Letters and other text typed here go to the composer; ? shows this help."

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("enter", "request('open')", "Open", id="task.open"),
        task_binding("cancel", "request('cancel')"),
        task_binding("retry", "request('retry')"),
        task_binding("delete", "request('delete')"),
        task_binding("save", "request('save')"),
        task_binding("copy", "request('copy')"),
        task_binding("star", "request('star')"),
        task_binding("reuse", "request('reuse')"),
        task_binding("refine", "request('refine')"),
        task_binding("collect", "request('collect')"),
        Binding("ctrl+space,ctrl+@", "toggle_mark", "Mark", id="task.mark", show=False),
        Binding("insert", "toggle_mark(1)", "Mark and move down", id="task.mark_down", show=False),
        Binding("shift+up", "extend(-1)", "Mark up", id="task.mark_up", show=False),
        Binding("shift+down", "extend(1)", "Mark down", id="task.mark_range", show=False),
        Binding("ctrl+a", "mark_all", "Mark all", id="task.mark_all", show=False),
        Binding("alt+i", "mark_invert", "Invert marks", id="task.mark_invert", show=False),
        Binding("tab", "app.focus_prompt", "Prompt", id="task.to_prompt"),
        Binding("escape", "escape", "Unmark all / prompt", id="task.escape", show=False),
    ]

    DEFAULT_CSS = """
    TaskList {
        height: 1fr;
        padding: 0 1;
        scrollbar-size-vertical: 1;
        & > TaskCard.-selected {
            border-left: outer $foreground-muted;
        }
        &:focus > TaskCard.-selected {
            border-left: outer $accent;
            background: $boost;
        }
        & > TaskCard.-marked {
            border-left: thick $warning;
            background: $warning 12%;
        }
        & > #empty {
            width: 100%;
            height: 100%;
            content-align: center middle;
            text-align: center;
            color: $text-muted;
        }
    }
    """

    class Requested(Message):
        """The user asked for `action` (open, cancel, retry, delete, star) on a task."""

        def __init__(self, action: str, task_id: str) -> None:
            super().__init__()
            self.action = action
            self.task_id = task_id

    class BatchRequested(Message):
        """The user asked for `action` (delete, retry, star, save, copy, collect) on several
        tasks at once: the marked ones (`marked` True), else the selected one."""

        def __init__(self, action: str, task_ids: list[str], marked: bool) -> None:
            super().__init__()
            self.action = action
            self.task_ids = task_ids
            self.marked = marked

    class MarksChanged(Message):
        """The set of marked tasks changed (`count` of them)."""

        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    class CardsMounted(Message):
        """History cards were mounted (the app decodes their pictures)."""

        def __init__(self, cards: list[TaskCard]) -> None:
            super().__init__()
            self.cards = cards

    index: reactive[int] = reactive(0, init=False)

    def __init__(self, make_card: Callable[[Task], TaskCard], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.make_card = make_card
        self._unmounted: list[Task] = []  # older history, newest first, not mounted yet
        self._mounting = False
        self._footer_state: object = _UNKNOWN  # what the footer last showed for the selection
        self._empty = Static(EMPTY_TEXT, id="empty")
        self.marked: set[str] = set()  # task ids marked for a batch action

    def compose(self):
        yield self._empty

    # -- content --------------------------------------------------------------------------

    @property
    def cards(self) -> list[TaskCard]:
        return list(self.query_children(TaskCard))

    def card(self, task_id: str) -> TaskCard | None:
        try:
            return self.query_one(f"#task-{task_id}", TaskCard)
        except Exception:
            return None

    @property
    def selected(self) -> TaskCard | None:
        cards = self.cards
        return cards[self.index] if 0 <= self.index < len(cards) else None

    @property
    def selected_id(self) -> str | None:
        card = self.selected
        return card.imgtask.id if card else None

    async def add_first(self, card: TaskCard, select: bool = True) -> None:
        """Insert a card at the top (newest first)."""
        cards = self.cards
        self._empty.display = False
        if cards:
            await self.mount(card, before=cards[0])
        else:
            await self.mount(card)
        if select:
            self.index = 0
            self._mark()
            self.scroll_home(animate=False)
        else:
            self.index += 1 if cards else 0  # keep the same card selected
            self._mark()

    async def add_history(self, tasks: list[Task]) -> None:
        """Older tasks below the current ones; mounted a page at a time."""
        self._unmounted.extend(tasks)
        await self.mount_more()

    @property
    def has_more(self) -> bool:
        return bool(self._unmounted)

    async def mount_more(self, count: int = PAGE) -> None:
        if self._mounting or not self._unmounted:
            return
        self._mounting = True
        try:
            batch, self._unmounted = self._unmounted[:count], self._unmounted[count:]
            cards = [self.make_card(t) for t in batch]
            self._empty.display = False
            await self.mount_all(cards)
            self._mark()
            self.post_message(self.CardsMounted(cards))
        finally:
            self._mounting = False

    async def mount_all_remaining(self) -> None:
        while self._unmounted:
            await self.mount_more(len(self._unmounted))

    async def replace_all(self, tasks: list[Task]) -> None:
        """Show exactly these tasks (newest first), e.g. the result of a search."""
        self._unmounted = []
        await self.remove_children(TaskCard)
        self.index = 0
        self._empty.display = not tasks
        self._set_marks(self.marked & {t.id for t in tasks})
        await self.add_history(tasks)
        self.scroll_home(animate=False)

    def forget(self, task_ids: set[str]) -> None:
        """Drop unmounted history entries (deleted elsewhere)."""
        self._unmounted = [t for t in self._unmounted if t.id not in task_ids]
        if self.marked & task_ids:
            self._set_marks(self.marked - task_ids)

    def _maybe_more(self) -> None:
        if self._unmounted and not self._mounting:
            self.call_later(self.mount_more)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value >= self.max_scroll_y - self.size.height:
            self._maybe_more()

    async def remove_task(self, task_id: str) -> None:
        card = self.card(task_id)
        if card is None:
            return
        await card.remove()
        remaining = len(self.cards)
        if remaining < PAGE and self._unmounted:
            await self.mount_more()
            remaining = len(self.cards)
        self._empty.display = remaining == 0
        self.index = min(self.index, max(0, remaining - 1))
        self._mark()

    async def select(self, task_id: str) -> bool:
        """Select a task's card, mounting history down to it if needed."""
        while True:
            for i, card in enumerate(self.cards):
                if card.imgtask.id == task_id:
                    self.index = i
                    self._mark()
                    self.scroll_to_widget(card, animate=False)
                    return True
            if not any(t.id == task_id for t in self._unmounted):
                return False
            await self.mount_more()

    # -- selection ------------------------------------------------------------------------

    def watch_index(self) -> None:
        self._mark()

    def _mark(self) -> None:
        for i, card in enumerate(self.cards):
            card.set_class(i == self.index, "-selected")
            card.set_class(card.imgtask.id in self.marked, "-marked")
        self.sync_bindings()

    # -- marks (multi-select, issue 15.4) ---------------------------------------------------

    @property
    def marked_ids(self) -> list[str]:
        """The marked tasks in list order (mounted cards first, then older history)."""
        order = [c.imgtask.id for c in self.cards] + [t.id for t in self._unmounted]
        return [i for i in order if i in self.marked]

    @property
    def shown_ids(self) -> set[str]:
        """Every task the list holds: mounted cards and history not mounted yet."""
        return {c.imgtask.id for c in self.cards} | {t.id for t in self._unmounted}

    def set_empty_text(self, text: str) -> None:
        """What the list says when it has no card (e.g. a filter that matches nothing)."""
        self._empty.update(text)

    def _set_marks(self, marks: set[str]) -> None:
        if marks != self.marked:
            self.marked = marks
            self._mark()
            self.post_message(self.MarksChanged(len(marks)))

    def action_toggle_mark(self, move: int = 0) -> None:
        card = self.selected
        if card is None:
            return
        self._set_marks(self.marked ^ {card.imgtask.id})
        if move:
            self._move_to(self.index + move)

    def action_extend(self, delta: int) -> None:
        """Shift+Up/Down: mark the task under the cursor and the one it moves to."""
        card = self.selected
        if card is None:
            return
        self._move_to(self.index + delta)
        new = self.selected
        self._set_marks(self.marked | {card.imgtask.id} | ({new.imgtask.id} if new else set()))

    def action_mark_all(self) -> None:
        self._set_marks(self.shown_ids)

    def action_mark_none(self) -> None:
        self._set_marks(set())

    def action_mark_invert(self) -> None:
        self._set_marks(self.shown_ids - self.marked)

    async def action_escape(self) -> None:
        """Esc: unmark all when any task is marked, else back to the composer."""
        if self.marked:
            self.action_mark_none()
        else:
            await self.run_action("app.focus_prompt")

    def sync_bindings(self) -> None:
        """Refresh the footer if the keys it shows for this list changed.

        A refresh recomposes the Footer (a full layout, tens of ms with many cards), so
        only when this list has focus (else the footer shows another widget's keys, and
        focusing the list refreshes them) and the selected task's cancel key came or went.
        """
        card = self.selected
        state = None if card is None else card.imgtask.status in (Status.QUEUED, Status.RUNNING)
        if self.has_focus and state != self._footer_state:
            self.refresh_bindings()
        self._footer_state = state if self.has_focus else _UNKNOWN

    def on_focus(self) -> None:
        self._footer_state = _UNKNOWN  # Textual refreshes the footer on a focus change itself

    def _move_to(self, index: int) -> None:
        cards = self.cards
        if not cards:
            return
        self.index = max(0, min(len(cards) - 1, index))
        self.scroll_to_widget(cards[self.index], animate=False)
        if self.index >= len(cards) - 3:
            self._maybe_more()

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.index + delta)

    def action_jump(self, where: int) -> None:
        """Home: the newest task. End: the oldest one loaded (and the next page loads)."""
        self._move_to(0 if where == 0 else len(self.cards) - 1)

    def action_page(self, direction: int) -> None:
        card = self.selected
        per_page = max(1, self.size.height // max(1, card.outer_size.height if card else 1))
        self._move_to(self.index + direction * per_page)

    def action_request(self, action: str) -> None:
        if action in BATCH_ACTIONS and self.marked:
            self.post_message(self.BatchRequested(action, self.marked_ids, marked=True))
            return
        task_id = self.selected_id
        if task_id is None:
            return
        if action in BATCH_ACTIONS and action not in SINGLE_ACTIONS:
            self.post_message(self.BatchRequested(action, [task_id], marked=False))
        else:
            self.post_message(self.Requested(action, task_id))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "request":
            card = self.selected
            if card is None:
                return False
            what = parameters[0] if parameters else ""
            if what == "cancel":
                return True if card.imgtask.status in (Status.QUEUED, Status.RUNNING) else None
        return True

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "question_mark":
            event.stop()
            event.prevent_default()
            await self.run_action("app.help")
            return
        if event.is_printable and event.character and not event.key.startswith("alt+"):
            # Text typed here is a prompt: it goes to the composer (which takes the focus).
            event.stop()
            event.prevent_default()
            await self.run_action(f"app.type_in_prompt({event.character!r})")
            return
        if event.key in ("tab", "escape"):  # move focus now, not after the key bubbles up
            event.stop()
            event.prevent_default()
            await (
                self.action_escape()
                if event.key == "escape"
                else self.run_action("app.focus_prompt")
            )

    def on_click(self, event: events.Click) -> None:
        widget = event.widget
        while widget is not None and not isinstance(widget, TaskCard):
            widget = widget.parent  # type: ignore[assignment]
        if isinstance(widget, TaskCard):
            index = self.cards.index(widget)
            if index == self.index and (self.has_focus or event.chain >= 2):
                self.post_message(self.Requested("open", widget.imgtask.id))
            self.index = index
            self.focus()
