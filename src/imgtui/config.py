"""Profiles and settings: typed, validated, TOML on disk under platformdirs.

One file, `config.toml`, holds the app-wide `[settings]` and one `[[profiles]]` table per
OpenAI-compatible endpoint. Reading is strict: an unknown key or a wrong type is an error
that names the file, the line and the key, and suggests the closest known key (a typo such
as `timout` must not be silently ignored). Writing is atomic and private (mode 0600).

Secrets. A profile's `api_key` is either a literal key or a `${VAR}` reference to an
environment variable; header values may contain `${VAR}` too. References are resolved
only in `Profile.connection()`, where the request is built. An unset reference resolves to
nothing, never to some other variable's key (an endpoint must not receive another
endpoint's key). Nothing here prints, logs or repr()s a key.

Share links are the query-string format of the gpt_image_playground web app
(CookSleep/gpt_image_playground, `src/lib/urlSettings.ts` reads them, the settings modal's
`createProfileImportUrl` writes them), so a profile can travel between the two apps.

Nothing in this module touches the file system at import time.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import platformdirs
import tomli_w

from imgtui.api.request import API_MODES, FORMATS, Connection, RequestError, parse_size
from imgtui.files import make_private_dir

__all__ = [
    "APP_NAME",
    "DEMO_URL",
    "RENDERERS",
    "SHARE_URL_BASE",
    "Config",
    "ConfigError",
    "Profile",
    "Settings",
    "ShareUrlError",
    "config_path",
    "data_dir",
    "demo_profile",
    "ensure_env_profile",
    "env_profile",
    "load",
    "profile_from_share_url",
    "profile_to_share_url",
    "save",
    "share_url_losses",
    "to_toml",
]

APP_NAME = "imgtui"
DEMO_URL = "demo:"  # base_url sentinel: the embedded demo server, started lazily by the caller
RENDERERS: tuple[str, ...] = ("auto", "halfcell", "unicode", "sixel", "tgp")
OPENAI_BASE_URL = "https://api.openai.com/v1"
MAX_TIMEOUT = 3600.0
MAX_NAME = 80

# The public deployment named in gpt_image_playground's README; exported links point there.
SHARE_URL_BASE = "https://gpt-image-playground.cooksleep.dev/"

_VAR_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_REF_RE = re.compile(r"^\$\{(" + _VAR_NAME + r")\}$")  # a whole value that is one reference
_REF_ANY_RE = re.compile(r"\$\{(" + _VAR_NAME + r")\}")  # references inside a header value
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 token


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


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


class ShareUrlError(ValueError):
    """A share link that cannot become a profile (or a profile that cannot become a link)."""


# --------------------------------------------------------------------------------------
# Profiles and settings
# --------------------------------------------------------------------------------------


@dataclass
class Profile:
    """One OpenAI-compatible endpoint and how to talk to it."""

    name: str
    base_url: str
    api_key: str = ""  # a literal key, or "${VAR}"; "" for none
    api_mode: str = "images"  # "images" | "responses"
    model: str = "gpt-image-1"  # the image model
    mainline_model: str = "gpt-5"  # the Responses API's top-level model
    stream: bool = True
    partial_images: int = 2
    timeout: float = 600.0
    headers: dict[str, str] = field(default_factory=dict)  # values may contain ${VAR}
    query: dict[str, str] = field(default_factory=dict)

    # -- validation --------------------------------------------------------------------

    def errors(self) -> dict[str, str]:
        """Field name -> what is wrong with it. Empty when the profile is usable."""
        errs: dict[str, str] = {}
        if not isinstance(self.name, str) or not self.name.strip():
            errs["name"] = "is empty"
        elif len(self.name) > MAX_NAME or any(c in self.name for c in "\r\n\t"):
            errs["name"] = f"must be one line of at most {MAX_NAME} characters"
        url_problem = _base_url_problem(self.base_url)
        if url_problem:
            errs["base_url"] = url_problem
        if not isinstance(self.api_key, str):
            errs["api_key"] = "must be a string"
        elif self.api_key.startswith("${") and not _REF_RE.match(self.api_key):
            errs["api_key"] = (
                "looks like an environment reference but is not of the form ${VAR_NAME}"
            )
        elif any(c.isspace() for c in self.api_key):
            errs["api_key"] = "contains whitespace"
        if self.api_mode not in API_MODES:
            errs["api_mode"] = f"{self.api_mode!r}: must be one of {', '.join(API_MODES)}"
        if not isinstance(self.model, str) or not self.model.strip():
            errs["model"] = "is empty"
        if not isinstance(self.mainline_model, str) or not self.mainline_model.strip():
            errs["mainline_model"] = "is empty"
        if not isinstance(self.stream, bool):
            errs["stream"] = "must be true or false"
        if not _is_int(self.partial_images) or not 0 <= self.partial_images <= 3:
            errs["partial_images"] = f"{self.partial_images!r}: must be 0 to 3"
        if not _is_number(self.timeout) or not 0 < self.timeout <= MAX_TIMEOUT:
            errs["timeout"] = (
                f"{self.timeout!r}: must be more than 0 and at most {MAX_TIMEOUT:g} seconds"
            )
        bad_header = _first_bad_header(self.headers)
        if bad_header:
            errs["headers"] = bad_header[1]
        for name, value in self.query.items():
            if not isinstance(name, str) or not name.strip() or not isinstance(value, str):
                errs["query"] = (
                    f"{name!r}: query parameters need a non-empty name and a string value"
                )
                break
        return errs

    # -- secrets -----------------------------------------------------------------------

    @property
    def key_reference(self) -> str | None:
        """The variable name when `api_key` is a `${VAR}` reference, else None."""
        m = _REF_RE.match(self.api_key)
        return m.group(1) if m else None

    def resolve_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The key to send: `${VAR}` -> that variable (None when unset or empty, with no
        fallback to any other variable); a literal -> itself; "" -> None."""
        env = os.environ if environ is None else environ
        ref = self.key_reference
        if ref is not None:
            return env.get(ref) or None
        return self.api_key or None

    def missing_env(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """Environment variables this profile refers to (key or headers) that are unset."""
        env = os.environ if environ is None else environ
        names = [self.key_reference] if self.key_reference else []
        for value in self.headers.values():
            names.extend(_REF_ANY_RE.findall(value))
        return list(dict.fromkeys(n for n in names if not env.get(n)))

    def masked_key(self) -> str:
        """The key as it may be shown: never more than its last 4 characters."""
        if not self.api_key or self.key_reference:
            return self.api_key  # "" or "${VAR}": not secret
        return _mask(self.api_key)

    def key_status(self, environ: Mapping[str, str] | None = None) -> str:
        """One short line for the UI: "none", "set (sk-…abcd)", "${VAR} → set", "${VAR} → not set"."""
        if not self.api_key:
            return "none"
        if self.key_reference:
            state = "set" if self.resolve_key(environ) else "not set"
            return f"{self.api_key} → {state}"
        return f"set ({self.masked_key()})"

    # -- use ---------------------------------------------------------------------------

    @property
    def is_demo(self) -> bool:
        return self.base_url == DEMO_URL

    def connection(
        self, demo_base_url: str | None = None, environ: Mapping[str, str] | None = None
    ) -> Connection:
        """The resolved connection: the one place where `${VAR}` references are read.

        A demo profile needs `demo_base_url` (the caller starts the demo server). A header
        whose value refers to an unset variable is left out rather than sent half-filled;
        `missing_env()` lets the caller warn about it first.
        """
        base_url = self.base_url
        if self.is_demo:
            if not demo_base_url:
                raise ValueError(
                    f"profile {self.name!r} uses the demo server: start it and pass demo_base_url"
                )
            base_url = demo_base_url
        env = os.environ if environ is None else environ
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            resolved = _interpolate(value, env)
            if resolved is not None:
                headers[name] = resolved
        return Connection(
            base_url=base_url.rstrip("/"),
            api_key=self.resolve_key(env),
            api_mode=self.api_mode,  # type: ignore[arg-type]  # validated by errors()
            mainline_model=self.mainline_model,
            timeout=float(self.timeout),
            headers=headers,
            query=dict(self.query),
        )

    def __repr__(self) -> str:  # never leak the key through a repr in a log or traceback
        key = "none" if not self.api_key else (self.api_key if self.key_reference else "set")
        return (
            f"Profile(name={self.name!r}, base_url={self.base_url!r}, api_key=<{key}>, "
            f"api_mode={self.api_mode!r}, model={self.model!r})"
        )


@dataclass
class Settings:
    """App-wide settings and the composer's defaults."""

    active_profile: str | None = None
    renderer: str = "auto"  # auto | halfcell | unicode | sixel | tgp
    output_dir: str | None = None  # default folder for "save"
    size: str = "auto"
    quality: str = "auto"
    n: int = 1
    output_format: str = "png"

    def errors(self) -> dict[str, str]:
        errs: dict[str, str] = {}
        if self.active_profile is not None and (
            not isinstance(self.active_profile, str) or not self.active_profile
        ):
            errs["active_profile"] = "must be a profile name"
        if self.renderer not in RENDERERS:
            errs["renderer"] = f"{self.renderer!r}: must be one of {', '.join(RENDERERS)}"
        if self.output_dir is not None and (
            not isinstance(self.output_dir, str) or not self.output_dir.strip()
        ):
            errs["output_dir"] = "must be a folder path (or left out)"
        try:
            parse_size(self.size)
        except (RequestError, AttributeError) as exc:
            errs["size"] = exc.message if isinstance(exc, RequestError) else "must be a string"
        if not isinstance(self.quality, str) or not self.quality.strip():
            errs["quality"] = "is empty (use 'auto')"
        if not _is_int(self.n) or not 1 <= self.n <= 10:
            errs["n"] = f"{self.n!r}: must be 1 to 10"
        if self.output_format not in FORMATS:
            errs["output_format"] = f"{self.output_format!r}: must be one of {', '.join(FORMATS)}"
        return errs

    @property
    def output_path(self) -> Path | None:
        return Path(self.output_dir).expanduser() if self.output_dir else None


@dataclass
class Config:
    """The whole file: where it lives, its profiles (in order) and its settings.

    The mutators keep the invariants (valid profiles, unique names, an `active_profile`
    that follows renames); they do not save: call `save(config)`.
    """

    path: Path
    profiles: list[Profile] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)

    def active(self) -> Profile:
        """The chosen profile, else the first, else one from $OPENAI_API_KEY, else the demo."""
        chosen = self.get(self.settings.active_profile) if self.settings.active_profile else None
        if chosen is not None:
            return chosen
        if self.profiles:
            return self.profiles[0]
        return env_profile() or demo_profile()

    def get(self, name: str | None) -> Profile | None:
        return next((p for p in self.profiles if p.name == name), None)

    def names(self) -> list[str]:
        return [p.name for p in self.profiles]

    def set_active(self, name: str) -> None:
        if self.get(name) is None:
            raise KeyError(name)
        self.settings.active_profile = name

    def add(self, profile: Profile) -> None:
        """Append a profile. ValueError if invalid or its name is taken."""
        _check_valid(profile)
        if self.get(profile.name) is not None:
            raise ValueError(f"a profile named {profile.name!r} already exists")
        self.profiles.append(profile)

    def remove(self, name: str) -> None:
        profile = self.get(name)
        if profile is None:
            raise KeyError(name)
        self.profiles.remove(profile)
        if self.settings.active_profile == name:
            self.settings.active_profile = None

    def move(self, name: str, delta: int) -> None:
        """Move a profile `delta` places (negative: up), clamped to the list."""
        profile = self.get(name)
        if profile is None:
            raise KeyError(name)
        i = self.profiles.index(profile)
        j = max(0, min(len(self.profiles) - 1, i + delta))
        self.profiles.insert(j, self.profiles.pop(i))

    def replace(self, old_name: str, profile: Profile) -> None:
        """Swap a profile for an edited one in place; a rename carries the active choice."""
        old = self.get(old_name)
        if old is None:
            raise KeyError(old_name)
        _check_valid(profile)
        if profile.name != old_name and self.get(profile.name) is not None:
            raise ValueError(f"a profile named {profile.name!r} already exists")
        self.profiles[self.profiles.index(old)] = profile
        if self.settings.active_profile == old_name:
            self.settings.active_profile = profile.name


