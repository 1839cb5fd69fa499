"""Attach reference images (and an optional mask) to the next task (Ctrl+F).

A path input with filesystem completion (Tab or → accepts the suggestion), the attached
files in a list (Delete removes one). Changes apply as they are made; Escape closes and
returns the attachments.
"""

from __future__ import annotations

import os
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from imgtui.api.request import RequestError
from imgtui.draft import Attachments
from imgtui.images import check_image
from imgtui.text import clean

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif"}
MAX_LISTED = 2000


class PathSuggester(Suggester):
    """Completes the last path component against the filesystem: folders and image files."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return complete_path(value)


def complete_path(value: str) -> str | None:
    if not value:
        return None
    expanded = os.path.expanduser(value)
    folder, prefix = os.path.split(expanded)
    try:
        entries = []
        with os.scandir(folder or ".") as it:
            for i, entry in enumerate(it):
                if i >= MAX_LISTED:
                    break
                entries.append(entry)
    except OSError:
        return None
    matches = []
    for entry in entries:
        name = entry.name
        if not name.startswith(prefix) or (name.startswith(".") and not prefix.startswith(".")):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if is_dir:
            matches.append(name + "/")
        elif Path(name).suffix.lower() in IMAGE_SUFFIXES:
            matches.append(name)
    if not matches:
        return None
    matches.sort(key=lambda n: (not n.endswith("/"), n.lower()))
    # the longest common start of the names, character by character (a completion)
    best = matches[0] if len(matches) == 1 else os.path.commonprefix(matches) or matches[0]  # noqa: RUF071
    if len(best) <= len(prefix):
        best = matches[0]
    return value[: len(value) - len(prefix)] + best


class PathInput(Input):
    BINDINGS = [Binding("tab", "complete", "Complete", show=False)]

    def action_complete(self) -> None:
        if self._suggestion and self.cursor_at_end and len(self._suggestion) > len(self.value):
            self.value = self._suggestion
            self.cursor_position = len(self.value)
        else:
            self.screen.focus_next()


class AttachScreen(ModalScreen[Attachments]):
    DEFAULT_CSS = """
    AttachScreen {
        align: center middle;
        & > Vertical {
            width: 90;
            max-width: 95%;
            height: auto;
            max-height: 90%;
            border: thick $primary 80%;
            background: $surface;
            padding: 1 2;
        }
        Label { color: $text-muted; margin-top: 1; }
        #error { color: $error; height: auto; }
        OptionList { height: auto; max-height: 10; min-height: 3; }
        #hint { color: $text-muted; margin-top: 1; }
    }
    """

    BINDINGS = [
        Binding("escape", "close", "Done", id="attach.done"),
        Binding("delete", "remove", "Remove", id="attach.remove"),
    ]

    def __init__(self, attachments: Attachments) -> None:
        super().__init__()
        self.attachments = Attachments(
            list(attachments.images),
            attachments.mask,
            attachments.parent_id,
            attachments.previous_response_id,
        )

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Reference images (the task becomes an edit)"
            yield Label("Image file — Enter adds it, Tab completes")
            yield PathInput(
                placeholder="~/Pictures/photo.png", suggester=PathSuggester(), id="image"
            )
            yield Label("Mask (optional PNG; transparent = area to edit)")
            yield PathInput(
                str(self.attachments.mask) if self.attachments.mask else "",
                placeholder="~/Pictures/mask.png",
                suggester=PathSuggester(),
                id="mask",
            )
            yield Static("", id="error")
            yield Label("Attached")
            yield OptionList(id="attached")
            yield Static("Delete removes the highlighted file · Esc done", id="hint")

    def on_mount(self) -> None:
        self._refresh_list()
        self.query_one("#image", Input).focus()

    def _refresh_list(self) -> None:
        option_list = self.query_one("#attached", OptionList)
        option_list.clear_options()
        for p in self.attachments.images:
            option_list.add_option(Option(Content(clean(str(p))), id=f"image:{p}"))
        if self.attachments.mask:
            option_list.add_option(
                Option(
                    Content(clean(f"mask: {self.attachments.mask}")),
                    id=f"mask:{self.attachments.mask}",
                )
            )
        if not self.attachments.images and not self.attachments.mask:
            option_list.add_option(Option("(nothing attached)", disabled=True))

    def _error(self, text: str) -> None:
        self.query_one("#error", Static).update(Content(clean(text)))  # names file paths

    @on(Input.Submitted, "#image")
    def _add_image(self, event: Input.Submitted) -> None:
        try:
            path = check_image(event.value, "image")
        except RequestError as exc:
            self._error(f"{exc.field}: {exc.message}")
            return
        if path not in self.attachments.images:
            if len(self.attachments.images) >= 16:
                self._error("images: at most 16")
                return
            self.attachments.images.append(path)
        self._error("")
        event.input.value = ""
        self._refresh_list()

    @on(Input.Submitted, "#mask")
    def _set_mask(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.attachments.mask = None
        else:
            try:
                self.attachments.mask = check_image(event.value, "mask")
            except RequestError as exc:
                self._error(f"{exc.field}: {exc.message}")
                return
        self._error("")
        self._refresh_list()

    def action_remove(self) -> None:
        option_list = self.query_one("#attached", OptionList)
        if option_list.highlighted is None:
            return
        option = option_list.get_option_at_index(option_list.highlighted)
        if option.id is None:
            return
        kind, _, key = option.id.partition(":")
        if kind == "image":
            self.attachments.images = [p for p in self.attachments.images if str(p) != key]
        else:
            self.attachments.mask = None
            self.query_one("#mask", Input).value = ""
        self._refresh_list()

    def action_close(self) -> None:
        if not self.attachments.images:
            self.attachments.mask = None
        self.dismiss(self.attachments)
