"""Secrets in the config: `${VAR}` references, their resolution, and masking for display.

A profile's `api_key` is a literal key or one whole `${VAR}` reference; header values may
hold references inside them. References are resolved only where a request is built
(`Profile.connection()`), from the environment given (default `os.environ`). An unset or
empty variable resolves to nothing, never to another variable's value: an endpoint must
not receive another endpoint's key (the rule oterm follows in `providers/__init__.py`).

Only the user writes references (in the config file or the settings form). Text from
outside (a share link) must never become one: `looks_like_reference()` lets the importer
refuse it.

Nothing here prints, logs or repr()s a secret; `mask()` is the only way a literal key is
shown (at most its last 4 characters).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

__all__ = [
    "REFERENCE_RE",
    "interpolate",
    "key_reference",
    "key_status",
    "looks_like_reference",
    "mask",
    "missing_env",
    "references_in",
    "resolve_key",
]

_VAR_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
REFERENCE_RE = re.compile(r"^\$\{(" + _VAR_NAME + r")\}$")  # a whole value that is one reference
_REF_ANY_RE = re.compile(r"\$\{(" + _VAR_NAME + r")\}")  # references inside a header value
_REF_LIKE_RE = re.compile(r"\$\{[^}]*\}?|\$[A-Za-z_]")  # anything a shell or we might expand


def key_reference(api_key: str) -> str | None:
    """The variable name when `api_key` is exactly `${VAR}`, else None."""
    m = REFERENCE_RE.match(api_key)
    return m.group(1) if m else None


def references_in(value: str) -> list[str]:
    """Variable names referred to anywhere in `value` (`"Bearer ${A}"` -> `["A"]`)."""
    return _REF_ANY_RE.findall(value)


def looks_like_reference(value: str) -> bool:
    """True when `value` holds anything resembling an environment reference (`${X}`,
    `${`, `$X`): such text from an untrusted source must not be stored where references
    are resolved."""
    return bool(_REF_LIKE_RE.search(value))


def resolve_key(api_key: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The key to send: `${VAR}` -> that variable (None when unset or empty, with no
    fallback to any other variable); a literal -> itself; "" -> None."""
    env = os.environ if environ is None else environ
    ref = key_reference(api_key)
    if ref is not None:
        return env.get(ref) or None
    return api_key or None


def missing_env(
    api_key: str, header_values: Iterable[str], environ: Mapping[str, str] | None = None
) -> list[str]:
    """Variables the key or the header values refer to that are unset or empty, in order."""
    env = os.environ if environ is None else environ
    ref = key_reference(api_key)
    names = [ref] if ref else []
    for value in header_values:
        names.extend(references_in(value))
    return list(dict.fromkeys(n for n in names if not env.get(n)))


def interpolate(value: str, environ: Mapping[str, str]) -> str | None:
    """Replace each `${VAR}` in `value`; None when any of them is unset (never a partial value)."""
    missing = False

    def sub(m: re.Match[str]) -> str:
        nonlocal missing
        found = environ.get(m.group(1))
        if not found:
            missing = True
            return ""
        return found

    out = _REF_ANY_RE.sub(sub, value)
    return None if missing else out


def mask(key: str) -> str:
    """`"sk-proj-abc…wxyz"` -> `"sk-…wxyz"`; keys shorter than 12 characters show nothing
    of themselves."""
    prefix = "sk-" if key.startswith("sk-") else ""
    tail = key[-4:] if len(key) >= 12 else ""
    return f"{prefix}…{tail}"


def key_status(api_key: str, environ: Mapping[str, str] | None = None) -> str:
    """One short line for display: `"none"`, `"set (sk-…abcd)"`, `"${VAR} → set"`,
    `"${VAR} → not set"`. Never the key."""
    if not api_key:
        return "none"
    if key_reference(api_key):
        state = "set" if resolve_key(api_key, environ) else "not set"
        return f"{api_key} → {state}"
    return f"set ({mask(api_key)})"
