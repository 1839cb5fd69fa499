"""Edit the next task's parameters without leaving the main screen (F2).

`ParamsScreen(ModalScreen[Params | None])`: Enter in any field or the Apply button returns
the new parameters; Escape returns None.
"""

from __future__ import annotations

from dataclasses import replace

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Select, Static

from imgtui.api.request import FORMATS, RequestError, parse_size
from imgtui.config import Profile
from imgtui.draft import QUALITIES, SIZES, Params
from imgtui.text import clean

MODELS = ("gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2", "chatgpt-image-latest")


class ParamsScreen(ModalScreen["Params | None"]):
    DEFAULT_CSS = """
    ParamsScreen {
        align: center middle;
        & > Vertical {
            width: 72;
            max-width: 95%;
            height: auto;
            border: thick $primary 80%;
            background: $surface;
            padding: 1 2;
        }
        Grid {
            grid-size: 2;
            grid-columns: 16 1fr;
            grid-rows: 1;
            grid-gutter: 1 1;
            height: auto;
        }
        Label { color: $text-muted; }
        #error { color: $error; height: auto; }
        #error { margin-top: 1; }
        #buttons { height: auto; align-horizontal: right; }
        #buttons > Button { margin-left: 2; }
        Input.-invalid { background: $error 20%; }
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="params.cancel"),
        Binding("ctrl+enter,f2", "apply", "Apply", id="params.apply"),
    ]

    def __init__(self, params: Params, profiles: list[Profile]) -> None:
        super().__init__()
        self.params = params
        self.profiles = profiles

    def compose(self) -> ComposeResult:
        p = self.params
        names = [x.name for x in self.profiles]
        if p.profile.name not in names:
            names.insert(0, p.profile.name)
        with Vertical() as box:
            box.border_title = "Parameters for the next task"
            with Grid():
                yield Label("Profile")
                yield Select(
                    [(Content(clean(n, newlines=False)), n) for n in names],
                    value=p.profile.name,
                    allow_blank=False,
                    id="profile",
                    compact=True,
                )
                yield Label("Model")
                yield Input(
                    p.profile.model, id="model", suggester=SuggestFromList(MODELS), compact=True
                )
                yield Label("Size")
                yield Input(
                    p.size,
                    id="size",
                    placeholder="auto or WxH",
                    suggester=SuggestFromList(SIZES),
                    compact=True,
                )
                yield Label("Quality")
                yield Input(
                    p.quality, id="quality", suggester=SuggestFromList(QUALITIES), compact=True
                )
                yield Label("Images (n)")
                yield Select(
                    [(str(i), i) for i in range(1, 11)],
                    value=p.n,
                    allow_blank=False,
                    id="n",
                    compact=True,
                )
                yield Label("Partial images")
                partial = p.profile.partial_images if p.profile.stream else -1
                yield Select(
                    [("off (no streaming)", -1)] + [(str(i), i) for i in range(4)],
                    value=partial,
                    allow_blank=False,
                    id="partials",
                    compact=True,
                )
                yield Label("API mode")
                yield Select(
                    [("Images API", "images"), ("Responses API", "responses")],
                    value=p.profile.api_mode,
                    allow_blank=False,
                    id="api_mode",
                    compact=True,
                )
                yield Label("Format")
                yield Select(
                    [(f, f) for f in FORMATS],
                    value=p.output_format,
                    allow_blank=False,
                    id="format",
                    compact=True,
                )
                yield Label("Transparent")
                yield Select(
                    [
                        ("off", "off"),
                        ("native (background=transparent)", "native"),
                        ("local (key colour removed here)", "local"),
                    ],
                    value=p.transparent or "off",
                    allow_blank=False,
                    id="transparent",
                    compact=True,
                )
            yield Static("", id="error")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Apply  F2", id="apply", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#model", Input).focus()

    @on(Select.Changed, "#profile")
    def _profile_changed(self, event: Select.Changed) -> None:
        chosen = next((x for x in self.profiles if x.name == event.value), None)
        if chosen is None or chosen.name == self.params.profile.name:
            return
        self.query_one("#model", Input).value = chosen.model
        self.query_one("#partials", Select).value = chosen.partial_images if chosen.stream else -1
        self.query_one("#api_mode", Select).value = chosen.api_mode

    def _collect(self) -> Params:
        name = self.query_one("#profile", Select).value
        base = next((x for x in self.profiles if x.name == name), self.params.profile)
        model = self.query_one("#model", Input).value.strip()
        if not model:
            raise RequestError("model", "is empty")
        size = self.query_one("#size", Input).value.strip().lower() or "auto"
        parse_size(size)
        quality = self.query_one("#quality", Input).value.strip() or "auto"
        partials = int(self.query_one("#partials", Select).value)  # type: ignore[arg-type]
        transparent = str(self.query_one("#transparent", Select).value)
        profile = replace(
            base,
            model=model,
            api_mode=str(self.query_one("#api_mode", Select).value),
            stream=partials >= 0,
            partial_images=max(0, partials),
        )
        return Params(
            profile,
            size,
            quality,
            int(self.query_one("#n", Select).value),  # type: ignore[arg-type]
            str(self.query_one("#format", Select).value),
            transparent if transparent != "off" else None,
        )

    def action_apply(self) -> None:
        try:
            params = self._collect()
        except RequestError as exc:
            self.query_one("#error", Static).update(Content(clean(f"{exc.field}: {exc.message}")))
            return
        self.dismiss(params)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    @on(Button.Pressed, "#apply")
    def _apply(self) -> None:
        self.action_apply()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
