"""The settings screen's profile list, and the one-line summaries of a profile it and the
profile picker show (never the key itself: only `Profile.key_status()`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from textual.binding import Binding
from textual.content import Content
from textual.widgets import OptionList

from imgtui.config import Profile
from imgtui.models.catalog import lookup, switch_for
from imgtui.text import clean

__all__ = ["ProfileList", "describe_profile", "model_flag", "profile_details"]


def model_flag(profile: Profile, today: date) -> Content | None:
    """Two warning lines when the profile's image model is shut down or shuts down within
    30 days (the built-in table's dates): what, and the key that switches it to a current
    model (`switch_for`). None when the model is fine. The profile is never changed here."""
    switch = switch_for(profile.model, today)
    if switch is None:
        return None
    spec = lookup(profile.model)
    when = spec.shutdown if spec else None
    verb = "shut down" if when is not None and today >= when else "shuts down"
    day = f" {when.isoformat()}" if when else ""
    return Content.assemble(
        (f"\n  ⚠ {clean(profile.model, newlines=False)} {verb}{day}", "$warning"),
        (f"\n  u: switch to {switch}", "$warning"),
    )


def _models(profile: Profile) -> str:
    if profile.api_mode == "responses":
        return f"responses · {profile.mainline_model} + {profile.model}"
    return f"images · {profile.model}"


def describe_profile(profile: Profile, environ: Mapping[str, str] | None) -> str:
    """A one-line summary: mode, models and the key's status."""
    if profile.is_demo:
        return "built-in demo server"
    return f"{_models(profile)} · key {profile.key_status(environ)}"


def profile_details(
    profile: Profile, environ: Mapping[str, str] | None, today: date | None = None
) -> Content:
    """Two muted lines under a name in the settings list: what and how, then the key
    (in the warning colour when a `${VAR}` it needs is unset); then, with `today`, the
    warning of a model shut down or shutting down (`model_flag`)."""
    flag = model_flag(profile, today) if today is not None else None
    if profile.is_demo:
        lines = Content.assemble(("  built-in demo server\n  no key needed", "$foreground-muted"))
    else:
        missing = bool(profile.missing_env(environ))
        status = profile.key_status(environ)
        key_line = status if profile.key_reference else f"key {status}"
        lines = Content.assemble(
            (f"  {clean(_models(profile), newlines=False)}\n", "$foreground-muted"),
            (f"  {key_line}", "$warning" if missing else "$foreground-muted"),
        )
    return lines + flag if flag is not None else lines


class ProfileList(OptionList):
    """The list actions are bound here, so they show in the footer (and act) only while
    the list has focus, never while typing in the form."""

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
        Binding("u", "screen.switch_model", "Switch model", id="settings.switch_model"),
    ]
