"""A form built from a field table of `imgtui.config` (`PROFILE_FIELDS`, `SETTINGS_FIELDS`).

One row per `FieldSpec`, the control chosen by the field's kind: a select for a field with
choices, a switch for a bool, a text area for a multi-line kind (tables), a password input
for a secret, an input (integer, number or text) otherwise. The form shows an object of the
table's dataclass, reads one back (over a base object, so fields left out of the form
keep their values) with per-field problems, and shows those problems under their fields.
A field added to a table appears here with no change to this file.

Widget ids: `f-<field>` for the control, `err-<field>` for its problem line. Problems and
values may quote text from outside (a share link), so they are shown as `Content`, never
parsed as markup.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Input, Select, Static, Switch, TextArea

from imgtui.config import FieldSpec
from imgtui.text import clean

__all__ = ["FieldForm"]

_CHOICE_LABELS = {"": "(default)", "images": "Images API", "responses": "Responses API"}


def _is_bool(spec: FieldSpec) -> bool:
    return isinstance(spec.default, bool)


class FieldForm(VerticalScroll):
    """The rows of a field table, grouped by `FieldSpec.group` (a gap between groups)."""

    DEFAULT_CSS = """
    FieldForm {
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

    def __init__(self, fields: tuple[FieldSpec, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fields = fields

    def compose_rows(self) -> ComposeResult:
        """The rows, to be yielded inside this container by the owner's compose
        (`with form: yield from form.compose_rows()`)."""
        group = None
        for spec in self.fields:
            gap = group is not None and spec.group != group
            group = spec.group
            with Horizontal(classes="row gap" if gap else "row"):
                yield Static(spec.label, classes="label")
                yield self.control(spec)
            yield from self.after_row(spec)
            yield Static("", id=f"err-{spec.name}", classes="error")

    def after_row(self, spec: FieldSpec) -> ComposeResult:
        """Extra lines under a field's row (none here; subclasses add notes)."""
        yield from ()

    @staticmethod
    def control(spec: FieldSpec) -> Widget:
        wid = f"f-{spec.name}"
        if spec.choices:
            options = [(_CHOICE_LABELS.get(c, c), c) for c in spec.choices]
            return Select(options, id=wid, allow_blank=False, compact=True, value=spec.default)
        if _is_bool(spec):
            return Switch(id=wid, value=bool(spec.default))
        if spec.kind.multiline:
            return TextArea(
                id=wid, compact=True, show_line_numbers=False, soft_wrap=False, tab_behavior="focus"
            )
        return Input(
            id=wid,
            compact=True,
            password=spec.secret,
            type=spec.kind.input_type,  # type: ignore[arg-type]  # text | integer | number
        )

    def on_mount(self) -> None:
        for area in self.query(TextArea):
            area.cursor_blink = False  # quiet screenshots; the cursor still shows where it is
        for box in self.query(Input):
            box.cursor_blink = False

    # -- values --------------------------------------------------------------------------

    def values_of(self, obj: object) -> dict[str, object]:
        """The widget values that show `obj` (text for inputs and areas)."""
        out: dict[str, object] = {}
        for spec in self.fields:
            value = getattr(obj, spec.name)
            plain = spec.choices or _is_bool(spec)
            out[spec.name] = value if plain else spec.kind.to_text(value)
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

    def show(self, obj: object) -> dict[str, object]:
        """Put `obj` in the widgets; returns the values shown (the clean baseline)."""
        values = self.values_of(obj)
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

    def read_over(self, base: Any) -> tuple[Any, dict[str, str]]:
        """`base` with the widgets' values, and field -> problem (text that does not parse,
        then the table's checks via `errors()`). A field that does not parse keeps its
        default; fields not in the form keep `base`'s values."""
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
        obj = dataclasses.replace(base, **values)
        for name, message in obj.errors().items():
            problems.setdefault(name, message)
        return obj, problems

    # -- feedback ------------------------------------------------------------------------

    def show_problems(self, obj: object, problems: Mapping[str, str]) -> None:
        """Problems under their fields; fields that do not apply to `obj` disabled."""
        for spec in self.fields:
            label = self.query_one(f"#err-{spec.name}", Static)
            message = problems.get(spec.name, "")
            label.update(Content(clean(f"⚠ {message}") if message else ""))  # may quote a link
            label.set_class(bool(message), "-shown")
            if spec.applies is not None:
                self.query_one(f"#f-{spec.name}").disabled = not spec.applies(obj)
