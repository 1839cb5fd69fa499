"""Share links: profiles to and from gpt_image_playground's query-string format (v0.7.6).

The playground (CookSleep/gpt_image_playground) reads links in `src/lib/urlSettings.ts`
(`buildSettingsFromUrlParams`) and writes them from its settings, so a profile can travel
between the two apps. The parameters, and the profile field each fills (the `share` column
of the field table in `model`):

  apiUrl                       base_url: "https://" added when there is no scheme; a URL
                               ending in "/" is used as it is; otherwise the path is cut
                               after its "v1" segment, or "/v1" appended (normalizeBaseUrl)
  apiKey                       api_key: only when the sharer included it
  apiMode                      api_mode: images (the playground's default) | responses
  model                        the image model in images mode, the mainline model in
                               responses mode
  profileName                  name
  streamImages                 stream; absent means the playground's default for the mode:
                               off for images, on for responses
  streamPartialImages          partial_images, 0-3; absent means 1
  codexCli                     size_in_prompt ("true"/"false")
  reasoningEffort              reasoning_effort (responses mode)
  transparentBackgroundMethod  transparent_method: "api" -> native, "local" -> local
  profileId                    profile_id: a link with the id of a saved profile updates it
  settings                     JSON: {"profiles": [...]} or {"settings": {"profiles": [...]}},
                               each profile with the same fields in the playground's own
                               names (baseUrl, apiKey, name, id, timeout, provider, ...);
                               profiles of a provider imgtui lacks are skipped, with a note

Links come from strangers, so importing is careful (issue 10): a link never creates a
`${VAR}` reference (an apiKey that looks like one is refused: in config.toml it could not
be told from a reference the user wrote, and the next request would send that variable to
the link's server); an apiUrl with `user:password@` is refused; a key travelling to a
plain-http:// non-loopback server gets a warning; a link that moves a saved profile to
another server drops that profile's key and headers rather than send them there.

Importing is planned first (`read_share_link` -> `ShareImport`), then applied to a config
(`ShareImport.apply`), which never makes a profile active: the caller says so or asks.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from imgtui.api.request import API_MODES
from imgtui.config.model import (
    MAX_NAME,
    PROFILE_FIELDS,
    REASONING_EFFORTS,
    Config,
    Profile,
    base_url_problem,
)
from imgtui.config.providers import BUILTIN, OPENAI, load_custom
from imgtui.config.secrets import looks_like_reference

__all__ = [
    "SHARE_URL_BASE",
    "ShareImport",
    "ShareUrlError",
    "profile_from_share_url",
    "profile_to_share_url",
    "read_share_link",
    "share_url_losses",
]

# The public deployment named in gpt_image_playground's README; exported links point there.
SHARE_URL_BASE = "https://gpt-image-playground.cooksleep.dev/"

# The playground's defaults for what a link leaves out (urlSettings.ts, apiProfiles.ts).
PLAYGROUND_PARTIALS = 1


def playground_stream_default(api_mode: str) -> bool:
    """Streaming when a link does not say: off in images mode, on in responses mode."""
    return api_mode == "responses"


class ShareUrlError(ValueError):
    """A share link that cannot become a profile (or a profile that cannot become a link)."""


_SHARE_PLACEHOLDERS = ("{address}", "{key}", "{model}")
_TRANSPARENT = {"api": "native", "local": "local"}
_LEGACY_PARAMS = (
    "apiUrl",
    "apiKey",
    "apiMode",
    "model",
    "profileName",
    "streamImages",
    "streamPartialImages",
    "codexCli",
    "reasoningEffort",
    "transparentBackgroundMethod",
)


# --------------------------------------------------------------------------------------
# Importing
# --------------------------------------------------------------------------------------


@dataclass
class ShareImport:
    """A link read against the saved profiles; nothing is changed until `apply()`.

    `profiles[i]` is to be saved; `replaces[i]` is the name of the saved profile it
    updates, or None for a new one. `warnings` are for the user before or after saving.
    """

    profiles: list[Profile] = field(default_factory=list)
    replaces: list[str | None] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def apply(self, config: Config) -> list[str]:
        """Add or update the profiles in `config` (not saved, not made active); returns
        their names. ValueError (from Config) when one cannot be added."""
        for profile, old in zip(self.profiles, self.replaces, strict=True):
            if old is None:
                config.add(profile)
            else:
                config.replace(old, profile)
        return [p.name for p in self.profiles]

    def describe(self) -> str:
        """One line per profile: "new X" / "update X", for confirmations and the CLI."""
        return "; ".join(
            f"{'update' if old else 'new'} {p.name} ({p.base_url})"
            for p, old in zip(self.profiles, self.replaces, strict=True)
        )


def read_share_link(url: str, saved: Iterable[Profile] = ()) -> ShareImport:
    """Plan the import of a playground link (any host or path; parameters in the query or
    after `#`, or a bare query string) against the `saved` profiles.

    A link whose `profileId` matches a saved profile's `profile_id`, or whose name and
    base URL match a saved profile, updates that profile: the fields the link states
    change, the others stay (as the playground does). Otherwise a new profile is planned,
    its name made unique ("Name (2)"). Raises ShareUrlError, naming the parameter, for a
    link that cannot be imported; nothing is planned then.
    """
    params = _share_params(url)
    for key in ("apiUrl", "apiKey", "model"):  # what the playground's template links leave open
        value = params.get(key, "")
        if any(ph in value for ph in _SHARE_PLACEHOLDERS):
            raise ShareUrlError(
                f"{key} holds a template placeholder ({value}): this is a template link, fill it in first"
            )
    saved = list(saved)
    plan = ShareImport()
    entries: list[dict[str, Any]] = []
    if "settings" in params:
        entries.extend(_settings_entries(params["settings"], plan.warnings))
    if any(k in params for k in _LEGACY_PARAMS) or "profileId" in params:
        entries.append(_entry_from_params(params))
    if not entries:
        raise ShareUrlError("the link has no apiUrl parameter")
    taken = [p.name for p in saved]
    for entry in entries:
        profile, old = _plan_one(entry, saved, taken, plan.warnings)
        plan.profiles.append(profile)
        plan.replaces.append(old)
        taken = [n for n in taken if n != old] + [profile.name]
    return plan


def playground_profiles(
    records: Iterable[Any], custom_ids: Iterable[str] = ()
) -> tuple[list[Profile], list[str]]:
    """New imgtui profiles for the playground's `ApiProfile` records (the `profiles` of a
    backup's settings or of a provider export), and one note per record skipped or
    changed, saying why. Each record goes through the same mapping and checks as a share
    link's (`read_share_link`): field names, base URL normalisation, the playground's
    stream defaults, `${VAR}` keys refused, the Responses model as the mainline model.

    A record's provider must be built in or among `custom_ids` (the manifests imported
    with it). An `apiKey` in a record is taken: the caller removes keys unless the user
    asked for them (`imgtui.backup` does). Names are made unique among the records only,
    so the caller can skip a profile whose name it already has."""
    known = set(BUILTIN) | set(custom_ids)
    profiles: list[Profile] = []
    notes: list[str] = []
    for raw in records:
        if not isinstance(raw, dict):
            notes.append("skipped a profile that is not a JSON object")
            continue
        name = str(raw.get("name") or raw.get("id") or "?").strip()
        provider = raw.get("provider") or OPENAI
        if provider not in known:
            notes.append(f"skipped profile {name!r}: its provider {provider!r} is not in the file")
            continue
        if not _text(raw, "baseUrl"):
            notes.append(f"skipped profile {name!r}: it has no base URL")
            continue
        try:
            profile, _ = _plan_one(raw, [], [p.name for p in profiles], notes)
        except ShareUrlError as exc:
            notes.append(f"skipped profile {name!r}: {exc}")
            continue
        profiles.append(profile)
    return profiles, notes


def profile_from_share_url(url: str, existing_names: Iterable[str] = ()) -> Profile:
    """The first profile a link holds, as a new profile named uniquely against
    `existing_names`. (`read_share_link` also finds the saved profile a link updates.)"""
    plan = read_share_link(url)
    profile = plan.profiles[0]
    profile.name = _unique_name(profile.name, existing_names)
    return profile


def _entry_from_params(params: Mapping[str, str]) -> dict[str, Any]:
    """The link's query parameters as one playground profile record."""
    entry: dict[str, Any] = {}
    for key in _LEGACY_PARAMS:
        if key in params:
            entry[key] = params[key]
    if "profileId" in params:
        entry["id"] = params["profileId"]
    if "profileName" in entry:
        entry["name"] = entry.pop("profileName")
    if "apiUrl" in entry:
        entry["baseUrl"] = entry.pop("apiUrl")
    return entry


