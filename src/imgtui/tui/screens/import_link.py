"""Paste a gpt_image_playground share link: a masked field, a preview of what the link holds
(new or updated profiles, key masked, warnings), and Import; dismisses with the planned
import (`imgtui.config.ShareImport`, not applied) or None.

Everything shown comes from the link, so it is passed as `Content` (never parsed as
markup)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Static

from imgtui.config import Profile, ShareImport, ShareUrlError, read_share_link
from imgtui.text import clean
from imgtui.tui.screens.dialog import Dialog
from imgtui.tui.widgets.key_footer import KeyFooter

__all__ = ["ImportLinkScreen"]


class ImportLinkScreen(Dialog[ShareImport | None]):
    """Paste a gpt_image_playground share link; dismisses with the planned import.

    The field is masked (a link may carry a key); a preview line shows what the link holds,
    with the key masked. An invalid link keeps the modal open with the reason."""

    DEFAULT_CSS = """
    ImportLinkScreen {
        align: center middle;
        & > Vertical {
            width: 90;
            max-width: 95%;
            height: auto;
            border: thick $primary 80%;
            background: $surface;
            padding: 1 2;
        }
        #import-intro { color: $text-muted; margin-bottom: 1; }
        #import-preview { margin-top: 1; color: $text-muted; height: auto; }
        #import-preview.-error { color: $error; }
        #import-preview.-ok { color: $success; }
        #import-buttons { height: auto; margin-top: 1; align-horizontal: right; }
        #import-buttons > Button { margin-left: 2; }
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="import.cancel"),
    ]

    def __init__(self, saved: Iterable[Profile], environ: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.saved = list(saved)
        self.environ = environ

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Import share link"
            yield Static(
                "Paste a gpt_image_playground share link (…?apiUrl=…&apiMode=…). "
                "The field is hidden because a link may carry an API key.",
                id="import-intro",
            )
            yield Input(id="import-url", password=True, placeholder="https://…?apiUrl=…")
            yield Static("", id="import-preview")
            with Horizontal(id="import-buttons"):
                yield Button("Cancel", id="import-cancel")
                yield Button("Import", id="import-ok", variant="primary")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#import-url", Input).cursor_blink = False
        self.query_one("#import-url", Input).focus()

    def _parse(self) -> tuple[ShareImport | None, str]:
        text = self.query_one("#import-url", Input).value
        if not text.strip():
            return None, ""
        try:
            plan = read_share_link(text, self.saved)
        except ShareUrlError as exc:
            return None, str(exc)
        return plan, ""

    def _preview(self, plan: ShareImport) -> Content:
        lines = []
        for profile, old in zip(plan.profiles, plan.replaces, strict=True):
            model = profile.mainline_model if profile.api_mode == "responses" else profile.model
            stream = f"stream, {profile.partial_images} partials" if profile.stream else "no stream"
            verb = f"update {old}" if old is not None else "new"
            lines.append(
                clean(  # a stranger's link: no control characters
                    f"→ {verb}: {profile.name} · {profile.base_url} · {profile.api_mode} · "
                    f"{model} · {stream} · key {profile.key_status(self.environ)}"
                )
            )
        parts: list[str | tuple[str, str]] = ["\n".join(lines)]
        parts.extend(("\n⚠ " + clean(warning), "$warning") for warning in plan.warnings)
        return Content.assemble(*parts)

    @on(Input.Changed, "#import-url")
    def _changed(self) -> None:
        plan, error = self._parse()
        preview = self.query_one("#import-preview", Static)
        preview.update(self._preview(plan) if plan is not None else Content(clean(error)))
        preview.set_class(plan is not None, "-ok")
        preview.set_class(bool(error), "-error")

    @on(Input.Submitted, "#import-url")
    @on(Button.Pressed, "#import-ok")
    def _import(self) -> None:
        plan, error = self._parse()
        preview = self.query_one("#import-preview", Static)
        if plan is None:
            preview.update(Content(clean(error) or "Paste a link first."))
            preview.set_class(True, "-error")
            preview.set_class(False, "-ok")
            return
        self.dismiss(plan)

    @on(Button.Pressed, "#import-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
