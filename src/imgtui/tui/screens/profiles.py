"""Pick the active profile quickly (Ctrl+O). Returns the chosen profile's name, or None."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from imgtui.config import Profile


def describe(profile: Profile) -> str:
    if profile.is_demo:
        return "built-in demo server, no key needed"
    return f"{profile.base_url} · {profile.model} · key {profile.key_status()}"


class ProfilesScreen(ModalScreen["str | None"]):
    DEFAULT_CSS = """
    ProfilesScreen {
        align: center middle;
        & > Vertical {
            width: 80;
            max-width: 95%;
            height: auto;
            max-height: 80%;
            border: thick $primary 80%;
            background: $surface;
            padding: 1 2;
        }
        OptionList { height: auto; max-height: 20; border: none; }
        #hint { color: $text-muted; margin-top: 1; }
    }
    """

    BINDINGS = [Binding("escape", "dismiss(None)", "Close", id="profiles.close")]

    def __init__(self, profiles: list[Profile], active: str) -> None:
        super().__init__()
        self.profiles = profiles
        self.active = active

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Profile"
            options = [
                Option(
                    Content.assemble(
                        ("● " if p.name == self.active else "  ", "$accent"),
                        (p.name, "bold"),
                        "\n  ",
                        (describe(p), "$foreground-muted"),
                    ),
                    id=p.name,
                )
                for p in self.profiles
            ]
            yield OptionList(*options)
            yield Static("Enter to use · Esc to close · profiles are edited in settings", id="hint")

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        names = [p.name for p in self.profiles]
        option_list.highlighted = names.index(self.active) if self.active in names else 0
        option_list.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
