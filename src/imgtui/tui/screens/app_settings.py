"""App-wide settings (the `[settings]` table: renderer, output folder, the composer's
defaults, notifications): a modal form built from `imgtui.config.SETTINGS_FIELDS`.

`AppSettingsScreen(settings)` dismisses with the edited `Settings` (not saved: the caller
saves it) or None when cancelled. The active profile is chosen in the profile list, so it
is not a row here and keeps its value.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Static

from imgtui.config import SETTINGS_FIELDS, Settings
from imgtui.tui.screens.dialog import Dialog
from imgtui.tui.widgets.field_form import FieldForm
from imgtui.tui.widgets.key_footer import KeyFooter

__all__ = ["AppSettingsScreen"]

FORM_FIELDS = tuple(f for f in SETTINGS_FIELDS if f.name != "active_profile")


class AppSettingsScreen(Dialog[Settings | None]):
    """Edit the app settings: Ctrl+S or Enter in a field applies, Escape cancels."""

    DEFAULT_CSS = """
    AppSettingsScreen {
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
        #app-form { height: auto; max-height: 24; }
        #app-help { color: $text-muted; height: auto; margin-top: 1; }
        #app-buttons { height: auto; margin-top: 1; align-horizontal: right; }
        #app-buttons > Button { margin-left: 2; }
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="app_settings.cancel"),
        Binding("ctrl+s", "apply", "Save", id="app_settings.save"),
    ]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "App settings"
            with FieldForm(FORM_FIELDS, id="app-form") as form:
                yield from form.compose_rows()
            yield Static("", id="app-help")
            with Horizontal(id="app-buttons"):
                yield Button("Cancel", id="app-cancel")
                yield Button("Save", id="app-save", variant="primary")
        yield KeyFooter()

    @property
    def form(self) -> FieldForm:
        return self.query_one("#app-form", FieldForm)

    def on_mount(self) -> None:
        self.form.show(self.settings)
        self.form.query_one("#f-renderer").focus()

    def _read(self) -> tuple[Settings, dict[str, str]]:
        settings, problems = self.form.read_over(self.settings)
        self.form.show_problems(settings, problems)
        return settings, problems

    @on(Input.Changed)
    def _changed(self) -> None:
        self._read()

    def on_descendant_focus(self, event: object) -> None:
        widget = getattr(event, "widget", None)
        wid = getattr(widget, "id", None) or ""
        spec = next((f for f in FORM_FIELDS if f"f-{f.name}" == wid), None)
        help_text = f"{spec.label}: {spec.help}" if spec else ""
        self.query_one("#app-help", Static).update(Content(help_text))

    @on(Input.Submitted)
    @on(Button.Pressed, "#app-save")
    def action_apply(self) -> None:
        settings, problems = self._read()
        if not problems:
            self.dismiss(settings)

    @on(Button.Pressed, "#app-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
