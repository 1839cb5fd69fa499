"""Reading history a page at a time, and counting it (issue 14.4: the list reaches every task).

    pages = HistoryPages(history, page=200)
    pages.first(rows, limit=200, where=None)   # the rows the list starts with, and their source
    older = await pages.next()                  # the next page of the same source ([] at the end)
    total = await pages.count()                 # COUNT(*) of every stored task (the header)

The list shows the newest rows of a source (all history, or a find's `TaskFilter`); `next()` reads the rows after the ones read so far. Rows deleted meanwhile
shift the later ones up (`removed`). Store calls run on the `History` thread, in order,
so a count asked after a save counts it. No Textual here.
"""

from __future__ import annotations

from imgtui.store.db import TaskFilter
from imgtui.store.history import History
from imgtui.tasks import Task


class HistoryPages:
    """Where the list is in its source of stored tasks."""

    def __init__(self, history: History, page: int) -> None:
        self.history = history
        self.page = max(1, page)
        self.where: TaskFilter | None = None  # the source's filter (None: all history)
        self.offset = 0  # rows of the source read so far
        self.more = False  # the store may have rows after `offset`

    def first(self, rows: list[Task], limit: int | None, where: TaskFilter | None = None) -> None:
        """The list starts over with `rows`, the first page (at most `limit`) of `where`."""
        self.where = where
        self.offset = len(rows)
        self.more = limit is not None and len(rows) >= limit

    def removed(self, count: int = 1) -> None:
        """`count` rows already read were deleted: the later rows moved up."""
        self.offset = max(0, self.offset - count)

    async def next(self) -> list[Task]:
        """The next page of the source, oldest last; [] when there is none (or one is being
        read: one read at a time). Raises `StoreError` when the store cannot be read."""
        if not self.more:
            return []
        self.more = False  # until this page is in
        rows: list[Task] = await self.history.call(
            self.history.store.load, limit=self.page, offset=self.offset, where=self.where
        )
        self.offset += len(rows)
        self.more = len(rows) >= self.page
        return rows

    async def count(self) -> int:
        """How many tasks the store holds (every one, whatever the filter). Raises `StoreError`."""
        return int(await self.history.call(self.history.store.count))