def _check_valid(profile: Profile) -> None:
    errs = profile.errors()
    if errs:
        raise ValueError("; ".join(f"{k}: {v}" for k, v in errs.items()))


# --------------------------------------------------------------------------------------
# Where files live
# --------------------------------------------------------------------------------------


def config_path() -> Path:
    """$IMGTUI_CONFIG_FILE, else the platform config dir (XDG_CONFIG_HOME on Linux)."""
    override = os.environ.get("IMGTUI_CONFIG_FILE")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def data_dir() -> Path:
    """$IMGTUI_DATA_DIR, else the platform data dir (XDG_DATA_HOME on Linux)."""
    override = os.environ.get("IMGTUI_DATA_DIR")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_data_path(APP_NAME)


# --------------------------------------------------------------------------------------
# Built-in profiles
# --------------------------------------------------------------------------------------


def demo_profile() -> Profile:
    """The embedded demo server: works offline, costs nothing."""
    return Profile("Demo", DEMO_URL, model="gpt-image-1", partial_images=3)


def env_profile(environ: Mapping[str, str] | None = None) -> Profile | None:
    """A profile for $OPENAI_API_KEY when it is set. It stores the reference, not the key.

    (`environ` defaults to None, not os.environ: help() and signature renderers show
    defaults, and os.environ's repr would print every key in the environment.)
    """
    environ = os.environ if environ is None else environ
    if not environ.get("OPENAI_API_KEY"):
        return None
    base_url = (environ.get("OPENAI_BASE_URL") or "").strip() or OPENAI_BASE_URL
    return Profile("OpenAI", base_url=base_url, api_key="${OPENAI_API_KEY}")


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


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------

