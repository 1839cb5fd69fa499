"""Animated GIF results play in their card and in the detail view, only while visible
(issue 11.5, issue 16.2): frames decoded off the UI thread, one timer per animation,
paused (no timer) when scrolled off, covered by another screen or the app is in the
background. Asserts on frame indexes and timer state, never on how long anything took."""

from __future__ import annotations

import itertools
from pathlib import Path

from PIL import Image
from textual import events

from imgtui.draft import Params
from imgtui.images import Frames
from imgtui.store import Store
from imgtui.tasks import Status
from imgtui.tui import halfcell, testing
from imgtui.tui.screens.detail import DetailScreen
from imgtui.tui.widgets.animation import FrameRenders
from imgtui.tui.widgets.image_view import ImageView
from tests.cli.helpers import clean_env, run
from tests.tui.pilot import RecordingApp, settled, submit, wait_for

SIZE = (120, 40)
GIF_MODEL = "gpt-image-2.6-flare"


def card_view(app, task_id: str) -> ImageView:
    card = app.task_list.card(task_id)
    assert card is not None
    return card.query_one("#thumb", ImageView)


async def advances(pilot, view: ImageView, what: str) -> None:
    """The view's animation moves on by at least two frames."""
    player = view.player
    start = player.index
    seen = {start}
    await wait_for(pilot, lambda: seen.add(player.index) or len(seen) >= 3, what=what)


async def gif_task(pilot):
    app = pilot.app
    app.set_params(Params(app.params.profile, output_format="gif"))
    task = await submit(pilot, "a cat in a hat")
    await wait_for(pilot, lambda: task.status.ended, what="the GIF task")
    assert task.status is Status.DONE, task.error_message
    view = card_view(app, task.id)
    await wait_for(pilot, lambda: view.player.frames is not None, what="the decoded frames")
    return task, view


async def test_gif_result_plays_in_its_card_and_stops_behind_the_detail_view(make_app):
    app = make_app(model=GIF_MODEL)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task, view = await gif_task(pilot)
        frames = view.player.frames
        assert isinstance(frames, Frames)
        assert len(frames) == 9  # the demo's default frame_count
        assert all(p.size == frames.first.size for p in frames.pictures)
        assert view.player.running
        await advances(pilot, view, "the card's animation to advance")
        assert view.picture is frames.pictures[view.player.index]

        app.open_detail(task.id)
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, DetailScreen) and app.screen.query("#big"),
            what="the detail view",
        )
        big = app.screen.query_one("#big", ImageView)
        await wait_for(pilot, lambda: big.player.frames is not None, what="the big frames")
        assert len(big.player.frames) == 9
        assert big.player.frames.first.width > frames.first.width  # decoded for its own box
        await advances(pilot, big, "the detail view's animation to advance")
        # The card is covered: its player stops at its next frame and sets no new timer.
        await wait_for(pilot, lambda: not view.player.running, what="the card to pause")
        assert len(view.player.renders) == 0  # a paused animation keeps no renders
        assert not view.player.renders.enabled
        paused_at = view.player.index
        await advances(pilot, big, "the detail view to play on")
        assert view.player.index == paused_at
        assert not view.player.running

        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.screen_stack[0], what="main screen")
        assert not big.player.running  # the detail view is gone, and its timer
        assert len(big.player.renders) == 0  # and its renders
        await wait_for(pilot, lambda: view.player.running, what="the card to play again")
        await advances(pilot, view, "the card to move again")


async def test_the_preview_pane_plays_an_animation_and_pauses_behind_the_detail_view(make_app):
    """The pane plays the GIF decoded for its own (larger) box, says so in its caption,
    and pauses (no timer, no renders) while the detail view covers it."""
    app = make_app(model=GIF_MODEL)
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        task, card = await gif_task(pilot)
        (slot,) = app.gallery.preview.views
        await wait_for(pilot, lambda: slot.view.player.frames is not None, what="the preview")
        assert slot.view.picture.width > card.player.frames.first.width  # its own, larger box
        assert "plays here, in its card and in the detail view" in str(slot.caption.render())
        await advances(pilot, slot.view, "the preview pane's animation")
        assert card.player.running  # the card plays meanwhile

        app.open_detail(task.id)
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="detail")
        await wait_for(pilot, lambda: not slot.view.player.running, what="the pane to pause")
        assert len(slot.view.player.renders) == 0
        await pilot.press("escape")
        await wait_for(pilot, lambda: slot.view.player.running, what="the pane to play again")
        await advances(pilot, slot.view, "the preview pane after the detail view closed")


