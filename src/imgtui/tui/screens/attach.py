"""Attach reference images (and an optional mask) to the next task (Ctrl+F).

A path input with filesystem completion (Tab or → accepts the suggestion; the candidates
are listed under the input as you type), the attached files in a list (Delete removes
one). Paths pasted or dropped on the terminal are added at once, several at a time.
Changes apply as they are made; Escape closes and returns the attachments, with a path
still in the input (typed without Enter) added first: if it is not an image, the error
shows and the dialog stays, and a second Escape leaves it out.
"""

from __future__ import annotations

import os
from pathlib import Path

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from imgtui.api.request import RequestError
from imgtui.draft import Attachments
from imgtui.files import pasted_paths
from imgtui.images import check_image
from imgtui.text import clean
from imgtui.tui.screens.dialog import Dialog
from imgtui.tui.widgets.key_footer import KeyFooter

MAX_IMAGES = 16  # reference images per edit (PROTOCOL.md §1)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif"}
MAX_LISTED = 2000
MAX_SHOWN = 12  # candidates shown under the input


class PathSuggester(Suggester):
    """Completes the last path component against the filesystem: folders and image files."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return complete_path(value)


def path_candidates(value: str) -> list[str]:
    """The names the last path component of `value` can complete to: folders (with a `/`,
    first) and image files, hidden ones only when asked for; at most 2,000 entries read."""
    if not value:
        return []
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
        return []
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
    matches.sort(key=lambda n: (not n.endswith("/"), n.lower()))
    return matches


def complete_path(value: str) -> str | None:
    """`value` completed as far as its candidates agree (the longest common start), or
    to the first candidate when they agree on nothing more; None without candidates."""
    matches = path_candidates(value)
    if not matches:
        return None
    prefix = os.path.split(os.path.expanduser(value))[1]
    # the longest common start of the names, character by character (a completion)
    best = matches[0] if len(matches) == 1 else os.path.commonprefix(matches) or matches[0]  # noqa: RUF071
    if len(best) <= len(prefix):
        best = matches[0]
    return value[: len(value) - len(prefix)] + best


def candidates_text(value: str, limit: int = MAX_SHOWN) -> str:
    """The candidates for `value` on one or two lines (`a.png  b.png  photos/  +12 more`),
    or '' when there are none or the only one is what is typed."""
    matches = path_candidates(value)
    prefix = os.path.split(os.path.expanduser(value))[1]
    if not matches or matches == [prefix]:
        return ""
    shown = "  ".join(matches[:limit])
    return shown + (f"  +{len(matches) - limit} more" if len(matches) > limit else "")


class PathInput(Input):
    BINDINGS = [Binding("tab", "complete", "Complete", show=False)]

    class FilesPasted(Message):
        """Pasted text that names existing files only (one or more dropped on the terminal)."""

        def __init__(self, path_input: PathInput, paths: list[Path]) -> None:
            super().__init__()
            self.path_input = path_input
            self.paths = paths

        @property
        def control(self) -> PathInput:
            return self.path_input

    def _on_paste(self, event: events.Paste) -> None:
        paths = pasted_paths(event.text)
        if paths is None:
            return  # text: Input's own handler (next in the MRO) inserts its first line
        event.stop()
        event.prevent_default()
        self.post_message(self.FilesPasted(self, paths))

    def action_complete(self) -> None:
        if self._suggestion and self.cursor_at_end and len(self._suggestion) > len(self.value):
            self.value = self._suggestion
            self.cursor_position = len(self.value)
        else:
            self.screen.focus_next()


class AttachScreen(Dialog[Attachments]):
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
        .candidates { color: $text-muted; height: auto; max-height: 2; display: none; }
        .candidates.-shown { display: block; }
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
        self._refused = ""  # the last path whose error was shown

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Reference images (the task becomes an edit)"
            yield Label("Image file — Enter adds it, Tab completes")
            yield PathInput(
                placeholder="~/Pictures/photo.png  (or paste / drop files)",
                suggester=PathSuggester(),
                id="image",
            )
            yield Static("", id="image-candidates", classes="candidates", markup=False)
            yield Label("Mask (optional PNG; transparent = area to edit)")
            yield PathInput(
                str(self.attachments.mask) if self.attachments.mask else "",
                placeholder="~/Pictures/mask.png",
                suggester=PathSuggester(),
                id="mask",
            )
            yield Static("", id="mask-candidates", classes="candidates", markup=False)
            yield Static("", id="error")
            yield Label("Attached")
            yield OptionList(id="attached")
            yield Static("Delete removes the highlighted file · Esc done", id="hint")
        yield KeyFooter()

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

    @on(Input.Changed, "PathInput")
    def _show_candidates(self, event: Input.Changed) -> None:
        shown = self.query_one(f"#{event.input.id}-candidates", Static)
        text = candidates_text(event.value)
        shown.update(Content(clean(text, newlines=False)))  # file names
        shown.set_class(bool(text), "-shown")

    def _add(self, text: str) -> bool:
        """Add the image file `text` names; False (the error shown) when it is not one."""
        try:
            path = check_image(text, "image")
        except RequestError as exc:
            self._error(f"{exc.field}: {exc.message}")
            self._refused = text
            return False
        if path not in self.attachments.images:
            if len(self.attachments.images) >= MAX_IMAGES:
                self._error(f"images: at most {MAX_IMAGES}")
                self._refused = text
                return False
            self.attachments.images.append(path)
        self._error("")
        return True

    @on(Input.Submitted, "#image")
    def _add_image(self, event: Input.Submitted) -> None:
        if self._add(event.value):
            event.input.value = ""
            self._refresh_list()

    @on(PathInput.FilesPasted)
    def _files_pasted(self, event: PathInput.FilesPasted) -> None:
        if event.path_input.id == "mask":
            event.path_input.value = str(event.paths[0])
            self._set_mask_from(event.path_input.value)
            return
        added = [p for p in event.paths if self._add(str(p))]
        if added:
            self._refresh_list()

    @on(Input.Submitted, "#mask")
    def _set_mask(self, event: Input.Submitted) -> None:
        self._set_mask_from(event.value)

    def _set_mask_from(self, text: str) -> bool:
        if not text.strip():
            self.attachments.mask = None
        else:
            try:
                self.attachments.mask = check_image(text, "mask")
            except RequestError as exc:
                self._error(f"{exc.field}: {exc.message}")
                self._refused = text
                return False
        self._error("")
        self._refresh_list()
        return True

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
        """Done: a path still in an input (typed without Enter) is added first. One that is
        not an image keeps the dialog open with the error, unless that error was shown
        for it already (then this Escape leaves it out, knowingly)."""
        image = self.query_one("#image", Input)
        leftover = image.value
        if leftover.strip() and leftover != self._refused:
            if not self._add(leftover):
                image.focus()
                return
            image.value = ""
            self._refresh_list()
        mask = self.query_one("#mask", Input)
        current = str(self.attachments.mask) if self.attachments.mask else ""
        changed = mask.value not in (current, self._refused)
        if changed and not self._set_mask_from(mask.value):
            mask.focus()
            return
        if not self.attachments.images:
            self.attachments.mask = None
        self.dismiss(self.attachments)
