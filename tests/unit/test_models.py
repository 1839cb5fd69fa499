"""imgtui.models: the family table, per-model validation, sizes and the size picker."""

from __future__ import annotations

from datetime import date

import pytest

from imgtui.api.request import RequestError
from imgtui.models import DEFAULT_MODEL, accepted, check_params, lookup, takes
from imgtui.models.catalog import current_models, shutdown_notice
from imgtui.models.sizes import (
    FIXED_SIZES,
    FLEXIBLE,
    check_size,
    gif_frame_cap,
    parse_size_spec,
    resolve_size,
)

TODAY = date(2026, 11, 30)


def error_of(model, params, **kw) -> RequestError:
    with pytest.raises(RequestError) as info:
        check_params(model, params, **kw)
    return info.value


# -- the table ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("gpt-image-2.6-sunburst", "gpt-image-2.6"),
        ("gpt-image-2.6-flare", "gpt-image-2.6"),
        ("gpt-image-2.5-flare-2026-09-08", "gpt-image-2.5"),
        ("gpt-image-2-2026-04-21", "gpt-image-2"),
        ("GPT-Image-1.5", "gpt-image-1.5"),
        ("chatgpt-image-latest", "gpt-image-1.5"),
        ("gpt-image-1-mini", "gpt-image-1-mini"),
        ("dall-e-3", "dall-e"),
    ],
)
def test_lookup_finds_families_and_snapshots(model, family):
    spec = lookup(model)
    assert spec is not None
    assert spec.family == family


def test_unknown_model_is_not_in_the_table():
    assert lookup("grok-2-image") is None
    assert lookup("gpt-image-2.6-flare-latest") is None


def test_default_model_is_current_and_the_old_ones_are_not():
    assert DEFAULT_MODEL == "gpt-image-2.6-sunburst"
    models = current_models(TODAY)
    assert models[:2] == ["gpt-image-2.6-sunburst", "gpt-image-2.6-flare"]
    assert "gpt-image-1" not in models
    assert "gpt-image-1.5" in models  # shuts down tomorrow
    assert "gpt-image-1.5" not in current_models(date(2026, 12, 1))


def test_shutdown_notices():
    assert shutdown_notice("gpt-image-1.5", date(2026, 12, 1), TODAY) == (
        "gpt-image-1.5 shuts down tomorrow (2026-12-01); use gpt-image-2.6-sunburst instead"
    )
    assert shutdown_notice("gpt-image-1", date(2026, 10, 23), TODAY) == (
        "gpt-image-1 was shut down on 2026-10-23; use gpt-image-2.5-sunburst instead"
    )
    assert shutdown_notice("gpt-image-2", date(2027, 6, 1), TODAY) is None
    assert shutdown_notice("relay-model", date(2026, 12, 20), TODAY) == (
        "relay-model shuts down in 20 days (2026-12-20)"
    )


def test_check_warns_about_a_model_shutting_down_but_sends():
    warnings = check_params("gpt-image-1-mini", {}, today=TODAY)
    assert warnings == [
        "gpt-image-1-mini shuts down tomorrow (2026-12-01); use gpt-image-2.6-flare instead"
    ]
    # the provider's date wins over the table's
    assert check_params("gpt-image-2", {}, today=TODAY, shutdown=date(2026, 11, 1)) == [
        "gpt-image-2 was shut down on 2026-11-01"
    ]


# -- quality, complexity, formats, per family ---------------------------------------------


@pytest.mark.parametrize("quality", ["xhigh", "max"])
def test_new_qualities_on_2_5_and_2_6_not_on_2(quality):
    assert check_params("gpt-image-2.6-flare", {"quality": quality}) == []
    assert check_params("gpt-image-2.5-sunburst", {"quality": quality}) == []
    err = error_of("gpt-image-2", {"quality": quality})
    assert err.field == "quality"
    assert err.message == f"{quality!r}: gpt-image-2 takes auto, low, medium, high"


