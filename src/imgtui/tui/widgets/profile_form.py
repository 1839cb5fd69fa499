"""The profile form: a `FieldForm` over `imgtui.config.PROFILE_FIELDS`, plus what only a
profile has: the key's status line under the secret field (`key-status`: "set (sk-…abcd)",
"${VAR} → not set", never the key), the key shown in clear while it is a `${VAR}`
reference (not secret) and masked otherwise."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Input, Static

from imgtui.config import PROFILE_FIELDS, FieldSpec, Profile
from imgtui.tui.widgets.field_form import FieldForm

__all__ = ["ProfileForm"]

# A `${VAR}` reference, whole or being typed: shown in clear. Anything else in a secret
# field (say a "$" typed in front of a literal key) stays masked.
_REFERENCE_TYPING = re.compile(r"\$(\{([A-Za-z_][A-Za-z0-9_]*\}?)?)?")


class ProfileForm(FieldForm):
    """Shows and reads a `Profile`; every field of the table is a row."""

    def __init__(self, environ: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(PROFILE_FIELDS, **kwargs)
        self.environ = environ

    def after_row(self, spec: FieldSpec) -> ComposeResult:
        if spec.secret:
            yield Static("", id="key-status", classes="note")

    def read(self) -> tuple[Profile, dict[str, str]]:
        """The widgets as a profile, and field -> problem."""
        profile, problems = self.read_over(Profile())
        return profile, problems

    def show_problems(self, obj: object, problems: Mapping[str, str]) -> None:
        super().show_problems(obj, problems)
        assert isinstance(obj, Profile)
        for spec in self.fields:
            if spec.secret:
                box = self.query_one(f"#f-{spec.name}", Input)
                box.password = not _REFERENCE_TYPING.fullmatch(box.value)  # ${VAR} is not secret
        status = self.query_one("#key-status", Static)
        missing = obj.missing_env(self.environ)
        note = f"key: {obj.key_status(self.environ)}"
        header_missing = [n for n in missing if n != obj.key_reference]
        if header_missing:
            note += " · headers refer to unset " + ", ".join(f"${{{n}}}" for n in header_missing)
        status.update(Content(note))
        status.set_class(bool(missing), "-warning")
