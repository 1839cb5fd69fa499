"""The profile form: one row per line of the config's field table, built from it.

`ProfileForm` turns `imgtui.config.PROFILE_FIELDS` into widgets by kind (a select for a
field with choices, a switch for a bool, a text area for a table, a password input for a
secret, an input otherwise), shows a `Profile`, reads one back with per-field problems,
and shows those problems under their fields. A field added to the table appears here with
no change to this file.

Widget ids: `f-<field>` for the control, `err-<field>` for its problem line; the secret
key field has a status line `key-status` under it (the key itself is never shown).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Input, Select, Static, Switch, TextArea

from imgtui.config import PROFILE_FIELDS, FieldSpec, Profile

__all__ = ["ProfileForm"]

# A `${VAR}` reference, whole or being typed: shown in clear. Anything else in a secret
# field (say a "$" typed in front of a literal key) stays masked.
_REFERENCE_TYPING = re.compile(r"\$(\{([A-Za-z_][A-Za-z0-9_]*\}?)?)?")

_CHOICE_LABELS = {"": "(default)", "images": "Images API", "responses": "Responses API"}


def _is_bool(spec: FieldSpec) -> bool:
    return isinstance(spec.default, bool)


def _is_multiline(spec: FieldSpec) -> bool:
    return bool(getattr(spec.kind, "multiline", False))


class ProfileForm(VerticalScroll):
    """The form's rows, from the field table, grouped by `FieldSpec.group`."""

    DEFAULT_CSS = """
    ProfileForm {
        .row { height: auto; }
        .row.gap { margin-top: 1; }
        .row > .label { width: 17; height: 1; color: $text-muted; }
        .row > Input { width: 1fr; }
        .row > Select { width: 1fr; }
        .row > TextArea { width: 1fr; height: 3; }
        .row > Switch { border: none; padding: 0; height: 1; width: auto; &:focus { border: none; background-tint: $foreground 15%; } }
        .note { margin-left: 17; color: $text-muted; height: auto; }
        .note.-warning { color: $warning; }
        .error { margin-left: 17; color: $error; height: auto; display: none; }
        .error.-shown { display: block; }
    }
    """

    def __init__(
        self,
        fields: tuple[FieldSpec, ...] = PROFILE_FIELDS,
        environ: Mapping[str, str] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.fields = fields
        self.environ = environ

    def compose_rows(self) -> ComposeResult:
        """The rows, to be yielded inside this container by the owner's compose."""
        group = None
        for spec in self.fields:
            gap = group is not None and spec.group != group
            group = spec.group
            with Horizontal(classes="row gap" if gap else "row"):
                yield Static(spec.label, classes="label")
                yield self._control(spec)
            if spec.secret:
                yield Static("", id="key-status", classes="note")
            yield Static("", id=f"err-{spec.name}", classes="error")

    @staticmethod
    def _control(spec: FieldSpec) -> Widget:
        wid = f"f-{spec.name}"
        if spec.choices:
            options = [(_CHOICE_LABELS.get(c, c), c) for c in spec.choices]
            return Select(options, id=wid, allow_blank=False, compact=True, value=spec.default)
        if _is_bool(spec):
            return Switch(id=wid, value=bool(spec.default))
        if _is_multiline(spec):
            return TextArea(
                id=wid, compact=True, show_line_numbers=False, soft_wrap=False, tab_behavior="focus"
            )
        kind = {int: "integer", float: "number"}.get(type(spec.default), "text")
        if spec.default is None:
            kind = "number"
        return Input(id=wid, compact=True, password=spec.secret, type=kind)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        for area in self.query(TextArea):
            area.cursor_blink = False  # quiet screenshots; the cursor still shows where it is
        for box in self.query(Input):
            box.cursor_blink = False

    # -- values --------------------------------------------------------------------------

    @staticmethod
    def values_of(profile: Profile) -> dict[str, object]:
        """The widget values that show `profile` (text for inputs and areas)."""
        out: dict[str, object] = {}
        for spec in PROFILE_FIELDS:
            value = getattr(profile, spec.name)
            out[spec.name] = value if spec.choices or _is_bool(spec) else spec.kind.to_text(value)
        return out

    def widget_values(self) -> dict[str, object]:
        """What the widgets hold now."""
        out: dict[str, object] = {}
        for spec in self.fields:
            control = self.query_one(f"#f-{spec.name}")
            if isinstance(control, TextArea):
                out[spec.name] = control.text
            elif isinstance(control, (Input, Select, Switch)):
                out[spec.name] = control.value
        return out

    def show(self, profile: Profile) -> dict[str, object]:
        """Put `profile` in the widgets; returns the values shown (the clean baseline)."""
        values = self.values_of(profile)
        for spec in self.fields:
            control = self.query_one(f"#f-{spec.name}")
            value = values[spec.name]
            if isinstance(control, TextArea):
                control.text = str(value)
            elif isinstance(control, Input):
                control.value = str(value)
                control.cursor_position = len(control.value)
            elif isinstance(control, Select):
                control.value = value
            elif isinstance(control, Switch):
                control.value = bool(value)
        return self.widget_values()

    def read(self) -> tuple[Profile, dict[str, str]]:
        """The widgets as a profile, and field -> problem (text that does not parse, then
        the table's checks). A field that does not parse keeps its default in the profile."""
        raw = self.widget_values()
        problems: dict[str, str] = {}
        values: dict[str, object] = {}
        for spec in self.fields:
            value = raw[spec.name]
            if spec.choices:
                values[spec.name] = value if isinstance(value, str) else spec.default_value()
            elif _is_bool(spec):
                values[spec.name] = bool(value)
            else:
                try:
                    values[spec.name] = spec.kind.from_text(str(value))
                except ValueError as exc:
                    problems[spec.name] = str(exc)
                    values[spec.name] = spec.default_value()
        profile = Profile(**values)  # type: ignore[arg-type]
        for name, message in profile.errors().items():
            problems.setdefault(name, message)
        return profile, problems

    # -- feedback ------------------------------------------------------------------------

    def show_problems(self, profile: Profile, problems: Mapping[str, str]) -> None:
        """Problems under their fields, the key status, and which fields apply."""
        for spec in self.fields:
            label = self.query_one(f"#err-{spec.name}", Static)
            message = problems.get(spec.name, "")
            label.update(Content(f"⚠ {message}" if message else ""))  # may quote a link
            label.set_class(bool(message), "-shown")
            if spec.applies is not None:
                self.query_one(f"#f-{spec.name}").disabled = not spec.applies(profile)
            if spec.secret:
                box = self.query_one(f"#f-{spec.name}", Input)
                box.password = not _REFERENCE_TYPING.fullmatch(box.value)  # ${VAR} is not secret
        self._show_key_status(profile)

    def _show_key_status(self, profile: Profile) -> None:
        status = self.query_one("#key-status", Static)
        missing = profile.missing_env(self.environ)
        note = f"key: {profile.key_status(self.environ)}"
        header_missing = [n for n in missing if n != profile.key_reference]
        if header_missing:
            note += " · headers refer to unset " + ", ".join(f"${{{n}}}" for n in header_missing)
        status.update(Content(note))
        status.set_class(bool(missing), "-warning")
