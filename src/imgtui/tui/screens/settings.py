"""Settings: the provider profiles (list on the left, form on the right) and a quick picker.

`SettingsScreen(config, save=..., environ=...)` edits `config` in place, but only through
a saved copy: every change is applied to a copy of the config, the copy is saved, and only
then does it replace the live profiles and settings. A failed save leaves both the config
and the form's edits as they were. The screen dismisses with the active profile's name when
anything was saved, else None.

`ProfilePicker(profiles, active)` is a small modal to switch the active profile: Enter
picks, Escape cancels; dismisses with the name or None.

Secrets: the key input is a password input (a `${VAR}` reference is shown as typed, since
it is not secret), the key is otherwise only ever shown through `Profile.key_status()`,
share links leave the key out unless the user asks for it (after a confirmation), and the
import field is masked too, since a share link may carry a key.
"""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Button, Footer, Input, OptionList, Select, Static, Switch, TextArea
from textual.widgets.option_list import Option

from imgtui import config as config_module
from imgtui.api.events import Failed
from imgtui.config import (
    DEMO_URL,
    Config,
    Profile,
    ShareUrlError,
    profile_from_share_url,
    profile_to_share_url,
    share_url_losses,
)
from imgtui.tui.screens.confirm import ConfirmScreen

__all__ = ["ImportLinkScreen", "ProfilePicker", "SettingsScreen", "format_pairs", "parse_pairs"]

SaveFn = Callable[[Config], None]

# A `${VAR}` reference, whole or being typed: shown in clear. Anything else in the key field
# (say a "$" typed in front of a literal key) stays masked.
_REFERENCE_TYPING = re.compile(r"\$(\{([A-Za-z_][A-Za-z0-9_]*\}?)?)?")

API_MODE_CHOICES = [("Images API", "images"), ("Responses API", "responses")]

PARTIALS_HELP = (
    "Each partial preview costs about 100 extra output tokens. Partials also keep proxies "
    "from cutting long requests: the stream keeps sending data while the image forms."
)

# Field -> (label, help shown below the form while the field has focus).
FIELDS: dict[str, tuple[str, str]] = {
    "name": ("Name", "A name of your choice, shown in the profile picker and in the history."),
    "base_url": (
        "Base URL",
        f"The API root, usually ending in /v1 (https://api.openai.com/v1). {DEMO_URL} is the built-in demo server.",
    ),
    "api_key": (
        "API key",
        "Paste a key (kept in config.toml, readable only by you), or write ${VAR} to read it from an "
        "environment variable when a request is made. Empty: no Authorization header.",
    ),
    "api_mode": (
        "API mode",
        "Images API: POST /images/generations and /images/edits. Responses API: POST /responses with "
        "the image_generation tool, called by a mainline model.",
    ),
    "model": ("Image model", "The image model, e.g. gpt-image-1."),
    "mainline_model": (
        "Mainline model",
        "Responses API only: the model that calls the image tool, e.g. gpt-5.",
    ),
    "stream": (
        "Stream previews",
        "Show partial previews while the image forms (server-sent events).",
    ),
    "partial_images": ("Partial images", "0 to 3 previews per image. " + PARTIALS_HELP),
    "timeout": ("Timeout (s)", "Seconds to wait for a whole image, at most 3600."),
    "headers": (
        "Extra headers",
        "One `Name: value` per line, sent with every request. Values may use ${VAR}: keep secrets "
        "in environment variables, not here.",
    ),
    "query": (
        "Query params",
        "One `name: value` per line, added to every URL, e.g. `api-version: 2025-04-01-preview` for Azure.",
    ),
}

GENERAL_HELP = (
    "The form is written only when you save it (Ctrl+S) and it is valid; the list's actions (move, "
    "activate, duplicate, delete, import) save at once. Tab moves between the list and the form; "
    "the focused field's help shows here."
)


# --------------------------------------------------------------------------------------
# Small pure helpers
# --------------------------------------------------------------------------------------


def format_pairs(pairs: Mapping[str, str]) -> str:
    """{"a": "1"} -> "a: 1" lines, as edited in the headers and query boxes."""
    return "\n".join(f"{name}: {value}" for name, value in pairs.items())


def parse_pairs(text: str) -> tuple[dict[str, str], str | None]:
    """`name: value` lines -> (dict, None), or ({}, message) for the first bad line.
    Blank lines and lines starting with # are skipped."""
    out: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not name:
            return {}, f"line {lineno}: expected `name: value`"
        if name in out:
            return {}, f"line {lineno}: {name} is given twice"
        out[name] = value.strip()
    return out, None


