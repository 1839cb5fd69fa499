"""Find tasks as a live filter (issue 14.5): prompt text, status or star, model, profile,
date and collection. The list beneath follows every change as you type; the box says how
many tasks match (or that none does); Enter keeps the filter, Esc clears it.

The screen does not reach into the app: it is given `apply(filter) -> count` (None when
the search failed) and the choices history holds (`Store.filter_choices`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Input, Label, RadioButton, RadioSet, Select, Static

from imgtui.store import TaskFilter
from imgtui.tui.screens.dialog import Dialog
from imgtui.tui.widgets.key_footer import KeyFooter

__all__ = ["DATES", "STATUSES", "HistoryFilter", "SearchScreen"]

STATUSES = (
    ("all", "all"),
    ("done", "done"),
    ("failed", "failed"),
    ("cancelled", "cancelled"),
    ("interrupted", "interrupted"),
    ("starred", "★ starred"),
)

# date choice -> (label, seconds back from now; None: any time, 0: since local midnight)
DATES: dict[str, tuple[str, float | None]] = {
    "any": ("any time", None),
    "today": ("today", 0),
    "week": ("last 7 days", 7 * 86400),
    "month": ("last 30 days", 30 * 86400),
}

# Typing settles for this long before the list is searched again (one store query and
# one list rebuild per pause, not per key).
SETTLE_S = 0.15


@dataclass(frozen=True)
class HistoryFilter:
    """What the list shows: all fields combine (AND); empty or "all"/"any" is no filter."""

    text: str = ""
    status: str = "all"  # one of STATUSES, "starred" filters on the star
    model: str = ""
    profile: str = ""
    date: str = "any"  # one of DATES
    collection: str = ""

    @property
    def active(self) -> bool:
        return self != HistoryFilter()

    def describe(self) -> str:
        parts = []
        if self.text:
            parts.append(f"“{self.text}”")
        if self.status != "all":
            parts.append(self.status)
        if self.model:
            parts.append(f"model {self.model}")
        if self.profile:
            parts.append(f"profile {self.profile}")
        if self.date != "any":
            parts.append(DATES[self.date][0])
        if self.collection:
            parts.append(f"collection {self.collection}")
        return " · ".join(parts) or "everything"

    def task_filter(self, now: float | None = None) -> TaskFilter:
        """The store's filter for this find (`now`: epoch seconds, for the date)."""
        since = None
        back = DATES.get(self.date, DATES["any"])[1]
        if back is not None:
            now = time.time() if now is None else now
            if back == 0:
                local = time.localtime(now)
                since = time.mktime((*local[:3], 0, 0, 0, 0, 0, -1))
            else:
                since = now - back
        return TaskFilter(
            search=self.text or None,
            status=self.status if self.status not in ("all", "starred") else None,
            starred=True if self.status == "starred" else None,
            model=self.model or None,
            profile=self.profile or None,
            since=since,
            collection=self.collection or None,
        )


def match_text(count: int | None, flt: HistoryFilter) -> Content:
    """The line under the fields: how many match, or that none does."""
    if count is None:
        return Content.styled("The search failed (see the message).", "$error")
    if not flt.active:
        return Content.styled(f"All {count} task{'s' if count != 1 else ''}.", "$text-muted")
    if count == 0:
        return Content.styled(f"No task matches {flt.describe()}.", "$warning")
    verb = "task matches" if count == 1 else "tasks match"
    return Content(f"{count} {verb} {flt.describe()}.")


