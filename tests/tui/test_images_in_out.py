"""Images in and out of the app (issue 14.8) and told when done (14.9), with pilot tests on
real files, stand-in clipboard tools on PATH (real subprocesses) and the bytes the app
writes to the terminal (Textual's headless driver's `write`, recorded)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from textual import events
from textual.app import App
from textual.drivers.headless_driver import HeadlessDriver
from textual.widgets import Input, Static

from imgtui.draft import Attachments
from imgtui.tasks import Status
from imgtui.tui.screens.attach import AttachScreen
from imgtui.tui.widgets.composer import Chip
from tests.tui.pilot import SIZE, open_done_task, settled, submit, wait_for
from tests.unit.test_desktop import fake_path, fake_tool, png_bytes, xclip_script

DEMO_DELAY = 0.05


@pytest.fixture
def written(monkeypatch) -> list[str]:
    """Everything the app writes to the terminal, in order."""
    out: list[str] = []
    monkeypatch.setattr(HeadlessDriver, "write", lambda self, data: out.append(data))
    return out


@pytest.fixture
def desktop_env(monkeypatch, tmp_path) -> Path:
    """An X11 desktop whose clipboard is a stand-in xclip (`<store>/image_png` is what it
    holds; what is copied lands in `<store>/in-image_png`); no tmux. Returns the store."""
    store = tmp_path / "clip"
    store.mkdir()
    fake_tool(tmp_path / "bin", "xclip", xclip_script(store, "TARGETS UTF8_STRING image/png"))
    monkeypatch.setenv("PATH", fake_path(tmp_path / "bin"))
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("TERM", "xterm-256color")
    for name in ("WAYLAND_DISPLAY", "TMUX", "TMUX_PANE"):
        monkeypatch.delenv(name, raising=False)
    return store


@pytest.fixture
def no_desktop(monkeypatch, tmp_path) -> None:
    """Over SSH: no display, no clipboard tools."""
    monkeypatch.setenv("PATH", fake_path(tmp_path / "nobin"))
    monkeypatch.setenv("TERM", "xterm-256color")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "TMUX", "TMUX_PANE"):
        monkeypatch.delenv(name, raising=False)


def pictures(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names:
        path = folder / name
        Image.new("RGB", (16, 16), (20, 120, 220)).save(path, "PNG")
        out.append(path)
    return out


def toasts(app) -> list[str]:
    return [f"{n.title}|{n.message}" for n in app.notices]


# -- drop and paste into the composer ------------------------------------------------------


async def test_files_dropped_on_the_terminal_are_attached(make_app, tmp_path):
    sea, cat = pictures(tmp_path / "my photos", "sea side.png", "cat.png")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        app.composer.set_text("make it dusk")
        # what a terminal pastes for two dropped files: quoted, and a file:// URI
        app.post_message(events.Paste(f"'{sea}' {cat.as_uri()}"))
        await wait_for(pilot, lambda: len(app.composer.attachments.images) == 2, what="attached")
        assert app.composer.attachments.images == [sea.resolve(), cat.resolve()]
        assert app.composer.text == "make it dusk"  # the prompt is untouched
        chips = [str(c.label) for c in app.composer.query(Chip)]
        assert chips == ["▣ sea side.png ✕", "▣ cat.png ✕"]
        task = await submit(pilot, "make it dusk")
        assert task.input_images == [str(sea.resolve()), str(cat.resolve())]
        await wait_for(pilot, lambda: task.status is Status.DONE, what="the edit")


async def test_pasted_text_stays_text_and_a_bad_file_is_named(make_app, tmp_path):
    (notes,) = [tmp_path / "notes.txt"]
    notes.write_text("not a picture")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        app.post_message(events.Paste("a fox in the snow"))
        await pilot.pause()
        assert app.composer.text == "a fox in the snow"
        assert app.composer.attachments.images == []
        app.post_message(events.Paste(str(notes)))
        await wait_for(pilot, lambda: toasts(app), what="a toast")
        assert app.composer.attachments.images == []
        assert toasts(app) == ["Not attached|notes.txt is not a PNG, JPEG, WebP or GIF image"]
        assert app.composer.text == "a fox in the snow"


async def test_a_drop_while_the_task_list_has_focus_goes_to_the_composer(make_app, tmp_path):
    (cat,) = pictures(tmp_path, "cat.png")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("tab")
        assert app.focused is app.task_list
        app.post_message(events.Paste(str(cat)))
        await wait_for(pilot, lambda: app.composer.attachments.images, what="attached")
        assert app.composer.attachments.images == [cat.resolve()]
        app.post_message(events.Paste("some words"))
        await wait_for(pilot, lambda: app.composer.text, what="the text")
        assert app.composer.text == "some words" and app.focused is app.composer.area


# -- the system clipboard ------------------------------------------------------------------


async def test_ctrl_v_attaches_the_clipboard_image(make_app, tmp_path, desktop_env):
    (desktop_env / "image_png").write_bytes(png_bytes())
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("ctrl+v")
        await wait_for(pilot, lambda: app.composer.attachments.images, what="attached")
        (kept,) = app.composer.attachments.images
        assert kept.parent == Path(app.store.root) / "pasted"
        assert kept.name.startswith("clipboard-") and kept.suffix == ".png"
        assert kept.read_bytes() == png_bytes()
        task = await submit(pilot, "in watercolour")
        assert task.input_images == [str(kept)]


async def test_ctrl_v_without_an_image_says_why(make_app, no_desktop):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("ctrl+v")
        await wait_for(pilot, lambda: toasts(app), what="a toast")
        (toast,) = toasts(app)
        assert toast.startswith("No image pasted|no desktop clipboard here")
        assert app.composer.attachments.images == []


async def test_ctrl_v_without_an_image_pastes_text_copied_in_the_app(make_app, no_desktop):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        app.copy_to_clipboard("a heron")
        await pilot.press("ctrl+v")
        await wait_for(pilot, lambda: app.composer.text, what="the pasted text")
        assert app.composer.text == "a heron" and toasts(app) == []


async def test_ctrl_c_copies_the_image_itself(make_app, desktop_env, written):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await open_done_task(pilot, "a paper boat")
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: toasts(app), what="a toast")
        sent = (desktop_env / "in-image_png").read_bytes()
        assert sent == task.images[0].read_bytes()
        assert toasts(app) == [f"Image copied|{task.images[0].name} (via xclip)"]
        assert not any("\x1b]52;" in w for w in written)  # no path instead


async def test_ctrl_c_over_ssh_copies_the_path_and_says_why(make_app, no_desktop, written):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await open_done_task(pilot, "a paper boat")
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: toasts(app), what="a toast")
        path = str(task.images[0])
        assert written.count(_osc52(path)) == 1
        (toast,) = toasts(app)
        assert toast.startswith(f"Path copied|{path}\nNot the image itself: no desktop clipboard")


def _osc52(text: str) -> str:
    import base64

    return f"\x1b]52;c;{base64.b64encode(text.encode()).decode()}\x07"


@pytest.mark.parametrize(
    "answer,passthrough,buffer,problem",
    [
        ("on\t0\t3.3a", False, False, ""),
        ("external\t1\t3.3a", True, False, ""),
        ("external\t0\t3.3a", False, True, ""),
        ("off\t0\t3.3a", False, False, "set-clipboard is off"),
    ],
)
async def test_over_ssh_in_tmux_the_path_goes_through_tmux(
    make_app, no_desktop, written, tmp_path, monkeypatch, answer, passthrough, buffer, problem
):
    """Over SSH inside tmux, Ctrl+C in the detail view copies the path (no desktop for the
    image): OSC 52 as it is, plus wrapped for passthrough, or handed to `tmux load-buffer
    -w`, as the (stand-in) tmux's options allow; or the toast says why not."""
    log = tmp_path / "tmux.log"
    fake_tool(
        tmp_path / "nobin",
        "tmux",
        f'echo "$@" >> {log}\ncase "$1" in display-message) printf "{answer}\\n";; '
        f"load-buffer) cat > {tmp_path / 'buffer'};; esac\n",
    )
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    monkeypatch.setenv("TMUX_PANE", "%1")
    monkeypatch.setenv("TERM", "tmux-256color")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await open_done_task(pilot, "a paper boat")
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: toasts(app), what="a toast")
        path = str(task.images[0])
        plain = _osc52(path)
        copies = [w for w in written if "]52;" in w]
        wrapped = "\x1bPtmux;" + plain.replace("\x1b", "\x1b\x1b") + "\x1b\\"
        assert copies == ([plain, wrapped] if passthrough else [plain])
        assert (tmp_path / "buffer").exists() is buffer
        if buffer:
            assert (tmp_path / "buffer").read_text() == path
        (toast,) = toasts(app)
        why = "Not the image itself: no desktop clipboard here"
        if problem:
            assert toast.startswith(f"Path copy may not arrive|{path}\n{why}")
            assert problem in toast and "set -g set-clipboard on" in toast
        else:
            assert toast.startswith(f"Path copied|{path}\n{why}")