def _settings_entries(raw: str, warnings: list[str]) -> list[dict[str, Any]]:
    """The OpenAI-compatible profiles of a `settings=` JSON block."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise ShareUrlError("settings= is not valid JSON") from None
    if isinstance(data, dict) and isinstance(data.get("settings"), dict):
        data = data["settings"]
    profiles = data.get("profiles") if isinstance(data, dict) else None
    if not isinstance(profiles, list):
        raise ShareUrlError("settings= carries no list of profiles")
    out = []
    known = _known_providers()
    for item in profiles:
        if not isinstance(item, dict):
            continue
        provider = item.get("provider", OPENAI)
        if provider not in known:
            name = item.get("name") if isinstance(item.get("name"), str) else "?"
            warnings.append(
                f"skipped profile {name!r}: provider {provider!r} is not one imgtui has "
                "(import its manifest with `imgtui providers import FILE` first)"
            )
            continue
        out.append(item)
    if not out:
        raise ShareUrlError("settings= holds no profile of a provider imgtui has")
    return out


def _known_providers() -> set[str]:
    """Built-in providers and the custom ones imported (their manifests beside the config)."""
    return set(BUILTIN) | set(load_custom())


def _text(entry: Mapping[str, Any], key: str) -> str | None:
    """A string field of a record, stripped; bools and numbers as the playground writes
    them in a query string; None when absent."""
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        raise ShareUrlError(f"{key}: must be a string")
    return value.strip()


def _plan_one(
    entry: Mapping[str, Any], saved: list[Profile], taken: list[str], warnings: list[str]
) -> tuple[Profile, str | None]:
    """One record -> (profile to save, name of the saved profile it updates or None)."""
    changes: dict[str, Any] = {}
    provider = _text(entry, "provider") or OPENAI
    if provider != OPENAI:
        changes["provider"] = provider
    base_url = _text(entry, "baseUrl")
    if base_url:
        # the playground normalises only OpenAI-compatible addresses (/v1); others as written
        changes["base_url"] = normalize_share_base_url(base_url, add_v1=provider == OPENAI)
    key = _text(entry, "apiKey")
    if key is not None:
        if looks_like_reference(key):
            raise ShareUrlError(
                "apiKey looks like an environment reference (${…}); imgtui never takes one "
                "from a link, since only you write ${VAR} (in config.toml or settings). "
                "Import the link without its key and set the key in settings."
            )
        changes["api_key"] = key
    mode = _text(entry, "apiMode")
    if mode is not None:
        if mode not in API_MODES:
            raise ShareUrlError(f"apiMode={mode!r}: must be images or responses")
        changes["api_mode"] = mode
    name = _text(entry, "name")
    if name:
        changes["name"] = name[:MAX_NAME]
    stream = _text(entry, "streamImages")
    if stream is not None:
        if stream.lower() not in ("true", "false"):
            raise ShareUrlError(f"streamImages={stream!r}: must be true or false")
        changes["stream"] = stream.lower() == "true"
    partials = _text(entry, "streamPartialImages")
    if partials is not None:
        if not re.fullmatch(r"[0-3]", partials):
            raise ShareUrlError(f"streamPartialImages={partials!r}: must be 0, 1, 2 or 3")
        changes["partial_images"] = int(partials)
    codex = _text(entry, "codexCli")
    if codex is not None:
        changes["size_in_prompt"] = codex.lower() == "true"
    effort = _text(entry, "reasoningEffort")
    if effort:
        if effort in REASONING_EFFORTS:
            changes["reasoning_effort"] = effort
        else:
            warnings.append(f"reasoningEffort={effort!r} is not one imgtui knows; left out")
    method = _text(entry, "transparentBackgroundMethod")
    if method:
        if method in _TRANSPARENT:
            changes["transparent_method"] = _TRANSPARENT[method]
        else:
            warnings.append(f"transparentBackgroundMethod={method!r} is unknown; left out")
    timeout = entry.get("timeout")
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        if 0 < timeout <= 3600:
            changes["timeout"] = float(timeout)
        else:
            warnings.append(f"timeout={timeout!r} is out of range (1-3600 s); left out")
    profile_id = _text(entry, "id")
    if profile_id:
        changes["profile_id"] = profile_id
    model = _text(entry, "model")

    existing = _match(changes, saved)
    if existing is None:
        if "base_url" not in changes:
            raise ShareUrlError("the link has no apiUrl parameter")
        mode = changes.get("api_mode", "images")
        changes.setdefault("stream", playground_stream_default(mode))
        changes.setdefault("partial_images", PLAYGROUND_PARTIALS)
        wanted = changes.pop("name", None) or (urlsplit(changes["base_url"]).hostname or "Imported")
        profile = Profile(name=_unique_name(wanted[:MAX_NAME], taken), **changes)
    else:
        profile = replace(existing, **changes)
        if _origin(profile.base_url) != _origin(existing.base_url) and "api_key" not in changes:
            if existing.api_key or existing.headers:
                warnings.append(
                    f"{existing.name} moves to another server ({profile.base_url}): its key "
                    "and headers were left out; set them again in settings"
                )
            profile = replace(profile, api_key="", headers={})
        if profile.name != existing.name:
            profile.name = _unique_name(profile.name, [n for n in taken if n != existing.name])
    if model:
        if profile.api_mode == "responses":
            profile.mainline_model = model
        else:
            profile.model = model

    if profile.api_key and _plain_http_remote(profile.base_url):
        host = urlsplit(profile.base_url).hostname
        warnings.append(
            f"the key for {profile.name} would travel over plain http:// to {host}: "
            "anyone on the way can read it. Prefer an https:// address."
        )
    errs = profile.errors()
    if errs:
        field_name, message = next(iter(errs.items()))
        share = next((f.share for f in PROFILE_FIELDS if f.name == field_name), "") or field_name
        raise ShareUrlError(f"{share}: {message}")
    return profile, existing.name if existing is not None else None


def _match(changes: Mapping[str, Any], saved: list[Profile]) -> Profile | None:
    """The saved profile a record updates: same `profile_id`, else same name and base URL."""
    wanted_id = changes.get("profile_id")
    if wanted_id:
        found = next((p for p in saved if p.profile_id == wanted_id), None)
        if found is not None:
            return found
    name, url = changes.get("name"), changes.get("base_url")
    if name and url:
        return next((p for p in saved if p.name == name and p.base_url == url), None)
    return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _plain_http_remote(url: str) -> bool:
    """http:// to a host other than this machine."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http":
        return False
    host = (parts.hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def normalize_share_base_url(api_url: str, add_v1: bool = True) -> str:
    """The playground's normalizeBaseUrl: "https://" added when there is no scheme; a URL
    ending in "/" kept as it is; otherwise the path cut after its "v1" segment, or "/v1"
    appended (a bare origin gets "/v1" too, as the playground's request builder adds it).
    With `add_v1` False (a provider other than the OpenAI-compatible API) the path is kept
    as written. `user:password@` is refused: credentials in an address leak into links and
    logs."""
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
    if "@" in parts.netloc:
        raise ShareUrlError(
            "apiUrl contains user:password@; imgtui does not take credentials inside an "
            "address (they would leak into links and logs). Ask for a link with the key."
        )
    if parts.query or parts.fragment:
        raise ShareUrlError("apiUrl must not contain ?query or #fragment")
    origin = f"{parts.scheme.lower()}://{parts.netloc}"
    if parts.path.endswith("/") or not add_v1:
        return origin + parts.path  # used as it is: no /v1 appended
    segments = [s for s in parts.path.split("/") if s]
    segments = segments[: segments.index("v1") + 1] if "v1" in segments else [*segments, "v1"]
    return origin + "/" + "/".join(segments)


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
        # a link typed without its scheme ("host/path?apiUrl=…"), or a bare query string
        sources = [tail] if mark and "=" not in head else [text.lstrip("?#")]
    params: dict[str, str] = {}
    for source in sources:
        for key, value in parse_qsl(source, keep_blank_values=True):
            params.setdefault(key, value)
    return params


def _unique_name(name: str, existing: Iterable[str]) -> str:
    taken = set(existing)
    if name not in taken:
        return name
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"


# --------------------------------------------------------------------------------------
# Exporting
# --------------------------------------------------------------------------------------


def profile_to_share_url(
    profile: Profile,
    include_key: bool = False,
    base: str = SHARE_URL_BASE,
    environ: Mapping[str, str] | None = None,
) -> str:
    """A playground share link for this profile, with what the playground reads and
    nothing that equals its defaults (apiMode=images, streaming off in images mode and on
    in responses mode, 1 partial image, codexCli off, api transparency). The base URL is
    written as it is (a trailing "/" is kept). The key only when `include_key` (a `${VAR}`
    reference is resolved then, since a link cannot refer to your environment).

    A profile of another provider (fal, a custom one) travels as a `settings=` JSON block
    (with its custom provider's manifest), since the playground's plain parameters always
    make an OpenAI-compatible profile. What the format cannot carry is listed by
    `share_url_losses()`."""
    if profile.is_demo:
        raise ShareUrlError("the demo profile runs inside imgtui and cannot be shared")
    problem = base_url_problem(profile.base_url)
    if problem:
        raise ShareUrlError(f"base_url: {problem}")
    key = None
    if include_key and profile.api_key:
        key = profile.resolve_key(environ)
        if key is None:
            raise ShareUrlError(f"{profile.api_key} is not set, so there is no key to include")
    page = base.split("?", 1)[0].split("#", 1)[0]
    if profile.provider != OPENAI:
        return page + "?" + urlencode([("settings", _settings_block(profile, key))])
    pairs: list[tuple[str, str]] = []
    if profile.profile_id:
        pairs.append(("profileId", profile.profile_id))
    pairs.append(("apiUrl", profile.base_url))
    if key is not None:
        pairs.append(("apiKey", key))
    if profile.api_mode != "images":
        pairs.append(("apiMode", profile.api_mode))
    model = profile.mainline_model if profile.api_mode == "responses" else profile.model
    pairs += [("model", model), ("profileName", profile.name.strip())]
    if profile.size_in_prompt:
        pairs.append(("codexCli", "true"))
    if profile.stream != playground_stream_default(profile.api_mode):
        pairs.append(("streamImages", "true" if profile.stream else "false"))
    if profile.partial_images != PLAYGROUND_PARTIALS:
        pairs.append(("streamPartialImages", str(profile.partial_images)))
    if profile.api_mode == "responses" and profile.reasoning_effort:
        pairs.append(("reasoningEffort", profile.reasoning_effort))
    if profile.transparent_method != "native":
        pairs.append(("transparentBackgroundMethod", profile.transparent_method))
    # urlencode's quote_plus matches URLSearchParams: spaces as "+", ":" and "/" escaped.
    return page + "?" + urlencode(pairs)


def _settings_block(profile: Profile, key: str | None) -> str:
    """A `settings=` JSON block for a profile of another provider (fal, a custom one): the
    playground's legacy parameters always make an OpenAI-compatible profile. A custom
    provider travels with its manifest (`customProviders`), as the playground exports it."""
    record: dict[str, Any] = {
        "name": profile.name,
        "provider": profile.provider,
        "baseUrl": profile.base_url,
        "model": profile.model,
        "apiMode": profile.api_mode,
        "transparentBackgroundMethod": "local" if profile.transparent_method == "local" else "api",
    }
    if profile.profile_id:
        record["id"] = profile.profile_id
    if key is not None:
        record["apiKey"] = key
    block: dict[str, Any] = {"profiles": [record]}
    if profile.provider not in BUILTIN:
        manifest = load_custom().get(profile.provider)
        if manifest is None:
            raise ShareUrlError(f"provider {profile.provider!r} is not imported here")
        block["customProviders"] = [dict(manifest.source)]
    return json.dumps(block, ensure_ascii=False, separators=(",", ":"))


def share_url_losses(profile: Profile) -> list[str]:
    """What a share link of this profile would not carry (fields of the table without a
    share parameter, or whose parameter the mode gives to another field, that differ from
    their defaults), as labels for a warning before copying."""
    losses = []
    carried_model = "mainline_model" if profile.api_mode == "responses" else "model"
    for f in PROFILE_FIELDS:
        value = getattr(profile, f.name)
        if value == f.default_value():
            continue
        model_elsewhere = f.share == "model" and f.name != carried_model
        if model_elsewhere or (f.name == "reasoning_effort" and profile.api_mode != "responses"):
            losses.append(f"the {f.label.lower()}")
        elif not f.share:
            losses.append(f.label.lower())
    return losses
