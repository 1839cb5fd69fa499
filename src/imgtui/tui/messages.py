"""Messages that workers post to the app. Workers never touch widgets (STYLE habit 2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from PIL.Image import Image

    from imgtui.api.events import Event


class TaskEvent(Message):
    """One wire event for a task, with the picture already decoded and shrunk (or None)."""

    def __init__(self, task_id: str, event: Event, picture: Image | None = None) -> None:
        super().__init__()
        self.task_id = task_id
        self.event = event
        self.picture = picture


class PictureReady(Message):
    """A card picture decoded off the UI thread (history thumbnails, finals written to disk)."""

    def __init__(self, task_id: str, picture: Image | None, unfinished: bool) -> None:
        super().__init__()
        self.task_id = task_id
        self.picture = picture
        self.unfinished = unfinished
