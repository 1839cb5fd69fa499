"""The parameters dialog (F2): the provider's models, the size picker, every parameter the
model takes, and the last-used parameters kept per profile across restarts. Against the
demo server; the dialog alone on a bare host app, or inside the app."""

from __future__ import annotations

from datetime import date

import pytest
from textual.app import App
from textual.widgets import Input, Select, Static

from imgtui.config import Profile
from imgtui.draft import Params
from imgtui.models.listing import CACHE_FILE, ModelCache, ModelLists
from imgtui.store import Store
from imgtui.tasks import Status
from imgtui.tui import testing
from imgtui.tui.screens.params import ParamsScreen
from tests.tui.pilot import SIZE, RecordingApp, settled, submit, wait_for

TODAY = date(2026, 11, 30)


class Host(App):
    def __init__(self, screen) -> None:
        super().__init__()
        self.modal = screen
        self.results: list = []

    def on_mount(self) -> None:
        self.push_screen(self.modal, self.results.append)


async def _connect(profile: Profile):
    return profile.connection()


def lists(tmp_path) -> ModelLists:
    return ModelLists(ModelCache(tmp_path / CACHE_FILE), _connect)


def models_requests(server) -> int:
    return sum(1 for r in server.requests if r["path"].endswith("/models"))


def text(screen, wid: str) -> str:
    return str(screen.query_one(f"#{wid}", Static).render())


def shown(screen, wid: str) -> bool:
    return screen.query_one(f"#{wid}").display


def option_values(screen, wid: str) -> list:
    return [value for _, value in screen.offered[wid]]


async def apply(pilot, app) -> Params:
    await pilot.press("f2")
    await pilot.pause()
    assert app.results, text(app.modal, "error")
    return app.results[-1]


# -- the provider's models --------------------------------------------------------------


async def test_models_come_from_the_provider_with_shutdown_dates(server, tmp_path):
    profile = Profile("Relay", server.base_url, model="gpt-image-2.6-flare")
    before = models_requests(server)
    app = Host(ParamsScreen(Params(profile), [profile], lists(tmp_path), TODAY))
    async with app.run_test(size=(100, 44)) as pilot:
        screen = app.modal
        await wait_for(pilot, lambda: screen.listing is not None, what="the model list")
        assert models_requests(server) == before + 1
        picks = option_values(screen, "model-pick")
        assert "gpt-image-2.5-sunburst" in picks and "gpt-5" not in picks
        labels = [label for label, _ in screen.offered["model-pick"]]
        assert "gpt-image-1.5  (gpt-image-1.5, shuts down 2026-12-01)" in labels
        assert picks[-1] in ("gpt-image-1", "dall-e-3", "dall-e-2")  # shut down: listed last
        # picking one puts it in the model field; the note warns about its shutdown
        screen.query_one("#model-pick", Select).value = "gpt-image-1.5"
        await pilot.pause()
        assert screen.query_one("#model", Input).value == "gpt-image-1.5"
        assert "shuts down tomorrow (2026-12-01)" in text(screen, "model-note")
        # F9 fetches again
        await pilot.press("f9")
        await wait_for(pilot, lambda: models_requests(server) == before + 2, what="refetch")
        params = await apply(pilot, app)
    assert params.model == "gpt-image-1.5"
    # Cached per profile: the next dialog fetches nothing.
    again = Host(ParamsScreen(Params(profile), [profile], lists(tmp_path), TODAY))
    async with again.run_test(size=(100, 44)) as pilot:
        await pilot.pause()
        assert again.modal.listing is not None
        assert models_requests(server) == before + 2


async def test_responses_mode_offers_mainline_models(server, tmp_path):
    profile = Profile("Relay", server.base_url, model="gpt-image-2", api_mode="images")
    app = Host(ParamsScreen(Params(profile), [profile], lists(tmp_path), TODAY))
    async with app.run_test(size=(100, 44)) as pilot:
        screen = app.modal
        await wait_for(pilot, lambda: screen.listing is not None, what="the model list")
        assert not shown(screen, "mainline-pick")
        screen.query_one("#api_mode", Select).value = "responses"
        await pilot.pause()
        assert shown(screen, "mainline-pick")
        assert option_values(screen, "mainline-pick") == ["gpt-5", "gpt-5.6-terra", "gpt-6.1-sol"]
        screen.query_one("#mainline-pick", Select).value = "gpt-6.1-sol"
        await pilot.pause()
        params = await apply(pilot, app)
    assert params.profile.api_mode == "responses"
    assert params.profile.mainline_model == "gpt-6.1-sol"


