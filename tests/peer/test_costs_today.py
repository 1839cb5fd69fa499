"""What a result costs, against the demo server: the Responses API's image tool usage (not
the mainline model's), an SVG's `svg_usage`, per-profile price overrides; the provider's
model list as the app keeps it (`ModelLists`); today's spending line."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from imgtui.config import Profile
from imgtui.draft import Draft
from imgtui.models.listing import CACHE_FILE, ModelCache, ModelLists, choices, model_notice
from imgtui.models.prices import cost_usd
from imgtui.runner import Runner
from imgtui.spending import PriceBook, spending_line
from imgtui.tasks import ImageParams, Task, apply

TODAY = date(2026, 11, 30)


def run(server, *, api_mode="images", **params) -> Task:
    """One task on the demo server through the runner; the finished task."""
    profile = Profile("D", server.base_url, model=params.pop("model"), api_mode=api_mode)
    draft = Draft("a fox icon", profile, ImageParams(model=profile.model, **params)).check()
    task = draft.task()
    task.queue()

    async def go() -> None:
        runner = Runner()
        try:
            await runner.run(draft, lambda event, _picture: apply(task, event))
        finally:
            await runner.aclose()

    asyncio.run(go())
    return task


def test_responses_cost_comes_from_the_image_tool_not_the_mainline_model(server):
    task = run(server, api_mode="responses", model="gpt-image-2.6-flare", stream=True)
    (slot,) = task.slots
    usage = slot.usage
    assert usage is not None
    # tool_usage.image_gen of the demo's Response, the mainline usage kept beside it
    assert usage["output_tokens_details"]["image_tokens"] == usage["output_tokens"]
    mainline = usage["mainline_usage"]
    assert mainline["output_tokens"] == usage["output_tokens"] + 40
    image_only = {k: v for k, v in usage.items() if k != "mainline_usage"}
    assert cost_usd("gpt-image-2.6-flare", usage) == cost_usd("gpt-image-2.6-flare", image_only)
    text = usage["input_tokens_details"]["text_tokens"]
    assert cost_usd("gpt-image-2.6-flare", usage) == pytest.approx(
        text * 5e-6 + usage["output_tokens"] * 30e-6
    )


@pytest.mark.parametrize("api_mode", ["images", "responses"])
def test_svg_usage_is_counted_in_the_cost(server, api_mode):
    task = run(
        server,
        api_mode=api_mode,
        model="gpt-image-2.6-flare",
        output_format="svg",
        svg_model="gpt-5.6-terra",
        stream=False,
    )
    (slot,) = task.slots
    assert slot.status.value == "done" and slot.image.lstrip().startswith(b"<svg")
    svg = slot.usage["svg_usage"]
    assert svg["model"] == "gpt-5.6-terra" and svg["output_tokens"] > 0
    # The author model is not in the built-in table: the task is unpriced, never free.
    assert PriceBook().cost(task) is None
    rates = {"gpt-5.6-terra": {"text_input": 1.0, "text_output": 10.0}}
    book = PriceBook({"D": rates})
    image = {k: v for k, v in slot.usage.items() if k not in ("svg_usage", "mainline_usage")}
    expected = cost_usd("gpt-image-2.6-flare", image) + (
        svg["input_tokens"] * 1e-6 + svg["output_tokens"] * 10e-6
    )
    assert book.cost(task) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("api_mode", "fmt"), [(m, f) for m in ("images", "responses") for f in ("gif", "svg")]
)
def test_gif_and_svg_results_arrive_decoded(server, api_mode, fmt):
    task = run(server, api_mode=api_mode, model="gpt-image-2.6-sunburst", output_format=fmt)
    (slot,) = task.slots
    head = slot.image[:6]
    assert head == b"GIF89a" if fmt == "gif" else slot.image.lstrip().startswith(b"<svg")
    assert slot.meta.output_format == fmt


def test_price_overrides_price_a_profile_differently(server):
    task = run(server, model="gpt-image-2", stream=False)
    task.profile_name = "Relay"
    built_in = PriceBook().cost(task)
    assert built_in is not None and built_in > 0
    # cached-input names as the config's table names them (one list: models.prices.RATE_KEYS)
    relay = Profile(
        "Relay",
        server.base_url,
        price_overrides={"gpt-image-2": {"image_output": 300.0, "text_cached_input": 0.5}},
    )
    assert relay.errors() == {}
    book = PriceBook.of([relay])
    usage = task.slots[0].usage
    text = usage["input_tokens_details"]["text_tokens"]
    out = usage["output_tokens"]  # the demo's Images usage has no output details
    assert book.cost(task) == pytest.approx(text * 5e-6 + out * 300e-6)


def test_spending_line_counts_today_on_the_profile():
    task = Task("x", ImageParams(model="gpt-image-2"), profile_name="Demo")
    task.start(now=0.0)
    task.slots[0].usage = {"input_tokens": 0, "output_tokens": 100_000}  # $3.00
    other = Task("y", ImageParams(model="gpt-image-2"), profile_name="Other")
    other.start(now=0.0)
    other.slots[0].usage = {"input_tokens": 0, "output_tokens": 100_000}
    today = date.fromtimestamp(task.created_at)
    tasks = [task, other]
    assert spending_line(tasks, "Demo", None, PriceBook(), today) == "today $3.00 on Demo"
    assert (
        spending_line(tasks, "Demo", 2.0, PriceBook(), today)
        == "today $3.00 of $2.00 on Demo: limit reached"
    )
    assert spending_line(tasks, "Demo", 5.0, PriceBook(), today) == "today $3.00 of $5.00 on Demo"
    assert spending_line(tasks, "Nobody", None, PriceBook(), today) == ""


def test_model_lists_fetch_once_then_cache_per_profile(server, tmp_path):
    profile = Profile("D", server.base_url)
    cache = ModelCache(tmp_path / CACHE_FILE)

    async def connect(p: Profile):
        return p.connection()

    lists = ModelLists(cache, connect)
    assert lists.known(profile) is None

    def listed() -> int:
        return sum(1 for r in server.requests if r["path"].endswith("/models"))

    before = listed()
    listing = asyncio.run(lists.fetch(profile))
    assert listed() == before + 1
    assert lists.known(profile) is listing
    # a new session (another ModelLists) finds the cached list on disk, without a request
    again = ModelLists(ModelCache(tmp_path / CACHE_FILE), connect)
    assert again.known(profile).models == listing.models
    asyncio.run(again.fetch(profile))
    assert listed() == before + 1
    asyncio.run(again.fetch(profile, refresh=True))
    assert listed() == before + 2
    # image models with the provider's shutdown dates; mainline models for Responses mode
    images = {c.id: c for c in choices(listing, "image", TODAY)}
    assert images["gpt-image-1.5"].note == "gpt-image-1.5, shuts down 2026-12-01"
    assert images["gpt-image-1"].shut_down and images["gpt-image-1"].note.endswith(
        "shut down 2026-10-23"
    )
    assert [c.id for c in choices(listing, "mainline", TODAY)] == [
        "gpt-5",
        "gpt-5.6-terra",
        "gpt-6.1-sol",
    ]
    ordered = choices(listing, "image", TODAY)
    assert not any(c.shut_down for c in ordered[: -len([c for c in ordered if c.shut_down])])
    # an unknown model is offered as typed, marked as not listed
    (mine, *_) = choices(listing, "image", TODAY, current="relay-image-7")
    assert (mine.id, mine.note) == ("relay-image-7", "not listed by the provider")
    assert model_notice("gpt-image-1.5", listing, TODAY) == (
        "gpt-image-1.5 shuts down tomorrow (2026-12-01); use gpt-image-2.6-sunburst instead"
    )
    assert model_notice("gpt-image-2.6-flare", listing, TODAY) is None