def _format_timeout(value: float) -> str:
    return f"{value:g}"


def _unique_copy_name(name: str, taken: Iterable[str]) -> str:
    names = set(taken)
    candidate = f"{name} (copy)"
    n = 2
    while candidate in names:
        candidate = f"{name} (copy {n})"
        n += 1
    return candidate


def _describe(profile: Profile, environ: Mapping[str, str] | None) -> str:
    """A one-line summary for the lists: never the key itself."""
    if profile.is_demo:
        return "built-in demo server"
    return f"{_models(profile)} · key {profile.key_status(environ)}"


def _key_line(profile: Profile, environ: Mapping[str, str] | None) -> str:
    status = profile.key_status(environ)
    return status if profile.key_reference else f"key {status}"  # "${VAR} → set" says it already


def _models(profile: Profile) -> str:
    if profile.api_mode == "responses":
        return f"responses · {profile.mainline_model} + {profile.model}"
    return f"images · {profile.model}"


def _details(profile: Profile, environ: Mapping[str, str] | None) -> Content:
    """Two muted lines under a name in the settings list: what and how, then the key."""
    if profile.is_demo:
        return Content.assemble(("  built-in demo server\n  no key needed", "$foreground-muted"))
    missing = bool(profile.missing_env(environ))
    return Content.assemble(
        (f"  {_models(profile)}\n", "$foreground-muted"),
        (f"  {_key_line(profile, environ)}", "$warning" if missing else "$foreground-muted"),
    )


def _new_profile(taken: Iterable[str]) -> Profile:
    names = set(taken)
    name, n = "New profile", 2
    while name in names:
        name, n = f"New profile {n}", n + 1
    return Profile(name=name, base_url="https://api.openai.com/v1", api_key="${OPENAI_API_KEY}")


def _start_demo_server() -> str:
    """The embedded demo server's base URL, starting it on first use (blocking: run in a thread)."""
    from imgtui.demo import embedded_server

    return embedded_server().base_url


# --------------------------------------------------------------------------------------
# The profile list
# --------------------------------------------------------------------------------------


class ProfileList(OptionList):
    """The settings screen's list: the list actions are bound here, so they show in the
    footer (and act) only while the list has focus, never while typing in the form."""

    _MOVE = Binding.Group("Move", compact=True)

    BINDINGS = [
        Binding("a", "screen.add_profile", "Add", id="settings.add"),
        Binding("e", "screen.edit_profile", "Edit", id="settings.edit"),
        Binding("d", "screen.duplicate_profile", "Duplicate", id="settings.duplicate"),
        Binding("delete", "screen.delete_profile", "Delete", id="settings.delete"),
        Binding("[", "screen.move(-1)", "Up", id="settings.move_up", group=_MOVE),
        Binding("]", "screen.move(1)", "Down", id="settings.move_down", group=_MOVE),
        Binding("ctrl+up", "screen.move(-1)", "Move up", id="settings.move_up_alt", show=False),
        Binding(
            "ctrl+down", "screen.move(1)", "Move down", id="settings.move_down_alt", show=False
        ),
        Binding("m,space", "screen.make_active", "Activate", id="settings.activate"),
        Binding("i", "screen.import_link", "Import", id="settings.import"),
        Binding("c", "screen.copy_link", "Share", id="settings.copy_link"),
        Binding("C", "screen.copy_link(True)", "Share+key", id="settings.copy_link_key"),
        Binding("t", "screen.test_connection", "Test", id="settings.test_list"),
    ]


# --------------------------------------------------------------------------------------
# The settings screen
# --------------------------------------------------------------------------------------


