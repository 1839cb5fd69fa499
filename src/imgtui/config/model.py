"""The config's data model: Profile, Settings and Config, and the ONE table of their fields.

Each profile field is declared once, as a line of the `Profile` dataclass whose default is
`spec(default, label, help, ...)`: its type (the annotation), default, label, help text,
validation, kind of value and form grouping. `PROFILE_FIELDS` is read from that table, and
everything else is derived from it: `Profile.errors()`, the strict TOML reader and writer
(`toml_file`), the settings form (`imgtui.tui.screens.settings`), share links (`share`,
for the fields the playground has) and the CLI's profile flags (`cli_flags()`). A new
field is one line here. `Settings` follows the same pattern with `SETTINGS_FIELDS`.

Values move between three forms: Python values (here), TOML values (`Kind.to_toml`,
`Kind.from_toml`) and one-line or multi-line text typed by a user in the form or on the
command line (`Kind.to_text`, `Kind.from_text`).

No Textual, no file system access here (the paths are in `paths`, the file in `toml_file`).
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from imgtui.api.request import API_MODES, FORMATS, Connection, RequestError, parse_size
from imgtui.config import secrets
from imgtui.models.catalog import DEFAULT_MODEL
from imgtui.models.prices import RATE_KEYS

__all__ = [
    "DEMO_URL",
    "MAX_NAME",
    "MAX_TIMEOUT",
    "OPENAI_BASE_URL",
    "PRICE_RATES",
    "PROFILE_FIELDS",
    "REASONING_EFFORTS",
    "RENDERERS",
    "SETTINGS_FIELDS",
    "TRANSPARENT_METHODS",
    "CliFlag",
    "Config",
    "FieldSpec",
    "Kind",
    "Profile",
    "Settings",
    "apply_flags",
    "base_url_problem",
    "cli_flags",
    "demo_profile",
    "env_profile",
    "format_pairs",
    "parse_pairs",
    "profile_field",
]

DEMO_URL = "demo:"  # base_url sentinel: the embedded demo server, started lazily by the caller
RENDERERS: tuple[str, ...] = ("auto", "halfcell", "unicode", "sixel", "tgp")
OPENAI_BASE_URL = "https://api.openai.com/v1"
MAX_TIMEOUT = 3600.0  # seconds: the read timeout's ceiling
MAX_DEADLINE = 86400.0  # seconds: one day
MAX_CONCURRENT = 32
MAX_NAME = 80
TRANSPARENT_METHODS: tuple[str, ...] = ("native", "local")
# The Responses API's `reasoning.effort` values (OPENAI-IMAGES.md); "" leaves it to the model.
REASONING_EFFORTS: tuple[str, ...] = (
    "",
    "none",
    "minimal",
    "low",
    "medium",
    "high",
    "xhigh",
    "max",
)
# Token rates a price override may set, in USD per 1M tokens (the columns of the price
# table in OPENAI-IMAGES.md section 7): the price table's own names, so an override the
# config accepts is one the price table reads.
PRICE_RATES: tuple[str, ...] = RATE_KEYS

_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 token
_PARAM_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


# --------------------------------------------------------------------------------------
# Kinds of value
# --------------------------------------------------------------------------------------


class Kind:
    """How one kind of value is checked, written to TOML, and typed as text.

    `accepts(v)` checks the Python/TOML type only; `words` names it in errors ("a whole
    number"). `from_text` raises ValueError with a message fit for the user.
    """

    words = "a value"
    input_type = "text"  # how a form types it: text | integer | number
    multiline = False  # typed in a multi-line box

    def accepts(self, value: object) -> bool:
        raise NotImplementedError

    def from_toml(self, value: Any) -> Any:
        return value

    def to_toml(self, value: Any) -> Any:
        """The TOML value, or None to leave the key out (TOML has no null)."""
        return value

    def to_text(self, value: Any) -> str:
        return "" if value is None else str(value)

    def from_text(self, text: str) -> Any:
        return text.strip()


class _Str(Kind):
    words = "a string"

    def accepts(self, value: object) -> bool:
        return isinstance(value, str)


class _OptStr(_Str):
    """A string, or None (an absent key)."""

    def accepts(self, value: object) -> bool:
        return value is None or isinstance(value, str)

    def from_text(self, text: str) -> str | None:
        return text.strip() or None


class _Bool(Kind):
    words = "true or false"
    _WORDS = {"true": True, "on": True, "yes": True, "1": True}
    _WORDS_OFF = {"false": False, "off": False, "no": False, "0": False}

    def accepts(self, value: object) -> bool:
        return isinstance(value, bool)

    def to_text(self, value: Any) -> str:
        return "true" if value else "false"

    def from_text(self, text: str) -> bool:
        word = text.strip().lower()
        if word in self._WORDS:
            return True
        if word in self._WORDS_OFF:
            return False
        raise ValueError("must be true or false")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


class _Int(Kind):
    words = "a whole number"
    input_type = "integer"

    def accepts(self, value: object) -> bool:
        return _is_int(value)

    def from_text(self, text: str) -> int:
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError("must be a whole number") from None


class _Number(Kind):
    """Seconds, dollars: stored as float; written as an integer when it is one."""

    words = "a number"
    input_type = "number"

    def accepts(self, value: object) -> bool:
        return _is_number(value)

    def from_toml(self, value: Any) -> Any:
        return float(value)

    def to_toml(self, value: Any) -> Any:
        return int(value) if float(value).is_integer() else float(value)

    def to_text(self, value: Any) -> str:
        return f"{value:g}"

    def from_text(self, text: str) -> Any:
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError("must be a number") from None
        if not math.isfinite(value):
            raise ValueError("must be a number")
        return value


class _OptNumber(_Number):
    words = "a number (or left out)"

    def accepts(self, value: object) -> bool:
        return value is None or _is_number(value)

    def from_toml(self, value: Any) -> float | None:
        return None if value is None else float(value)

    def to_toml(self, value: Any) -> Any:
        return None if value is None else super().to_toml(value)

    def to_text(self, value: Any) -> str:
        return "" if value is None else super().to_text(value)

    def from_text(self, text: str) -> float | None:
        return super().from_text(text) if text.strip() else None


def format_pairs(pairs: Mapping[str, str]) -> str:
    """`{"a": "1"}` -> `"a: 1"` lines, as typed in the headers and query boxes."""
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


class _StrTable(Kind):
    """A TOML table of strings; typed as `name: value` lines."""

    words = "a table of strings"
    multiline = True

    def accepts(self, value: object) -> bool:
        return isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        )

    def from_toml(self, value: Any) -> dict[str, str]:
        return dict(value)

    def to_toml(self, value: Any) -> Any:
        return dict(value) if value else None

    def to_text(self, value: Any) -> str:
        return format_pairs(value)

    def from_text(self, text: str) -> dict[str, str]:
        pairs, problem = parse_pairs(text)
        if problem:
            raise ValueError(problem)
        return pairs


class _StrList(Kind):
    """A TOML array of strings; typed comma-separated."""

    words = "an array of strings"

    def accepts(self, value: object) -> bool:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)

    def from_toml(self, value: Any) -> list[str]:
        return list(value)

    def to_toml(self, value: Any) -> Any:
        return list(value)

    def to_text(self, value: Any) -> str:
        return ", ".join(value)

    def from_text(self, text: str) -> list[str]:
        return [part.strip() for part in re.split(r"[,\s]+", text) if part.strip()]


class _PriceTable(Kind):
    """`{model: {rate: USD per 1M tokens}}`; typed as `model: rate=N, rate=N` lines."""

    words = "a table of per-model token rates"
    multiline = True

    def accepts(self, value: object) -> bool:
        return isinstance(value, dict) and all(
            isinstance(model, str) and isinstance(rates, dict) for model, rates in value.items()
        )

    def from_toml(self, value: Any) -> dict[str, dict[str, float]]:
        return {
            model: {k: float(v) if _is_number(v) else v for k, v in rates.items()}
            for model, rates in value.items()
        }

    def to_toml(self, value: Any) -> Any:
        if not value:
            return None
        return {
            model: {k: int(v) if float(v).is_integer() else v for k, v in rates.items()}
            for model, rates in value.items()
        }

    def to_text(self, value: Any) -> str:
        return "\n".join(
            f"{model}: " + ", ".join(f"{k}={v:g}" for k, v in rates.items())
            for model, rates in value.items()
        )

    def from_text(self, text: str) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            model, colon, rest = line.partition(":")
            model = model.strip()
            if not colon or not model:
                raise ValueError(f"line {lineno}: expected `model: rate=N, ...`")
            rates: dict[str, float] = {}
            for item in (p.strip() for p in rest.split(",")):
                if not item:
                    continue
                name, eq, number = item.partition("=")
                try:
                    rates[name.strip()] = float(number) if eq else float("nan")
                except ValueError:
                    rates[name.strip()] = float("nan")
                if not eq or not math.isfinite(rates[name.strip()]):
                    raise ValueError(f"line {lineno}: {item!r} is not `rate=number`")
            out[model] = rates
        return out


STR, OPT_STR, BOOL, INT, NUMBER, OPT_NUMBER = (
    _Str(),
    _OptStr(),
    _Bool(),
    _Int(),
    _Number(),
    _OptNumber(),
)
STR_TABLE, STR_LIST, PRICE_TABLE = _StrTable(), _StrList(), _PriceTable()


# --------------------------------------------------------------------------------------
# The field table
# --------------------------------------------------------------------------------------

Check = Callable[[Any], "str | tuple[str, str] | None"]


@dataclass(frozen=True)
class FieldSpec:
    """One field of the table.

    `check(value)` returns None when the value is valid, else a message, or (sub-key,
    message) to point into a table. `choices`: the only values allowed (a select in the
    form). `applies(profile)`: whether the field matters for the profile as it stands
    (the form disables it otherwise). `group`: the form section it belongs to. `cli`:
    whether `cli_flags()` offers it. `share`: the gpt_image_playground share-link
    parameter that carries it ("" when links cannot; `model` carries the image model in
    images mode and the mainline model in responses mode).
    """

    name: str
    kind: Kind
    default: Any
    label: str
    help: str
    check: Check | None = None
    choices: tuple[str, ...] = ()
    required: bool = False
    secret: bool = False
    group: str = ""
    applies: Callable[[Any], bool] | None = None
    cli: bool = True
    share: str = ""

    def default_value(self) -> Any:
        """A fresh default (lists and tables are copied)."""
        return (
            type(self.default)(self.default)
            if isinstance(self.default, (dict, list))
            else self.default
        )

    def problem(self, value: object) -> str | tuple[str, str] | None:
        """What is wrong with `value` for this field (type, choices, then `check`)."""
        if not self.kind.accepts(value):
            return f"must be {self.kind.words}"
        if self.choices and value not in self.choices:
            shown = ", ".join(c for c in self.choices if c)
            return f"{value!r}: must be one of {shown}"
        return self.check(value) if self.check is not None else None


def spec(
    default: Any,
    label: str,
    help: str,
    *,
    kind: Kind,
    check: Check | None = None,
    choices: tuple[str, ...] = (),
    required: bool = False,
    secret: bool = False,
    group: str = "",
    applies: Callable[[Any], bool] | None = None,
    cli: bool = True,
    share: str = "",
) -> Any:
    """A dataclass field carrying its FieldSpec (without its name, filled in from the class)."""
    meta = {
        "spec": dict(
            kind=kind,
            default=default,
            label=label,
            help=help,
            check=check,
            choices=choices,
            required=required,
            secret=secret,
            group=group,
            applies=applies,
            cli=cli,
            share=share,
        )
    }
    if isinstance(default, (dict, list)):
        factory = type(default)
        return field(default_factory=lambda: factory(default), metadata=meta)
    return field(default=default, metadata=meta)


def _specs(cls: type) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(name=f.name, **f.metadata["spec"]) for f in fields(cls))


# -- checks ------------------------------------------------------------------------------


def _has_controls(value: str) -> bool:
    """C0/C1 control characters (escape sequences, bells): never in a name, model or URL,
    which are shown on terminals and may come from a share link."""
    return any(unicodedata.category(c) == "Cc" for c in value)


def _name_problem(value: str) -> str | None:
    if not value.strip():
        return "is empty"
    if _has_controls(value.replace("\t", "")):
        return "must not contain control characters"
    if len(value) > MAX_NAME or any(c in value for c in "\r\n\t"):
        return f"must be one line of at most {MAX_NAME} characters"
    return None


def _provider_problem(value: str) -> str | None:
    if not value.strip():
        return "is empty (use openai)"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value):
        return "must be a provider id: letters, digits, '.', '_' or '-'"
    return None


def _not_empty(value: str) -> str | None:
    if not value.strip():
        return "is empty"
    return "must not contain control characters" if _has_controls(value) else None


def _plain_text(value: str) -> str | None:
    return "must not contain control characters" if _has_controls(value) else None


def base_url_problem(url: object) -> str | None:
    """Why `url` cannot be a profile's base URL, or None. A `user:pass@` part is refused:
    credentials belong in the key or headers, where they are kept out of links and logs."""
    if url == DEMO_URL:
        return None
    if not isinstance(url, str) or not url.strip():
        return "is empty"
    if any(c.isspace() for c in url) or _has_controls(url):
        return "contains whitespace or control characters"
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
    if "@" in parts.netloc:
        return "must not contain user:password@ (put credentials in the API key or a header)"
    if parts.query or parts.fragment:
        return "must not contain ?query or #fragment (put query parameters in [profiles.query])"
    return None


def _api_key_problem(value: str) -> str | None:
    if value.startswith("${") and not secrets.REFERENCE_RE.match(value):
        return "looks like an environment reference but is not of the form ${VAR_NAME}"
    if any(c.isspace() for c in value):
        return "contains whitespace"
    return None


def _partials_problem(value: int) -> str | None:
    return None if 0 <= value <= 3 else f"{value!r}: must be 0 to 3"


def _timeout_problem(value: float) -> str | None:
    if 0 < value <= MAX_TIMEOUT:
        return None
    return f"{value!r}: must be more than 0 and at most {MAX_TIMEOUT:g} seconds"


def _deadline_problem(value: float) -> str | None:
    if 0 < value <= MAX_DEADLINE:
        return None
    return f"{value!r}: must be more than 0 and at most {MAX_DEADLINE:g} seconds"


def _concurrency_problem(value: int) -> str | None:
    return None if 1 <= value <= MAX_CONCURRENT else f"{value!r}: must be 1 to {MAX_CONCURRENT}"


def _limit_problem(value: float | None) -> str | None:
    return None if value is None or value > 0 else f"{value!r}: must be more than 0 (or left out)"


def first_bad_header(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """(name, message) for the first header that cannot be sent, else None."""
    for name, value in headers.items():
        if not _HEADER_NAME_RE.match(name):
            return name, f"{name!r} is not a valid HTTP header name"
        if "\r" in value or "\n" in value:
            return name, f"{name}: the value must be a one-line string"
    return None


def _query_problem(query: Mapping[str, str]) -> tuple[str, str] | None:
    for name, value in query.items():
        if not name.strip() or "\n" in value or "\r" in value:
            return name, f"{name!r}: query parameters need a non-empty name and a one-line value"
    return None


def _omit_problem(names: list[str]) -> str | None:
    for name in names:
        if not _PARAM_NAME_RE.match(name):
            return f"{name!r} is not a request parameter name (lower case, e.g. size, quality)"
    if len(set(names)) != len(names):
        return "a parameter is listed twice"
    return None


def _prices_problem(prices: Mapping[str, Mapping[str, object]]) -> tuple[str, str] | None:
    for model, rates in prices.items():
        if not model.strip():
            return model, "needs a model name"
        for rate, value in rates.items():
            if rate not in PRICE_RATES:
                return model, f"{rate!r}: unknown rate (known: {', '.join(PRICE_RATES)})"
            if not _is_number(value) or float(value) < 0:  # type: ignore[arg-type]
                return model, f"{rate}: must be a number of USD per 1M tokens, at least 0"
    return None


def _responses(profile: Any) -> bool:
    return getattr(profile, "api_mode", "images") == "responses"


def _streams(profile: Any) -> bool:
    return bool(getattr(profile, "stream", True))


PARTIALS_HELP = (
    "Each partial preview costs about 100 extra output tokens. Partials also keep proxies "
    "from cutting long requests: the stream keeps sending data while the image forms."
)


# --------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------


@dataclass
class Profile:
    """One OpenAI-compatible endpoint and how to talk to it. Each field is one line of the
    table: `PROFILE_FIELDS` is read from here."""

    # fmt: off
    name: str = spec("", "Name", "A name of your choice, shown in the profile picker and in the history.", kind=STR, check=_name_problem, required=True, group="connection", cli=False, share="profileName")
    base_url: str = spec("", "Base URL", f"The API root, usually ending in /v1 (https://api.openai.com/v1); used as written. {DEMO_URL} is the built-in demo server.", kind=STR, check=base_url_problem, required=True, group="connection", share="apiUrl")
    api_key: str = spec("", "API key", "Paste a key (kept in config.toml, readable only by you), or write ${VAR} to read it from an environment variable when a request is made. Empty: no Authorization header.", kind=STR, check=_api_key_problem, secret=True, group="connection", share="apiKey")
    provider: str = spec("openai", "Provider", "openai: the OpenAI-compatible Images/Responses API (streaming). sub2api-async: submit to images/*/async and poll images/tasks/{id}. fal: the fal.ai queue (base URL https://queue.fal.run, model e.g. openai/gpt-image-2). Any other value: the id of a custom provider imported with `imgtui providers import FILE` (a gpt_image_playground manifest).", kind=STR, check=_provider_problem, group="connection")
    api_mode: str = spec("images", "API mode", "Images API: POST /images/generations and /images/edits. Responses API: POST /responses with the image_generation tool, called by a mainline model.", kind=STR, choices=API_MODES, group="models", share="apiMode")
    model: str = spec(DEFAULT_MODEL, "Image model", "The image model, e.g. gpt-image-2.6-flare.", kind=STR, check=_not_empty, group="models", share="model")
    mainline_model: str = spec("gpt-5", "Mainline model", "Responses API only: the model that calls the image tool, e.g. gpt-5.", kind=STR, check=_not_empty, group="models", applies=_responses, share="model")
    reasoning_effort: str = spec("", "Reasoning effort", "Responses API only: the mainline model's reasoning effort (none, minimal, low, medium, high, xhigh, max); empty leaves it to the model.", kind=STR, choices=REASONING_EFFORTS, group="models", applies=_responses, share="reasoningEffort")
    stream: bool = spec(True, "Stream previews", "Show partial previews while the image forms (server-sent events).", kind=BOOL, group="streaming", share="streamImages")
    partial_images: int = spec(2, "Partial images", "0 to 3 previews per image. " + PARTIALS_HELP, kind=INT, check=_partials_problem, group="streaming", applies=_streams, share="streamPartialImages")
    timeout: float = spec(600.0, "Timeout (s)", f"Read timeout: seconds to wait for the next bytes of a reply, at most {MAX_TIMEOUT:g}.", kind=NUMBER, check=_timeout_problem, group="limits")
    deadline: float = spec(900.0, "Deadline (s)", "Overall limit per request in seconds, however steadily bytes arrive; a request still running then is stopped.", kind=NUMBER, check=_deadline_problem, group="limits")
    max_concurrent: int = spec(4, "Max concurrent", f"Generations this profile runs at once (1 to {MAX_CONCURRENT}); further ones wait as queued.", kind=INT, check=_concurrency_problem, group="limits")
    daily_limit_usd: float | None = spec(None, "Daily limit ($)", "Optional: refuse new tasks on this profile once today's spending reaches this many US dollars (a running stream is never stopped). Empty: no limit.", kind=OPT_NUMBER, check=_limit_problem, group="limits")
    transparent_method: str = spec("native", "Transparency", "How a transparent background is made: native sends background=transparent; local asks for a flat key colour and removes it here, for models and relays that refuse transparency.", kind=STR, choices=TRANSPARENT_METHODS, group="policy", share="transparentBackgroundMethod")
    size_in_prompt: bool = spec(False, "Size in prompt", "Write the chosen size into the prompt instead of sending size (the playground's Codex-CLI compatibility), for relays that refuse the size parameter.", kind=BOOL, group="policy", share="codexCli")
    omit_params: list[str] = spec([], "Never send", "Request parameters never to send to this endpoint, comma-separated (e.g. size, quality, background), for relays that refuse them.", kind=STR_LIST, check=_omit_problem, group="policy")
    price_overrides: dict[str, dict[str, float]] = spec({}, "Prices", "Optional, per model: `model: image_output=30, text_input=5` (USD per 1M tokens; rates " + ", ".join(PRICE_RATES) + "), where this endpoint prices differently from the built-in table.", kind=PRICE_TABLE, check=_prices_problem, group="policy", cli=False)
    headers: dict[str, str] = spec({}, "Extra headers", "One `Name: value` per line, sent with every request. Values may use ${VAR}: keep secrets in environment variables, not here.", kind=STR_TABLE, check=first_bad_header, group="advanced", cli=False)
    query: dict[str, str] = spec({}, "Query params", "One `name: value` per line, added to every URL, e.g. `api-version: 2025-04-01-preview` for Azure.", kind=STR_TABLE, check=_query_problem, group="advanced", cli=False)
    profile_id: str = spec("", "Playground id", "The gpt_image_playground profile id: a share link carrying the same id updates this profile instead of adding another.", kind=STR, check=_plain_text, group="advanced", cli=False, share="profileId")
    # fmt: on

    # -- validation --------------------------------------------------------------------

    def errors(self) -> dict[str, str]:
        """Field name -> what is wrong with it, in table order. Empty when usable."""
        errs: dict[str, str] = {}
        for f in PROFILE_FIELDS:
            problem = f.problem(getattr(self, f.name))
            if problem is not None:
                errs[f.name] = problem if isinstance(problem, str) else problem[1]
        return errs

    # -- secrets -----------------------------------------------------------------------

    @property
    def key_reference(self) -> str | None:
        """The variable name when `api_key` is a `${VAR}` reference, else None."""
        return secrets.key_reference(self.api_key)

    def resolve_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The key to send (see `secrets.resolve_key`): never another variable's value."""
        return secrets.resolve_key(self.api_key, environ)

    def missing_env(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """Environment variables this profile refers to (key or headers) that are unset."""
        return secrets.missing_env(self.api_key, self.headers.values(), environ)

    def masked_key(self) -> str:
        """The key as it may be shown: never more than its last 4 characters."""
        if not self.api_key or self.key_reference:
            return self.api_key  # "" or "${VAR}": not secret
        return secrets.mask(self.api_key)

    def key_status(self, environ: Mapping[str, str] | None = None) -> str:
        """One short line for the UI: "none", "set (sk-…abcd)", "${VAR} → set", "${VAR} → not set"."""
        return secrets.key_status(self.api_key, environ)

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
            resolved = secrets.interpolate(value, env)
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
            deadline=float(self.deadline),
            omit_params=tuple(self.omit_params),
            size_in_prompt=self.size_in_prompt,
        )

    def __repr__(self) -> str:  # never leak the key through a repr in a log or traceback
        key = "none" if not self.api_key else (self.api_key if self.key_reference else "set")
        return (
            f"Profile(name={self.name!r}, base_url={self.base_url!r}, api_key=<{key}>, "
            f"api_mode={self.api_mode!r}, model={self.model!r})"
        )


PROFILE_FIELDS: tuple[FieldSpec, ...] = _specs(Profile)
_PROFILE_BY_NAME = {f.name: f for f in PROFILE_FIELDS}


def profile_field(name: str) -> FieldSpec:
    """The table's line for a profile field. KeyError for an unknown name."""
    return _PROFILE_BY_NAME[name]


# --------------------------------------------------------------------------------------
# App settings
# --------------------------------------------------------------------------------------


def _size_problem(value: str) -> str | None:
    try:
        parse_size(value)
    except RequestError as exc:
        return exc.message
    return None


def _optional_name(value: str | None) -> str | None:
    return "must be a profile name" if value is not None and not value else None


def _optional_folder(value: str | None) -> str | None:
    if value is not None and not value.strip():
        return "must be a folder path (or left out)"
    return None


def _quality_problem(value: str) -> str | None:
    return "is empty (use 'auto')" if not value.strip() else None


def _n_problem(value: int) -> str | None:
    return None if 1 <= value <= 10 else f"{value!r}: must be 1 to 10"


@dataclass
class Settings:
    """App-wide settings and the composer's defaults (`[settings]` in the file)."""

    # fmt: off
    active_profile: str | None = spec(None, "Active profile", "The profile new tasks use.", kind=OPT_STR, check=_optional_name)
    renderer: str = spec("auto", "Renderer", "How images are drawn: " + ", ".join(RENDERERS) + " (or IMGTUI_RENDERER).", kind=STR, choices=RENDERERS)
    output_dir: str | None = spec(None, "Output folder", "Default folder for saved images.", kind=OPT_STR, check=_optional_folder)
    size: str = spec("auto", "Size", "The composer's default size: auto or WxH.", kind=STR, check=_size_problem)
    quality: str = spec("auto", "Quality", "The composer's default quality.", kind=STR, check=_quality_problem)
    n: int = spec(1, "Images", "The composer's default number of images, 1 to 10.", kind=INT, check=_n_problem)
    output_format: str = spec("png", "Format", "The composer's default output format.", kind=STR, choices=FORMATS)
    notify: bool = spec(True, "Notify when done", "When a task ends while the terminal is not focused: a desktop notification (OSC 9/777) where the terminal supports it, else the bell.", kind=BOOL)
    # fmt: on

    def errors(self) -> dict[str, str]:
        errs: dict[str, str] = {}
        for f in SETTINGS_FIELDS:
            problem = f.problem(getattr(self, f.name))
            if problem is not None:
                errs[f.name] = problem if isinstance(problem, str) else problem[1]
        return errs

    @property
    def output_path(self) -> Path | None:
        return Path(self.output_dir).expanduser() if self.output_dir else None


SETTINGS_FIELDS: tuple[FieldSpec, ...] = _specs(Settings)


# --------------------------------------------------------------------------------------
# The whole file
# --------------------------------------------------------------------------------------


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

    def remove(self, name: str) -> str | None:
        """Delete a profile. When it was the active one (chosen, or first by default) the
        profile now in its place (else the one above) becomes active explicitly, so the
        choice never rests on list order (issue 14.10). Returns the newly active profile's
        name, None when the active profile did not change or none is left."""
        profile = self.get(name)
        if profile is None:
            raise KeyError(name)
        self._pin_active()
        was_active = self.settings.active_profile == name
        index = self.profiles.index(profile)
        self.profiles.remove(profile)
        if not was_active:
            return None
        if not self.profiles:
            self.settings.active_profile = None
            return None
        successor = self.profiles[min(index, len(self.profiles) - 1)]
        self.settings.active_profile = successor.name
        return successor.name

    def _pin_active(self) -> None:
        """Name the active profile explicitly when it is only "the first one", so that
        reordering or deleting others never changes which profile is active."""
        chosen = self.settings.active_profile
        if (not chosen or self.get(chosen) is None) and self.profiles:
            self.settings.active_profile = self.profiles[0].name

    def move(self, name: str, delta: int) -> None:
        """Move a profile `delta` places (negative: up), clamped to the list. The active
        profile stays the same one (issue 14.10): a default "first profile" is pinned."""
        profile = self.get(name)
        if profile is None:
            raise KeyError(name)
        self._pin_active()
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
# Built-in profiles
# --------------------------------------------------------------------------------------


def demo_profile() -> Profile:
    """The embedded demo server: works offline, costs nothing."""
    return Profile("Demo", DEMO_URL, model=DEFAULT_MODEL, partial_images=3)


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


# --------------------------------------------------------------------------------------
# CLI flags
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CliFlag:
    """A command-line flag derived from a profile field: `--deadline SECONDS`.

    `parse(text)` turns the flag's argument into the field's value, raising ValueError
    with a message (type, choices and the field's own check)."""

    flag: str
    field: FieldSpec
    metavar: str
    help: str

    @property
    def dest(self) -> str:
        return self.field.name

    @property
    def is_switch(self) -> bool:
        return isinstance(self.field.kind, _Bool)

    def parse(self, text: str) -> Any:
        value = self.field.kind.from_text(text)
        problem = self.field.problem(value)
        if problem is not None:
            raise ValueError(problem if isinstance(problem, str) else problem[1])
        return value


def cli_flags(names: Iterable[str] | None = None) -> list[CliFlag]:
    """Flags for the profile fields the CLI may override (those with `cli=True`, or the
    given `names`), in table order. A bool field is a switch pair: `--size-in-prompt` /
    `--no-size-in-prompt` (`is_switch`). `apply_flags()` in the CLI sets the parsed values
    on a copy of the profile."""
    wanted = set(names) if names is not None else None
    out = []
    for f in PROFILE_FIELDS:
        if (wanted is None and not f.cli) or (wanted is not None and f.name not in wanted):
            continue
        if f.choices:
            metavar = "|".join(c for c in f.choices if c)
        else:
            metavar = {INT: "N", NUMBER: "N", OPT_NUMBER: "N", STR_LIST: "A,B"}.get(f.kind, "TEXT")
        out.append(CliFlag("--" + f.name.replace("_", "-"), f, metavar, f.help))
    return out


def apply_flags(profile: Profile, values: Mapping[str, Any]) -> Profile:
    """A copy of `profile` with the given field values (from `CliFlag.parse`) set; fields
    not named in `values` (or given as None) keep the profile's value."""
    changes = {k: v for k, v in values.items() if v is not None and k in _PROFILE_BY_NAME}
    return replace(profile, **changes)