def test_complexity_is_2_6_only():
    assert check_params("gpt-image-2.6-sunburst", {"complexity": "medium"}) == []
    err = error_of("gpt-image-2.5-flare", {"complexity": "medium"})
    assert (err.field, err.message) == (
        "complexity",
        "gpt-image-2.5-flare takes no complexity (it is 2.6 only): omit it",
    )
    err = error_of("gpt-image-2.6-sunburst", {"complexity": "extreme"})
    assert err.message == "'extreme': accepted values are low, medium, high"


def test_gif_and_svg_are_2_6_only():
    assert check_params("gpt-image-2.6-flare", {"output_format": "gif", "frame_count": 4}) == []
    assert check_params("gpt-image-2.6-flare", {"output_format": "svg"}) == []
    err = error_of("gpt-image-2.5-sunburst", {"output_format": "gif"})
    assert (err.field, err.message) == (
        "output_format",
        "'gif': gpt-image-2.5-sunburst takes png, jpeg, webp",
    )
    err = error_of("gpt-image-2.6-flare", {"output_format": "bmp"})
    assert err.message == "'bmp': accepted values are png, jpeg, webp, gif, svg"


def test_gif_rules():
    gif = {"output_format": "gif"}
    assert error_of("gpt-image-2.6-flare", gif | {"frame_count": 1}).message == "1: must be 2 to 16"
    assert error_of("gpt-image-2.6-flare", gif | {"frame_count": 17}).field == "frame_count"
    err = error_of("gpt-image-2.6-flare", gif | {"stream": True})
    assert (err.field, err.message) == (
        "stream",
        "GIF output does not stream: send it without stream",
    )
    assert error_of("gpt-image-2.6-flare", gif | {"partial_images": 2}).field == "partial_images"
    err = error_of("gpt-image-2.6-flare", gif | {"output_compression": 80})
    assert err.field == "output_compression"
    err = error_of("gpt-image-2.6-flare", gif, inputs=1, mask=True)
    assert (err.field, err.message) == ("mask", "GIF output takes no mask")
    err = error_of("gpt-image-2.6-flare", {"frame_count": 4})
    assert (err.field, err.message) == ("frame_count", "only applies to output_format gif, not png")
    assert check_params("gpt-image-2.6-flare", gif | {"frame_duration_ms": 150}) == []


def test_gif_frame_size_fits_the_sprite_sheet():
    assert gif_frame_cap(2) == gif_frame_cap(9) == 960
    assert gif_frame_cap(12) == 816
    assert gif_frame_cap(16) == 720
    gif = {"output_format": "gif", "size": "1024x1024", "frame_count": 6}
    err = error_of("gpt-image-2.6-sunburst", gif)
    assert err.field == "size"
    assert "1,048,576 pixels; at most 921,600" in err.message
    assert check_params("gpt-image-2.6-sunburst", gif | {"size": "1280x720"}) == []
    assert check_params("gpt-image-2.6-sunburst", gif | {"size": "384x384"}) == []
    assert error_of("gpt-image-2.6-sunburst", gif | {"size": "960x960", "frame_count": 13})


def test_svg_rules():
    svg = {"output_format": "svg"}
    err = error_of("gpt-image-2.6-flare", svg | {"n": 2})
    assert (err.field, err.message) == ("n", "2: SVG output needs n=1")
    assert error_of("gpt-image-2.6-flare", svg | {"stream": True}).field == "stream"
    ok = svg | {"svg": {"model": "gpt-5.6-terra", "reasoning": {"effort": "medium"}}}
    assert check_params("gpt-image-2.6-flare", ok) == []
    err = error_of("gpt-image-2.6-flare", svg | {"svg": {"reasoning": {"effort": "huge"}}})
    assert err.field == "svg.reasoning.effort"
    assert err.message == "'huge': accepted values are none, minimal, low, medium, high, xhigh, max"
    err = error_of("gpt-image-2.6-flare", {"svg": {"model": "gpt-5.6-terra"}})
    assert (err.field, err.message) == ("svg", "only applies to output_format svg, not png")


