"""Edit the next task's parameters without leaving the main screen (F2).

`ParamsScreen(params, profiles, models=ModelLists, today=date, load=...)`, a
`ModalScreen[Params | None]`: Enter in a text field, F2 or the Apply button returns the new
parameters; Escape returns None.

- The profile: picking another one fills every field with `load(name)`, the choice the
  composer would take for it (the app passes `TaskService.params_for`: the profile's kept
  parameters, `draft.LastParams`, as Ctrl+O and the settings screen load them); without
  `load`, the profile's own settings.

- The model: typed freely (a model imgtui's table doesn't know is allowed and gets only
  what the user sets), or picked from the provider's own list (`GET /models`, cached per
  profile by `imgtui.models.listing.ModelLists`; F9 fetches it again; F5 is retry elsewhere), with each model's
  family and shutdown date. In Responses mode the mainline model is picked the same way.
- The size: an aspect ratio times a tier (1K, 2K, 4K), or an exact `WxH`, or `auto`; the
  line under it says what is sent, snapped to the model's limits, and what changed
  (`imgtui.models.rules.snap_size`).
- Every other request parameter, but only those the model takes
  (`imgtui.models.rules.takes`, `accepted`): quality (up to xhigh and max), complexity,
  output format (GIF with frame count and frame duration, SVG with its author model and
  effort), background, transparency mode, compression (jpeg/webp), moderation, input
  fidelity (edits), n, partial images. A field the model does not take is hidden and not
  sent.

Nothing here is sent or saved: the app takes the returned `Params` (and keeps them per
profile, `draft.LastParams`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import replace
from datetime import date

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static
from textual.widgets.select import InvalidSelectValueError

from imgtui.api.request import RequestError
from imgtui.config import Profile
from imgtui.draft import Params
from imgtui.models import RATIOS, TIERS, lookup
from imgtui.models.catalog import (
    BACKGROUNDS,
    COMPLEXITIES,
    FORMATS_ALL,
    QUALITIES_NEW,
    SVG_EFFORTS,
)
from imgtui.models.listing import ModelList, ModelLists, choices, model_notice
from imgtui.models.rules import snap_size
from imgtui.models.sizes import GIF_DEFAULT_FRAMES, parse_size_spec
from imgtui.text import clean
from imgtui.tui.screens.dialog import Dialog
from imgtui.tui.widgets.key_footer import KeyFooter

UNSET = ""  # a Select value: the parameter is not set (not sent)
CUSTOM = "custom"
FIDELITIES = ("low", "high")


def _text(value: str) -> Content:
    return Content(clean(value, newlines=False))


class ParamsScreen(Dialog["Params | None"]):
    DEFAULT_CSS = """
    ParamsScreen {
        align: center middle;
        & > Vertical {
            width: 84;
            max-width: 96%;
            height: auto;
            max-height: 96%;
            border: thick $primary 80%;
            background: $surface;
            padding: 0 1;
        }
        VerticalScroll { height: auto; max-height: 85vh; }
        #size-picker { height: auto; }
        #ratio { width: 22; }
        #tier { width: 10; margin-left: 1; }
        Grid {
            grid-size: 2;
            grid-columns: 16 1fr;
            grid-rows: auto;
            grid-gutter: 0 1;
            height: auto;
        }
        Label { color: $text-muted; }
        .note { color: $text-muted; height: auto; }
        .note.-warning { color: $warning; }
        #error { color: $error; height: auto; }
        #buttons { height: auto; align-horizontal: right; }
        #buttons > Button { margin-left: 2; }
        Input.-invalid { background: $error 20%; }
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="params.cancel"),
        Binding("ctrl+enter,f2", "apply", "Apply", id="params.apply"),
        Binding("f9", "refresh_models", "Refresh models", id="params.refresh_models"),
    ]

    class ModelsFetched(Message):
        """The model list worker's outcome (a list, or the error to show)."""

        def __init__(self, profile: str, listing: ModelList | None, error: str = "") -> None:
            super().__init__()
            self.profile = profile
            self.listing = listing
            self.error = error

    def __init__(
        self,
        params: Params,
        profiles: list[Profile],
        models: ModelLists | None = None,
        today: date | None = None,
        demo_base_url: str | None = None,
        load: Callable[[str], Params | None] | None = None,
    ) -> None:
        super().__init__()
        self.params = params
        self.load = load
        self.profiles = profiles
        self.models = models
        self.today = today or date.today()
        self.demo_base_url = demo_base_url
        self.listing: ModelList | None = None
        self.list_error = ""  # why the provider's list could not be fetched
        self._profile = params.profile
        #: What each select whose options depend on the model offers now: (label, value).
        self.offered: dict[str, list[tuple[str, object]]] = {}

    # -- layout ----------------------------------------------------------------------

    def _row(self, name: str, label: str, widget: Widget) -> ComposeResult:
        lab = Label(label, classes=f"p-{name}")
        widget.add_class(f"p-{name}")
        yield lab
        yield widget

    def _select(self, values: Sequence[tuple[str, object]], value: object, wid: str) -> Select:
        return Select(
            [(Content(label), v) for label, v in values],
            value=value if any(v == value for _, v in values) else values[0][1],
            allow_blank=False,
            id=wid,
            compact=True,
        )

    def compose(self) -> ComposeResult:
        p = self.params
        prof = p.profile
        names = [x.name for x in self.profiles]
        if prof.name not in names:
            names.insert(0, prof.name)
        spec_text = p.size_spec or p.size
        ratio, tier = self._ratio_tier(spec_text)
        with Vertical() as box:
            box.border_title = "Parameters for the next task"
            box.border_subtitle = "F2 apply · F9 refresh models · Esc cancel"
            with VerticalScroll(), Grid():
                yield Label("Profile")
                yield Select(
                    [(_text(n), n) for n in names],
                    value=prof.name,
                    allow_blank=False,
                    id="profile",
                    compact=True,
                )
                yield Label("API mode")
                yield self._select(
                    [("Images API", "images"), ("Responses API", "responses")],
                    prof.api_mode,
                    "api_mode",
                )
                yield Label("Image model")
                yield Input(prof.model, id="model", compact=True)
                yield Label("")
                yield Select(
                    [], prompt="pick from the provider's list", id="model-pick", compact=True
                )
                yield Label("")
                yield Static("", id="model-note", classes="note")
                yield from self._row(
                    "mainline",
                    "Mainline model",
                    Input(prof.mainline_model, id="mainline", compact=True),
                )
                yield from self._row(
                    "mainline",
                    "",
                    Select(
                        [], prompt="pick from the provider's list", id="mainline-pick", compact=True
                    ),
                )
                yield Label("Size")
                yield Input(
                    spec_text,
                    id="size",
                    placeholder="auto, WxH or ratio@tier (16:9@2k)",
                    compact=True,
                )
                yield Label("  ratio × tier")
                with Horizontal(id="size-picker"):
                    yield self._select(
                        [("auto", "auto"), *[(r, r) for r in RATIOS], ("custom / WxH", CUSTOM)],
                        ratio,
                        "ratio",
                    )
                    yield self._select([(t.upper(), t) for t in TIERS], tier, "tier")
                yield Label("")
                yield Static("", id="size-note", classes="note")
                yield from self._row(
                    "quality",
                    "Quality",
                    self._select([(p.quality, p.quality)], p.quality, "quality"),
                )
                yield from self._row(
                    "complexity",
                    "Complexity",
                    self._select(
                        [("default", UNSET), *[(c, c) for c in COMPLEXITIES]],
                        p.complexity or UNSET,
                        "complexity",
                    ),
                )
                yield from self._row(
                    "format",
                    "Format",
                    self._select([(p.output_format, p.output_format)], p.output_format, "format"),
                )
                yield from self._row(
                    "frames",
                    "GIF frames",
                    Input(
                        str(p.frame_count or ""),
                        placeholder=f"2-16 (default {GIF_DEFAULT_FRAMES})",
                        id="frames",
                        compact=True,
                    ),
                )
                yield from self._row(
                    "frames",
                    "Frame ms",
                    Input(
                        str(p.frame_duration_ms or ""),
                        placeholder="per frame (default 200)",
                        id="frame_ms",
                        compact=True,
                    ),
                )
                yield from self._row(
                    "svg",
                    "SVG model",
                    Input(
                        p.svg_model or "",
                        placeholder="the text model that writes it",
                        id="svg_model",
                        compact=True,
                    ),
                )
                yield from self._row(
                    "svg",
                    "SVG effort",
                    self._select(
                        [("default", UNSET), *[(e, e) for e in SVG_EFFORTS]],
                        p.svg_effort or UNSET,
                        "svg_effort",
                    ),
                )
                yield from self._row(
                    "compression",
                    "Compression",
                    Input(
                        "" if p.output_compression is None else str(p.output_compression),
                        placeholder="0-100 (jpeg, webp; default 100)",
                        id="compression",
                        compact=True,
                    ),
                )
                yield from self._row(
                    "background",
                    "Background",
                    self._select([(b, b) for b in BACKGROUNDS], p.background, "background"),
                )
                yield from self._row(
                    "transparent",
                    "Transparent",
                    self._select(
                        [
                            ("off", "off"),
                            ("native (background=transparent)", "native"),
                            ("local (key colour removed here)", "local"),
                        ],
                        p.transparent or "off",
                        "transparent",
                    ),
                )
                yield from self._row(
                    "moderation",
                    "Moderation",
                    self._select(
                        [("auto (default)", UNSET), ("low", "low")],
                        p.moderation or UNSET,
                        "moderation",
                    ),
                )
                yield from self._row(
                    "input_fidelity",
                    "Input fidelity",
                    self._select(
                        [("default", UNSET), *[(f, f) for f in FIDELITIES]],
                        p.input_fidelity or UNSET,
                        "input_fidelity",
                    ),
                )
                yield from self._row("n", "Images (n)", self._select([(str(p.n), p.n)], p.n, "n"))
                partial = prof.partial_images if prof.stream else -1
                yield from self._row(
                    "partials",
                    "Partial images",
                    self._select(
                        [("off (no streaming)", -1)] + [(str(i), i) for i in range(4)],
                        partial,
                        "partials",
                    ),
                )
            yield Static("", id="error")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Apply  F2", id="apply", variant="primary", compact=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        self._model_changed()
        self._mode_changed()
        self._show_size()
        self.query_one("#model", Input).focus()
        self._load_models(refresh=False)

    # -- helpers ---------------------------------------------------------------------

    @staticmethod
    def _ratio_tier(text: str) -> tuple[str, str]:
        try:
            spec = parse_size_spec(text)
        except RequestError:
            return CUSTOM, "1k"
        if spec.kind == "auto":
            return "auto", "1k"
        ratio = f"{spec.ratio[0]}:{spec.ratio[1]}"
        if spec.kind == "ratio" and ratio in RATIOS:
            return ratio, spec.tier
        return CUSTOM, "1k"

    def _show(self, name: str, visible: bool) -> None:
        for widget in self.query(f".p-{name}"):
            widget.display = visible

    def _value(self, wid: str) -> object:
        return self.query_one(f"#{wid}", Select).value

    def _set_options(self, wid: str, values: list[tuple[str, object]], keep: object) -> object:
        """Replace a select's options, keeping `keep` when it is one of them, else the
        first; returns the value now selected."""
        select = self.query_one(f"#{wid}", Select)
        self.offered[wid] = list(values)
        with select.prevent(Select.Changed):
            select.set_options([(Content(label), v) for label, v in values])
            chosen = keep if any(v == keep for _, v in values) else values[0][1]
            select.value = chosen
        return chosen

    @property
    def model(self) -> str:
        return self.query_one("#model", Input).value.strip()

    def _takes(self, what: str) -> bool:
        """Whether the model takes a field (a model the table doesn't know: every one)."""
        spec = lookup(self.model)
        if spec is None:
            return True
        return {
            "complexity": spec.complexity,
            "input_fidelity": bool(spec.input_fidelity),
            "transparency": spec.transparency != "no",
            "stream": spec.streaming,
        }[what]

    # -- reacting to changes -------------------------------------------------------------

    def _model_changed(self) -> None:
        """Offer what the model takes: its qualities, formats and n; hide the rest."""
        spec = lookup(self.model)
        p = self.params
        qualities = spec.qualities if spec else QUALITIES_NEW
        self._set_options(
            "quality", [(q, q) for q in qualities], self._value_or("quality", p.quality)
        )
        formats = spec.formats if spec else FORMATS_ALL
        self._set_options(
            "format", [(f, f) for f in formats], self._value_or("format", p.output_format)
        )
        backgrounds = BACKGROUNDS if self._takes("transparency") else ("auto", "opaque")
        self._set_options(
            "background", [(b, b) for b in backgrounds], self._value_or("background", p.background)
        )
        if spec is not None and spec.input_fidelity:
            self._set_options(
                "input_fidelity",
                [("default", UNSET), *[(f, f) for f in spec.input_fidelity]],
                self._value_or("input_fidelity", p.input_fidelity or UNSET),
            )
        self._show("complexity", self._takes("complexity"))
        self._show("input_fidelity", self._takes("input_fidelity"))
        self._show("transparent", self._takes("transparency"))
        self._format_changed()
        self._show_model_note()

    def _value_or(self, wid: str, default: object) -> object:
        """The select's value once mounted options exist, else `default` (first fill)."""
        value = self._value(wid)
        return default if value is Select.BLANK else value

    def _format_changed(self) -> None:
        fmt = self._value("format")
        spec = lookup(self.model)
        self._show("frames", fmt == "gif")
        self._show("svg", fmt == "svg")
        self._show("compression", fmt in ("jpeg", "webp"))
        max_n = 1 if fmt == "svg" else (spec.max_n if spec else 10)
        self._set_options(
            "n", [(str(i), i) for i in range(1, max_n + 1)], self._value_or("n", self.params.n)
        )
        streams = self._takes("stream") and fmt not in ("gif", "svg")
        self._show("partials", streams)
        self._show_size()

    def _mode_changed(self) -> None:
        self._show("mainline", self._value("api_mode") == "responses")
        self._fill_pickers()

    def _show_model_note(self) -> None:
        model = self.model
        spec = lookup(model)
        parts: list[str] = []
        warning = False
        if not model:
            parts.append("type a model name or pick one")
        elif spec is None:
            parts.append("not in imgtui's table: only what you set is sent")
        else:
            parts.append(f"family {spec.family}")
        if self.list_error:
            parts.append(f"no model list: {self.list_error}")
        notice = model_notice(model, self.listing, self.today) if model else None
        if notice:
            parts.append(notice)
            warning = True
        note = self.query_one("#model-note", Static)
        note.update(_text("; ".join(parts)))
        note.set_class(warning, "-warning")

    def _snapped(self):
        text = self.query_one("#size", Input).value.strip() or "auto"
        frames = self._int_or_none("frames") if self._value("format") == "gif" else None
        return snap_size(
            self.model, text, output_format=str(self._value("format")), frame_count=frames
        )

    def _show_size(self) -> None:
        note = self.query_one("#size-note", Static)
        try:
            snapped = self._snapped()
        except (RequestError, ValueError) as exc:
            note.update(_text(getattr(exc, "message", str(exc))))
            note.set_class(True, "-warning")
            return
        text = f"sends {snapped.size}"
        if snapped.notices:
            text += ": " + "; ".join(snapped.notices)
        note.update(_text(text))
        note.set_class(bool(snapped.notices), "-warning")
        ratio = self._value("ratio")
        self.query_one("#tier", Select).display = ratio not in ("auto", CUSTOM)

    def _int_or_none(self, wid: str) -> int | None:
        text = self.query_one(f"#{wid}", Input).value.strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            raise RequestError(
                {"frames": "frame_count", "frame_ms": "frame_duration_ms"}.get(
                    wid, "output_compression"
                ),
                f"{text!r} is not a whole number",
            ) from None

    @on(Input.Changed, "#model")
    def _model_typed(self) -> None:
        self._model_changed()

    @on(Input.Changed, "#size")
    def _size_typed(self, event: Input.Changed) -> None:
        ratio, tier = self._ratio_tier(event.value.strip() or "auto")
        for wid, value in (("ratio", ratio), ("tier", tier)):
            select = self.query_one(f"#{wid}", Select)
            if select.value != value:
                with select.prevent(Select.Changed):
                    select.value = value
        self._show_size()

    @on(Input.Changed, "#frames")
    def _frames_typed(self) -> None:
        self._show_size()

    @on(Select.Changed, "#format")
    def _format_picked(self) -> None:
        self._format_changed()

    @on(Select.Changed, "#api_mode")
    def _mode_picked(self) -> None:
        self._mode_changed()

    @on(Select.Changed, "#ratio")
    @on(Select.Changed, "#tier")
    def _ratio_picked(self) -> None:
        ratio = self._value("ratio")
        size = self.query_one("#size", Input)
        if ratio == "auto":
            size.value = "auto"
        elif ratio != CUSTOM:
            size.value = f"{ratio}@{self._value('tier')}"
        self._show_size()

    @on(Select.Changed, "#model-pick")
    def _model_picked(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value:
            self.query_one("#model", Input).value = event.value

    @on(Select.Changed, "#mainline-pick")
    def _mainline_picked(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value:
            self.query_one("#mainline", Input).value = event.value

    @on(Select.Changed, "#profile")
    def _profile_changed(self, event: Select.Changed) -> None:
        chosen = next((x for x in self.profiles if x.name == event.value), None)
        if chosen is None or chosen.name == self._profile.name:
            return
        loaded = self.load(chosen.name) if self.load is not None else None
        self._profile = chosen
        self._fill(loaded if loaded is not None else Params(replace(chosen)))
        self.listing, self.list_error = None, ""
        self._fill_pickers()
        self._load_models(refresh=False)

    def _choose(self, wid: str, value: object) -> None:
        """Select `value` when the select offers it (else it keeps what it has)."""
        select = self.query_one(f"#{wid}", Select)
        with suppress(InvalidSelectValueError), self.prevent(Select.Changed):
            select.value = value

    def _fill(self, p: Params) -> None:
        """Every field from `p` (another profile's choice), then what follows from its
        model and format (the options offered, the fields shown, the size line)."""
        self.params = p
        prof = p.profile
        ratio, tier = self._ratio_tier(p.size_spec or p.size)
        with self.prevent(Input.Changed):
            for wid, text in (
                ("model", prof.model),
                ("mainline", prof.mainline_model),
                ("size", p.size_spec or p.size),
                ("frames", str(p.frame_count or "")),
                ("frame_ms", str(p.frame_duration_ms or "")),
                ("svg_model", p.svg_model or ""),
                ("compression", "" if p.output_compression is None else str(p.output_compression)),
            ):
                self.query_one(f"#{wid}", Input).value = text
        for wid, value in (
            ("api_mode", prof.api_mode),
            ("ratio", ratio),
            ("tier", tier),
            ("complexity", p.complexity or UNSET),
            ("moderation", p.moderation or UNSET),
            ("transparent", p.transparent or "off"),
            ("svg_effort", p.svg_effort or UNSET),
            ("partials", prof.partial_images if prof.stream else -1),
        ):
            self._choose(wid, value)
        self._model_changed()  # the model's options: then the kept values among them
        for wid, value in (
            ("quality", p.quality),
            ("format", p.output_format),
            ("background", p.background),
            ("input_fidelity", p.input_fidelity or UNSET),
        ):
            self._choose(wid, value)
        self._format_changed()
        self._choose("n", p.n)
        self._mode_changed()
        self._show_size()

    # -- the provider's models -------------------------------------------------------------

    def _load_models(self, refresh: bool) -> None:
        if self.models is None:
            self._fill_pickers()
            return
        profile = self._profile
        url = self.demo_base_url if profile.is_demo else None
        known = None if refresh else self.models.known(profile, url)
        if known is not None:
            self.listing = known
            self._fill_pickers()
            return
        self._set_pick_prompt("fetching the provider's models…")
        self.run_worker(self._fetch(profile, refresh), group="models", exclusive=True)

    async def _fetch(self, profile: Profile, refresh: bool) -> None:
        from imgtui.api import ApiFailure

        assert self.models is not None
        try:
            listing = await self.models.fetch(profile, refresh=refresh)
        except ApiFailure as exc:
            self.post_message(self.ModelsFetched(profile.name, None, exc.message))
            return
        self.post_message(self.ModelsFetched(profile.name, listing))

    @on(ModelsFetched)
    def _models_fetched(self, message: ModelsFetched) -> None:
        if message.profile != self._profile.name:
            return  # the profile changed meanwhile
        self.list_error = message.error
        self.listing = message.listing
        self._fill_pickers()
        if message.listing is None:  # the server's words go to the note, never as markup
            self._set_pick_prompt("no model list from the provider: type the model's name")
        self._show_model_note()

    def _set_pick_prompt(self, text: str) -> None:
        """A prompt of our own words only (Select parses its prompt as markup)."""
        self.query_one("#model-pick", Select).prompt = text

    def _fill_pickers(self) -> None:
        for wid, kind, current in (
            ("model-pick", "image", self.model),
            ("mainline-pick", "mainline", self.query_one("#mainline", Input).value.strip()),
        ):
            offered = choices(self.listing, kind, self.today, current)
            select = self.query_one(f"#{wid}", Select)
            self.offered[wid] = [(f"{c.id}  ({c.note})" if c.note else c.id, c.id) for c in offered]
            with select.prevent(Select.Changed):
                select.set_options([(_text(label), v) for label, v in self.offered[wid]])
            count = len(offered)
            source = "the provider's list" if self.listing is not None else "imgtui's table"
            select.prompt = f"pick from {source} ({count})" if count else "type the model's name"

    def action_refresh_models(self) -> None:
        self._load_models(refresh=True)

    # -- the result -------------------------------------------------------------------------

    def _collect(self) -> Params:
        name = self.query_one("#profile", Select).value
        base = next((x for x in self.profiles if x.name == name), self.params.profile)
        model = self.model
        if not model:
            raise RequestError("model", "is empty")
        mode = str(self._value("api_mode"))
        mainline = self.query_one("#mainline", Input).value.strip() or base.mainline_model
        fmt = str(self._value("format"))
        size_text = self.query_one("#size", Input).value.strip().lower() or "auto"
        snapped = self._snapped()
        spec = parse_size_spec(size_text)
        partials = int(self._value("partials"))  # type: ignore[call-overload]
        profile = replace(
            base,
            model=model,
            mainline_model=mainline,
            api_mode=mode,
            stream=partials >= 0,
            partial_images=max(0, partials),
        )

        def option(wid: str, shown: bool) -> str | None:
            value = self._value(wid)
            return str(value) if shown and value not in (UNSET, Select.BLANK) else None

        transparent = option("transparent", self._takes("transparency"))
        params = Params(
            profile,
            snapped.size,
            str(self._value("quality")),
            int(self._value("n")),  # type: ignore[call-overload]
            fmt,
            transparent if transparent != "off" else None,
            background=str(self._value("background")),
            output_compression=self._int_or_none("compression")
            if fmt in ("jpeg", "webp")
            else None,
            moderation=option("moderation", True),
            input_fidelity=option("input_fidelity", self._takes("input_fidelity")),
            complexity=option("complexity", self._takes("complexity")),
            frame_count=self._int_or_none("frames") if fmt == "gif" else None,
            frame_duration_ms=self._int_or_none("frame_ms") if fmt == "gif" else None,
            svg_model=(self.query_one("#svg_model", Input).value.strip() or None)
            if fmt == "svg"
            else None,
            svg_effort=option("svg_effort", fmt == "svg"),
            size_spec=str(spec) if spec.kind == "ratio" else None,
        )
        params.check()
        return params

    def action_apply(self) -> None:
        try:
            params = self._collect()
        except RequestError as exc:
            self.query_one("#error", Static).update(_text(f"{exc.field}: {exc.message}"))
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
