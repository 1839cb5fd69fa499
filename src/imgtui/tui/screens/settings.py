"""Settings: the provider profiles, a list on the left and the form on the right.

`SettingsScreen(config, save=..., environ=...)` edits `config` in place, but only through
a saved copy: every change is applied to a copy of the config, the copy is saved, and only
then does it replace the live profiles and settings. A failed save leaves both the config
and the form's edits as they were. The screen dismisses with the active profile's name when
anything was saved, else None.

The form is `ProfileForm`, built from the config's field table; the list is `ProfileList`;
share links are pasted in `ImportLinkScreen`; the quick switcher is `ProfilePicker` (each in
its own module, re-exported here).

Secrets: the key input is a password input (a `${VAR}` reference is shown as typed, since
it is not secret), the key is otherwise only ever shown through `Profile.key_status()`,
share links leave the key out unless the user asks for it (after a confirmation), and the
import field is masked too, since a share link may carry a key.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import date

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Button, Input, OptionList, Select, Static, Switch, TextArea
from textual.widgets.option_list import Option

from imgtui import config as config_module
from imgtui.api.events import Failed
from imgtui.config import (
    Config,
    Profile,
    Settings,
    ShareImport,
    ShareUrlError,
    format_pairs,
    parse_pairs,
    profile_field,
    profile_to_share_url,
    share_url_losses,
)
from imgtui.text import clean
from imgtui.tui.screens.app_settings import AppSettingsScreen
from imgtui.tui.screens.confirm import ConfirmScreen
from imgtui.tui.screens.import_link import ImportLinkScreen
from imgtui.tui.screens.profile_picker import ProfilePicker
from imgtui.tui.widgets.key_footer import KeyFooter
from imgtui.tui.widgets.profile_form import ProfileForm
from imgtui.tui.widgets.profile_list import ProfileList, profile_details

__all__ = [
    "AppSettingsScreen",
    "ImportLinkScreen",
    "ProfilePicker",
    "SettingsScreen",
    "format_pairs",
    "parse_pairs",
]

SaveFn = Callable[[Config], None]

GENERAL_HELP = (
    "The form is written only when you save it (Ctrl+S) and it is valid; the list's actions (move, "
    "activate, duplicate, delete, import) save at once. Tab moves between the list and the form; "
    "the focused field's help shows here."
)


def _unique_copy_name(name: str, taken: Iterable[str]) -> str:
    names = set(taken)
    candidate = f"{name} (copy)"
    n = 2
    while candidate in names:
        candidate = f"{name} (copy {n})"
        n += 1
    return candidate


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
        Binding("ctrl+g", "app_settings", "App settings", id="settings.app"),
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
        today: date | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.today = today or date.today()  # which models are shut down (the flag, `u`)
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

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Toasts here carry profile names, links and server words: plain text by default."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

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
            with ProfileForm(id="form", environ=self.environ) as form:
                form.can_focus = False
                yield from form.compose_rows()
                with Horizontal(id="buttons"):
                    yield Button("Save ^s", id="save", variant="primary", compact=True)
                    yield Button("Test connection ^t", id="test", compact=True)
                    yield Button("Revert", id="revert", compact=True)
                yield Static("", id="test-result")
                yield Static(GENERAL_HELP, id="help")
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
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

    @property
    def form(self) -> ProfileForm:
        return self.query_one("#form", ProfileForm)

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
                    Content.assemble(
                        marker,
                        (clean(p.name, newlines=False), "bold"),
                        "\n",
                        profile_details(p, self.environ, self.today),
                    ),
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

    def _load(self, profile: Profile, editing: str | None) -> None:
        """Show `profile` in the form; `editing` is its saved name (None: not saved yet)."""
        self._baseline = self.form.show(profile)
        self.editing = editing
        self._test_token += 1  # a test still running is about another profile
        self._show_test_result("", "")
        self._refresh_form()

    @property
    def dirty(self) -> bool:
        return bool(self._baseline) and self.form.widget_values() != self._baseline

    def _read_form(self) -> tuple[Profile, dict[str, str]]:
        """The form as a profile, and field -> problem (the form's, then a taken name)."""
        profile, problems = self.form.read()
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
        form = self.form
        form.show_problems(profile, problems)
        title = (
            f"Edit · {self.editing}" if self.editing is not None else "New profile (not saved yet)"
        )
        form.border_title = Content(clean(title, newlines=False))  # a profile name: no markup
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
            try:
                spec = profile_field(widget.id[2:])
            except KeyError:
                pass
            else:
                help_text = f"{spec.label}: {spec.help}"
        self.query_one("#help", Static).update(Content(help_text))

    # -- list events -----------------------------------------------------------------

    @on(OptionList.OptionHighlighted, "#profile-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.refresh_bindings()  # `u` (switch model) shows for a flagged profile only
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
        self, discard: Callable[[], object], keep: Callable[[], object] | None = None
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

    def _commit(self, change: Callable[[Config], object], what: str) -> bool:
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
                f"{profile_field(first).label}: {problems[first]}",
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
        self._baseline = self.form.widget_values()  # what was typed is what is saved
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

                def discard() -> None:
                    self._load_saved(name)
                    self._input("name").focus()

                self._ask_discard(discard)
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
            successor: list[str | None] = []
            if not self._commit(lambda c: successor.append(c.remove(name)), "Delete"):
                return
            if successor and successor[0]:
                self.notify(
                    f"Deleted {name}. {successor[0]} is now the active profile.",
                    title="Settings",
                )
            else:
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

    def _switch_target(self) -> tuple[str, str] | None:
        """(profile name, model to switch to) for the highlighted profile when its model
        is shut down or shutting down; else None."""
        from imgtui.models.catalog import switch_for

        name = self._highlighted_name()
        profile = self.config.get(name) if name is not None else None
        if profile is None:
            return None
        target = switch_for(profile.model, self.today)
        return (profile.name, target) if target else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "switch_model":  # only for a profile flagged in the list
            return self._switch_target() is not None
        return True

    def action_switch_model(self) -> None:
        """Switch the highlighted profile off its shut-down (or soon shut-down) model to
        the current one the list names, and save: only ever on this key, never silently."""
        target = self._switch_target()
        if target is None:
            return
        name, model = target
        if self.editing == name and self.dirty:
            self.notify("Save or revert the form's changes first.", title="Model not switched")
            return
        old = self.config.get(name)
        assert old is not None
        if self._commit(lambda c: c.replace(name, replace(old, model=model)), "Switch model"):
            if self.editing == name:
                self._load(self.config.get(name) or old, name)
            self._highlight(name)
            self.refresh_bindings()
            self.notify(f"{name}: {old.model} → {model}", title="Model switched")

    def _select_after_change(self, name: str) -> None:
        """Highlight `name`; the highlight handler loads it (asking first if the form is dirty)."""
        self._highlight(name)
        self.profile_list.focus()

    # -- share links -----------------------------------------------------------------

    def action_app_settings(self) -> None:
        """The app-wide settings (renderer, output folder, defaults, notifications)."""

        def edited(settings: Settings | None) -> None:
            if settings is None:
                return

            def put(c: Config) -> None:
                c.settings = settings

            if self._commit(put, "App settings"):
                self.notify("App settings saved", title="Settings")

        self.app.push_screen(AppSettingsScreen(self.config.settings), edited)

    def action_import_link(self) -> None:
        def imported(plan: ShareImport | None) -> None:
            if plan is None:
                return
            if not self._commit(plan.apply, "Import"):
                return
            names = ", ".join(p.name for p in plan.profiles)
            verb = "Updated" if all(plan.replaces) else "Imported"
            # never made active behind the user's back: a link comes from someone else
            self.notify(
                f"{verb} {names}. The active profile is unchanged: press m on a profile to use it.",
                title="Share link",
            )
            for warning in plan.warnings:
                self.notify(warning, title="Share link", severity="warning", timeout=10)
            first = plan.profiles[0]
            if self.dirty:
                self._select_after_change(first.name)
            else:
                self._load(first, first.name)
                self._highlight(first.name)
                self.profile_list.focus()

        self.app.push_screen(ImportLinkScreen(self.config.profiles, self.environ), imported)

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
        url = self.demo_base_url
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
        result.update(Content(clean(text)))  # the server's words: never markup
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