# -- the attach dialog ---------------------------------------------------------------------


class Host(App):
    def __init__(self, screen) -> None:
        super().__init__()
        self.modal = screen
        self.results: list = []

    def on_mount(self) -> None:
        self.push_screen(self.modal, self.results.append)


async def test_attach_keeps_a_path_typed_without_enter(tmp_path):
    (sun,) = pictures(tmp_path, "sunset.png")
    app = Host(AttachScreen(Attachments()))
    async with app.run_test(size=(110, 40)) as pilot:
        image = app.modal.query_one("#image", Input)
        image.focus()
        image.value = str(sun)
        await pilot.press("escape")
        await pilot.pause()
    assert [r.images for r in app.results] == [[sun.resolve()]]


async def test_attach_stays_open_on_a_typed_path_that_is_not_an_image(tmp_path):
    app = Host(AttachScreen(Attachments()))
    async with app.run_test(size=(110, 40)) as pilot:
        image = app.modal.query_one("#image", Input)
        image.focus()
        image.value = str(tmp_path / "typo.png")
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [] and app.screen is app.modal
        assert "no such file" in str(app.modal.query_one("#error", Static).render())
        await pilot.press("escape")  # seen, and left out knowingly
        await pilot.pause()
    assert [r.images for r in app.results] == [[]]