async def test_unknown_model_is_allowed_and_a_failed_list_says_so(server, tmp_path):
    profile = Profile("Broken", f"{server.base_url}/nothing-here", model="gpt-image-2")
    app = Host(ParamsScreen(Params(profile), [profile], lists(tmp_path), TODAY))
    async with app.run_test(size=(100, 44)) as pilot:
        screen = app.modal
        pick = screen.query_one("#model-pick", Select)
        await wait_for(pilot, lambda: "no model list" in pick.prompt, what="the failure")
        assert "no model list: " in text(screen, "model-note")
        screen.query_one("#model", Input).value = "relay-image-7"
        await pilot.pause()
        assert "not in imgtui's table: only what you set is sent" in text(screen, "model-note")
        params = await apply(pilot, app)
    assert params.model == "relay-image-7"


# -- the size picker -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "ratio", "tier", "size", "note"),
    [
        ("gpt-image-2.6-flare", "16:9", "1k", "1360x768", "sends 1360x768"),
        (
            "gpt-image-2.6-flare",
            "21:9",
            "4k",
            "3808x1632",
            "sends 3808x1632: 21:9@4k (4384x1872) -> 3808x1632: the longest side may be at "
            "most 3840; 3808x1632 is above 2560x1440: OpenAI calls such sizes experimental",
        ),
        (
            "gpt-image-1.5",
            "16:9",
            "2k",
            "1536x1024",
            "sends 1536x1024: 16:9@2k -> 1536x1024: this model takes only auto, 1024x1024",
        ),
    ],
)
async def test_size_picker_snaps_to_the_model_and_says_what_changed(model, ratio, tier, size, note):
    profile = Profile("Demo", "demo:", model=model)
    app = Host(ParamsScreen(Params(profile), [profile], today=TODAY))
    async with app.run_test(size=(100, 44)) as pilot:
        screen = app.modal
        screen.query_one("#ratio", Select).value = ratio
        await pilot.pause()
        screen.query_one("#tier", Select).value = tier
        await pilot.pause()
        assert screen.query_one("#size", Input).value == f"{ratio}@{tier}"
        assert text(screen, "size-note").startswith(note)
        params = await apply(pilot, app)
    assert (params.size, params.size_spec) == (size, f"{ratio}@{tier}")


async def test_exact_size_and_gif_frame_cap():
    profile = Profile("Demo", "demo:", model="gpt-image-2.6-flare")
    app = Host(ParamsScreen(Params(profile), [profile], today=TODAY))
    async with app.run_test(size=(100, 44)) as pilot:
        screen = app.modal
        screen.query_one("#size", Input).value = "1000x1000"
        await pilot.pause()
        assert screen.query_one("#ratio", Select).value == "custom"
        assert text(screen, "size-note").startswith("sends 1008x1008: 1000x1000 -> 1008x1008")
        screen.query_one("#format", Select).value = "gif"
        await pilot.pause()
        screen.query_one("#frames", Input).value = "16"
        await pilot.pause()
        assert "-> 720x720 (a GIF frame)" in text(screen, "size-note")
        params = await apply(pilot, app)
    assert (params.size, params.frame_count, params.output_format) == ("720x720", 16, "gif")


# -- only what the model takes ------------------------------------------------------------


async def test_fields_follow_the_model_and_format():
    profile = Profile("Demo", "demo:", model="gpt-image-2.6-sunburst")
    app = Host(ParamsScreen(Params(profile), [profile], today=TODAY))
    async with app.run_test(size=(100, 44)) as pilot:
        screen = app.modal
        assert shown(screen, "complexity") and not shown(screen, "input_fidelity")
        assert option_values(screen, "quality") == ["auto", "low", "medium", "high", "xhigh", "max"]
        assert option_values(screen, "format") == ["png", "jpeg", "webp", "gif", "svg"]
        assert not shown(screen, "frames") and not shown(screen, "compression")
        screen.query_one("#format", Select).value = "svg"
        await pilot.pause()
        assert shown(screen, "svg_model") and shown(screen, "svg_effort")
        assert option_values(screen, "n") == [1] and not shown(screen, "partials")
        screen.query_one("#format", Select).value = "webp"
        await pilot.pause()
        assert shown(screen, "compression") and not shown(screen, "svg_model")
        screen.query_one("#quality", Select).value = "xhigh"
        screen.query_one("#model", Input).value = "gpt-image-1.5"
        await pilot.pause()
        assert not shown(screen, "complexity") and shown(screen, "input_fidelity")
        assert option_values(screen, "quality") == ["auto", "low", "medium", "high"]
        assert screen.query_one("#quality", Select).value == "auto"  # xhigh: not on 1.5
        assert option_values(screen, "format") == ["png", "jpeg", "webp"]
        screen.query_one("#model", Input).value = "dall-e-3"
        await pilot.pause()
        assert not shown(screen, "transparent") and not shown(screen, "partials")
        assert option_values(screen, "background") == ["auto", "opaque"]