# What each key may hold. The one declaration of the file's shape; a test checks that it
# covers every dataclass field.
_PROFILE_SCHEMA: dict[str, str] = {
    "name": "str",
    "base_url": "str",
    "api_key": "str",
    "api_mode": "str",
    "model": "str",
    "mainline_model": "str",
    "stream": "bool",
    "partial_images": "int",
    "timeout": "number",
    "headers": "strtable",
    "query": "strtable",
}
_PROFILE_REQUIRED = ("name", "base_url")
_SETTINGS_SCHEMA: dict[str, str] = {
    "active_profile": "str",
    "renderer": "str",
    "output_dir": "str",
    "size": "str",
    "quality": "str",
    "n": "int",
    "output_format": "str",
}
_TOP_LEVEL = ("settings", "profiles")
_KIND_WORDS = {
    "str": "a string",
    "bool": "true or false",
    "int": "a whole number",
    "number": "a number",
    "strtable": "a table of strings",
}


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
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(path, line, None, "not valid UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, message = _decode_error_position(exc)
        raise ConfigError(path, line, None, f"not valid TOML: {message}") from None
    return _Reader(path, text).config(data)


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
        values = self.typed(("settings",), raw, _SETTINGS_SCHEMA)
        settings = Settings(**values)
        for key, message in settings.errors().items():
            raise self.fail(("settings", key), message)
        return settings

    def profile(self, i: int, raw: dict[str, Any]) -> Profile:
        where: tuple[str | int, ...] = ("profiles", i)
        values = self.typed(where, raw, _PROFILE_SCHEMA)
        for key in _PROFILE_REQUIRED:
            if key not in values:
                raise self.fail(where, f"missing required key {key!r}")
        if "timeout" in values:
            values["timeout"] = float(values["timeout"])
        profile = Profile(**values)
        for key, message in profile.errors().items():
            bad_header = _first_bad_header(profile.headers) if key == "headers" else None
            raise self.fail((*where, key, bad_header[0]) if bad_header else (*where, key), message)
        return profile

    def typed(
        self, where: tuple[str | int, ...], raw: dict[str, Any], schema: dict[str, str]
    ) -> dict[str, Any]:
        """Check every key is known and of its declared kind."""
        for key, value in raw.items():
            kind = schema.get(key)
            if kind is None:
                raise self.fail((*where, key), _unknown(key, schema))
            if not _has_kind(value, kind):
                raise self.fail(
                    (*where, key), f"must be {_KIND_WORDS[kind]}, not {_toml_type(value)}"
                )
            if kind == "strtable":
                for sub, subvalue in value.items():
                    if not isinstance(subvalue, str):
                        raise self.fail(
                            (*where, key, sub),
                            f"must be a string, not {_toml_type(subvalue)} (quote it)",
                        )
        return dict(raw)


def _has_kind(value: object, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return _is_int(value)
    if kind == "number":
        return _is_number(value)
    if kind == "strtable":
        return isinstance(value, dict)
    raise AssertionError(kind)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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
    """The file's text. Every profile field is written, so a default that changes in a
    later version does not silently change an existing profile."""
    doc: dict[str, Any] = {"settings": _settings_table(config.settings)}
    if config.profiles:
        doc["profiles"] = [_profile_table(p) for p in config.profiles]
    return _FILE_HEADER + tomli_w.dumps(doc)


def _settings_table(s: Settings) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for f in fields(Settings):
        value = getattr(s, f.name)
        if value is not None:  # TOML has no null: an absent key is None
            table[f.name] = value
    return table


def _profile_table(p: Profile) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for f in fields(Profile):
        value = getattr(p, f.name)
        if f.name == "timeout":
            value = int(value) if float(value).is_integer() else float(value)
        if f.name in ("headers", "query"):
            if not value:
                continue
            value = dict(value)
        table[f.name] = value
    return table


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


# --------------------------------------------------------------------------------------
# Share links (gpt_image_playground format)
# --------------------------------------------------------------------------------------
#
# Read by the playground's `buildSettingsFromUrlParams` (src/lib/urlSettings.ts):
#   apiUrl               base URL; normalised to end at ".../v1" (normalizeBaseUrl in
#                        src/lib/devProxy.ts: "https://" added when no scheme, the path cut
#                        after its "v1" segment or "/v1" appended)
#   apiKey               the key, only when the sharer chose to include it
#   apiMode              "images" | "responses" (else ignored there; an error here)
#   model                the profile's model: the image model in images mode, the mainline
#                        model in responses mode (the playground defaults it to gpt-5.5)
#   profileName          the profile's name
#   streamImages         "true" / "false" (String(Boolean(x)))
#   streamPartialImages  "0".."3"
# Written by the settings modal's `createProfileImportUrl`: the playground's own page URL
# with those params, in that order, e.g. (README)
#   https://gpt-image-playground.cooksleep.dev/?apiUrl=https%3A%2F%2Fcode0.ai%2Fv1&apiMode=images&profileName=Code0
# The playground leaves out the stream params when they equal its defaults, and those
# defaults have changed between its versions; we always write them, so the link means the
# same thing in every version.

_SHARE_PLACEHOLDERS = ("{address}", "{key}", "{model}")


def profile_from_share_url(url: str, existing_names: Iterable[str] = ()) -> Profile:
    """A new profile from a playground share link (any host or path; params in the query
    or after `#`) or a bare query string. Unknown params are ignored; an invalid value
    raises ShareUrlError and nothing is created. The name is made unique against
    `existing_names` ("Name (2)")."""
    params = _share_params(url)
    for key in (
        "apiUrl",
        "apiKey",
        "model",
    ):  # the fields the playground's template links leave open
        value = params.get(key, "")
        if any(ph in value for ph in _SHARE_PLACEHOLDERS):
            raise ShareUrlError(
                f"{key} holds a template placeholder ({value}): this is a template link, fill it in first"
            )

    api_url = params.get("apiUrl", "").strip()
    if not api_url:
        if "settings" in params:
            raise ShareUrlError(
                "this link carries a custom-provider settings block, which imgtui cannot import"
            )
        raise ShareUrlError("the link has no apiUrl parameter")
    base_url = _normalize_share_base_url(api_url)

    api_mode = params.get("apiMode", "images").strip()
    if api_mode not in API_MODES:
        raise ShareUrlError(f"apiMode={api_mode!r}: must be images or responses")

    stream = True  # imgtui's default when the link does not say
    if "streamImages" in params:
        word = params["streamImages"].strip().lower()
        if word not in ("true", "false"):
            raise ShareUrlError(f"streamImages={params['streamImages']!r}: must be true or false")
        stream = word == "true"

    partial_images = 2
    if "streamPartialImages" in params:
        raw = params["streamPartialImages"].strip()
        if not re.fullmatch(r"[0-3]", raw):
            raise ShareUrlError(
                f"streamPartialImages={params['streamPartialImages']!r}: must be 0, 1, 2 or 3"
            )
        partial_images = int(raw)

    profile = Profile(
        name="",
        base_url=base_url,
        api_key=params.get("apiKey", "").strip(),
        api_mode=api_mode,
        stream=stream,
        partial_images=partial_images,
    )
    model = params.get("model", "").strip()
    if model:
        if api_mode == "responses":
            profile.mainline_model = model
        else:
            profile.model = model
    wanted = params.get("profileName", "").strip() or (urlsplit(base_url).hostname or "Imported")
    profile.name = _unique_name(wanted[:MAX_NAME], existing_names)

    errs = profile.errors()
    if errs:
        field_name, message = next(iter(errs.items()))
        raise ShareUrlError(f"{field_name}: {message}")
    return profile


def profile_to_share_url(
    profile: Profile, include_key: bool = False, base: str = SHARE_URL_BASE
) -> str:
    """A playground share link for this profile; the key only when `include_key` (a
    `${VAR}` reference is resolved then, since a link cannot refer to your environment).

    Headers, query parameters and the timeout have no place in the format: see
    `share_url_losses()`."""
    if profile.is_demo:
        raise ShareUrlError("the demo profile runs inside imgtui and cannot be shared")
    if _base_url_problem(profile.base_url):
        raise ShareUrlError(f"base_url: {_base_url_problem(profile.base_url)}")
    pairs: list[tuple[str, str]] = [("apiUrl", profile.base_url.rstrip("/"))]
    if include_key and profile.api_key:
        key = profile.resolve_key()
        if key is None:
            raise ShareUrlError(f"{profile.api_key} is not set, so there is no key to include")
        pairs.append(("apiKey", key))
    model = profile.mainline_model if profile.api_mode == "responses" else profile.model
    pairs += [
        ("apiMode", profile.api_mode),
        ("model", model),
        ("profileName", profile.name.strip()),
        ("streamImages", "true" if profile.stream else "false"),
        ("streamPartialImages", str(profile.partial_images)),
    ]
    # urlencode's quote_plus matches URLSearchParams: spaces as "+", ":" and "/" escaped.
    return base.split("?", 1)[0].split("#", 1)[0] + "?" + urlencode(pairs)


def share_url_losses(profile: Profile) -> list[str]:
    """What a share link of this profile would not carry, for a warning before copying."""
    losses = []
    if profile.headers:
        losses.append("extra headers")
    if profile.query:
        losses.append("extra query parameters")
    if profile.timeout != Profile.timeout:
        losses.append("the timeout")
    if profile.api_mode == "responses" and profile.model != Profile.model:
        losses.append("the image model (the link's model is the mainline model in responses mode)")
    if profile.api_mode == "images" and profile.mainline_model != Profile.mainline_model:
        losses.append("the mainline model")
    return losses


def _share_params(url: str) -> dict[str, str]:
    """Query params from a full URL (query and fragment) or a bare query string; the first
    value of a repeated param wins, as with URLSearchParams.get()."""
    text = url.strip()
    if not text:
        raise ShareUrlError("the link is empty")
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if scheme:
        if scheme.group(1).lower() not in ("http", "https"):
            raise ShareUrlError(f"not a web link: {scheme.group(1)}://…")
        parts = urlsplit(text)
        fragment = parts.fragment
        # params may also follow the "#" of a hash-routed page: "#/?a=b" or "#a=b"
        sources = [parts.query, fragment.split("?", 1)[1] if "?" in fragment else fragment]
    else:
        head, mark, tail = text.partition("?")
        if mark and "=" not in head:
            sources = [tail]  # a link typed without its scheme: "host/path?apiUrl=…"
        else:
            sources = [text.lstrip("?#")]  # a bare query string: "apiUrl=…&apiMode=…"
    params: dict[str, str] = {}
    for source in sources:
        for key, value in parse_qsl(source, keep_blank_values=True):
            params.setdefault(key, value)
    return params


def _normalize_share_base_url(api_url: str) -> str:
    """The playground's normalizeBaseUrl, plus the "/v1" its request builder adds to a bare
    origin, so requests go where the playground would send them."""
    text = api_url if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", api_url) else "https://" + api_url
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise ShareUrlError(f"apiUrl={api_url!r}: must be an http:// or https:// address")
    try:
        parts.port  # noqa: B018  # raises ValueError on a malformed port
        host_ok = bool(parts.hostname)
    except ValueError:
        host_ok = False
    if not host_ok or any(c.isspace() for c in api_url):
        raise ShareUrlError(f"apiUrl={api_url!r}: not a valid address")
    segments = [s for s in parts.path.split("/") if s]
    segments = segments[: segments.index("v1") + 1] if "v1" in segments else [*segments, "v1"]
    return f"{parts.scheme.lower()}://{parts.netloc}/" + "/".join(segments)


def _unique_name(name: str, existing: Iterable[str]) -> str:
    taken = set(existing)
    if name not in taken:
        return name
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def _base_url_problem(url: object) -> str | None:
    if url == DEMO_URL:
        return None
    if not isinstance(url, str) or not url.strip():
        return "is empty"
    if any(c.isspace() for c in url):
        return "contains whitespace"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return (
            f"{url!r}: must start with http:// or https:// (or be {DEMO_URL!r} for the demo server)"
        )
    try:
        parts.port  # noqa: B018  # raises ValueError on a malformed port
    except ValueError:
        return f"{url!r}: invalid port"
    if not parts.hostname:
        return f"{url!r}: has no host"
    if parts.query or parts.fragment:
        return "must not contain ?query or #fragment (put query parameters in [profiles.query])"
    return None


def _first_bad_header(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """(name, message) for the first header that cannot be sent, else None."""
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME_RE.match(name):
            return str(name), f"{name!r} is not a valid HTTP header name"
        if not isinstance(value, str) or "\r" in value or "\n" in value:
            return name, f"{name}: the value must be a one-line string"
    return None


def _mask(key: str) -> str:
    """ "sk-proj-abc…wxyz" -> "sk-…wxyz"; short keys show nothing of themselves."""
    prefix = "sk-" if key.startswith("sk-") else ""
    tail = key[-4:] if len(key) >= 12 else ""
    return f"{prefix}…{tail}"


def _interpolate(value: str, env: Mapping[str, str]) -> str | None:
    """Replace each ${VAR}; None when any of them is unset (never a partial value)."""
    missing = False

    def sub(m: re.Match[str]) -> str:
        nonlocal missing
        found = env.get(m.group(1))
        if not found:
            missing = True
            return ""
        return found

    out = _REF_ANY_RE.sub(sub, value)
    return None if missing else out