async def test_frames_change_without_a_textual_timer_per_frame(make_app, monkeypatch):
    """The card and the preview pane move on from frame to frame on bare loop callbacks:
    a Textual timer per frame (an asyncio task, two signature lookups and a callback
    message each) was, under load, a third of what a GIF in the card and the pane cost
    (`benchmarks/gif_cpu.py`, issue 16). Both views still change frames together, none skipped."""
    from textual.timer import Timer

    timer_owners: list[object] = []
    real_init = Timer.__init__

    def recording_init(self, event_target, *args, **kwargs):
        timer_owners.append(event_target)
        real_init(self, event_target, *args, **kwargs)

    monkeypatch.setattr(Timer, "__init__", recording_init)
    app = make_app(model=GIF_MODEL)
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        _task, card = await gif_task(pilot)
        (slot,) = app.gallery.preview.views
        await wait_for(pilot, lambda: slot.view.player.frames is not None, what="the preview")
        changes: list[tuple[int, int]] = []  # (card's frame, pane's frame) at each change
        real_paint = slot.view.player.paint

        def noting_paint(picture) -> None:
            real_paint(picture)
            changes.append((card.player.index, slot.view.player.index))

        slot.view.player.paint = noting_paint
        del timer_owners[:]
        await advances(pilot, slot.view, "the preview pane's animation")
        await advances(pilot, card, "the card's animation")
        assert [o for o in timer_owners if isinstance(o, ImageView)] == []
        n = len(card.player.frames)
        assert len(changes) >= 4
        pane_steps = {(p2 - p1) % n for (_, p1), (_, p2) in itertools.pairwise(changes)}
        assert pane_steps == {1}  # no frame skipped
        # the card moves on in the same pass of the loop, just before or after the pane
        assert len({(c - p) % n for c, p in changes}) <= 2


def gif_app(tmp_path, server, renderer: str) -> RecordingApp:
    """The app on the demo server's GIF model, drawing with `renderer`."""
    return RecordingApp(
        config=testing.demo_config(tmp_path, model=GIF_MODEL),
        store=Store(tmp_path / "data"),
        demo_base_url=server.base_url,
        renderer=renderer,
    )


async def two_loops_in_the_detail_view(pilot, app) -> tuple[ImageView, object]:
    """Makes a GIF task, opens its detail view and waits until the big animation has
    played twice; gives the view and its frames."""
    task, _card = await gif_task(pilot)
    app.open_detail(task.id)
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, DetailScreen) and app.screen.query("#big"),
        what="the detail view",
    )
    big = app.screen.query_one("#big", ImageView)
    await wait_for(pilot, lambda: big.player.frames is not None, what="the big frames")
    frames = big.player.frames
    start = big.player.plays
    await wait_for(pilot, lambda: big.player.plays >= start + 2, what="two loops")
    return big, frames


async def test_each_frame_is_rendered_once_however_often_it_is_shown(make_app, monkeypatch):
    """A large animation's frames go through the half-cell renderer once each: the
    second loop shows them from the view's `FrameRenders` (issue 16.2: re-rendering every
    cell of every frame cost a quarter of a core in the detail view)."""
    rendered: dict[int, int] = {}  # id(picture) -> renderer calls
    real_strips = halfcell.strips

    def counting_strips(picture, *args, **kwargs):
        rendered[id(picture)] = rendered.get(id(picture), 0) + 1
        return real_strips(picture, *args, **kwargs)

    monkeypatch.setattr(halfcell, "strips", counting_strips)
    app = make_app(model=GIF_MODEL)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        big, frames = await two_loops_in_the_detail_view(pilot, app)
        assert [rendered.get(id(p), 0) for p in frames.pictures] == [1] * len(frames)
        assert len(big.player.renders) == len(frames)
        assert big.player.renders.hits >= len(frames)  # the second loop: all from the cache


async def test_sixel_encodes_each_frame_once_however_often_it_is_shown(
    tmp_path, server, monkeypatch
):
    """With Sixel, each frame of the detail view's animation is encoded once; later loops
    write the same escape sequence again from the view's `FrameRenders`."""
    from textual_image.widget import sixel as sixel_widget

    encoded: list[tuple[int, int]] = []  # sizes of the pictures encoded
    real_encode = sixel_widget.image_to_sixels

    def counting_encode(image, *args, **kwargs):
        encoded.append(image.size)
        return real_encode(image, *args, **kwargs)

    monkeypatch.setattr(sixel_widget, "image_to_sixels", counting_encode)
    app = gif_app(tmp_path, server, "sixel")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        big, frames = await two_loops_in_the_detail_view(pilot, app)
        width = frames.first.width  # the card's frames are smaller
        assert len([size for size in encoded if size[0] >= width]) == len(frames)
        assert len(big.player.renders) == len(frames)
        assert big.player.renders.hits >= len(frames)


async def test_tgp_sends_each_frame_once_and_deletes_them_when_the_view_closes(
    tmp_path, server, monkeypatch
):
    """Kitty graphics: each frame of the detail view's animation is one renderable, whose
    picture goes to the terminal once; later loops only place it again. Closing the view
    deletes every frame's picture in the terminal (`cleanup`)."""
    from textual_image.renderable.tgp import Image as TGPRenderable

    made: dict[int, list] = {}  # id(picture) -> its renderables
    real_init = TGPRenderable.__init__

    def counting_init(self, image, *args, **kwargs):
        made.setdefault(id(image), []).append(self)
        real_init(self, image, *args, **kwargs)

    monkeypatch.setattr(TGPRenderable, "__init__", counting_init)
    app = gif_app(tmp_path, server, "tgp")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        _big, frames = await two_loops_in_the_detail_view(pilot, app)
        mine = [made.get(id(p), []) for p in frames.pictures]
        assert [len(renderables) for renderables in mine] == [1] * len(frames)
        assert all(r.terminal_image_id for (r,) in mine)  # each sent, none deleted
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.screen_stack[0], what="main screen")
        assert not any(r.terminal_image_id for (r,) in mine)  # all deleted in the terminal


