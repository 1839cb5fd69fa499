"""Output sizes: the per-model size rules, checking, snapping, and the size picker.

The flexible-size rule (shared/OPENAI-IMAGES.md §2 `size`, PY docstring plus the limits
relays and older OpenAI guide copies give): width and height multiples of 16, aspect ratio
between 1:3 and 3:1, longest side at most 3840, 655,360 to 8,294,400 pixels; above
2560x1440 (3,686,400 pixels) the output is "experimental". Older models take only the
three standard sizes. GIF frames (§2.2) are laid out on one sprite sheet, so a frame may be
at most 960x960 pixels' worth for 2-9 frames, 816x816 for 10-12 and 720x720 for 13-16
(apiyi's measured caps; 1280x720 = 960x960 pixels, which Comfy offers); the minimum pixel
count does not apply to frames (Comfy offers 384x384).

The picker: an aspect ratio (1:1, 3:2, 2:3, 4:3, 3:4, 16:9, 9:16, 21:9 or any `A:B`) at a
tier, where a tier is a pixel budget: 1K = 1024x1024 pixels, 2K = 2048x2048, 4K =
3840x2160 (the largest the API takes). The text forms `16:9@2k`, `16:9` (1K), `WxH` and
`auto` parse with `parse_size_spec`; `resolve_size` turns one into a size a model accepts
and says what it changed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from imgtui.api.request import RequestError

#: The picker's aspect ratios (any other `A:B` is "custom").
RATIOS: tuple[str, ...] = ("1:1", "3:2", "2:3", "4:3", "3:4", "16:9", "9:16", "21:9")
#: Tier name -> pixel budget.
TIERS: dict[str, int] = {"1k": 1024 * 1024, "2k": 2048 * 2048, "4k": 3840 * 2160}
STANDARD_SIZES: tuple[tuple[int, int], ...] = ((1024, 1024), (1536, 1024), (1024, 1536))
#: Frame count -> the largest square GIF frame side (§2.2).
GIF_FRAME_CAPS: tuple[tuple[int, int], ...] = ((9, 960), (12, 816), (16, 720))
GIF_FRAMES = (2, 16)
GIF_DEFAULT_FRAMES = 9


@dataclass(frozen=True)
class SizeRule:
    """What `WxH` sizes a model takes. `fixed` non-empty: only those sizes (and `auto`)."""

    fixed: tuple[tuple[int, int], ...] = ()
    multiple: int = 16
    max_ratio: int = 3
    max_side: int = 3840
    min_pixels: int = 655_360
    max_pixels: int = 8_294_400
    experimental_pixels: int | None = 2560 * 1440

    def describe(self) -> str:
        """The rule in one line, for hints and error messages."""
        if self.fixed:
            return "auto, " + ", ".join(f"{w}x{h}" for w, h in self.fixed)
        low = f"{self.min_pixels:,} to " if self.min_pixels else "at most "
        return (
            f"auto or WxH with sides multiples of {self.multiple}, ratio at most "
            f"{self.max_ratio}:1, longest side at most {self.max_side}, "
            f"{low}{self.max_pixels:,} pixels"
        )


FLEXIBLE = SizeRule()
FIXED_SIZES = SizeRule(fixed=STANDARD_SIZES)

_WXH = re.compile(r"^\s*(\d{1,6})\s*[xX×]\s*(\d{1,6})\s*$")
_RATIO = re.compile(r"^\s*(\d{1,3})\s*:\s*(\d{1,3})\s*(?:@\s*([0-9]+)\s*[kK])?\s*$")


def gif_frame_cap(frames: int) -> int:
    """The largest square frame side for a GIF of `frames` frames (2-16)."""
    for most, side in GIF_FRAME_CAPS:
        if frames <= most:
            return side
    return GIF_FRAME_CAPS[-1][1]


def gif_rule(rule: SizeRule, frames: int) -> SizeRule:
    """The size rule for one frame of a GIF with `frames` frames under `rule`."""
    cap = gif_frame_cap(frames)
    return replace(rule, fixed=(), min_pixels=0, max_pixels=cap * cap, experimental_pixels=None)


def parse_wxh(text: str) -> tuple[int, int] | None:
    """`"1536x1024"` -> (1536, 1024); `"auto"` -> None. Raises RequestError("size")."""
    if text.strip().lower() == "auto":
        return None
    m = _WXH.match(text)
    if not m or not int(m[1]) or not int(m[2]):
        raise RequestError("size", f"{text!r} is not auto or WIDTHxHEIGHT (e.g. 1536x1024)")
    return int(m[1]), int(m[2])


def check_size(width: int, height: int, rule: SizeRule, model: str = "this model") -> list[str]:
    """Raise RequestError("size") when `rule` refuses WxH, naming what it accepts.

    Returns warnings that do not block (an experimental size)."""
    size = f"{width}x{height}"
    if rule.fixed:
        if (width, height) not in rule.fixed:
            raise RequestError("size", f"{size}: {model} takes only {rule.describe()}")
        return []
    problem = _problem(width, height, rule)
    if problem:
        raise RequestError("size", f"{size}: {problem} (accepted: {rule.describe()})")
    warning = experimental(width, height, rule)
    return [warning] if warning else []


def _problem(width: int, height: int, rule: SizeRule) -> str | None:
    """Everything wrong with WxH under a flexible rule ("; "-joined), or None."""
    problems = []
    if width % rule.multiple or height % rule.multiple:
        problems.append(f"both sides must be multiples of {rule.multiple}")
    if max(width, height) > rule.max_ratio * min(width, height):
        problems.append(f"the long side may be at most {rule.max_ratio} times the short side")
    if max(width, height) > rule.max_side:
        problems.append(f"the longest side may be at most {rule.max_side}")
    if width * height > rule.max_pixels:
        problems.append(f"{width * height:,} pixels; at most {rule.max_pixels:,}")
    if width * height < rule.min_pixels:
        problems.append(f"{width * height:,} pixels; at least {rule.min_pixels:,}")
    return "; ".join(problems) or None


def experimental(width: int, height: int, rule: SizeRule) -> str | None:
    """A warning when WxH is above the rule's experimental threshold (2560x1440), else None."""
    if rule.experimental_pixels and width * height > rule.experimental_pixels:
        return f"{width}x{height} is above 2560x1440: OpenAI calls such sizes experimental"
    return None


