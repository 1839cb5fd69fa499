"""What imgtui knows about image models: families, sizes, validation, prices, provider lists.

- `catalog`: the built-in table per model family (sizes, qualities, complexity, formats,
  transparency, maximum n, edit inputs, markup, shutdown dates), `lookup(model)`.
- `rules`: `check_params(model, params, ...)`, the per-model and API-wide checks of the
  parameters a request will send; errors name the field and the accepted values.
- `sizes`: the size rules, `parse_size_spec("16:9@2k")`, `resolve_size` (snap to a model's
  limits, with notices).
- `prices`: token rates per model (overridable per profile), `cost_usd(model, usage)`.
- `listing`: the provider's `GET /models`, sorted into image and mainline models with
  `shutdown_date`, cached per profile.

Plain Python (no Textual, no core): the API client, the config, the CLI, the TUI and the
demo server all use it. Facts come from shared/OPENAI-IMAGES.md (state of 2026-11-30).
"""

from __future__ import annotations

from imgtui.models.catalog import DEFAULT_MODEL, FAMILIES, ModelSpec, lookup, shutdown_notice
from imgtui.models.prices import Rates, cost_usd, rates_for
from imgtui.models.rules import PARAMS, accepted, check_params, takes
from imgtui.models.sizes import (
    RATIOS,
    TIERS,
    SizeRule,
    SizeSpec,
    Snapped,
    parse_size_spec,
    resolve_size,
)

__all__ = [
    "DEFAULT_MODEL",
    "FAMILIES",
    "PARAMS",
    "RATIOS",
    "TIERS",
    "ModelSpec",
    "Rates",
    "SizeRule",
    "SizeSpec",
    "Snapped",
    "accepted",
    "check_params",
    "cost_usd",
    "lookup",
    "parse_size_spec",
    "rates_for",
    "resolve_size",
    "shutdown_notice",
    "takes",
]
