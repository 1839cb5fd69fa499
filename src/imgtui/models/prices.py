"""Token prices per model and the cost of one result from its `usage`.

Rates are USD per 1M tokens, from shared/OPENAI-IMAGES.md §7 (OpenAI's model pages where
read, else the relays it cites). A profile may override or add rates (`price_overrides`)
for relays that price differently; an override is a mapping with any of the `RATE_KEYS`.

The cost (§7, "Estimating cost"): input text tokens at `text_input`, input image tokens at
`image_input`, cached input tokens (Responses `tool_usage.image_gen` only; the Images API
reports none) at the cached rates, output image tokens (`output_tokens_details.image_tokens`,
else all `output_tokens`) at `image_output`, output text tokens at `text_output`; an SVG's
`svg_usage` at its author model's rates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from imgtui.models.catalog import lookup

RATE_KEYS: tuple[str, ...] = (
    "text_input",
    "text_cached_input",
    "text_output",
    "image_input",
    "image_cached_input",
    "image_output",
)


@dataclass(frozen=True)
class Rates:
    """USD per 1M tokens. None: not priced (a token of that kind makes the cost unknown)."""

    text_input: float | None = None
    text_cached_input: float | None = None
    text_output: float | None = None
    image_input: float | None = None
    image_cached_input: float | None = None
    image_output: float | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, object], where: str = "price") -> Rates:
        """Rates from `{"image_output": 30, ...}`; raises ValueError naming a bad key or value."""
        out: dict[str, float] = {}
        for key, value in values.items():
            if key not in RATE_KEYS:
                raise ValueError(f"{where}.{key}: unknown rate; known: {', '.join(RATE_KEYS)}")
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(
                    f"{where}.{key}: {value!r}: must be a number >= 0 (USD per 1M tokens)"
                )
            out[key] = float(value)
        return cls(**out)

    def over(self, base: Rates) -> Rates:
        """These rates where set, else `base`'s."""
        return Rates(
            **{
                f.name: getattr(self, f.name)
                if getattr(self, f.name) is not None
                else getattr(base, f.name)
                for f in fields(self)
            }
        )


_GPT_IMAGE = Rates(5.00, 1.25, 10.00, 8.00, 2.00, 30.00)
#: Family name -> rates (§7). Families not listed here are unpriced.
PRICES: dict[str, Rates] = {
    "gpt-image-2.6": _GPT_IMAGE,
    "gpt-image-2.5": _GPT_IMAGE,
    "gpt-image-2": _GPT_IMAGE,
    "gpt-image-1.5": Rates(5.00, 1.25, 10.00, 8.00, 2.00, 32.00),
    "gpt-image-1-mini": Rates(2.00, 0.20, None, 2.50, 0.25, 8.00),
    "gpt-image-1": Rates(5.00, 1.25, None, 10.00, 2.50, 40.00),
}


def rates_for(
    model: str, overrides: Mapping[str, Mapping[str, object]] | None = None
) -> Rates | None:
    """The rates of `model`: the profile's override (by exact id) over the table's family
    rates; None when neither prices it."""
    spec = lookup(model)
    base = PRICES.get(spec.family) if spec else None
    override = (overrides or {}).get(model)
    if override is None:
        return base
    rates = Rates.from_mapping(override, f"price_overrides.{model}")
    return rates.over(base) if base else rates


def _int(obj: object, *path: str) -> int:
    for key in path:
        obj = obj.get(key) if isinstance(obj, Mapping) else None
    return obj if isinstance(obj, int) and not isinstance(obj, bool) and obj > 0 else 0


def _priced(tokens: int, rate: float | None) -> float | None:
    if not tokens:
        return 0.0
    return None if rate is None else tokens * rate / 1e6


def cost_usd(
    model: str,
    usage: Mapping[str, object] | None,
    *,
    svg_usage: Mapping[str, object] | None = None,
    overrides: Mapping[str, Mapping[str, object]] | None = None,
) -> float | None:
    """USD for one result with this `usage` (Images API `usage`, or Responses
    `tool_usage.image_gen`); None when there is no usage or a part is unpriced. An SVG's
    `svg_usage` (given, or kept in `usage["svg_usage"]`) is added at its author's rates;
    `usage["mainline_usage"]` (the Responses mainline model's own tokens) is not priced.

    Without `input_tokens_details`, all input tokens count as text; without
    `output_tokens_details`, all output tokens count as image tokens (§7)."""
    if not isinstance(usage, Mapping):
        return None
    kept = usage.get("svg_usage")  # kept there by the parser (`api.parse.with_svg_usage`)
    if svg_usage is None and isinstance(kept, Mapping):
        svg_usage = kept
    rates = rates_for(model, overrides)
    if rates is None:
        return None
    details = usage.get("input_tokens_details")
    if isinstance(details, Mapping):
        text_in, image_in = _int(details, "text_tokens"), _int(details, "image_tokens")
    else:
        text_in, image_in = _int(usage, "input_tokens"), 0
    cached_text = _int(usage, "cached_tokens_details", "cached_text_tokens")
    cached_image = _int(usage, "cached_tokens_details", "cached_image_tokens")
    out = usage.get("output_tokens_details")
    if isinstance(out, Mapping):
        image_out, text_out = _int(out, "image_tokens"), _int(out, "text_tokens")
    else:
        image_out, text_out = _int(usage, "output_tokens"), 0
    parts = [
        _priced(max(0, text_in - cached_text), rates.text_input),
        _priced(cached_text, rates.text_cached_input),
        _priced(max(0, image_in - cached_image), rates.image_input),
        _priced(cached_image, rates.image_cached_input),
        _priced(image_out, rates.image_output),
        _priced(text_out, rates.text_output),
    ]
    if isinstance(svg_usage, Mapping):
        author = svg_usage.get("model")
        author_rates = rates_for(author, overrides) if isinstance(author, str) else None
        svg_in, svg_out = _int(svg_usage, "input_tokens"), _int(svg_usage, "output_tokens")
        if author_rates is None:
            parts.append(None if svg_in or svg_out else 0.0)
        else:
            parts += [
                _priced(svg_in, author_rates.text_input),
                _priced(svg_out, author_rates.text_output),
            ]
    if any(p is None for p in parts):
        return None
    return round(sum(p for p in parts if p is not None), 6)
