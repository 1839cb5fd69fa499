"""Which provider a profile talks to, and the custom provider manifests kept for it.

A profile's `provider` is `openai` (the streaming Images/Responses API), `sub2api-async`,
`fal`, or the id of a custom provider: a gpt_image_playground manifest (see
`imgtui.api.polled`) imported with `imgtui providers import FILE` and kept as
`providers/<id>.json` beside the config file, exactly as imported.

`import_manifests()` also turns the playground profiles in the same file into imgtui
profiles, through the one playground-profile mapping (`imgtui.config.share`); keys are
never in them: the playground's export leaves them out and the user enters one in imgtui.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from imgtui.config.paths import config_path

if TYPE_CHECKING:
    from imgtui.api.polled import ProviderManifest
    from imgtui.config.model import Profile

OPENAI = "openai"
SUB2API = "sub2api-async"
FAL = "fal"
BUILTIN = (OPENAI, SUB2API, FAL)
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ProviderError(ValueError):
    """A provider that cannot be found or saved (the message says which and why)."""


def providers_dir() -> Path:
    """Where custom provider manifests live: `providers/` beside the config file."""
    return config_path().parent / "providers"


def load_custom() -> dict[str, ProviderManifest]:
    """The saved custom providers by id. A file that no longer parses is skipped."""
    from imgtui.api.polled import ManifestError, ProviderManifest

    out: dict[str, ProviderManifest] = {}
    folder = providers_dir()
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        try:
            manifest = ProviderManifest.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, ManifestError):
            continue
        out[manifest.id] = manifest
    return out


def save_custom(manifest: ProviderManifest) -> Path:
    """Write a manifest as `providers/<id>.json` (atomically, replacing one of that id)."""
    if not _ID_RE.match(manifest.id) or manifest.id in BUILTIN:
        raise ProviderError(f"{manifest.id!r} cannot be a custom provider id")
    folder = providers_dir()
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / f"{manifest.id}.json"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(dict(manifest.source), fh, ensure_ascii=False, indent=2)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def resolve(provider: str) -> ProviderManifest | str | None:
    """What `imgtui.api.polled.run_polled` needs for a profile's `provider`: None for
    `openai` (stream as usual), the `SUB2API` manifest, `"fal"`, or a custom manifest.
    Raises ProviderError for an unknown id."""
    from imgtui.api import polled

    if provider in ("", OPENAI):
        return None
    if provider == SUB2API:
        return polled.SUB2API
    if provider == FAL:
        return polled.FAL
    custom = load_custom().get(provider)
    if custom is None:
        raise ProviderError(
            f"unknown provider {provider!r}: import its manifest with `imgtui providers import FILE`"
        )
    return custom


@dataclass
class ImportedProviders:
    """What `import_manifests` read: providers saved, profiles made, notes for the user."""

    providers: list[str] = field(default_factory=list)
    profiles: list[Profile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def import_manifests(text: str | bytes, save: bool = True) -> ImportedProviders:
    """Read a playground provider export; save its manifests (unless `save` is False) and
    return imgtui profiles for its profiles. Raises ManifestError for a bad file."""
    from imgtui.api.polled import parse_manifests

    providers, raw_profiles = parse_manifests(text)
    result = ImportedProviders()
    for manifest in providers:
        if save:
            save_custom(manifest)
        result.providers.append(manifest.id)
    from imgtui.config.share import playground_profiles

    profiles, notes = playground_profiles(raw_profiles, {m.id for m in providers})
    result.profiles += profiles
    result.notes += notes
    return result
