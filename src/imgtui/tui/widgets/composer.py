"""The prompt composer: a TextArea where Enter submits, plus chips for attached images.

Enter submits; Ctrl+J inserts a newline (it is a plain LF byte, so it works in every
terminal and through tmux); Shift+Enter and Alt+Enter do too where the terminal reports them.
Up and Down in an empty composer recall earlier prompts (`imgtui.prompts`: keep pressing
while the recalled text is unedited); Ctrl+R searches them.

Images come in three ways besides the attach dialog: a file dropped on the terminal (the
terminal pastes its path: `imgtui.files.pasted_paths` reads quoted, escaped and `file://`
forms, several at once), paths pasted, and Ctrl+V: the image on the system clipboard
(`imgtui.tui.clipboard.paste_image`). A paste that is not only existing files is text.
"""

from __future__ import annotations

from pathlib import Path

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Static, TextArea

from imgtui.api.request import RequestError
from imgtui.draft import Attachments
from imgtui.files import pasted_paths
from imgtui.images import check_image
from imgtui.prompts import PromptHistory
from imgtui.text import clean

MAX_IMAGES = 16  # reference images per edit (PROTOCOL.md §1)

NEWLINE_KEYS = ("ctrl+j", "shift+enter", "alt+enter")


class PromptArea(TextArea):
    """TextArea where Enter submits and Ctrl+J (or Shift/Alt+Enter) breaks the line."""

    KEYS_TITLE = "Composer"
    KEYS_NOTE = (
        "The usual text-field keys edit the prompt (Ctrl+X cut, Ctrl+C copy, Ctrl+V paste…)."
    )

    BINDINGS = [
        Binding("enter", "submit", "Generate", id="composer.submit", key_display="⏎"),
        Binding("ctrl+j", "newline", "Newline", id="composer.newline", key_display="^j"),
        Binding("tab", "app.focus_tasks", "Tasks", id="composer.to_tasks"),
        Binding(
            "ctrl+r", "search_prompts", "Earlier prompts", show=False, id="composer.search_prompts"
        ),
        Binding("ctrl+v", "paste_image", "Paste image", show=False, id="composer.paste_image"),
    ]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.prompts = PromptHistory()  # the app loads the earlier ones from history

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class FilesPasted(Message):
        """Pasted text that names existing files only (a drop on the terminal)."""

        def __init__(self, paths: list[Path]) -> None:
            super().__init__()
            self.paths = paths

    class PasteImage(Message):
        """Ctrl+V: attach the image on the system clipboard."""

    async def _on_paste(self, event: events.Paste) -> None:
        event.stop()  # handled here: not again by the app's paste-to-composer
        paths = pasted_paths(event.text)
        if paths is None:
            return  # text: TextArea's own handler (next in the MRO) inserts it
        event.prevent_default()
        self.post_message(self.FilesPasted(paths))

    def action_paste_image(self) -> None:
        self.post_message(self.PasteImage())

    async def _on_key(self, event: events.Key) -> None:
        if self.screen.focused is not self:
            # Typed ahead after a key that moved focus away (Tab then Enter in one read):
            # hand the key back to the app, which routes it to the widget now focused.
            event.stop()
            event.prevent_default()
            self.app.post_message(events.Key(event.key, event.character))
            return
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.action_submit()
            return
        if event.key == "tab":  # move focus now, so keys typed right after go to the list
            event.stop()
            event.prevent_default()
            await self.run_action("app.focus_tasks")
            return
        if event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.action_newline()
            return
        if event.key in ("up", "down") and self.text in ("", self.prompts.recalled):
            event.stop()
            event.prevent_default()
            self.recall(older=event.key == "up")
            return
        await super()._on_key(event)

    def recall(self, *, older: bool) -> None:
        """Up: the next older prompt; Down: the next newer one, then an empty composer."""
        text = self.prompts.older() if older else self.prompts.newer()
        if text is None:
            return
        self.load_text(text)
        self.move_cursor(self.document.end)

    def action_search_prompts(self) -> None:
        from imgtui.tui.screens.prompt_search import PromptSearchScreen

        def chosen(prompt: str | None) -> None:
            if prompt is not None:
                self.prompts.reset()
                self.load_text(prompt)
                self.move_cursor(self.document.end)
            self.focus()

        self.app.push_screen(PromptSearchScreen(self.prompts, self.text.strip()), chosen)

    def action_submit(self) -> None:
        text = self.text
        self.prompts.add(text)
        # Emptied at once: keys typed before the app handles the message (Enter and the
        # next prompt in one read) start the next prompt instead of joining this one.
        self.load_text("")
        self.post_message(self.Submitted(text))

    def action_newline(self) -> None:
        start, end = self.selection
        self._replace_via_keyboard("\n", start, end)


class Chip(Button):
    """An attached file; pressing it removes it."""

    DEFAULT_CSS = """
    Chip, Chip.-style-default {  /* the class too: Button's own rules for it would win */
        height: 1;
        min-width: 4;
        width: auto;
        border: none;
        padding: 0 1;
        margin-right: 1;
        background: $panel;
        color: $text;
        text-style: none;
        &:hover { background: $error 40%; border: none; }
        &.-mask { background: $warning 30%; }
        &.-refine { background: $accent 30%; }
    }
    """

    def __init__(self, label: str, key: str, kind: str = "image") -> None:
        super().__init__(Content(clean(f"{label} ✕")), classes=f"-{kind}")  # file names
        self.can_focus = False
        self.key = key
        self.kind = kind


