"""The provider's own model list (`GET /models`), sorted into image and mainline models,
with each model's `shutdown_date`, cached per profile.

OpenAI's deprecations page says each model object carries `shutdown_date`: `YYYY-MM-DD` or
null (shared/OPENAI-IMAGES.md §1). Ids are server text: ids holding control characters
or longer than 200 characters are dropped, so nothing from here can reach a terminal raw.

The cache is one JSON file (`models-cache.json` in the data folder by default):
`{"profiles": {NAME: {"base_url", "fetched_at", "models": [{"id", "shutdown_date",
"created", "owned_by"}]}}}`. It is only a cache: a file that cannot be read counts as empty
(the list is fetched again), and an entry for another base URL than the profile's is
ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from imgtui.api.request import Connection
from imgtui.models.catalog import lookup, shutdown_notice

CACHE_FILE = "models-cache.json"
MAX_AGE = timedelta(hours=24)
MAX_ID = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_IMAGE = re.compile(r"image|dall-e", re.IGNORECASE)
_MAINLINE = re.compile(r"^(gpt-|o\d|chatgpt-)", re.IGNORECASE)
_NOT_MAINLINE = re.compile(
    r"(audio|tts|transcribe|whisper|embedding|realtime|moderation|search|image|dall-e|sora|codex-mini)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ProviderModel:
    """One entry of a provider's `GET /models` list."""

    id: str
    shutdown_date: date | None = None
    created: int | None = None
    owned_by: str | None = None

    @property
    def is_image(self) -> bool:
        """An image model: one the table knows, or an id naming images (`*image*`, dall-e)."""
        return lookup(self.id) is not None or bool(_IMAGE.search(self.id))

    @property
    def is_mainline(self) -> bool:
        """A model that can drive the Responses API's image_generation tool (a guess from
        the id: `gpt-*`, `o<digit>*`, not audio/embedding/image/... models)."""
        return bool(_MAINLINE.match(self.id)) and not _NOT_MAINLINE.search(self.id)

    def to_json(self) -> dict[str, object]:
        out = asdict(self)
        out["shutdown_date"] = self.shutdown_date.isoformat() if self.shutdown_date else None
        return out


def _date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_models(body: object) -> list[ProviderModel]:
    """The models of a `GET /models` reply (`{"data": [{"id", ...}]}`), sorted by id.

    Raises ValueError when the body is not such a list."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise ValueError("the /models reply has no 'data' list")
    out: dict[str, ProviderModel] = {}
    for item in data:
        if not isinstance(item, dict):
            continue
        model_id = item.get("id")
        if not isinstance(model_id, str) or not model_id.strip():
            continue
        if len(model_id) > MAX_ID or _CONTROL.search(model_id):
            continue
        created = item.get("created")
        owned = item.get("owned_by")
        out[model_id] = ProviderModel(
            model_id,
            _date(item.get("shutdown_date")),
            created if isinstance(created, int) and not isinstance(created, bool) else None,
            owned if isinstance(owned, str) and not _CONTROL.search(owned) else None,
        )
    return sorted(out.values(), key=lambda m: m.id)


@dataclass(frozen=True)
class ModelList:
    """A profile's models as fetched at `fetched_at` (UTC)."""

    base_url: str
    fetched_at: datetime
    models: tuple[ProviderModel, ...]

    @property
    def image_models(self) -> list[ProviderModel]:
        return [m for m in self.models if m.is_image]

    @property
    def mainline_models(self) -> list[ProviderModel]:
        return [m for m in self.models if m.is_mainline]

    def get(self, model_id: str) -> ProviderModel | None:
        return next((m for m in self.models if m.id == model_id), None)

    def shutdown_date(self, model_id: str) -> date | None:
        """The provider's shutdown date for `model_id`, else the table's, else None."""
        found = self.get(model_id)
        if found is not None and found.shutdown_date is not None:
            return found.shutdown_date
        spec = lookup(model_id)
        return spec.shutdown if spec else None


def shutdown_of(model_id: str, listing: ModelList | None) -> date | None:
    """`model_id`'s shutdown date: the provider's (`listing`, when fetched), else the
    built-in table's, else None."""
    if listing is not None:
        return listing.shutdown_date(model_id)
    spec = lookup(model_id)
    return spec.shutdown if spec else None


def model_notice(model_id: str, listing: ModelList | None, today: date) -> str | None:
    """The warning before sending to `model_id` when it is shut down or shuts down within
    30 days (`catalog.shutdown_notice`), using the provider's date where known."""
    return shutdown_notice(model_id, shutdown_of(model_id, listing), today)


@dataclass(frozen=True)
class Choice:
    """One model offered in a picker: its id and a short note (family, shutdown)."""

    id: str
    note: str
    shut_down: bool = False


