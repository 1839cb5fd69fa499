"""The quick profile switcher: Enter (or 1-9) picks, Escape cancels; dismisses with the
chosen profile's name or None."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from imgtui.config import Config, Profile
from imgtui.text import clean
from imgtui.tui.screens.dialog import Dialog
from imgtui.tui.widgets.key_footer import KeyFooter
from imgtui.tui.widgets.profile_list import describe_profile

__all__ = ["ProfilePicker"]


class ProfilePicker(Dialog[str | None]):
    """Switch the active profile: Enter picks (or 1-9), Escape cancels. Dismisses with the name."""

    DEFAULT_CSS = """
    ProfilePicker {
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
        OptionList, OptionList:focus { height: auto; max-height: 20; border: none; background: transparent; }
        #picker-hint { color: $text-muted; margin-top: 1; }
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        *[Binding(str(n), f"pick_number({n})", show=False) for n in range(1, 10)],
    ]

    def __init__(
        self,
        profiles: Iterable[Profile] | Config,
        active: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        if isinstance(profiles, Config):
            if active is None and profiles.profiles:
                active = profiles.active().name
            profiles = profiles.profiles
        self.profiles = list(profiles)
        self.active = active
        self.environ = environ

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Switch profile"
            options = []
            for n, p in enumerate(self.profiles, 1):
                marker = ("● ", "$success bold") if p.name == self.active else ("  ", "")
                number = f"{n} " if n <= 9 else "  "
                options.append(
                    Option(
                        Content.assemble(
                            marker,
                            (number, "$foreground-muted"),
                            (clean(p.name, newlines=False), "bold"),
                            "\n    ",
                            (clean(describe_profile(p, self.environ)), "$foreground-muted"),
                        ),
                        id=p.name,
                    )
                )
            yield OptionList(*options, id="picker-list")
            yield Static(
                "Enter or 1-9 to use · Esc to cancel · profiles are edited in settings",
                id="picker-hint",
            )
        yield KeyFooter()

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        names = [p.name for p in self.profiles]
        if names:
            option_list.highlighted = names.index(self.active) if self.active in names else 0
        option_list.focus()

    @on(OptionList.OptionSelected, "#picker-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_pick_number(self, n: int) -> None:
        if 1 <= n <= len(self.profiles):
            self.dismiss(self.profiles[n - 1].name)

    def action_cancel(self) -> None:
        self.dismiss(None)