def test_markup_edits():
    assert check_params("gpt-image-2.6-sunburst", {}, inputs=1, markup=True) == []
    assert check_params("gpt-image-2.5-flare", {}, inputs=1, markup=True) == []
    err = error_of("gpt-image-2", {}, inputs=1, markup=True)
    assert (err.field, err.message) == (
        "markup",
        "gpt-image-2 takes no markup (GPT Image 2.5 and 2.6 do)",
    )
    err = error_of("gpt-image-2.6-sunburst", {}, inputs=1, markup=True, mask=True)
    assert (err.field, err.message) == (
        "markup",
        "cannot be combined with mask: send one or the other",
    )
    assert error_of("gpt-image-2.6-sunburst", {}, markup=True).field == "markup"
    assert error_of("gpt-image-2.6-sunburst", {}, inputs=17).field == "image"


def test_input_fidelity_per_family():
    assert check_params("gpt-image-1.5", {"input_fidelity": "high"}, inputs=1) == []
    err = error_of("gpt-image-1-mini", {"input_fidelity": "high"}, inputs=1)
    assert err.message == "'high': gpt-image-1-mini takes low"
    err = error_of("gpt-image-2.6-flare", {"input_fidelity": "high"}, inputs=1)
    assert err.message == "gpt-image-2.6-flare takes no input_fidelity: omit it"
    err = error_of("gpt-image-1.5", {"input_fidelity": "high"})
    assert err.message == "only applies to edits (with input images)"
    assert takes("gpt-image-2", "input_fidelity") is False
    assert takes("gpt-image-1.5", "input_fidelity") is True
    assert takes("some-relay-model", "input_fidelity") is None
    assert takes("gpt-image-2.6-flare", "moderation") is True


def test_transparency():
    assert check_params("gpt-image-2", {"background": "transparent"}) == [
        "transparent backgrounds are in preview on gpt-image-2"
    ]
    assert check_params("gpt-image-2.5-flare", {"background": "transparent"}) == []
    err = error_of("gpt-image-2.6-flare", {"background": "transparent", "output_format": "jpeg"})
    assert err.message == "transparent needs output_format png or webp, not jpeg"


def test_compression_needs_jpeg_or_webp():
    assert check_params("x", {"output_format": "webp", "output_compression": 80}) == []
    err = error_of("x", {"output_compression": 80})
    assert err.message == "only applies to jpeg or webp output, not png"
    assert error_of("x", {"output_format": "jpeg", "output_compression": 101}).field == (
        "output_compression"
    )


def test_unknown_model_gets_only_api_wide_checks():
    # any quality string, any WxH syntax: the provider decides
    assert check_params("grok-2-image", {"quality": "ultra", "size": "1000x1000"}) == []
    assert check_params("grok-2-image", {"complexity": "high"}) == []
    assert error_of("grok-2-image", {"n": 11}).field == "n"
    assert error_of("grok-2-image", {"size": "big"}).field == "size"
    assert error_of("grok-2-image", {"colour": "red"}).field == "colour"


def test_accepted_values_for_hints():
    assert accepted("gpt-image-2.6-flare", "quality") == (
        "auto",
        "low",
        "medium",
        "high",
        "xhigh",
        "max",
    )
    assert accepted("gpt-image-2", "complexity") == ()
    assert accepted("gpt-image-2.6-flare", "output_format") == ("png", "jpeg", "webp", "gif", "svg")
    assert accepted("relay", "quality") is None


# -- sizes -------------------------------------------------------------------------------


def test_flexible_size_rule():
    assert check_size(1536, 864, FLEXIBLE) == []
    assert check_size(3840, 2160, FLEXIBLE) == [
        "3840x2160 is above 2560x1440: OpenAI calls such sizes experimental"
    ]
    assert check_size(2560, 1440, FLEXIBLE) == []
    for w, h, problem in [
        (1792, 936, "both sides must be multiples of 16"),
        (3072, 896, "the long side may be at most 3 times the short side"),
        (3888, 1296, "the longest side may be at most 3840"),
        (3200, 2720, "8,704,000 pixels; at most 8,294,400"),
        (768, 768, "589,824 pixels; at least 655,360"),
    ]:
        with pytest.raises(RequestError) as info:
            check_size(w, h, FLEXIBLE)
        assert info.value.field == "size"
        assert info.value.message.startswith(f"{w}x{h}: {problem} (accepted: auto or WxH")