def choices(listing: ModelList | None, kind: str, today: date, current: str = "") -> list[Choice]:
    """The models to offer for `kind` ("image": the image models; "mainline": the models
    that call the Responses tool), current ones first, shut-down ones last and marked;
    without a `listing`, the built-in table's models (image) or none (mainline). `current`
    (the profile's model) is always offered, even when the provider does not list it."""
    from imgtui.models.catalog import FAMILIES

    if listing is not None:
        ids = [m.id for m in (listing.image_models if kind == "image" else listing.mainline_models)]
    elif kind == "image":
        ids = [model_id for spec in FAMILIES for model_id in spec.ids]
    else:
        ids = []
    if current and current not in ids:
        ids.insert(0, current)
    out = []
    for model_id in ids:
        shutdown = shutdown_of(model_id, listing)
        spec = lookup(model_id)
        notes = [spec.family] if spec else []
        gone = shutdown is not None and today >= shutdown
        if shutdown is not None:
            notes.append(f"{'shut down' if gone else 'shuts down'} {shutdown.isoformat()}")
        if listing is not None and listing.get(model_id) is None:
            notes.append("not listed by the provider")
        out.append(Choice(model_id, ", ".join(notes), gone))
    return sorted(out, key=lambda c: c.shut_down)


class ModelCache:
    """Per-profile model lists in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        profiles = data.get("profiles") if isinstance(data, dict) else None
        return profiles if isinstance(profiles, dict) else {}

    def get(self, profile: str, base_url: str) -> ModelList | None:
        """The cached list of `profile`, or None (none, another base URL, or unreadable)."""
        entry = self._read().get(profile)
        if not isinstance(entry, dict) or entry.get("base_url") != base_url:
            return None
        try:
            fetched = datetime.fromisoformat(str(entry["fetched_at"]))
            models = parse_models({"data": entry["models"]})
        except (KeyError, ValueError):
            return None
        return ModelList(base_url, fetched, tuple(models))

    def put(self, profile: str, listing: ModelList) -> None:
        """Store `listing` as `profile`'s (a plain write: a torn file only means a refetch)."""
        profiles = self._read()
        profiles[profile] = {
            "base_url": listing.base_url,
            "fetched_at": listing.fetched_at.isoformat(),
            "models": [m.to_json() for m in listing.models],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"profiles": profiles}, indent=1), "utf-8")

    def forget(self, names: Iterable[str]) -> None:
        """Drop the entries of these profiles (renamed or deleted)."""
        profiles = self._read()
        if any(profiles.pop(n, None) is not None for n in list(names)):
            self.path.write_text(json.dumps({"profiles": profiles}, indent=1), "utf-8")


async def fetch_models(conn: Connection) -> ModelList:
    """`GET {base_url}/models` now. Raises `imgtui.api.ApiFailure` (key scrubbed from the
    message) when the provider fails or answers something that is not a model list."""
    from imgtui.api import get_json

    body = await get_json(conn, "/models")
    try:
        models = parse_models(body)
    except ValueError as exc:
        from imgtui.api import ApiFailure, FailureKind

        raise ApiFailure(
            FailureKind.BAD_REQUEST,
            f"The provider's model list is not usable: {exc}",
            "The provider may not list its models; type the model name instead.",
        ) from None
    return ModelList(conn.base_url, datetime.now(UTC), tuple(models))


async def models_for(
    profile: str,
    conn: Connection,
    cache: ModelCache,
    *,
    refresh: bool = False,
    max_age: timedelta = MAX_AGE,
    now: datetime | None = None,
) -> ModelList:
    """`profile`'s models: the cached list when younger than `max_age` and not `refresh`,
    else fetched and cached. Raises ApiFailure when a fetch is needed and fails."""
    now = now or datetime.now(UTC)
    if not refresh:
        cached = cache.get(profile, conn.base_url)
        if cached is not None and now - cached.fetched_at < max_age:
            return cached
    listing = await fetch_models(conn)
    cache.put(profile, listing)
    return listing


class ModelLists:
    """The model lists of a session's profiles: fetched ones kept in memory, backed by
    the on-disk `ModelCache`. `connect(profile)` resolves a profile's connection (the app
    passes its runner's, which starts the demo server when needed).

    Profiles are read duck-typed: `name`, `base_url` and `is_demo`."""

    def __init__(self, cache: ModelCache, connect: Callable[[Any], Awaitable[Connection]]) -> None:
        self.cache = cache
        self.connect = connect
        self._lists: dict[str, ModelList] = {}

    def known(self, profile: Any, base_url: str | None = None) -> ModelList | None:
        """The list fetched this session, else the cached one for the profile's base URL
        (`base_url` overrides it: the demo server's address), else None. Never fetches."""
        found = self._lists.get(profile.name)
        url = base_url or ("" if profile.is_demo else str(profile.base_url).rstrip("/"))
        if found is not None and (not url or found.base_url == url):
            return found
        return self.cache.get(profile.name, url) if url else None

    async def fetch(self, profile: Any, *, refresh: bool = False) -> ModelList:
        """The profile's list: cached (younger than a day) unless `refresh`, else fetched
        (`models_for`). Raises ApiFailure when a fetch fails."""
        conn = await self.connect(profile)
        listing = await models_for(profile.name, conn, self.cache, refresh=refresh)
        self._lists[profile.name] = listing
        return listing