class SettingsScreen(Screen[str | None]):
    """Add, edit, duplicate, delete, reorder, activate, test and share provider profiles."""

    DEFAULT_CSS = """
    SettingsScreen {
        layout: vertical;
        #settings-title {
            height: 1;
            padding: 0 1;
            background: $panel;
            color: $text;
        }
        #settings-body { height: 1fr; }
        #profiles-pane {
            width: 40;
            height: 1fr;
            border: round $primary 60%;
            &:focus-within { border: round $primary; }
        }
        ProfileList {
            height: 1fr;
            border: none;
            padding: 0;
            background: transparent;
            &:focus { border: none; }
        }
        #profiles-hint { color: $text-muted; height: auto; padding: 0 1; }
        #form {
            width: 1fr;
            height: 1fr;
            border: round $primary 60%;
            padding: 0 1;
            &:focus-within { border: round $primary; }
        }
        .row { height: auto; }
        .row.gap { margin-top: 1; }
        .row > .label { width: 17; height: 1; color: $text-muted; }
        .row > Input { width: 1fr; }
        .row > Select { width: 1fr; }
        .row > TextArea { width: 1fr; height: 3; }
        .row > Switch { border: none; padding: 0; height: 1; width: auto; &:focus { border: none; background-tint: $foreground 15%; } }
        .row > .after-switch { width: 1fr; color: $text-muted; padding-left: 2; }
        .note { margin-left: 17; color: $text-muted; height: auto; }
        .note.-warning { color: $warning; }
        .error { margin-left: 17; color: $error; height: auto; display: none; }
        .error.-shown { display: block; }
        #buttons { height: auto; margin-top: 1; }
        #buttons > Button { margin-right: 2; }
        #test-result { height: auto; margin-top: 1; color: $text-muted; }
        #test-result.-ok { color: $success; }
        #test-result.-failed { color: $error; }
        #help {
            height: auto;
            margin-top: 1;
            padding: 0 1;
            color: $text-muted;
            border-left: outer $primary 40%;
        }
    }
    """

    BINDINGS = [
        Binding("escape", "back", "Back", id="settings.back"),
        Binding("ctrl+s", "save", "Save", id="settings.save"),
        Binding("ctrl+t", "test_connection", "Test connection", id="settings.test", show=False),
        # Reachable wherever focus is (the list cannot take focus while it is empty).
        Binding("ctrl+n", "add_profile", "New", id="settings.new"),
        Binding("ctrl+l", "import_link", "Import link", id="settings.import_any"),
    ]

    class ConnectionTested(Message):
        """The connection test's outcome (posted by its worker)."""

        def __init__(self, token: int, failure: Failed | None, error: str | None = None) -> None:
            super().__init__()
            self.token = token
            self.failure = failure
            self.error = error

    def __init__(
        self,
        config: Config,
        save: SaveFn | None = None,
        environ: Mapping[str, str] | None = None,
        demo_base_url: str | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self._save: SaveFn = save if save is not None else config_module.save
        self.environ = environ
        self.demo_base_url = demo_base_url
        self.changed = False  # anything saved while the screen was open
        self.editing: str | None = (
            None  # the saved name of the profile in the form; None: a new one
        )
        self._baseline: dict[str, object] = {}
        self._test_token = 0
        self._asking = False  # a discard question is open

    # -- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(
            Content.assemble(
                ("Settings", "bold"),
                " · provider profiles · ",
                (str(self.config.path), "$foreground-muted"),
            ),
            id="settings-title",
        )
        with Horizontal(id="settings-body"):
            with Vertical(id="profiles-pane") as pane:
                pane.border_title = "Profiles"
                yield ProfileList(id="profile-list")
                yield Static("● active profile", id="profiles-hint")
            with VerticalScroll(id="form") as form:
                form.can_focus = False
                yield from self._row("name", Input(id="f-name", compact=True))
                yield from self._row(
                    "base_url", Input(id="f-base_url", compact=True, placeholder="https://…/v1")
                )
                yield from self._row(
                    "api_key",
                    Input(
                        id="f-api_key",
                        compact=True,
                        password=True,
                        placeholder="sk-… or ${OPENAI_API_KEY}",
                    ),
                )
                yield Static("", id="key-status", classes="note")
                yield from self._row(
                    "api_mode",
                    Select(
                        API_MODE_CHOICES,
                        id="f-api_mode",
                        allow_blank=False,
                        compact=True,
                        value="images",
                    ),
                    gap=True,
                )
                yield from self._row("model", Input(id="f-model", compact=True))
                yield from self._row("mainline_model", Input(id="f-mainline_model", compact=True))
                with Horizontal(classes="row gap"):
                    yield Static(FIELDS["stream"][0], classes="label")
                    yield Switch(id="f-stream")
                    yield Static("", id="stream-note", classes="after-switch")
                yield from self._row(
                    "partial_images",
                    Input(id="f-partial_images", compact=True, type="integer", max_length=3),
                )
                yield Static(PARTIALS_HELP, classes="note")
                yield from self._row(
                    "timeout", Input(id="f-timeout", compact=True, type="number"), gap=True
                )
                yield from self._row(
                    "headers",
                    TextArea(
                        id="f-headers",
                        compact=True,
                        show_line_numbers=False,
                        soft_wrap=False,
                        tab_behavior="focus",
                    ),
                )
                yield from self._row(
                    "query",
                    TextArea(
                        id="f-query",
                        compact=True,
                        show_line_numbers=False,
                        soft_wrap=False,
                        tab_behavior="focus",
                    ),
                )
                with Horizontal(id="buttons"):
                    yield Button("Save ^s", id="save", variant="primary", compact=True)
                    yield Button("Test connection ^t", id="test", compact=True)
                    yield Button("Revert", id="revert", compact=True)
                yield Static("", id="test-result")
                yield Static(GENERAL_HELP, id="help")
        yield Footer(show_command_palette=False)

    def _row(self, field: str, widget: Widget, gap: bool = False) -> ComposeResult:
        with Horizontal(classes="row gap" if gap else "row"):
            yield Static(FIELDS[field][0], classes="label")
            yield widget
        yield Static("", id=f"err-{field}", classes="error")

    def on_mount(self) -> None:
        for area in self.query(TextArea):
            area.cursor_blink = False  # quiet screenshots; the cursor still shows where it is
        for box in self.query(Input):
            box.cursor_blink = False
        self._rebuild_list()
        name = self._active_name()
        profile = self.config.get(name) if name is not None else None
        if profile is not None:
            self._load(profile, profile.name)
            self._highlight(profile.name)
        else:
            self._load(_new_profile(()), None)
        self.profile_list.focus()

    # -- widgets ---------------------------------------------------------------------

    @property
    def profile_list(self) -> ProfileList:
        return self.query_one("#profile-list", ProfileList)

    def _input(self, field: str) -> Input:
        return self.query_one(f"#f-{field}", Input)

    def _area(self, field: str) -> TextArea:
        return self.query_one(f"#f-{field}", TextArea)

    def _active_name(self) -> str | None:
        active = self.config.settings.active_profile
        if active and self.config.get(active) is not None:
            return active
        return self.config.profiles[0].name if self.config.profiles else None

    def _rebuild_list(self) -> None:
        active = self._active_name()
        options = []
        for p in self.config.profiles:
            marker = ("● ", "$success bold") if p.name == active else ("  ", "")
            options.append(
                Option(
                    Content.assemble(marker, (p.name, "bold"), "\n", _details(p, self.environ)),
                    id=p.name,
                )
            )
        self.profile_list.set_options(options)

    def _highlight(self, name: str | None) -> None:
        plist = self.profile_list
        if name is None or self.config.get(name) is None:
            plist.highlighted = None
            return
        plist.highlighted = plist.get_option_index(name)

    def _highlighted_name(self) -> str | None:
        option = self.profile_list.highlighted_option
        return option.id if option is not None else None

    # -- the form --------------------------------------------------------------------

    @staticmethod
    def _values_of(profile: Profile) -> dict[str, object]:
        """The form's widget values that show `profile`."""
        return {
            "name": profile.name,
            "base_url": profile.base_url,
            "api_key": profile.api_key,
            "api_mode": profile.api_mode,
            "model": profile.model,
            "mainline_model": profile.mainline_model,
            "stream": profile.stream,
            "partial_images": str(profile.partial_images),
            "timeout": _format_timeout(profile.timeout),
            "headers": format_pairs(profile.headers),
            "query": format_pairs(profile.query),
        }

    def _form_values(self) -> dict[str, object]:
        return {
            "name": self._input("name").value,
            "base_url": self._input("base_url").value,
            "api_key": self._input("api_key").value,
            "api_mode": self.query_one("#f-api_mode", Select).value,
            "model": self._input("model").value,
            "mainline_model": self._input("mainline_model").value,
            "stream": self.query_one("#f-stream", Switch).value,
            "partial_images": self._input("partial_images").value,
            "timeout": self._input("timeout").value,
            "headers": self._area("headers").text,
            "query": self._area("query").text,
        }

    def _load(self, profile: Profile, editing: str | None) -> None:
        """Show `profile` in the form; `editing` is its saved name (None: not saved yet)."""
        values = self._values_of(profile)
        for field in (
            "name",
            "base_url",
            "api_key",
            "model",
            "mainline_model",
            "partial_images",
            "timeout",
        ):
            box = self._input(field)
            box.value = str(values[field])
            box.cursor_position = len(box.value)
        self.query_one("#f-api_mode", Select).value = values["api_mode"]
        self.query_one("#f-stream", Switch).value = bool(values["stream"])
        self._area("headers").text = str(values["headers"])
        self._area("query").text = str(values["query"])
        self.editing = editing
        self._baseline = values
        self._test_token += 1  # a test still running is about another profile
        self._show_test_result("", "")
        self._refresh_form()

    @property
    def dirty(self) -> bool:
        return bool(self._baseline) and self._form_values() != self._baseline

    def _read_form(self) -> tuple[Profile, dict[str, str]]:
        """The form as a profile, and field -> problem (parse problems, then Profile.errors())."""
        v = self._form_values()
        problems: dict[str, str] = {}
        partial_text = str(v["partial_images"]).strip()
        try:
            partial_images = int(partial_text)
        except ValueError:
            partial_images = 2
            problems["partial_images"] = "must be a whole number from 0 to 3"
        timeout_text = str(v["timeout"]).strip()
        try:
            timeout = float(timeout_text)
            if timeout != timeout:  # NaN
                raise ValueError
        except ValueError:
            timeout = 600.0
            problems["timeout"] = "must be a number of seconds"
        headers, header_problem = parse_pairs(str(v["headers"]))
        if header_problem:
            problems["headers"] = header_problem
        query, query_problem = parse_pairs(str(v["query"]))
        if query_problem:
            problems["query"] = query_problem
        mode = v["api_mode"] if isinstance(v["api_mode"], str) else "images"
        profile = Profile(
            name=str(v["name"]).strip(),
            base_url=str(v["base_url"]).strip(),
            api_key=str(v["api_key"]).strip(),
            api_mode=mode,
            model=str(v["model"]).strip(),
            mainline_model=str(v["mainline_model"]).strip(),
            stream=bool(v["stream"]),
            partial_images=partial_images,
            timeout=timeout,
            headers=headers,
            query=query,
        )
        for field, message in profile.errors().items():
            problems.setdefault(field, message)
        if (
            "name" not in problems
            and profile.name != self.editing
            and self.config.get(profile.name) is not None
        ):
            problems["name"] = f"a profile named {profile.name!r} already exists"
        return profile, problems

    def _refresh_form(self) -> None:
        """Validation messages, the key status and the enabled fields, from the widgets."""
        profile, problems = self._read_form()
        for field in FIELDS:
            if field == "stream":
                continue  # a switch cannot be wrong
            label = self.query_one(f"#err-{field}", Static)
            message = problems.get(field, "")
            label.update(f"⚠ {message}" if message else "")
            label.set_class(bool(message), "-shown")

        key_box = self._input("api_key")
        key_box.password = not _REFERENCE_TYPING.fullmatch(
            key_box.value
        )  # a ${VAR} reference is not secret
        status = self.query_one("#key-status", Static)
        missing = profile.missing_env(self.environ)
        note = f"key: {profile.key_status(self.environ)}"
        header_missing = [n for n in missing if n != profile.key_reference]
        if header_missing:
            note += " · headers refer to unset " + ", ".join(f"${{{n}}}" for n in header_missing)
        status.update(note)
        status.set_class(bool(missing), "-warning")

        responses = profile.api_mode == "responses"
        self._input("mainline_model").disabled = not responses
        self._input("partial_images").disabled = not profile.stream
        self.query_one("#stream-note", Static).update(
            "on: partial previews stream in" if profile.stream else "off: one response at the end"
        )

        form = self.query_one("#form")
        title = (
            f"Edit · {self.editing}" if self.editing is not None else "New profile (not saved yet)"
        )
        form.border_title = title
        subtitle = []
        if self.editing is not None and self.editing == self._active_name():
            subtitle.append("active")
        if self.dirty:
            subtitle.append("unsaved changes")
        if problems:
            subtitle.append(f"{len(problems)} to fix")
        form.border_subtitle = " · ".join(subtitle)

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Switch.Changed)
    @on(TextArea.Changed)
    def _form_changed(self, event: Message) -> None:
        control = getattr(event, "control", None)
        if control is not None and control.id and control.id.startswith("f-"):
            self._refresh_form()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id and event.input.id.startswith("f-"):
            self.action_save()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        widget = event.widget
        help_text = GENERAL_HELP
        if widget.id and widget.id.startswith("f-"):
            field = widget.id[2:]
            label, text = FIELDS.get(field, ("", GENERAL_HELP))
            help_text = f"{label}: {text}" if label else text
        self.query_one("#help", Static).update(help_text)

    # -- list events -----------------------------------------------------------------

    @on(OptionList.OptionHighlighted, "#profile-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = event.option.id
        if name is None or name == self.editing or self._asking:
            return
        profile = self.config.get(name)
        if profile is None:
            return
        if not self.dirty:
            self._load(profile, name)
            return
        self._ask_discard(lambda: self._load_saved(name), lambda: self._highlight(self.editing))

    @on(OptionList.OptionSelected, "#profile-list")
    def _selected(self) -> None:
        self.action_edit_profile()

    def _load_saved(self, name: str) -> None:
        profile = self.config.get(name)
        if profile is not None:
            self._load(profile, name)
            self._highlight(name)

    def _ask_discard(
        self, discard: Callable[[], None], keep: Callable[[], None] | None = None
    ) -> None:
        what = f"your changes to {self.editing}" if self.editing is not None else "the new profile"
        self._asking = True

        def answered(yes: bool | None) -> None:
            self._asking = False
            if yes:
                discard()
            elif keep is not None:
                keep()

        self.app.push_screen(
            ConfirmScreen(
                f"Discard {what}? They are not saved.",
                yes="Discard",
                no="Keep editing",
                title="Unsaved changes",
            ),
            answered,
        )

    # -- saving ----------------------------------------------------------------------

    def _commit(self, change: Callable[[Config], None], what: str) -> bool:
        """Apply `change` to a copy, save the copy, then adopt it. False (and a toast) on failure."""
        candidate = copy.deepcopy(self.config)
        try:
            change(candidate)
        except (KeyError, ValueError) as exc:
            self.notify(str(exc), title=f"{what} failed", severity="error")
            return False
        try:
            self._save(candidate)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self.notify(
                f"{reason}: {candidate.path}\nYour edits are kept.",
                title="Settings not saved",
                severity="error",
                timeout=10,
            )
            return False
        self.config.profiles = candidate.profiles
        self.config.settings = candidate.settings
        self.changed = True
        self._rebuild_list()
        return True

    def action_save(self) -> None:
        profile, problems = self._read_form()
        self._refresh_form()
        if problems:
            first = next(iter(problems))
            self.notify(
                f"{FIELDS[first][0]}: {problems[first]}",
                title="Not saved: fix the marked fields",
                severity="warning",
            )
            return
        editing = self.editing
        if editing is None:
            ok = self._commit(lambda c: c.add(profile), "Save")
        else:
            ok = self._commit(lambda c: c.replace(editing, profile), "Save")
        if not ok:
            self._highlight(self.editing)
            return
        self.editing = profile.name
        self._baseline = self._form_values()  # what was typed is what is saved (modulo spaces)
        self._highlight(profile.name)
        self._refresh_form()
        self.notify(f"Saved {profile.name}", title="Settings")

    # -- actions ---------------------------------------------------------------------

    def action_back(self) -> None:
        result = self.config.active().name if self.changed else None
        if self.dirty:
            self._ask_discard(lambda: self.dismiss(result))
        else:
            self.dismiss(result)

    def action_add_profile(self) -> None:
        def start() -> None:
            self._load(_new_profile(self.config.names()), None)
            self.profile_list.highlighted = None
            self._input("name").focus()

        if self.dirty:
            self._ask_discard(start)
        else:
            start()

    def action_edit_profile(self) -> None:
        name = self._highlighted_name()
        if name is not None and name != self.editing:
            if self.dirty:
                self._ask_discard(lambda: (self._load_saved(name), self._input("name").focus()))
                return
            self._load_saved(name)
        self._input("name").focus()

    def action_duplicate_profile(self) -> None:
        name = self._highlighted_name()
        source = self.config.get(name) if name else None
        if source is None:
            self.notify("Pick a saved profile first", severity="warning")
            return
        clone = copy.deepcopy(source)
        clone.name = _unique_copy_name(source.name, self.config.names())
        if self._commit(lambda c: c.add(clone), "Duplicate"):
            self.notify(f"Duplicated as {clone.name}", title="Settings")
            self._select_after_change(clone.name)

    def action_delete_profile(self) -> None:
        name = self._highlighted_name()
        if name is None or self.config.get(name) is None:
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            index = self.config.names().index(name)
            if not self._commit(lambda c: c.remove(name), "Delete"):
                return
            self.notify(f"Deleted {name}", title="Settings")
            if self.config.profiles:
                nxt = self.config.profiles[min(index, len(self.config.profiles) - 1)]
                if self.editing == name or not self.dirty:
                    self._load(nxt, nxt.name)
                self._highlight(nxt.name if self.editing == nxt.name else self.editing)
            else:
                self._load(_new_profile(()), None)

        active = " It is the active profile." if name == self._active_name() else ""
        self.app.push_screen(
            ConfirmScreen(
                f"Delete the profile {name}?{active} This cannot be undone.",
                yes="Delete",
                no="Cancel",
                title="Delete profile",
            ),
            answered,
        )

    def action_move(self, delta: int) -> None:
        name = self._highlighted_name()
        if name is None:
            return
        if self._commit(lambda c: c.move(name, delta), "Move"):
            self._highlight(name)

    def action_make_active(self) -> None:
        name = self._highlighted_name()
        if name is None or self.config.get(name) is None:
            return
        if self.config.settings.active_profile == name:
            self.notify(f"{name} is already the active profile", title="Settings")
            return
        if self._commit(lambda c: c.set_active(name), "Make active"):
            self._highlight(name)
            self._refresh_form()
            self.notify(f"{name} is now the active profile", title="Settings")

    def _select_after_change(self, name: str) -> None:
        """Highlight `name`; the highlight handler loads it (asking first if the form is dirty)."""
        self._highlight(name)
        self.profile_list.focus()

    # -- share links -----------------------------------------------------------------

    def action_import_link(self) -> None:
        def imported(profile: Profile | None) -> None:
            if profile is None:
                return

            def add_and_activate(c: Config) -> None:
                c.add(profile)
                c.set_active(
                    profile.name
                )  # like the web app: a pasted link is the profile you want to use

            if not self._commit(add_and_activate, "Import"):
                return
            self.notify(
                f"Imported {profile.name} ({profile.base_url}); it is now the active profile",
                title="Share link",
            )
            if self.dirty:
                self._select_after_change(profile.name)
            else:
                self._load(profile, profile.name)
                self._highlight(profile.name)
                self.profile_list.focus()

        self.app.push_screen(ImportLinkScreen(self.config.names(), self.environ), imported)

    def _shared_profile(self) -> Profile | None:
        name = self.editing
        profile = self.config.get(name) if name is not None else None
        if profile is None:
            self.notify(
                "Save the profile before sharing it", severity="warning", title="Share link"
            )
            return None
        if self.dirty:
            self.notify(
                "The link is of the saved profile, without your unsaved changes",
                title="Share link",
                severity="warning",
            )
        return profile

    def action_copy_link(self, include_key: bool = False) -> None:
        profile = self._shared_profile()
        if profile is None:
            return
        if include_key:
            if not profile.api_key:
                self.notify(
                    "This profile has no key to include", title="Share link", severity="warning"
                )
                return

            def answered(yes: bool | None) -> None:
                if yes:
                    self._copy_link(profile, include_key=True)

            self.app.push_screen(
                ConfirmScreen(
                    f"Copy a link to {profile.name} that CONTAINS THE API KEY in clear text? "
                    "Anyone who gets the link can spend on your account.",
                    yes="Copy with key",
                    no="Cancel",
                    title="Share with key",
                ),
                answered,
            )
            return
        self._copy_link(profile, include_key=False)

    def _copy_link(self, profile: Profile, include_key: bool) -> None:
        source = profile
        if include_key and profile.key_reference:
            resolved = profile.resolve_key(self.environ)
            if resolved is None:
                self.notify(
                    f"{profile.api_key} is not set, so there is no key to include",
                    title="Share link",
                    severity="error",
                )
                return
            source = replace(profile, api_key=resolved)
        try:
            link = profile_to_share_url(source, include_key=include_key)
        except ShareUrlError as exc:
            self.notify(str(exc), title="Cannot share", severity="error")
            return
        self.app.copy_to_clipboard(link)
        what = "with the API key" if include_key else "without the key"
        self.notify(f"Share link for {profile.name} copied ({what})", title="Share link")
        losses = share_url_losses(profile)
        if losses:
            self.notify(
                "The link does not carry " + ", ".join(losses) + ".",
                title="Share link",
                severity="warning",
                timeout=8,
            )

    # -- connection test -------------------------------------------------------------

    def action_test_connection(self) -> None:
        profile, problems = self._read_form()
        problems.pop("name", None)  # a duplicate or empty name does not stop a test
        if problems:
            self._refresh_form()
            self._show_test_result("Fix the marked fields before testing.", "-failed")
            return
        self._test_token += 1
        token = self._test_token
        where = "the demo server" if profile.is_demo else profile.base_url
        self._show_test_result(f"Testing {where} …", "")
        self.run_worker(
            self._check(profile, token), group="settings-test", exclusive=True, exit_on_error=False
        )

    async def _check(self, profile: Profile, token: int) -> None:
        """The worker: resolves the connection, asks GET /models, posts the outcome."""
        from imgtui.api.client import check_connection
        from imgtui.api.errors import scrub

        try:
            demo = await self._demo_url() if profile.is_demo else None
            conn = profile.connection(demo_base_url=demo, environ=self.environ)
            failure = await check_connection(conn)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # shown to the user, never raised into the UI
            text = f"{type(exc).__name__}: {exc}"
            for secret in (profile.resolve_key(self.environ), *profile.headers.values()):
                text = scrub(text, secret)
            self.post_message(self.ConnectionTested(token, None, text))
            return
        self.post_message(self.ConnectionTested(token, failure))

    async def _demo_url(self) -> str:
        url = self.demo_base_url or getattr(self.app, "demo_base_url", None)
        if not url:
            url = await asyncio.to_thread(_start_demo_server)
            self.demo_base_url = url
        return url

    @on(ConnectionTested)
    def _tested(self, message: ConnectionTested) -> None:
        if message.token != self._test_token:
            return  # the form moved on to another profile
        if message.error is not None:
            self._show_test_result(f"✗ {message.error}", "-failed")
        elif message.failure is None:
            self._show_test_result("✓ OK: the endpoint answered (GET /models).", "-ok")
        else:
            failure = message.failure
            text = f"✗ {failure.message}"
            if failure.hint:
                text += f"\n  {failure.hint}"
            self._show_test_result(text, "-failed")

    def _show_test_result(self, text: str, cls: str) -> None:
        result = self.query_one("#test-result", Static)
        result.update(text)
        result.set_class(cls == "-ok", "-ok")
        result.set_class(cls == "-failed", "-failed")

    # -- buttons ---------------------------------------------------------------------

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#test")
    def _test_pressed(self) -> None:
        self.action_test_connection()

    @on(Button.Pressed, "#revert")
    def _revert_pressed(self) -> None:
        saved = self.config.get(self.editing) if self.editing is not None else None
        self._load(
            saved if saved is not None else _new_profile(self.config.names()),
            self.editing if saved else None,
        )


# --------------------------------------------------------------------------------------
# Import a share link
# --------------------------------------------------------------------------------------


class ImportLinkScreen(ModalScreen[Profile | None]):
    """Paste a gpt_image_playground share link; dismisses with the new (unsaved) profile.

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

    def __init__(
        self, existing_names: Iterable[str], environ: Mapping[str, str] | None = None
    ) -> None:
        super().__init__()
        self.existing_names = list(existing_names)
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

    def on_mount(self) -> None:
        self.query_one("#import-url", Input).cursor_blink = False
        self.query_one("#import-url", Input).focus()

    def _parse(self) -> tuple[Profile | None, str]:
        text = self.query_one("#import-url", Input).value
        if not text.strip():
            return None, ""
        try:
            profile = profile_from_share_url(text, self.existing_names)
        except ShareUrlError as exc:
            return None, str(exc)
        return profile, ""

    @on(Input.Changed, "#import-url")
    def _changed(self) -> None:
        profile, error = self._parse()
        preview = self.query_one("#import-preview", Static)
        if profile is not None:
            model = profile.mainline_model if profile.api_mode == "responses" else profile.model
            stream = f"stream, {profile.partial_images} partials" if profile.stream else "no stream"
            preview.update(
                f"→ {profile.name} · {profile.base_url} · {profile.api_mode} · {model} · {stream} · "
                f"key {profile.key_status(self.environ)}"
            )
        else:
            preview.update(error)
        preview.set_class(profile is not None, "-ok")
        preview.set_class(bool(error), "-error")

    @on(Input.Submitted, "#import-url")
    @on(Button.Pressed, "#import-ok")
    def _import(self) -> None:
        profile, error = self._parse()
        preview = self.query_one("#import-preview", Static)
        if profile is None:
            preview.update(error or "Paste a link first.")
            preview.set_class(True, "-error")
            preview.set_class(False, "-ok")
            return
        self.dismiss(profile)

    @on(Button.Pressed, "#import-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


# --------------------------------------------------------------------------------------
# The quick picker
# --------------------------------------------------------------------------------------


class ProfilePicker(ModalScreen[str | None]):
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
                            (p.name, "bold"),
                            "\n    ",
                            (_describe(p, self.environ), "$foreground-muted"),
                        ),
                        id=p.name,
                    )
                )
            yield OptionList(*options, id="picker-list")
            yield Static(
                "Enter or 1-9 to use · Esc to cancel · profiles are edited in settings",
                id="picker-hint",
            )

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
