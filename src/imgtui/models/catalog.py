"""The built-in table of image model families: what each one takes, and its lifecycle.

Every fact comes from `shared/OPENAI-IMAGES.md` (state of 2026-11-30), which cites the
`openai` SDK 3.57.0 types (PY), OpenAI's deprecations page (OAI-DEP) and relay pages:

- sizes: flexible `WxH` for `gpt-image-2`, 2.5 and 2.6 (§2 `size`; 2.6 per Comfy), only
  the three standard sizes for 1.5, 1-mini and chatgpt-image-latest;
- quality `xhigh`/`max`: 2.5 (PY) and 2.6 (apidog, Comfy, laozhang); `gpt-image-2` stops at
  `high` (apiyi);
- `complexity`: 2.6 only (relays; Comfy: "2.5 models use a fixed planning depth");
- `gif`/`svg` output: 2.6 only (§2 `output_format`);
- `markup` edits: 2.5 (PY) and 2.6 (relays) (§2.1);
- `input_fidelity`: high/low on 1.5 and chatgpt-image-latest, low only on 1-mini, omitted
  from `gpt-image-2` on (§2.1);
- transparency: 2.5 supported, `gpt-image-2` "in preview" (§2 `background`);
- shutdown dates and replacements: §1 (OAI-DEP).

A model the table does not know is allowed: `lookup` returns None and the caller sends only
what the user set. A provider's `GET /models` `shutdown_date` overrides the table's date
(see `imgtui.models.listing`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from imgtui.models.sizes import FIXED_SIZES, FLEXIBLE, SizeRule

QUALITIES_CLASSIC = ("auto", "low", "medium", "high")
QUALITIES_NEW = ("auto", "low", "medium", "high", "xhigh", "max")
COMPLEXITIES = ("low", "medium", "high")
FORMATS_CLASSIC = ("png", "jpeg", "webp")
FORMATS_ALL = ("png", "jpeg", "webp", "gif", "svg")
BACKGROUNDS = ("auto", "opaque", "transparent")
MODERATIONS = ("auto", "low")
SVG_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")

#: Days before a shutdown from which sending to the model draws a warning.
SHUTDOWN_WARNING_DAYS = 30

Transparency = Literal["yes", "preview", "no"]
Lifecycle = Literal["active", "deprecated", "shut down"]


@dataclass(frozen=True)
class ModelSpec:
    """One model family: the ids it answers to and what it takes.

    `ids` are exact model ids; a dated snapshot `<id>-YYYY-MM-DD` of any of them belongs
    to the family too. `shutdown` is the date from which the model no longer accepts
    requests (None: none announced); `replacement` the model OpenAI names instead.
    """

    family: str
    ids: tuple[str, ...]
    released: date | None
    sizes: SizeRule
    qualities: tuple[str, ...]
    formats: tuple[str, ...]
    complexity: bool = False
    transparency: Transparency = "yes"
    input_fidelity: tuple[str, ...] = ()  # () = the model takes no input_fidelity
    markup: bool = False
    max_n: int = 10
    max_inputs: int = 16
    streaming: bool = True
    shutdown: date | None = None
    replacement: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def gif(self) -> bool:
        return "gif" in self.formats

    @property
    def svg(self) -> bool:
        return "svg" in self.formats

    def lifecycle(self, today: date, shutdown: date | None = None) -> Lifecycle:
        """`active`, `deprecated` (a shutdown date is set, still in the future) or `shut down`.

        `shutdown` overrides the table's date (a provider's `shutdown_date`)."""
        return lifecycle(shutdown or self.shutdown, today)


def lifecycle(shutdown: date | None, today: date) -> Lifecycle:
    """The lifecycle state on `today` of a model with this shutdown date."""
    if shutdown is None:
        return "active"
    return "shut down" if today >= shutdown else "deprecated"


def shutdown_notice(model: str, shutdown: date | None, today: date) -> str | None:
    """A warning for a model that is shut down or shuts down within 30 days, else None.

    The replacement named by OAI-DEP is suggested when the table knows the model."""
    if shutdown is None:
        return None
    spec = lookup(model)
    instead = f"; use {spec.replacement} instead" if spec and spec.replacement else ""
    if today >= shutdown:
        return f"{model} was shut down on {shutdown.isoformat()}{instead}"
    days = (shutdown - today).days
    if days <= SHUTDOWN_WARNING_DAYS:
        when = "tomorrow" if days == 1 else f"in {days} days"
        return f"{model} shuts down {when} ({shutdown.isoformat()}){instead}"
    return None


def switch_for(model: str, today: date, shutdown: date | None = None) -> str | None:
    """The current model to switch a profile to when `model` is shut down or shuts down
    within 30 days (`shutdown_notice`): the replacement OAI-DEP names, else the default
    model; None when `model` needs no switch. `shutdown` overrides the table's date."""
    spec = lookup(model)
    when = shutdown or (spec.shutdown if spec else None)
    if shutdown_notice(model, when, today) is None:
        return None
    return (spec.replacement if spec else None) or DEFAULT_MODEL