class Composer(Vertical):
    DEFAULT_CSS = """
    Composer {
        height: auto;
        & > #chips {
            height: auto;
            max-height: 3;
            padding: 0 1;
            display: none;
            &.-shown { display: block; }
            & > Static { width: auto; color: $text-muted; margin-right: 1; }
        }
        & > PromptArea {
            height: auto;
            min-height: 3;
            max-height: 10;
            border: tall $panel;
            &:focus { border: tall $accent; }
        }
    }
    """

    class Changed(Message):
        """Attachments changed."""

    def __init__(self, *, id: str | None = None, data_root: Path | None = None) -> None:
        super().__init__(id=id)
        self.attachments = Attachments()
        self._data_root = data_root  # images pasted from the clipboard go below it

    @property
    def data_root(self) -> Path:
        if self._data_root is None:
            from imgtui.config import data_dir

            self._data_root = data_dir()
        return self._data_root

    def compose(self) -> ComposeResult:
        yield Horizontal(id="chips")
        yield PromptArea(
            id="prompt",
            placeholder="Describe an image…   ⏎ generate · ^j newline · ^f attach image",
        )

    @property
    def area(self) -> PromptArea:
        return self.query_one(PromptArea)

    @property
    def text(self) -> str:
        return self.area.text

    def set_text(self, text: str) -> None:
        self.area.load_text(text)
        self.area.move_cursor(self.area.document.end)

    def clear(self) -> None:
        self.area.load_text("")
        self.clear_attachments()

    def clear_attachments(self) -> None:
        self.attachments = Attachments()
        self._render_chips()

    # -- attachments ----------------------------------------------------------------------

    def take_paste(self, text: str) -> None:
        """Text pasted while something else on the main screen had focus (the task list):
        files are attached, other text goes into the prompt, which takes focus."""
        paths = pasted_paths(text)
        if paths is not None:
            self.attach_files(paths)
            return
        self.area.focus()
        self.area.insert(text)

    def attach_files(self, paths: list[Path]) -> list[Path]:
        """Attach the image files among `paths` (each checked: PNG, JPEG, WebP or GIF, up
        to 16 in all); a toast names what was attached and what was not, and why."""
        added: list[Path] = []
        refused: list[str] = []
        for raw in paths:
            try:
                path = check_image(str(raw), "image")
            except RequestError as exc:
                refused.append(exc.message)
                continue
            if path in self.attachments.images:
                continue
            if len(self.attachments.images) >= MAX_IMAGES:
                refused.append(f"{path.name}: at most {MAX_IMAGES} images")
                continue
            self.attachments.images.append(path)
            added.append(path)
        if added:
            self._render_chips()
            names = ", ".join(p.name for p in added)
            self.notify(names, title=f"Attached {len(added)} image{'s' * (len(added) > 1)}")
        if refused:
            self.notify("\n".join(refused), title="Not attached", severity="warning")
        return added

    @on(PromptArea.FilesPasted)
    def _files_pasted(self, event: PromptArea.FilesPasted) -> None:
        event.stop()
        self.attach_files(event.paths)

    @on(PromptArea.PasteImage)
    def _paste_image_requested(self, event: PromptArea.PasteImage) -> None:
        event.stop()
        self.paste_image()

    @work(group="composer-paste", exclusive=True, exit_on_error=False)
    async def paste_image(self) -> None:
        """Attach the image on the system clipboard (or files copied in a file manager).
        Without one, Ctrl+V pastes the app's own clipboard (text copied in the app) as a
        text field does, or a toast says why there is nothing to paste."""
        from imgtui.desktop import DesktopError
        from imgtui.tui.clipboard import paste_image

        try:
            paths = await paste_image(self.data_root)
        except DesktopError as exc:
            if self.app.clipboard:
                self.area.action_paste()
                return
            self.notify(
                f"{exc}. Text pastes with your terminal's own paste key (Ctrl+Shift+V, Cmd+V).",
                title="No image pasted",
                severity="warning",
            )
            return
        self.attach_files(paths)

    def attach(self, path: Path) -> None:
        if path not in self.attachments.images:
            self.attachments.images.append(path)
        self._render_chips()

    def set_mask(self, path: Path | None) -> None:
        self.attachments.mask = path
        self._render_chips()

    def set_refine(
        self, parent_id: str, previous_response_id: str | None, images: list[Path]
    ) -> None:
        self.attachments = Attachments(list(images), None, parent_id, previous_response_id)
        self._render_chips()

    def set_attachments(self, attachments: Attachments) -> None:
        self.attachments = attachments
        self._render_chips()

    def remove_attachment(self, kind: str, key: str) -> None:
        a = self.attachments
        if kind == "image":
            a.images = [p for p in a.images if str(p) != key]
        elif kind == "mask":
            a.mask = None
        elif kind == "refine":
            a.parent_id = a.previous_response_id = None
        if not a.images:
            a.mask = None
        self._render_chips()

    def on_mount(self) -> None:
        self._render_chips()  # attachments set before the chips row was composed

    def _render_chips(self) -> None:
        row = next(iter(self.query("#chips").results(Horizontal)), None)
        if row is None:  # not composed yet, or being removed: on_mount renders them
            return
        row.remove_children()
        a = self.attachments
        chips: list = []
        if a.parent_id:
            chips.append(Chip(f"↻ refine {a.parent_id[:6]}", "refine", "refine"))
        chips += [Chip(f"▣ {p.name}", str(p)) for p in a.images]
        if a.mask:
            chips.append(Chip(f"mask {a.mask.name}", str(a.mask), "mask"))
        if chips:
            row.mount(Static("edit with:"), *chips)
        row.set_class(bool(chips), "-shown")
        self.post_message(self.Changed())

    @on(Button.Pressed, "Chip")
    def _chip_pressed(self, event: Button.Pressed) -> None:
        chip = event.button
        assert isinstance(chip, Chip)
        self.remove_attachment(chip.kind, chip.key)
        self.area.focus()