def test_frame_renders_keep_one_entry_per_frame_within_their_budget():
    a, b = Image.new("RGB", (4, 4)), Image.new("RGB", (4, 4))
    renders = FrameRenders(budget=100)
    assert renders.put(a, "80x24", "strips a", 60)
    assert renders.get(a, "80x24") == "strips a"
    assert renders.get(a, "100x30") is None  # another size: rendered again
    assert not renders.put(b, "80x24", "strips b", 60)  # over the budget: not kept
    assert renders.get(b, "80x24") is None
    assert renders.put(a, "100x30", "strips a2", 90)  # replaces a's older entry
    assert (len(renders), renders.size) == (1, 90)
    assert (renders.hits, renders.misses) == (1, 2)
    renders.enabled = True
    renders.clear()
    assert (len(renders), renders.size, renders.enabled) == (0, 0, False)


async def test_gif_pauses_while_the_app_is_in_the_background(make_app):
    app = make_app(model=GIF_MODEL)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        _task, view = await gif_task(pilot)
        await advances(pilot, view, "the animation")
        app.post_message(events.AppBlur())
        await wait_for(pilot, lambda: not view.player.running, what="the pause")
        paused_at = view.player.index
        await pilot.pause()
        assert view.player.index == paused_at
        assert not view.player.running
        app.post_message(events.AppFocus())
        await wait_for(pilot, lambda: view.player.running, what="the resume")
        await advances(pilot, view, "the animation after focus came back")


async def test_gif_scrolled_off_screen_holds_no_timer_until_it_comes_back(make_app):
    app = make_app(model=GIF_MODEL)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        gif, view = await gif_task(pilot)
        await advances(pilot, view, "the animation")
        app.set_params(Params(app.params.profile, output_format="png"))
        app.config.profiles[0].partial_images = 0
        # 6 newer cards push the GIF's card below a 40-row screen
        stills = [await submit(pilot, f"still {i}") for i in range(6)]
        await wait_for(pilot, lambda: all(t.status.ended for t in stills), what="stills")
        await wait_for(pilot, lambda: not view.player.running, what="the off-screen pause")
        assert not app.screen.can_view_partial(view)
        assert len(view.player.renders) == 0
        paused_at = view.player.index
        await pilot.pause()
        assert view.player.index == paused_at

        assert await app.task_list.select(gif.id)  # scrolls the GIF's card into view
        await wait_for(pilot, lambda: view.player.running, what="the play on scroll-back")
        await advances(pilot, view, "the animation after scrolling back")


async def test_a_still_replacing_an_animation_stops_its_timer(make_app, tmp_path):
    app = make_app(model=GIF_MODEL)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        _task, view = await gif_task(pilot)
        assert view.player.running
        still = Image.new("RGB", (8, 8), (1, 2, 3))
        view.show(still)
        assert view.player.frames is None
        assert not view.player.running
        assert view.picture is still


def test_cli_gif_has_4_frames_and_the_app_animates_it(tmp_path: Path, server, make_app):
    """`imgtui generate "a cat" -m gpt-image-2.6-flare --format gif --frames 4` saves a
    playable 4-frame GIF; the same run as a batch puts it in the history, where the app
    plays all 4 frames."""
    env = clean_env(tmp_path)
    env["OPENAI_BASE_URL"] = server.base_url
    env["OPENAI_API_KEY"] = "sk-test"
    out = tmp_path / "out"
    args = ["generate", "a cat", "-m", GIF_MODEL, "--format", "gif", "--frames", "4"]
    done = run([*args, "-o", str(out)], env)
    assert done.returncode == 0, done.stderr
    (gif,) = out.glob("*.gif")
    with Image.open(gif) as im:
        assert im.format == "GIF"
        assert im.n_frames == 4
        durations = []
        for i in range(4):
            im.seek(i)
            durations.append(im.info["duration"])
        assert all(d > 0 for d in durations)

    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a cat\n")
    batch = ["generate", "--from", str(prompts), "-m", GIF_MODEL, "--format", "gif"]
    done = run([*batch, "--frames", "4", "-o", str(tmp_path / "batch")], env)
    assert done.returncode == 0, done.stderr

    import asyncio

    async def in_app() -> None:
        app = make_app(model=GIF_MODEL)
        async with app.run_test(size=SIZE) as pilot:
            await settled(pilot)
            (task,) = app.tasks.values()
            view = card_view(app, task.id)
            await wait_for(pilot, lambda: view.player.frames is not None, what="history frames")
            assert len(view.player.frames) == 4
            await advances(pilot, view, "the history card's animation")

    asyncio.run(in_app())