#: The table, newest first. The first entry's first id is the default for new profiles.
FAMILIES: tuple[ModelSpec, ...] = (
    ModelSpec(
        "gpt-image-2.6",
        ("gpt-image-2.6-sunburst", "gpt-image-2.6-flare"),
        released=date(2026, 11, 4),
        sizes=FLEXIBLE,
        qualities=QUALITIES_NEW,
        formats=FORMATS_ALL,
        complexity=True,
        transparency="yes",
        markup=True,
        notes=("sunburst: quality first; flare: speed first",),
    ),
    ModelSpec(
        "gpt-image-2.5",
        ("gpt-image-2.5-sunburst", "gpt-image-2.5-flare"),
        released=date(2026, 9, 8),
        sizes=FLEXIBLE,
        qualities=QUALITIES_NEW,
        formats=FORMATS_CLASSIC,
        transparency="yes",
        markup=True,
    ),
    ModelSpec(
        "gpt-image-2",
        ("gpt-image-2",),
        released=date(2026, 4, 21),
        sizes=FLEXIBLE,
        qualities=QUALITIES_CLASSIC,
        formats=FORMATS_CLASSIC,
        transparency="preview",
    ),
    ModelSpec(
        "gpt-image-1.5",
        ("gpt-image-1.5", "chatgpt-image-latest"),
        released=date(2025, 12, 16),
        sizes=FIXED_SIZES,
        qualities=QUALITIES_CLASSIC,
        formats=FORMATS_CLASSIC,
        input_fidelity=("low", "high"),
        shutdown=date(2026, 12, 1),
        replacement="gpt-image-2.6-sunburst",
    ),
    ModelSpec(
        "gpt-image-1-mini",
        ("gpt-image-1-mini",),
        released=None,
        sizes=FIXED_SIZES,
        qualities=QUALITIES_CLASSIC,
        formats=FORMATS_CLASSIC,
        input_fidelity=("low",),
        shutdown=date(2026, 12, 1),
        replacement="gpt-image-2.6-flare",
    ),
    ModelSpec(
        "gpt-image-1",
        ("gpt-image-1",),
        released=None,
        sizes=FIXED_SIZES,
        qualities=QUALITIES_CLASSIC,
        formats=FORMATS_CLASSIC,
        input_fidelity=("low", "high"),
        shutdown=date(2026, 10, 23),
        replacement="gpt-image-2.5-sunburst",
    ),
    ModelSpec(
        "dall-e",
        ("dall-e-3", "dall-e-2"),
        released=None,
        sizes=FIXED_SIZES,
        qualities=("auto", "standard", "hd"),
        formats=("png",),
        transparency="no",
        streaming=False,
        shutdown=date(2026, 5, 12),
        replacement="gpt-image-2.6-sunburst",
    ),
)

#: The model new profiles and the demo provider start on (a current model).
DEFAULT_MODEL = FAMILIES[0].ids[0]

_SNAPSHOT = re.compile(r"^(?P<base>.+)-\d{4}-\d{2}-\d{2}$")
_BY_ID = {model_id: spec for spec in FAMILIES for model_id in spec.ids}


def lookup(model: str) -> ModelSpec | None:
    """The family of `model` (an exact id or a dated snapshot of one), or None."""
    key = model.strip().lower()
    spec = _BY_ID.get(key)
    if spec is None:
        m = _SNAPSHOT.match(key)
        if m:
            spec = _BY_ID.get(m["base"])
    return spec


def current_models(today: date) -> list[str]:
    """The ids of every model in the table that is not shut down on `today`, newest first."""
    return [
        model_id
        for spec in FAMILIES
        if spec.lifecycle(today) != "shut down"
        for model_id in spec.ids
    ]