async def test_every_parameter_reaches_the_request(make_app, server):
    """Set through F2 in the app; the demo server receives each one, and nothing else."""
    app = make_app(model="gpt-image-2.6-flare")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ParamsScreen), what="F2")
        screen = app.screen
        screen.query_one("#ratio", Select).value = "3:2"
        screen.query_one("#quality", Select).value = "xhigh"
        screen.query_one("#complexity", Select).value = "low"
        screen.query_one("#format", Select).value = "webp"
        await pilot.pause()
        screen.query_one("#compression", Input).value = "70"
        screen.query_one("#moderation", Select).value = "low"
        screen.query_one("#background", Select).value = "opaque"
        screen.query_one("#n", Select).value = 2
        screen.query_one("#partials", Select).value = -1
        await pilot.pause()
        await pilot.press("f2")
        await wait_for(pilot, lambda: not isinstance(app.screen, ParamsScreen), what="closed")
        before = len(server.requests)
        task = await submit(pilot, "a webp fox")
        await wait_for(pilot, lambda: task.status is Status.DONE, what="done")
        (body,) = [r["json"] for r in server.requests[before:] if r["json"]]
        assert body == {
            "model": "gpt-image-2.6-flare",
            "prompt": "a webp fox",
            "size": "1248x832",
            "quality": "xhigh",
            "complexity": "low",
            "output_format": "webp",
            "output_compression": 70,
            "moderation": "low",
            "background": "opaque",
            "n": 2,
        }

        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ParamsScreen), what="F2")
        screen = app.screen
        screen.query_one("#format", Select).value = "gif"
        await pilot.pause()
        screen.query_one("#frames", Input).value = "4"
        screen.query_one("#frame_ms", Input).value = "150"
        screen.query_one("#n", Select).value = 1
        await pilot.press("f2")
        await wait_for(pilot, lambda: not isinstance(app.screen, ParamsScreen), what="closed")
        before = len(server.requests)
        task = await submit(pilot, "a paper boat")
        await wait_for(pilot, lambda: task.status is Status.DONE, what="done")
        (body,) = [r["json"] for r in server.requests[before:] if r["json"]]
        assert (body["output_format"], body["frame_count"], body["frame_duration_ms"]) == (
            "gif",
            4,
            150,
        )
        assert "output_compression" not in body and "stream" not in body
        await settled(pilot)
        (path,) = task.images
        assert path.suffix == ".gif" and path.read_bytes()[:6] == b"GIF89a"

        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ParamsScreen), what="F2")
        screen = app.screen
        screen.query_one("#format", Select).value = "svg"
        await pilot.pause()
        screen.query_one("#svg_model", Input).value = "gpt-5.6-terra"
        screen.query_one("#svg_effort", Select).value = "high"
        await pilot.press("f2")
        await wait_for(pilot, lambda: not isinstance(app.screen, ParamsScreen), what="closed")
        before = len(server.requests)
        task = await submit(pilot, "a fox icon")
        await wait_for(pilot, lambda: task.status is Status.DONE, what="done")
        (body,) = [r["json"] for r in server.requests[before:] if r["json"]]
        assert body["svg"] == {"model": "gpt-5.6-terra", "reasoning": {"effort": "high"}}
        await settled(pilot)
        (path,) = task.images
        assert path.suffix == ".svg"


@pytest.mark.parametrize("fmt", ["gif", "svg"])
async def test_responses_mode_gif_and_svg_are_saved_with_their_extension(make_app, server, fmt):
    app = make_app(model="gpt-image-2.6-sunburst", api_mode="responses")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        app.set_params(Params(app.params.profile, output_format=fmt))
        task = await submit(pilot, f"a {fmt} through the image tool")
        await wait_for(pilot, lambda: task.status is Status.DONE, what="done")
        await settled(pilot)
        (path,) = task.images
        assert path.suffix == f".{fmt}"
        data = path.read_bytes()
        assert data[:6] == b"GIF89a" if fmt == "gif" else data.lstrip().startswith(b"<svg")


# -- kept per profile across restarts -----------------------------------------------------


def _app(tmp_path, server, config) -> RecordingApp:
    return RecordingApp(
        config=config,
        store=Store(tmp_path / "data"),
        demo_base_url=server.base_url,
        renderer="halfcell",
    )


