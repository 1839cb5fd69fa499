"""Share links: profiles to and from gpt_image_playground's query-string format.

The playground (CookSleep/gpt_image_playground) reads links in `src/lib/urlSettings.ts`
and writes them from its settings modal, so a profile can travel between the two apps.

"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit

from imgtui.api.request import API_MODES
from imgtui.config.model import MAX_NAME, Profile, base_url_problem

__all__ = [
    "SHARE_URL_BASE",
    "ShareUrlError",
    "profile_from_share_url",
    "profile_to_share_url",
    "share_url_losses",
]

# The public deployment named in gpt_image_playground's README; exported links point there.
SHARE_URL_BASE = "https://gpt-image-playground.cooksleep.dev/"


class ShareUrlError(ValueError):
    """A share link that cannot become a profile (or a profile that cannot become a link)."""


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
    if base_url_problem(profile.base_url):
        raise ShareUrlError(f"base_url: {base_url_problem(profile.base_url)}")
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
        # a link typed without its scheme ("host/path?apiUrl=…"), or a bare query string
        sources = [tail] if mark and "=" not in head else [text.lstrip("?#")]
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