async def test_attach_shows_the_candidates_and_takes_dropped_files(tmp_path):
    pics = pictures(tmp_path, "sea.png", "sand.png", "sky.png", "other.png")
    (tmp_path / "sketches").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    app = Host(AttachScreen(Attachments()))
    async with app.run_test(size=(110, 40)) as pilot:
        shown = app.modal.query_one("#image-candidates", Static)
        assert not shown.display
        await pilot.press(*f"{tmp_path}/s")
        await pilot.pause()
        assert shown.display
        assert str(shown.render()) == "sketches/  sand.png  sea.png  sky.png"
        await pilot.press("k")
        await pilot.pause()
        assert str(shown.render()) == "sketches/  sky.png"
        await pilot.press("y", ".", "p", "n", "g")
        await pilot.pause()
        assert not shown.display  # the one candidate is what is typed
        app.modal.query_one("#image", Input).value = ""
        app.post_message(events.Paste(" ".join(str(p) for p in pics[:3])))
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
    assert [r.images for r in app.results] == [[p.resolve() for p in pics[:3]]]


# -- told when done ------------------------------------------------------------------------


async def _run_unfocused(pilot, app, prompt: str = "a quiet harbour"):
    await settled(pilot)
    app.post_message(events.AppBlur())  # what the terminal's focus-out report becomes
    await wait_for(pilot, lambda: not app.app_focus, what="blurred")
    task = app.submit(prompt)  # not by a key: a key tells Textual the window has focus
    await wait_for(pilot, lambda: task.status is Status.DONE, what="done")
    await pilot.pause()
    return task


async def test_a_task_that_ends_unfocused_notifies_the_desktop(make_app, written, monkeypatch):
    monkeypatch.setenv("TERM_PROGRAM", "WezTerm")
    monkeypatch.delenv("TMUX", raising=False)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _run_unfocused(pilot, app, "a quiet harbour\x1b]52;c;ZXZpbA==\x07; at dawn")
        notes = [w for w in written if w.startswith("\x1b]777;")]
        assert notes == [
            "\x1b]777;notify;imgtui: Done;a quiet harbour]52,c,ZXZpbA==, at dawn\x1b\\"
        ]


async def test_no_notice_when_focused_or_turned_off(make_app, written, monkeypatch):
    monkeypatch.setenv("TERM_PROGRAM", "WezTerm")
    monkeypatch.delenv("TMUX", raising=False)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        task = await submit(pilot, "focused")
        await wait_for(pilot, lambda: task.status is Status.DONE, what="done")
        await pilot.pause()
        app.config.settings.notify = False
        await _run_unfocused(pilot, app, "turned off")
        assert not [w for w in written if "]777;" in w or w == "\x07"]


async def test_the_bell_where_the_terminal_has_no_notifications(make_app, written, monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    for name in ("TERM_PROGRAM", "TMUX", "KITTY_WINDOW_ID", "LC_TERMINAL", "WEZTERM_PANE"):
        monkeypatch.delenv(name, raising=False)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _run_unfocused(pilot, app)
        assert written.count("\x07") == 1


async def test_inside_tmux_the_notice_passes_through_when_allowed(
    make_app, written, tmp_path, monkeypatch
):
    fake_tool(tmp_path / "bin", "tmux", 'printf "external\\t1\\t3.3a\\n"\n')
    monkeypatch.setenv("PATH", fake_path(tmp_path / "bin"))
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    monkeypatch.setenv("TERM", "tmux-256color")
    monkeypatch.setenv("LC_TERMINAL", "iTerm2")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _run_unfocused(pilot, app, "boats")
        await wait_for(pilot, lambda: any("tmux;" in w for w in written), what="the notice")
        (note,) = [w for w in written if "tmux;" in w]
        assert note == "\x1bPtmux;\x1b\x1b]9;imgtui: Done: boats\x07\x1b\\"
