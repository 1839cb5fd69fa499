"""Messages the app routes: task events from workers (which never touch widgets, STYLE
habit 2), decoded pictures, and the typed actions screens and widgets ask the app for."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from PIL.Image import Image

    from imgtui.api.events import Event
    from imgtui.images import Frames


class TaskAction(StrEnum):
    """What the user can ask the app to do with a task (list keys, detail keys, palette)."""

    OPEN = "open"
    CANCEL = "cancel"
    RETRY = "retry"
    DELETE = "delete"
    STAR = "star"
    REUSE = "reuse"
    REFINE = "refine"


class TaskEvent(Message):
    """One wire event for a task, with the picture already decoded and shrunk (or None)."""

    def __init__(self, task_id: str, event: Event, picture: Image | Frames | None = None) -> None:
        super().__init__()
        self.task_id = task_id
        self.event = event
        self.picture = picture


class PictureReady(Message):
    """A card picture decoded off the UI thread (history thumbnails, finals written to disk)."""

    def __init__(self, task_id: str, picture: Image | Frames | None, unfinished: bool) -> None:
        super().__init__()
        self.task_id = task_id
        self.picture = picture
        self.unfinished = unfinished


class TaskActionRequested(Message):
    """A screen asks the app to act on a task (e.g. the detail view's cancel key); `slot`
    is the image shown (refine)."""

    def __init__(self, action: TaskAction, task_id: str, slot: int = 0) -> None:
        super().__init__()
        self.action = action
        self.task_id = task_id
        self.slot = slot
