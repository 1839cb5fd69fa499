"""The task list: newest first, one card per task, keyboard selection, as rows or a grid.

The list holds every task it shows (`tasks`, newest first) but mounts cards only for the
rows on screen and a few either side (`window`): a spacer above and below stands in for
the rest, so the scrollbar, PgDn and End cover all of them while a history of thousands
costs a few dozen cards (issue 14.4: mounting 1,000 cards took minutes). Every card has
the same height, so a row's place is arithmetic, not layout.

The list owns focus; cards are not focusable. Actions on the selected task are posted as
`TaskList.Requested` messages: the app owns tasks and workers. When the window reaches
the last task the list has, it posts `Exhausted`: the app may hand over older ones.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual import events
from textual.binding import Binding
from textual.containers import Container, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from imgtui.images import Frames
from imgtui.tasks import Status, Task
from imgtui.text import clean
from imgtui.tui.keys import task_binding
from imgtui.tui.widgets.task_card import CARD_ROWS, GRID_CARD_COLS, GRID_CARD_ROWS, TaskCard

if TYPE_CHECKING:
    from PIL.Image import Image

_UNKNOWN = object()
# Actions that act on every marked task while any are marked; of those, the ones a single
# selected task still runs through `Requested` (the others go through `BatchRequested`).
BATCH_ACTIONS = ("delete", "retry", "star", "save", "copy", "collect")
SINGLE_ACTIONS = ("delete", "retry", "star")
BUFFER_ROWS = 3  # rows mounted above and below the visible ones
PICTURE_CACHE = 400  # finished cards' pictures kept for when their row comes back...
PICTURE_CACHE_BYTES = 16 * 2**20  # ...and at most this many bytes of their pixels

EMPTY_TEXT = (
    "No images yet.\nType a prompt below and press Enter: the picture sharpens here as it forms."
)


@dataclass
class _Range:
    """A Shift+arrow range: its `anchor` task, the marks it started from (`base`), and the
    cursor and marks it left (a range continues only while both are unchanged)."""

    anchor: str
    base: set[str]
    cursor: str | None = None
    marks: set[str] = field(default_factory=set)


def forget_rendering(card: Widget) -> None:
    """Drop the lines a leaving card and its children rendered, before it is removed.

    Textual 8 memoises `StylesCache.get_inner_outer` with an `lru_cache(1024)` whose key
    holds each widget's styles cache, and so that cache's rendered lines (Strips, each
    with its own small caches): every card ever painted kept ~45 Strips, ~270 KiB with
    their caches (tracemalloc), after it was unmounted, up to the 1,024 entries (~150
    cards). A full `refresh()` while the card is still mounted empties its styles cache
    (`Widget._set_dirty`), so the lru_cache keeps a nearly empty cache object (at most
    its one reused blank line)."""
    for widget in (card, *card.walk_children(Widget)):
        widget.refresh()


def picture_bytes(picture: Image | Frames) -> int:
    """The bytes of a picture's pixels: width x height x bands, every frame of an animation."""
    frames = picture.pictures if isinstance(picture, Frames) else (picture,)
    return sum(p.width * p.height * len(p.getbands()) for p in frames)


