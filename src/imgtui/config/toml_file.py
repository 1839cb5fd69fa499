"""The config file on disk: a strict TOML reader and an atomic, private writer.

Both are derived from the field tables in `model` (`PROFILE_FIELDS`, `SETTINGS_FIELDS`):
a key the table does not have is an error naming the file, the line and the key, with the
closest known key suggested (a typo such as `timout` must not be silently ignored, the
rule harlequin's `config.py` follows); so is a value of the wrong kind or one the field's
check refuses. A missing file is an empty config. Writing is atomic (temporary file,
fsync, rename) and private (mode 0600); every profile field is written, so a default that
changes in a later version does not silently change an existing profile.

Nothing here touches the file system at import time.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import tomli_w

from imgtui.config.model import (
    PROFILE_FIELDS,
    SETTINGS_FIELDS,
    STR_TABLE,
    Config,
    FieldSpec,
    Profile,
    Settings,
    env_profile,
)
from imgtui.config.paths import config_path
from imgtui.files import make_private_dir

__all__ = ["ConfigError", "ensure_env_profile", "load", "save", "to_toml"]

_TOP_LEVEL = ("settings", "profiles")


class ConfigError(Exception):
    """A config file that cannot be used, with where and why.

    `line` is the 1-based line of the offending key (None when unknown), `key` its dotted
    path such as `profiles[1].timeout` (None for a problem with the whole file).
    """

    def __init__(self, path: Path, line: int | None, key: str | None, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.key = key
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.path) + (f" line {self.line}" if self.line else "")
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


def load(path: Path | None = None) -> Config:
    """Read and validate the config. A missing file is an empty config.

    Raises ConfigError for unreadable or malformed TOML, unknown keys, wrong types and
    invalid values, naming the file, the line and the key.
    """
    path = Path(path) if path is not None else config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Config(path=path)
    except OSError as exc:
        raise ConfigError(path, None, None, f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(path, bad_line, None, "not valid UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, message = _decode_error_position(exc)
        raise ConfigError(path, line, None, f"not valid TOML: {message}") from None
    except RecursionError:
        raise ConfigError(path, None, None, "not valid TOML: nested too deeply") from None
    return _Reader(path, text).config(data)


class _Reader:
    """Turns parsed TOML into a Config, raising a precise ConfigError at the first problem."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = _key_lines(text)

    def fail(self, key_path: tuple[str | int, ...], message: str) -> ConfigError:
        return ConfigError(self.path, _line_of(self.lines, key_path), _dotted(key_path), message)

    def config(self, data: dict[str, Any]) -> Config:
        for key in data:
            if key not in _TOP_LEVEL:
                raise self.fail((key,), _unknown(key, _TOP_LEVEL))
        settings = self.settings(data.get("settings", {}))
        raw_profiles = data.get("profiles", [])
        if not isinstance(raw_profiles, list) or not all(isinstance(p, dict) for p in raw_profiles):
            raise self.fail(("profiles",), "must be [[profiles]] tables")
        profiles: list[Profile] = []
        for i, raw in enumerate(raw_profiles):
            profile = self.profile(i, raw)
            if any(p.name == profile.name for p in profiles):
                raise self.fail(
                    ("profiles", i, "name"), f"{profile.name!r}: another profile has this name"
                )
            profiles.append(profile)
        return Config(path=self.path, profiles=profiles, settings=settings)

    def settings(self, raw: object) -> Settings:
        if not isinstance(raw, dict):
            raise self.fail(("settings",), "must be a [settings] table")
        return Settings(**self.values(("settings",), raw, SETTINGS_FIELDS))

    def profile(self, i: int, raw: dict[str, Any]) -> Profile:
        where: tuple[str | int, ...] = ("profiles", i)
        values = self.values(where, raw, PROFILE_FIELDS)
        for f in PROFILE_FIELDS:
            if f.required and f.name not in raw:
                raise self.fail(where, f"missing required key {f.name!r}")
        return Profile(**values)

    def values(
        self, where: tuple[str | int, ...], raw: dict[str, Any], table: tuple[FieldSpec, ...]
    ) -> dict[str, Any]:
        """Check every key is in the table, of its kind, and passes the field's check."""
        by_name = {f.name: f for f in table}
        values: dict[str, Any] = {}
        for key, raw_value in raw.items():
            f = by_name.get(key)
            if f is None:
                raise self.fail((*where, key), _unknown(key, by_name))
            if f.kind is STR_TABLE and isinstance(raw_value, dict):
                for sub, subvalue in raw_value.items():
                    if not isinstance(subvalue, str):
                        raise self.fail(
                            (*where, key, sub),
                            f"must be a string, not {_toml_type(subvalue)} (quote it)",
                        )
            if not f.kind.accepts(raw_value):
                raise self.fail(
                    (*where, key), f"must be {f.kind.words}, not {_toml_type(raw_value)}"
                )
            value = f.kind.from_toml(raw_value)
            problem = f.problem(value)
            if problem is not None:
                if isinstance(problem, tuple):
                    raise self.fail((*where, key, problem[0]), problem[1])
                raise self.fail((*where, key), problem)
            values[key] = value
        return values


def _decode_error_position(exc: tomllib.TOMLDecodeError) -> tuple[int | None, str]:
    """tomllib names the line only inside its message on Python < 3.14."""
    message = str(exc)
    line = getattr(exc, "lineno", None)
    m = re.search(r"\s*\(at line (\d+), column \d+\)", message)
    if m:
        line = line or int(m.group(1))
        message = message[: m.start()] + message[m.end() :]
    elif re.search(r"\(at end of document\)", message):
        message = message.replace(" (at end of document)", " at the end of the file")
    return line, message