@dataclass(frozen=True)
class SizeSpec:
    """A parsed size choice: `auto`, an exact `width`x`height`, or `ratio` at `tier`."""

    kind: str  # "auto" | "exact" | "ratio"
    width: int = 0
    height: int = 0
    ratio: tuple[int, int] = (1, 1)
    tier: str = "1k"

    def __str__(self) -> str:
        if self.kind == "auto":
            return "auto"
        if self.kind == "exact":
            return f"{self.width}x{self.height}"
        return f"{self.ratio[0]}:{self.ratio[1]}@{self.tier}"


def parse_size_spec(text: str) -> SizeSpec:
    """Parse `auto`, `WxH`, `A:B` or `A:B@TIER` (TIER: 1k, 2k, 4k). Raises RequestError."""
    value = text.strip().lower()
    if value == "auto":
        return SizeSpec("auto")
    m = _RATIO.match(value)
    if m:
        a, b = int(m[1]), int(m[2])
        tier = f"{m[3]}k" if m[3] else "1k"
        if not a or not b:
            raise RequestError("size", f"{text!r}: the ratio needs two positive numbers")
        if tier not in TIERS:
            raise RequestError("size", f"{text!r}: the tier must be one of {', '.join(TIERS)}")
        return SizeSpec("ratio", ratio=(a, b), tier=tier)
    try:
        wh = parse_wxh(value)
    except RequestError:
        raise RequestError(
            "size",
            f"{text!r}: expected auto, WIDTHxHEIGHT (1536x1024) or RATIO@TIER "
            f"(16:9@2k; tiers {', '.join(TIERS)})",
        ) from None
    assert wh is not None
    return SizeSpec("exact", width=wh[0], height=wh[1])