async def test_last_used_parameters_persist_per_profile_across_restarts(tmp_path, server):
    config = testing.demo_config(tmp_path, model="gpt-image-2.6-flare")
    other = Profile("Other", "demo:", model="gpt-image-2")
    config.profiles.append(other)
    app = _app(tmp_path, server, config)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ParamsScreen), what="F2")
        screen = app.screen
        screen.query_one("#ratio", Select).value = "16:9"
        screen.query_one("#format", Select).value = "gif"
        await pilot.pause()
        screen.query_one("#frames", Input).value = "5"
        screen.query_one("#complexity", Select).value = "high"
        screen.query_one("#quality", Select).value = "max"
        await pilot.press("f2")
        await wait_for(pilot, lambda: not isinstance(app.screen, ParamsScreen), what="closed")
        app.use_profile("Other")  # another profile: its own (default) choice
        assert (app.params.output_format, app.params.size) == ("png", "auto")
        app.use_profile("Demo")
        assert (app.params.output_format, app.params.frame_count) == ("gif", 5)
        await settled(pilot)
    saved = tmp_path / "data" / "last-params.json"
    assert saved.is_file()

    again = _app(tmp_path, server, testing.demo_config(tmp_path, model="gpt-image-2.6-flare"))
    async with again.run_test(size=SIZE) as pilot:
        await settled(pilot)
        p = again.params
        assert (p.profile.name, p.model, p.output_format, p.frame_count) == (
            "Demo",
            "gpt-image-2.6-flare",
            "gif",
            5,
        )
        assert (p.size_spec, p.size, p.quality, p.complexity) == (
            "16:9@1k",
            "1280x720",
            "max",
            "high",
        )
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(again.screen, ParamsScreen), what="F2")
        screen = again.screen
        assert screen.query_one("#ratio", Select).value == "16:9"
        assert screen.query_one("#frames", Input).value == "5"
        assert screen.query_one("#quality", Select).value == "max"
        await pilot.press("escape")

    # The profile's model changed in settings (e.g. off a shut-down model): that wins over
    # the model kept with the last choice; the other options stay.
    third = _app(tmp_path, server, testing.demo_config(tmp_path, model="gpt-image-2.5-flare"))
    async with third.run_test(size=SIZE) as pilot:
        await settled(pilot)
        p = third.params
        assert (p.model, p.quality, p.complexity) == ("gpt-image-2.5-flare", "max", None)
        # 2.5 makes no GIFs and takes no complexity: those fall back, the size snaps anew
        assert (p.output_format, p.frame_count, p.size_spec, p.size) == (
            "png",
            None,
            "16:9@1k",
            "1360x768",
        )


async def test_switching_the_profile_in_f2_loads_its_kept_parameters(tmp_path, server):
    """F2's profile choice fills the dialog with that profile's kept choice, the way
    Ctrl+O loads it (`TaskService.params_for`); applying makes it the active profile."""
    config = testing.demo_config(tmp_path, model="gpt-image-2")
    config.profiles.append(Profile("Other", "demo:", model="gpt-image-2.6-flare"))
    app = _app(tmp_path, server, config)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        app.use_profile("Other")  # Ctrl+O's path
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ParamsScreen), what="F2")
        screen = app.screen
        screen.query_one("#ratio", Select).value = "16:9"
        screen.query_one("#format", Select).value = "gif"
        await pilot.pause()
        screen.query_one("#frames", Input).value = "5"
        screen.query_one("#quality", Select).value = "max"
        await pilot.press("f2")
        await wait_for(pilot, lambda: not isinstance(app.screen, ParamsScreen), what="closed")
        app.use_profile("Demo")
        assert (app.params.output_format, app.params.size) == ("png", "auto")

        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ParamsScreen), what="F2")
        screen = app.screen
        assert screen.query_one("#format", Select).value == "png"
        screen.query_one("#profile", Select).value = "Other"
        await pilot.pause()
        assert screen.query_one("#model", Input).value == "gpt-image-2.6-flare"
        assert screen.query_one("#format", Select).value == "gif"
        assert screen.query_one("#frames", Input).value == "5"
        assert screen.query_one("#quality", Select).value == "max"
        assert screen.query_one("#ratio", Select).value == "16:9"
        assert shown(screen, "frames")
        assert text(screen, "size-note").startswith("sends 1280x720")
        screen.query_one("#profile", Select).value = "Demo"  # and back: Demo's own
        await pilot.pause()
        assert screen.query_one("#format", Select).value == "png"
        assert screen.query_one("#size", Input).value == "auto"
        assert not shown(screen, "frames")
        screen.query_one("#profile", Select).value = "Other"
        await pilot.pause()
        await pilot.press("f2")
        await wait_for(pilot, lambda: not isinstance(app.screen, ParamsScreen), what="closed")
        p = app.params
        assert (p.profile.name, p.model, p.output_format, p.frame_count, p.quality) == (
            "Other",
            "gpt-image-2.6-flare",
            "gif",
            5,
            "max",
        )
        assert app.config.settings.active_profile == "Other"  # as Ctrl+O leaves it
        await settled(pilot)