def test_fixed_size_rule_names_the_sizes():
    with pytest.raises(RequestError) as info:
        check_size(1536, 864, FIXED_SIZES, "gpt-image-1.5")
    assert info.value.message == (
        "1536x864: gpt-image-1.5 takes only auto, 1024x1024, 1536x1024, 1024x1536"
    )


def test_size_check_in_check_params_uses_the_family_rule():
    assert check_params("gpt-image-2.6-flare", {"size": "1536x864"}) == []
    assert error_of("gpt-image-1.5", {"size": "1536x864"}).field == "size"
    assert check_params("gpt-image-1.5", {"size": "auto"}) == []


@pytest.mark.parametrize(
    ("text", "kind", "shown"),
    [
        ("auto", "auto", "auto"),
        ("16:9@2k", "ratio", "16:9@2k"),
        ("16:9@2K", "ratio", "16:9@2k"),
        ("16:9", "ratio", "16:9@1k"),
        (" 5:4 @ 4k ", "ratio", "5:4@4k"),
        ("1536x1024", "exact", "1536x1024"),
        ("1536X1024", "exact", "1536x1024"),
    ],
)
def test_parse_size_spec(text, kind, shown):
    spec = parse_size_spec(text)
    assert spec.kind == kind
    assert str(spec) == shown


@pytest.mark.parametrize("text", ["16:9@3k", "0:9", "big", "1536x", "x1024", "0x1024"])
def test_parse_size_spec_refuses(text):
    with pytest.raises(RequestError) as info:
        parse_size_spec(text)
    assert info.value.field == "size"


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1:1@1k", "1024x1024"),
        ("16:9@1k", "1360x768"),
        ("9:16@1k", "768x1360"),
        ("3:2@1k", "1248x832"),
        ("1:1@4k", "2880x2880"),
        ("16:9@4k", "3840x2160"),
    ],
)
def test_picker_sizes_that_fit_untouched(text, size):
    snapped = resolve_size(parse_size_spec(text), FLEXIBLE)
    assert snapped.size == size
    assert all("->" not in n for n in snapped.notices)


def test_picker_snaps_with_a_notice_saying_what_changed():
    snapped = resolve_size(parse_size_spec("21:9@4k"), FLEXIBLE)
    assert snapped.size == "3808x1632"
    assert snapped.notices == (
        "21:9@4k (4384x1872) -> 3808x1632: the longest side may be at most 3840",
        "3808x1632 is above 2560x1440: OpenAI calls such sizes experimental",
    )
    snapped = resolve_size(parse_size_spec("1000x1000"), FLEXIBLE)
    assert snapped == type(snapped)(
        "1008x1008", ("1000x1000 -> 1008x1008: both sides must be multiples of 16",)
    )
    snapped = resolve_size(parse_size_spec("100x100"), FLEXIBLE)
    assert snapped.size == "816x816"
    assert snapped.notices == (
        "100x100 -> 816x816: both sides must be multiples of 16; 10,000 pixels; at least 655,360",
    )


def test_picker_on_a_fixed_size_model_takes_the_closest_shape():
    rule = lookup("gpt-image-1.5").sizes
    assert resolve_size(parse_size_spec("16:9@2k"), rule).size == "1536x1024"
    assert resolve_size(parse_size_spec("9:16"), rule).size == "1024x1536"
    snapped = resolve_size(parse_size_spec("1:1@4k"), rule)
    assert snapped.notices == (
        "1:1@4k -> 1024x1024: this model takes only auto, 1024x1024, 1536x1024, 1024x1536",
    )


def test_picker_for_gif_frames():
    snapped = resolve_size(parse_size_spec("16:9@2k"), FLEXIBLE, frames=4)
    assert snapped.size == "1280x720"
    assert snapped.notices == (
        "16:9@2k (2720x1536) -> 1280x720 (a GIF frame): 4,177,920 pixels; at most 921,600",
    )
    assert resolve_size(parse_size_spec("1:1@1k"), FLEXIBLE, frames=16).size == "720x720"


def test_picker_for_an_unknown_model():
    assert resolve_size(parse_size_spec("1000x1000"), None).size == "1000x1000"
    assert resolve_size(parse_size_spec("16:9@4k"), None).size == "3840x2160"