class PictureCache:
    """Pictures of finished cards that left the list's window, by task id, so a row that
    comes back shows its picture at once; one not here is decoded again from the task's
    file (the store's thumbnail: `TaskList.CardsMounted`). Bounded: at most `count`
    pictures and `max_bytes` of pixels (`picture_bytes`: a 16-frame animation counts 16
    times); the least recently kept go first. At the halfcell renderer's 22x14-pixel
    thumbnails 400 take ~0.4 MB; with Sixel's ~220x140 boxes (10x20-pixel cells) the byte
    bound keeps ~280 square stills or ~18 16-frame animations."""

    def __init__(self, count: int = PICTURE_CACHE, max_bytes: int = PICTURE_CACHE_BYTES) -> None:
        self.count = count
        self.max_bytes = max_bytes
        self.bytes = 0  # the pixels' bytes held now
        self._pictures: OrderedDict[str, tuple[Image | Frames, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pictures)

    def put(self, task_id: str, picture: Image | Frames) -> None:
        """Keep `picture` as the newest; drop the oldest beyond the bounds (a picture
        larger than `max_bytes` alone is not kept)."""
        size = picture_bytes(picture)
        old = self._pictures.pop(task_id, None)
        if old is not None:
            self.bytes -= old[1]
        if size > self.max_bytes:
            return
        self._pictures[task_id] = (picture, size)
        self.bytes += size
        while len(self._pictures) > self.count or self.bytes > self.max_bytes:
            _, (_, dropped) = self._pictures.popitem(last=False)
            self.bytes -= dropped

    def get(self, task_id: str) -> Image | Frames | None:
        kept = self._pictures.get(task_id)
        return kept[0] if kept is not None else None


class Spacer(Widget):
    """Empty rows standing in for cards that are not mounted."""

    DEFAULT_CSS = "Spacer { width: 100%; height: 0; }"


class CardWindow(Container):
    """The mounted cards: a column of rows, or a grid (class `-grid`)."""

    DEFAULT_CSS = f"""
    CardWindow {{
        width: 100%;
        height: auto;
        layout: vertical;
        & > TaskCard {{ margin-bottom: 1; }}
        &.-grid {{
            layout: grid;
            grid-size: 1;
            grid-rows: {GRID_CARD_ROWS + 1};
            grid-gutter: 0 1;
            & > TaskCard {{ margin-bottom: 0; height: {GRID_CARD_ROWS}; }}
        }}
    }}
    """


class TaskList(VerticalScroll, can_focus=True, can_focus_children=False):
    """Printable keys never act here: typed text goes to the composer (`app.type_in_prompt`),
    so a word typed with the list focused cannot retry, cancel or star anything; those take
    a Ctrl, F or Delete key, the same ones as in the detail view (`imgtui.tui.keys`).

    Marks (multi-select): Ctrl+Space (or Insert, which also moves down) marks a task,
    Shift+Up/Down mark the range from where they started to the cursor (moving back
    unmarks what the range added: `action_extend`), Ctrl+A marks all, Alt+I inverts, Esc
    unmarks all.
    While any are marked, Delete, F5, Ctrl+S, Ctrl+K and F6 act on the marked tasks.
    In the grid view (`grid`), Left/Right move across a row and Up/Down a row."""

    KEYS_TITLE = "Task list"
    KEYS_NOTE = "Letters and other text typed here go to the composer; ? shows this help."

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("left", "cursor(-1, True)", "Left", show=False),
        Binding("right", "cursor(1, True)", "Right", show=False),
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
        Binding("shift+up", "extend(-1)", "Extend marks up", id="task.mark_up", show=False),
        Binding("shift+down", "extend(1)", "Extend marks down", id="task.mark_range", show=False),
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
        TaskCard.-selected {
            border-left: outer $foreground-muted;
        }
        &:focus TaskCard.-selected {
            border-left: outer $accent;
            background: $boost;
        }
        TaskCard.-marked {
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

    class CardsMounted(Message):
        """Cards were mounted without a picture (the app decodes their pictures)."""

        def __init__(self, cards: list[TaskCard]) -> None:
            super().__init__()
            self.cards = cards

    class Exhausted(Message):
        """The window reached the last of the `shown` tasks the list has: the app may add
        older ones (`add_history`). Stale when the list has more than `shown` by now."""

        def __init__(self, shown: int) -> None:
            super().__init__()
            self.shown = shown

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

    class Selected(Message):
        """The selection moved to `task_id` (None: the list is empty)."""

        def __init__(self, task_id: str | None) -> None:
            super().__init__()
            self.task_id = task_id

    index: reactive[int] = reactive(0, init=False)
    grid: reactive[bool] = reactive(False, init=False)

    def __init__(self, make_card: Callable[[Task], TaskCard], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.make_card = make_card
        self._tasks: list[Task] = []  # everything the list shows, newest first
        self._arrivals: list[tuple[TaskCard, bool]] = []  # added, not yet in the list
        self._made: dict[str, TaskCard] = {}  # the app's cards of arrivals, for sync_window
        self._positions: dict[str, int] | None = None  # task id -> index (rebuilt lazily)
        self._cards: dict[str, TaskCard] = {}  # the mounted ones
        self._window_ids: list[str] = []  # ids of the mounted cards, in order
        self.pictures = PictureCache()  # finished cards' pictures, for when they come back
        self.marked: set[str] = set()  # task ids marked for a batch action
        self._range: _Range | None = None  # the Shift+arrow range being extended
        self._syncing = False
        self._again = False
        self._footer_state: object = _UNKNOWN  # what the footer last showed for the selection
        self._selected_posted: object = _UNKNOWN
        self._empty = Static(EMPTY_TEXT, id="empty")
        self._top = Spacer(id="above")
        self._window = CardWindow(id="window")
        self._bottom = Spacer(id="below")

    def compose(self):
        yield self._empty
        yield self._top
        yield self._window
        yield self._bottom

    def on_mount(self) -> None:
        self._empty.display = not self._tasks

    # -- geometry -------------------------------------------------------------------------

    @property
    def per_row(self) -> int:
        """Cards per row: 1 as a list; as many as fit as a grid."""
        if not self.grid:
            return 1
        width = self.scrollable_content_region.width or self.size.width
        return max(1, (width + 1) // (GRID_CARD_COLS + 1))

    @property
    def pitch(self) -> int:
        """Rows of the screen one row of cards takes (card and gap)."""
        return (GRID_CARD_ROWS if self.grid else CARD_ROWS) + 1

    def _rows(self, count: int | None = None) -> int:
        k = self.per_row
        return -(-(len(self._tasks) if count is None else count) // k)

    # -- content --------------------------------------------------------------------------

    @property
    def tasks(self) -> list[Task]:
        """Every task the list shows (mounted or not), newest first."""
        return list(self._tasks)

    @property
    def task_ids(self) -> list[str]:
        return [t.id for t in self._tasks]

    @property
    def cards(self) -> list[TaskCard]:
        """The mounted cards, in order (a window over `tasks`)."""
        return [self._cards[i] for i in self._window_ids if i in self._cards]

    def card(self, task_id: str) -> TaskCard | None:
        """The task's card if it is mounted (None when its row is off screen)."""
        return self._cards.get(task_id)

    def position(self, task_id: str) -> int | None:
        if self._positions is None:
            self._positions = {t.id: i for i, t in enumerate(self._tasks)}
        return self._positions.get(task_id)

    @property
    def selected_task(self) -> Task | None:
        return self._tasks[self.index] if 0 <= self.index < len(self._tasks) else None

    @property
    def selected(self) -> TaskCard | None:
        task = self.selected_task
        return self._cards.get(task.id) if task else None

    @property
    def selected_id(self) -> str | None:
        task = self.selected_task
        return task.id if task else None

    def _changed(self) -> None:
        self._positions = None
        self._empty.display = not self._tasks
        self.index = max(0, min(self.index, len(self._tasks) - 1))
        self._size_spacers()
        self.call_after_refresh(self.sync_window)

    async def add_first(self, card: TaskCard, select: bool = True) -> None:
        """A new task at the top (newest first), its card made by the app.

        Cards added one after another (a burst of submissions, a batch: the app adds each
        task's card with `call_next`) are mounted together, once the app has handed over
        the whole burst: one mount and one layout pass of the screen for all of them, not
        one or two each (issue 16: 8 tasks submitted at once took ~5 layout passes of
        10-60 ms before the first frame, `benchmarks/loop_lag.py`)."""
        self._arrivals.append((card, select))
        if len(self._arrivals) == 1:
            self.app.call_next(self._add_arrivals)

    async def _add_arrivals(self) -> None:
        """Put the tasks added since the last call at the top (the newest first) and let
        one `sync_window` mount the cards the window shows (the app's cards) and unmount
        those pushed out of it, in one batch."""
        arrivals, self._arrivals = self._arrivals, []
        if not arrivals:
            return
        selected = False
        for card, select in arrivals:
            had = bool(self._tasks)
            self._tasks.insert(0, card.imgtask)
            if select:
                self.index = 0
                selected = True
            elif had:
                self.index += 1  # keep the same task selected
            self._made[card.imgtask.id] = card
        self._positions = None
        self._empty.display = False
        if selected:
            self.scroll_home(animate=False)
        try:
            await self.sync_window()
        finally:
            self._made.clear()  # cards not shown now are made again when they are
        self._mark()

    async def add_history(self, tasks: list[Task]) -> None:
        """Older tasks below the ones shown."""
        self._tasks.extend(tasks)
        self._changed()
        await self.sync_window()
        self._mark()

    async def replace_all(self, tasks: list[Task]) -> None:
        """Show exactly these tasks (newest first), e.g. the result of a search."""
        self._tasks = list(tasks)
        self.index = 0
        self._set_marks(self.marked & {t.id for t in tasks})
        self.scroll_home(animate=False)
        self._changed()
        await self.sync_window()
        self._mark()

    def forget(self, task_ids: set[str]) -> None:
        """Drop tasks from the list (deleted elsewhere); their cards go at the next sync."""
        selected = self.selected_id
        if self.marked & task_ids:
            self._set_marks(self.marked - task_ids)
        self._tasks = [t for t in self._tasks if t.id not in task_ids]
        self._positions = None
        if selected is not None and selected not in task_ids:
            self.index = self.position(selected) or 0
        self._changed()

    async def remove_task(self, task_id: str) -> None:
        self.forget({task_id})
        await self.sync_window()
        self._mark()

    async def select(self, task_id: str) -> bool:
        """Select a task (its row is scrolled to and mounted); False if the list lacks it."""
        index = self.position(task_id)
        if index is None:
            return False
        await self._move_to(index)
        return True

    # -- the window of mounted cards ------------------------------------------------------

    def _size_spacers(self) -> None:
        k = self.per_row
        pitch = self.pitch
        lo = self.position(self._window_ids[0]) if self._window_ids else None
        hi = self.position(self._window_ids[-1]) if self._window_ids else None
        if lo is None or hi is None:
            above, below = 0, self._rows() * pitch
        else:
            above = (lo // k) * pitch
            below = max(0, self._rows() - (hi // k + 1)) * pitch
        if self._top.styles.height is None or self._top.styles.height.value != above:
            self._top.styles.height = above
        if self._bottom.styles.height is None or self._bottom.styles.height.value != below:
            self._bottom.styles.height = below

    def _wanted(self) -> tuple[int, int]:
        """The task range [lo, hi) to mount: the visible rows and BUFFER_ROWS either side."""
        k = self.per_row
        pitch = self.pitch
        height = self.scrollable_content_region.height or self.size.height or 40
        first = int(self.scroll_y) // pitch
        # The selection's row too: keys move it before the scroll catches up.
        sel_row = self.index // k
        if not first <= sel_row < first + height // pitch + 1:
            first = max(0, sel_row - max(0, height // pitch - 1))
        lo_row = max(0, first - BUFFER_ROWS)
        hi_row = min(self._rows(), first + height // pitch + 1 + BUFFER_ROWS)
        return lo_row * k, min(len(self._tasks), hi_row * k)

    async def sync_window(self) -> None:
        """Mount the cards of the rows on screen (and a few around), unmount the rest."""
        if self._syncing:
            self._again = True
            return
        self._syncing = True
        try:
            while True:
                self._again = False
                await self._sync_once()
                if not self._again:
                    break
        finally:
            self._syncing = False

    async def _sync_once(self) -> None:
        if not self.is_mounted:
            return
        lo, hi = self._wanted()
        want = [t.id for t in self._tasks[lo:hi]]
        if want != self._window_ids:
            keep = set(want)
            gone = [
                self._cards.pop(i) for i in self._window_ids if i not in keep and i in self._cards
            ]
            for card in gone:
                self._remember(card)
                forget_rendering(card)
            existing = [i for i in self._window_ids if i in keep]
            new_cards: list[TaskCard] = []
            # Each run of new cards goes before the next card that stays (or at the end).
            runs: list[tuple[str | None, list[TaskCard]]] = []
            run: list[TaskCard] = []
            for task in self._tasks[lo:hi]:
                if task.id in self._cards:
                    if run:
                        runs.append((task.id, run))
                        run = []
                    continue
                made = self._made.pop(task.id, None)
                card = made if made is not None else self.make_card(task)
                card.set_class(self.grid, "-grid")
                self._restore(card)
                self._cards[task.id] = card
                run.append(card)
                if not card.has_picture:
                    new_cards.append(card)
            if run:
                runs.append((None, run))
            del existing
            self._window_ids = want
            with self.app.batch_update():
                if gone:
                    await self._window.remove_children(gone)
                for before, cards in runs:
                    target = self._cards[before] if before is not None else None
                    await self._window.mount_all(cards, before=target)
                self._size_spacers()
                self._mark()
            if new_cards:
                self.post_message(self.CardsMounted(new_cards))
        else:
            self._size_spacers()
        if self._tasks and hi >= len(self._tasks):
            self.post_message(self.Exhausted(len(self._tasks)))

    def _remember(self, card: TaskCard) -> None:
        """Keep a leaving card's final picture (small) for when its row comes back."""
        picture = card.picture
        if picture is not None and card.has_final and card.imgtask.status.ended:
            self.pictures.put(card.imgtask.id, picture)

    def _restore(self, card: TaskCard) -> None:
        picture = self.pictures.get(card.imgtask.id)
        if picture is not None:
            card.set_picture(picture, unfinished=False)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if int(old_value) // self.pitch != int(new_value) // self.pitch:
            self.call_later(self.sync_window)

    def watch_grid(self) -> None:
        self._window.set_class(self.grid, "-grid")
        self._window.styles.grid_size_columns = self.per_row
        for card in self._cards.values():
            card.set_class(self.grid, "-grid")
            card.refresh_task()
        self._size_spacers()
        self.call_after_refresh(self._regrid)

    async def _regrid(self) -> None:
        self._window.styles.grid_size_columns = self.per_row
        self._size_spacers()
        await self._scroll_to_index()

    def on_resize(self, event: events.Resize) -> None:
        if self.grid:
            self.call_after_refresh(self._regrid)
        else:
            self.call_after_refresh(self.sync_window)

    # -- selection ------------------------------------------------------------------------

    def watch_index(self) -> None:
        self._mark()

    def _mark(self) -> None:
        selected = self.selected_id
        for task_id, card in self._cards.items():
            card.set_class(task_id == selected, "-selected")
            card.set_class(task_id in self.marked, "-marked")
        self.sync_bindings()
        if selected != self._selected_posted:
            self._selected_posted = selected
            self.post_message(self.Selected(selected))

    # -- marks (multi-select, issue 15.4) ---------------------------------------------------

    @property
    def marked_ids(self) -> list[str]:
        """The marked tasks in list order."""
        return [t.id for t in self._tasks if t.id in self.marked]

    @property
    def shown_ids(self) -> set[str]:
        """Every task the list holds (mounted or not)."""
        return {t.id for t in self._tasks}

    def set_empty_text(self, text: str) -> None:
        """What the list says when it has no card (e.g. a filter that matches nothing).
        Plain text: a typed filter is never parsed as markup."""
        self._empty.update(Content(clean(text)))

    def _set_marks(self, marks: set[str]) -> None:
        if marks != self.marked:
            self.marked = marks
            self._mark()
            self.post_message(self.MarksChanged(len(marks)))

    async def action_toggle_mark(self, move: int = 0) -> None:
        task_id = self.selected_id
        if task_id is None:
            return
        self._set_marks(self.marked ^ {task_id})
        if move:
            await self._move_to(self.index + move)

    async def action_extend(self, delta: int) -> None:
        """Shift+Up/Down: mark the range from the anchor (where the first Shift+arrow
        started) to the cursor, as file managers and editors do: moving away from the
        anchor marks, moving back toward it unmarks what the range had added. Marks made
        otherwise (Ctrl+Space, Ctrl+A...) stay. Any other move or mark ends the range: the
        next Shift+arrow anchors anew where the cursor is."""
        task_id = self.selected_id
        if task_id is None:
            return
        extending = self._range
        if extending is None or extending.cursor != task_id or extending.marks != self.marked:
            extending = _Range(anchor=task_id, base=set(self.marked))
        await self._move_to(self.index + delta)
        anchor = self.position(extending.anchor)
        if anchor is None:  # the anchor left the list meanwhile: anchor here
            extending = _Range(anchor=task_id, base=set(self.marked))
            anchor = self.index
        lo, hi = sorted((anchor, self.index))
        self._set_marks(extending.base | {t.id for t in self._tasks[lo : hi + 1]})
        extending.cursor, extending.marks = self.selected_id, set(self.marked)
        self._range = extending

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

        A refresh recomposes the Footer (a full layout), so only when this list has focus
        (else the footer shows another widget's keys, and focusing the list refreshes them)
        and the selected task's cancel key came or went.
        """
        task = self.selected_task
        state = None if task is None else task.status in (Status.QUEUED, Status.RUNNING)
        if self.has_focus and state != self._footer_state:
            self.refresh_bindings()
        self._footer_state = state if self.has_focus else _UNKNOWN

    def on_focus(self) -> None:
        self._footer_state = _UNKNOWN  # Textual refreshes the footer on a focus change itself

    async def _move_to(self, index: int) -> None:
        if not self._tasks:
            return
        self.index = max(0, min(len(self._tasks) - 1, index))
        await self._scroll_to_index()

    async def _scroll_to_index(self) -> None:
        """Scroll so the selected row is on screen, then mount its window."""
        pitch = self.pitch
        row = self.index // self.per_row
        top = row * pitch
        height = self.scrollable_content_region.height or self.size.height
        y = self.scroll_y
        if top < y:
            y = top
        elif top + pitch - 1 > y + height:
            y = top + pitch - 1 - height
        self._size_spacers()
        if y != self.scroll_y:
            self.scroll_to(y=y, animate=False, force=True)
        await self.sync_window()
        self._mark()

    async def action_cursor(self, delta: int, across: bool = False) -> None:
        """Up/Down: the next row (a card, or a grid row); Left/Right: the next card."""
        step = delta if across or not self.grid else delta * self.per_row
        await self._move_to(self.index + step)

    async def action_jump(self, where: int) -> None:
        """Home: the newest task. End: the oldest one the list has (the app then adds
        older ones from history, if any: End again goes further)."""
        await self._move_to(0 if where == 0 else len(self._tasks) - 1)

    async def action_page(self, direction: int) -> None:
        height = self.scrollable_content_region.height or self.size.height
        rows = max(1, height // self.pitch)
        await self._move_to(self.index + direction * rows * self.per_row)

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
            task = self.selected_task
            if task is None:
                return False
            what = parameters[0] if parameters else ""
            if what == "cancel":
                return True if task.status in (Status.QUEUED, Status.RUNNING) else None
        # Left/Right move only in the grid.
        return not (action == "cursor" and len(parameters) > 1 and parameters[1] and not self.grid)

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

    async def on_click(self, event: events.Click) -> None:
        widget = event.widget
        while widget is not None and not isinstance(widget, TaskCard):
            widget = widget.parent  # type: ignore[assignment]
        if isinstance(widget, TaskCard):
            index = self.position(widget.imgtask.id)
            if index is None:
                return
            if index == self.index and (self.has_focus or event.chain >= 2):
                self.post_message(self.Requested("open", widget.imgtask.id))
            self.index = index
            self.focus()

    def mounted_ids(self) -> Iterable[str]:
        return list(self._window_ids)