class SearchScreen(Dialog[HistoryFilter | None]):
    """The filter fields; the list beneath follows them. Enter: keep the filter and go to
    the list. Esc: clear the filter (every task again) and close."""

    KEYS_TITLE = "Find"

    DEFAULT_CSS = """
    SearchScreen {
        align: center bottom;  /* over the composer: the top of the list stays in view */
        background: $background 30%;
        & > Vertical {
            margin-bottom: 1;
            width: 96;
            max-width: 98%;
            height: auto;
            border: thick $primary 80%;
            background: $surface;
            padding: 0 1;
        }
        RadioSet { layout: horizontal; width: 100%; border: none; }
        #choices { height: auto; }
        #choices > Select { width: 1fr; }
        #matches { margin-top: 1; }
        #hint { color: $text-muted; }
    }
    """

    BINDINGS = [
        Binding("escape", "clear", "Clear and close", id="search.clear"),
    ]

    def __init__(
        self,
        current: HistoryFilter,
        apply: Callable[[HistoryFilter], Awaitable[int | None]],
        choices: Callable[[], Awaitable[dict[str, list[str]]]] | None = None,
    ) -> None:
        super().__init__()
        self.current = current
        self.apply = apply
        self.load_choices = choices
        self.shown: HistoryFilter = current  # what the list shows now
        self.count: int | None = None

    def _select(self, name: str, blank: str, value: str) -> Select[str]:
        return Select(
            [(value, value)] if value else [],
            prompt=blank,
            value=value if value else Select.NULL,
            id=name,
        )

    @work(group="find-choices", exit_on_error=False)
    async def _fill_choices(self) -> None:
        """The models, profiles and collections history holds, into their selects."""
        if self.load_choices is None:
            return
        choices = await self.load_choices()
        for name in ("models", "profiles", "collections"):
            select = self.query_one(f"#{name}", Select)
            keep = select.value
            options = list(choices.get(name, []))
            if isinstance(keep, str) and keep not in options:
                options.append(keep)
            with select.prevent(Select.Changed):
                select.set_options([(o, o) for o in options])
                if isinstance(keep, str):
                    select.value = keep

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Find tasks"
            yield Label("Prompt contains")
            yield Input(self.current.text, placeholder="words from the prompt…", id="text")
            with RadioSet(id="status"):
                for value, label in STATUSES:
                    yield RadioButton(label, value=value == self.current.status, name=value)
            with Horizontal(id="choices"):
                yield self._select("models", "any model", self.current.model)
                yield self._select("profiles", "any profile", self.current.profile)
                yield Select(
                    [(label, key) for key, (label, _) in DATES.items()],
                    value=self.current.date,
                    allow_blank=False,
                    id="date",
                )
                yield self._select("collections", "any collection", self.current.collection)
            yield Static("", id="matches")
            yield Static(
                "The list follows as you type · Enter: keep the filter · Esc: clear it",
                id="hint",
            )
        yield KeyFooter()

    def on_mount(self) -> None:
        field = self.query_one("#text", Input)
        field.cursor_blink = False
        field.focus()
        self._fill_choices()
        self._refresh(immediately=True)

    def chosen(self) -> HistoryFilter:
        """The filter the fields describe now."""
        pressed = self.query_one("#status", RadioSet).pressed_button
        status = pressed.name if pressed is not None and pressed.name else "all"

        def value(name: str) -> str:
            v = self.query_one(f"#{name}", Select).value
            return v if isinstance(v, str) else ""

        return HistoryFilter(
            self.query_one("#text", Input).value.strip(),
            status,
            value("models"),
            value("profiles"),
            value("date") or "any",
            value("collections"),
        )

    @on(Input.Changed)
    @on(RadioSet.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self._refresh()

    def _refresh(self, immediately: bool = False) -> None:
        self._search(self.chosen(), 0.0 if immediately else SETTLE_S)

    @work(group="find", exclusive=True, exit_on_error=False)
    async def _search(self, flt: HistoryFilter, settle: float) -> None:
        """Wait for typing to settle (a newer change cancels this one), then filter."""
        if settle:
            await asyncio.sleep(settle)
        if flt == self.shown and self.count is not None:
            return
        count = await self.apply(flt)
        self.shown, self.count = flt, count
        self.query_one("#matches", Static).update(match_text(count, flt))

    async def settled(self) -> None:
        """Until the list shows what the fields say (tests; Enter waits for it too). Waits
        on this screen's own searches only, never on the app's other workers."""
        while True:
            pending = [
                w
                for w in self.workers
                if w.node is self and w.group == "find" and not w.is_finished
            ]
            if pending:
                await asyncio.gather(*(w.wait() for w in pending), return_exceptions=True)
            elif self.shown == self.chosen() and self.count is not None:
                return
            else:
                self._refresh(immediately=True)  # registers a worker: the loop waits on it

    @on(Input.Submitted)
    def _keep(self) -> None:
        self._keep_filter()

    def key_enter(self) -> None:  # Enter on the status choice keeps the filter too
        self._keep_filter()

    @work(group="find-keep", exclusive=True, exit_on_error=False)
    async def _keep_filter(self) -> None:
        """Enter: once the list shows the fields' filter, close with it. A worker, so the
        key's handler returns at once (keys after it are not held up)."""
        await self.settled()
        self.dismiss(self.shown)

    def action_clear(self) -> None:
        # No search of this screen may land after the clear (a pending one would show
        # its filter again): stop them first; the app then shows every task.
        self.workers.cancel_group(self, "find")
        self.workers.cancel_group(self, "find-keep")
        self.dismiss(HistoryFilter())