@dataclass(frozen=True)
class Snapped:
    """A size a model takes (`auto` or `WxH`), and what was changed to get there."""

    size: str
    notices: tuple[str, ...] = ()


def ideal_size(ratio: tuple[int, int], tier: str) -> tuple[int, int]:
    """WxH of `ratio` within the tier's pixel budget, sides rounded down to multiples of 16."""
    budget = TIERS[tier]
    r = ratio[0] / ratio[1]
    return _floor16(math.sqrt(budget * r)), _floor16(math.sqrt(budget / r))


def resolve_size(spec: SizeSpec, rule: SizeRule | None, *, frames: int | None = None) -> Snapped:
    """The size to send for `spec` under `rule` (None: a model the table doesn't know).

    `frames` set means GIF output: the frame-size cap for that many frames applies. An
    exact size a known model refuses, and any ratio@tier, are snapped to the nearest size
    the rule takes, with a notice saying what changed and why. For an unknown model an
    exact size is sent as typed and a ratio uses the flexible rule of today's models."""
    if spec.kind == "auto":
        return Snapped("auto")
    if rule is None:
        if spec.kind == "exact":
            return Snapped(f"{spec.width}x{spec.height}")
        rule = FLEXIBLE
    if frames is not None:
        rule = gif_rule(rule, frames)
    if spec.kind == "exact":
        width, height = spec.width, spec.height
    else:
        width, height = ideal_size(spec.ratio, spec.tier)
    label = str(spec) if spec.kind == "ratio" else f"{width}x{height}"
    if rule.fixed:
        return _snap_fixed(width, height, rule, label)
    notices: list[str] = []
    problem = _problem(width, height, rule)
    if problem is not None:
        want = spec.ratio[0] / spec.ratio[1] if spec.kind == "ratio" else None
        new_w, new_h = snap(width, height, rule, want)
        what = f"{label} ({width}x{height})" if spec.kind == "ratio" else label
        limit = " (a GIF frame)" if frames is not None else ""
        notices.append(f"{what} -> {new_w}x{new_h}{limit}: {problem}")
        width, height = new_w, new_h
    warning = experimental(width, height, rule)
    if warning:
        notices.append(warning)
    return Snapped(f"{width}x{height}", tuple(notices))


def _snap_fixed(width: int, height: int, rule: SizeRule, label: str) -> Snapped:
    if (width, height) in rule.fixed:
        return Snapped(f"{width}x{height}")
    want = math.log(width / height)
    w, h = min(rule.fixed, key=lambda s: (abs(math.log(s[0] / s[1]) - want), s[0] * s[1]))
    return Snapped(f"{w}x{h}", (f"{label} -> {w}x{h}: this model takes only {rule.describe()}",))


def snap(width: int, height: int, rule: SizeRule, ratio: float | None = None) -> tuple[int, int]:
    """The size nearest WxH (in aspect ratio, `ratio` when given, first; then in pixel
    count) that a flexible `rule` accepts."""
    r = min(max(ratio or width / height, 1 / rule.max_ratio), rule.max_ratio)
    pixels = float(min(max(width * height, rule.min_pixels), rule.max_pixels))
    pixels = min(pixels, rule.max_side**2 / r if r >= 1 else rule.max_side**2 * r)
    w, h = math.sqrt(pixels * r), math.sqrt(pixels / r)
    m = rule.multiple
    candidates = [
        (cw, ch)
        for cw in range(max(m, (int(w) // m - 2) * m), (int(w) // m + 3) * m + 1, m)
        for ch in range(max(m, (int(h) // m - 2) * m), (int(h) // m + 3) * m + 1, m)
        if _problem(cw, ch, rule) is None
    ]
    if not candidates:  # cannot happen for a sane rule; keep the guard explicit
        raise RequestError("size", f"no size fits {rule.describe()}")
    return min(
        candidates,
        key=lambda c: (
            round(abs(math.log(c[0] / c[1]) - math.log(r)), 3),
            abs(math.log(c[0] * c[1] / pixels)),
        ),
    )


def _floor16(value: float) -> int:
    return max(16, int(value + 1e-9) // 16 * 16)
