"""imgtui.models: prices and cost from usage; the provider's model list and its cache."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from imgtui.api import ApiFailure, Connection, FailureKind
from imgtui.models.listing import ModelCache, ModelList, ProviderModel, models_for, parse_models
from imgtui.models.prices import Rates, cost_usd, rates_for

# -- prices ------------------------------------------------------------------------------

USAGE = {
    "input_tokens": 52,
    "input_tokens_details": {"text_tokens": 52, "image_tokens": 0},
    "output_tokens": 6840,
    "output_tokens_details": {"image_tokens": 6840, "text_tokens": 0},
    "total_tokens": 6892,
}


def test_cost_of_the_spec_example():
    # 52 text tokens at $5/M + 6840 image output tokens at $30/M
    assert cost_usd("gpt-image-2.6-flare", USAGE) == pytest.approx(0.20546)
    assert cost_usd("gpt-image-2.6-flare", USAGE) == round(52 * 5e-6 + 6840 * 30e-6, 6)


def test_cost_per_family():
    usage = {"input_tokens": 1000, "output_tokens": 1000}  # no details: text in, image out
    assert cost_usd("gpt-image-1.5-2025-12-16", usage) == pytest.approx(0.005 + 0.032)
    assert cost_usd("gpt-image-1-mini", usage) == pytest.approx(0.002 + 0.008)
    assert cost_usd("gpt-image-2", usage) == pytest.approx(0.005 + 0.030)


def test_edit_input_images_and_cached_tokens():
    usage = {
        "input_tokens": 1300,
        "input_tokens_details": {"text_tokens": 300, "image_tokens": 1000},
        "output_tokens": 0,
        "cached_tokens": 500,
        "cached_tokens_details": {"cached_image_tokens": 400, "cached_text_tokens": 100},
    }
    expected = (200 * 5.00 + 100 * 1.25 + 600 * 8.00 + 400 * 2.00) / 1e6
    assert cost_usd("gpt-image-2.6-sunburst", usage) == pytest.approx(expected)


def test_text_output_tokens_unpriced_makes_the_cost_unknown():
    usage = {"input_tokens": 10, "output_tokens": 20,
             "output_tokens_details": {"image_tokens": 10, "text_tokens": 10}}  # fmt: skip
    assert cost_usd("gpt-image-1-mini", usage) is None  # the page lists no text output rate
    assert cost_usd("gpt-image-2", usage) == pytest.approx((10 * 5 + 10 * 30 + 10 * 10) / 1e6)


def test_unpriced_model_and_missing_usage():
    assert cost_usd("grok-2-image", USAGE) is None
    assert cost_usd("gpt-image-2.6-flare", None) is None
    assert cost_usd("gpt-image-2.6-flare", {}) == 0.0


def test_profile_overrides():
    overrides = {"gpt-image-2.6-flare": {"image_output": 15}, "relay-img": {"image_output": 10}}
    assert rates_for("gpt-image-2.6-flare", overrides) == Rates(5.0, 1.25, 10.0, 8.0, 2.0, 15.0)
    assert cost_usd("gpt-image-2.6-flare", USAGE, overrides=overrides) == pytest.approx(
        (52 * 5 + 6840 * 15) / 1e6
    )
    assert cost_usd("relay-img", {"output_tokens": 1000}, overrides=overrides) == pytest.approx(
        0.01
    )
    # input tokens on a model with only an output rate: unknown, not free
    assert (
        cost_usd("relay-img", {"input_tokens": 5, "output_tokens": 1}, overrides=overrides) is None
    )
    with pytest.raises(ValueError, match=r"price_overrides.relay-img.image_out: unknown rate"):
        rates_for("relay-img", {"relay-img": {"image_out": 1}})
    with pytest.raises(ValueError, match=r"must be a number >= 0"):
        rates_for("relay-img", {"relay-img": {"image_output": -1}})


def test_svg_usage_is_priced_at_the_author_model():
    svg = {"input_tokens": 1000, "model": "gpt-5.6-terra", "output_tokens": 2000,
           "reasoning_tokens": 500, "total_tokens": 3000}  # fmt: skip
    assert cost_usd("gpt-image-2.6-flare", USAGE, svg_usage=svg) is None  # author unpriced
    overrides = {"gpt-5.6-terra": {"text_input": 1.0, "text_output": 8.0}}
    assert cost_usd("gpt-image-2.6-flare", USAGE, svg_usage=svg, overrides=overrides) == (
        pytest.approx(0.20546 + (1000 * 1 + 2000 * 8) / 1e6)
    )


# -- the provider's list -------------------------------------------------------------------


def test_parse_models_with_shutdown_dates_and_hostile_ids():
    body = {
        "object": "list",
        "data": [
            {
                "id": "gpt-image-1.5",
                "shutdown_date": "2026-12-01",
                "created": 1,
                "owned_by": "system",
            },
            {"id": "gpt-image-2.6-flare", "shutdown_date": None},
            {"id": "gpt-5.6-terra"},
            {"id": "text-embedding-3-large"},
            {"id": "evil\x1b[31mred"},
            {"id": "x" * 300},
            {"id": 5},
            "junk",
        ],
    }
    models = parse_models(body)
    assert [m.id for m in models] == [
        "gpt-5.6-terra",
        "gpt-image-1.5",
        "gpt-image-2.6-flare",
        "text-embedding-3-large",
    ]
    listing = ModelList("https://x/v1", datetime.now(UTC), tuple(models))
    assert [m.id for m in listing.image_models] == ["gpt-image-1.5", "gpt-image-2.6-flare"]
    assert [m.id for m in listing.mainline_models] == ["gpt-5.6-terra"]
    assert listing.shutdown_date("gpt-image-1.5") == date(2026, 12, 1)
    assert listing.shutdown_date("gpt-image-1") == date(2026, 10, 23)  # from the table
    assert listing.shutdown_date("gpt-image-2.6-flare") is None
    with pytest.raises(ValueError, match="no 'data' list"):
        parse_models({"models": []})


async def test_models_for_fetches_caches_and_refreshes(server, tmp_path):
    conn = Connection(server.base_url, api_key="sk-test-0000")
    cache = ModelCache(tmp_path / "models-cache.json")
    server.clear()
    first = await models_for("Demo", conn, cache)
    assert first.base_url == server.base_url
    assert first.image_models  # the demo lists image models
    gets = [r for r in server.requests if r["path"].endswith("/models")]
    assert len(gets) == 1
    assert gets[0]["headers"]["authorization"] == "Bearer sk-test-0000"

    again = await models_for("Demo", conn, cache)
    assert again.models == first.models
    assert len([r for r in server.requests if r["path"].endswith("/models")]) == 1  # cached

    await models_for("Demo", conn, cache, refresh=True)
    assert len([r for r in server.requests if r["path"].endswith("/models")]) == 2
    later = datetime.now(UTC) + timedelta(days=2)
    await models_for("Demo", conn, cache, now=later)  # stale: fetched again
    assert len([r for r in server.requests if r["path"].endswith("/models")]) == 3

    stored = json.loads((tmp_path / "models-cache.json").read_text())
    assert list(stored["profiles"]) == ["Demo"]
    assert "sk-test" not in (tmp_path / "models-cache.json").read_text()


def test_cache_ignores_another_base_url_and_a_broken_file(tmp_path):
    path = tmp_path / "models-cache.json"
    cache = ModelCache(path)
    listing = ModelList("https://a/v1", datetime(2026, 11, 30, tzinfo=UTC),
                        (ProviderModel("gpt-image-2", None),))  # fmt: skip
    cache.put("P", listing)
    assert cache.get("P", "https://a/v1") == listing
    assert cache.get("P", "https://b/v1") is None
    assert cache.get("Q", "https://a/v1") is None
    cache.forget(["P"])
    assert cache.get("P", "https://a/v1") is None
    path.write_text("{not json")
    assert cache.get("P", "https://a/v1") is None
    cache.put("P", listing)  # a broken cache is simply replaced
    assert cache.get("P", "https://a/v1") == listing


async def test_fetch_failure_is_an_api_failure_without_the_key(server, tmp_path):
    conn = Connection(server.fault_url("auth"), api_key="sk-secret-9999")
    with pytest.raises(ApiFailure) as info:
        await models_for("P", conn, ModelCache(tmp_path / "c.json"))
    assert info.value.kind == FailureKind.AUTH
    assert "sk-secret-9999" not in info.value.message
    assert not (tmp_path / "c.json").exists()