def _toml_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _unknown(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return (
        f"unknown key; did you mean {close[0]!r}?"
        if close
        else f"unknown key (known: {', '.join(known)})"
    )


def _dotted(key_path: tuple[str | int, ...]) -> str:
    """("profiles", 1, "headers", "x y") -> 'profiles[1].headers."x y"'."""
    out = ""
    for part in key_path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = (
                part
                if re.fullmatch(r"[A-Za-z0-9_-]+", part)
                else '"' + part.replace('"', '\\"') + '"'
            )
            out += ("." if out else "") + text
    return out


# -- finding the line of a key ---------------------------------------------------------
#
# tomllib returns plain dicts with no positions, so the line of a key we reject is found
# by a light scan of the text: table headers and `key =` lines, tracking which
# `[[profiles]]` entry we are in. It only has to agree with tomllib on files tomllib has
# already accepted.

_BARE_OR_QUOTED = r"(?:[A-Za-z0-9_-]+|\"(?:[^\"\\]|\\.)*\"|'[^']*')"
_DOTTED_KEY = _BARE_OR_QUOTED + r"(?:\s*\.\s*" + _BARE_OR_QUOTED + r")*"
_HEADER_LINE_RE = re.compile(r"^\s*(\[\[|\[)\s*(" + _DOTTED_KEY + r")\s*\]\]?")
_KEY_LINE_RE = re.compile(r"^\s*(" + _DOTTED_KEY + r")\s*=\s*(.*)$")
_KEY_PART_RE = re.compile(_BARE_OR_QUOTED)


def _split_key(dotted: str) -> tuple[str, ...]:
    parts = []
    for m in _KEY_PART_RE.finditer(dotted):
        part = m.group(0)
        if part.startswith('"'):
            part = part[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        elif part.startswith("'"):
            part = part[1:-1]
        parts.append(part)
    return tuple(parts)


def _key_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """Map each concrete key path (tables and keys) to the 1-based line defining it."""
    lines: dict[tuple[str | int, ...], int] = {}
    arrays: dict[tuple[str, ...], int] = {}  # array-of-tables path -> entries seen
    table: tuple[str | int, ...] = ()
    in_multiline: str | None = None  # the closing delimiter while inside a multi-line string

    def concrete(parts: tuple[str, ...]) -> tuple[str | int, ...]:
        out: list[str | int] = []
        for n, part in enumerate(parts):
            out.append(part)
            seen = arrays.get(parts[: n + 1])
            if seen:
                out.append(seen - 1)
        return tuple(out)

    for lineno, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if in_multiline in line:
                in_multiline = None
            continue
        header = _HEADER_LINE_RE.match(line)
        if header:
            parts = _split_key(header.group(2))
            if header.group(1) == "[[":
                arrays[parts] = arrays.get(parts, 0) + 1
            table = concrete(parts)
            lines.setdefault(table, lineno)
            continue
        key = _KEY_LINE_RE.match(line)
        if key:
            lines.setdefault((*table, *_split_key(key.group(1))), lineno)
            value = key.group(2).lstrip()
            for delim in ('"""', "'''"):
                if value.startswith(delim) and delim not in value[3:]:
                    in_multiline = delim
    return lines


def _line_of(
    lines: dict[tuple[str | int, ...], int], key_path: tuple[str | int, ...]
) -> int | None:
    """The key's own line, else the line of the nearest enclosing table or key."""
    for end in range(len(key_path), 0, -1):
        line = lines.get(key_path[:end])
        if line is not None:
            return line
    return None


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------

_FILE_HEADER = (
    "# imgtui configuration, written by imgtui.\n"
    '# api_key may be a literal key or "${ENV_VAR}"; unknown keys are errors.\n\n'
)


def to_toml(config: Config) -> str:
    """The file's text: every field of the tables, except those with no TOML value (None,
    empty tables)."""
    doc: dict[str, Any] = {"settings": _table(config.settings, SETTINGS_FIELDS)}
    if config.profiles:
        doc["profiles"] = [_table(p, PROFILE_FIELDS) for p in config.profiles]
    return _FILE_HEADER + tomli_w.dumps(doc)


def _table(obj: object, table: tuple[FieldSpec, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in table:
        value = f.kind.to_toml(getattr(obj, f.name))
        if value is not None:
            out[f.name] = value
    return out


def ensure_env_profile(config: Config, environ: Mapping[str, str] | None = None) -> bool:
    """First run with $OPENAI_API_KEY set and no profiles: add and save the env profile."""
    if config.profiles:
        return False
    profile = env_profile(environ)
    if profile is None or profile.errors():  # e.g. a malformed $OPENAI_BASE_URL
        return False
    config.add(profile)
    save(config)
    return True


def save(config: Config) -> None:
    """Write atomically and privately.

    The text goes to a temporary file in the same folder, created 0600 (never readable by
    others, not even briefly), is fsynced, then renamed over the old file; a crash leaves
    either the old file or the new one. A folder we create is 0700.
    """
    path = Path(config.path)
    text = to_toml(config)
    make_private_dir(path.parent)
    fd, tmp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )  # mode 0600
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)  # mkstemp already did; explicit for clarity and odd platforms
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (POSIX); harmless where directories cannot be opened."""
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
