"""Untrusted text never reaches the terminal raw nor Textual's markup parser (issue 10, item 2).

A set of hostile strings goes through every place imgtui shows text: the CLI's stdout and
stderr; in the app the card, the toasts, the detail view (error and revised prompt), the
delete confirmation, attachment chips and the attach list, the parameter bar, the profile
picker and the settings screen's test-connection result. The errors come from a tiny
hostile OpenAI-compatible server on loopback (below); revised prompts from the real demo
server, which echoes the prompt into them.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image
from textual.widgets import OptionList

from imgtui.config import Config, Profile, Settings
from imgtui.draft import Attachments
from imgtui.store import Store
from imgtui.tasks import Status, Task
from imgtui.text import clean
from imgtui.tui import testing
from imgtui.tui.app import ImgtuiApp
from imgtui.tui.screens.confirm import ConfirmScreen
from imgtui.tui.screens.detail import DetailScreen

SIZE = (120, 40)
CLICK = "[@click=app.quit]click me[/]"
HOSTILE = (
    f"{CLICK} [/] [link=a:b]x[/link] [bold red]loud "
    "\x1b]0;pwned title\x07 \x1b[2J \x1b]52;c;cHduZWQ=\x07 "
    "\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\ \x07 \x9b2J \x1b[31m red \u202e evil"
)
# Everything a terminal would act on: C0 (bar newline), DEL, C1.
RAW = [chr(c) for c in (*range(0x00, 0x0A), *range(0x0B, 0x20), *range(0x7F, 0xA0))]


def raw_controls(text: str) -> list[str]:
    return sorted({repr(c) for c in text if c in RAW})


def test_clean_strips_every_control_but_newline():
    assert raw_controls(clean(HOSTILE + "\nline two\r\n\t")) == []
    assert clean("two\nlines") == "two\nlines"
    assert clean("a\nb", newlines=False) == "a b"
    assert CLICK in clean(HOSTILE)  # markup is text to `clean`: the app never parses it


# -- a hostile OpenAI-compatible server -------------------------------------------------


class Hostile(BaseHTTPRequestHandler):
    """Every call fails with HOSTILE as the error message (JSON, as the API does)."""

    release = threading.Event()  # generation replies wait for it (a test sets it)

    def _reply(self) -> None:
        body = json.dumps(
            {"error": {"message": HOSTILE, "type": "invalid_request_error", "code": HOSTILE}}
        ).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._reply()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.release.wait(10)
        self._reply()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def hostile() -> Iterator[str]:
    Hostile.release.set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    Hostile.release.set()
    server.shutdown()
    server.server_close()


# -- CLI ----------------------------------------------------------------------------------


def cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "IMGTUI_"))}
    env["IMGTUI_CONFIG_FILE"] = str(tmp_path / "cfg" / "config.toml")
    env["IMGTUI_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONPATH"] = str(Path(__file__).parents[2] / "src")
    return subprocess.run(
        [sys.executable, "-m", "imgtui", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_error_from_a_hostile_server_reaches_stderr_without_controls(tmp_path, hostile):
    r = cli(
        ["generate", "x", "--base-url", hostile, "--api-key", "k", "-o", str(tmp_path)], tmp_path
    )
    assert r.returncode != 0
    assert "pwned title" in r.stderr  # the message is shown...
    assert raw_controls(r.stderr) == [] and raw_controls(r.stdout) == []  # ...defused


def test_cli_profile_names_from_a_share_link_are_printed_without_controls(tmp_path):
    from urllib.parse import quote

    link = "https://example.com/?apiUrl=https://relay.example/v1&profileName=" + quote(
        "Free\x1b]0;pwned\x07\x1b[2J"
    )
    r = cli(["profiles", "import", link], tmp_path)
    r2 = cli(["profiles", "list"], tmp_path)
    for out in (r.stdout, r.stderr, r2.stdout, r2.stderr):
        assert raw_controls(out) == []


# -- the app --------------------------------------------------------------------------------


def hostile_config(root: Path, base_url: str) -> Config:
    demo = testing.demo_config(root).profiles[0]
    evil = Profile(HOSTILE[:60], base_url, api_key="k", model=HOSTILE[:40], partial_images=0)
    return Config(
        path=root / "config.toml",
        profiles=[evil, demo],
        settings=Settings(active_profile=evil.name, renderer="halfcell"),
    )


def screen_text(app: ImgtuiApp) -> str:
    """What the terminal would show, as text: the characters of the SVG screenshot's text
    runs, in order (spaces as spaces)."""
    svg = app.export_screenshot()
    runs = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.DOTALL)
    return html.unescape("".join(runs)).replace("\xa0", " ")


def assert_defused(app: ImgtuiApp) -> None:
    shown = screen_text(app)
    assert raw_controls(shown) == [], "control characters reached the screen"
    assert app.is_running


async def until(pilot, predicate, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def test_hostile_error_in_card_toast_and_detail(tmp_path, hostile):
    app = ImgtuiApp(
        config=hostile_config(tmp_path, hostile),
        store=Store(tmp_path / "data"),
        renderer="halfcell",
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert_defused(app)  # the parameter bar shows the hostile profile and model
        Hostile.release.clear()
        task = app.submit("a fox")
        assert task is not None
        await pilot.press("f2")  # a modal on top: the failure comes as a toast
        Hostile.release.set()
        await until(pilot, lambda: task.status is Status.FAILED, "the failure")
        await pilot.pause()
        shown = screen_text(app)
        assert "click me" in shown and "@click=app.quit" in shown  # a toast, as text
        assert_defused(app)
        await pilot.press("escape")
        await pilot.pause()
        assert_defused(app)  # the card
        assert "@click=app.quit" in app.task_list.cards[0].info_text()
        app.open_detail(task.id)
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail view")
        await pilot.pause()
        assert "@click=app.quit" in screen_text(app)
        assert_defused(app)


async def test_hostile_prompt_revised_prompt_delete_and_file_names(tmp_path, server):
    """The demo server echoes the prompt into the revised prompt (Responses mode)."""
    name = tmp_path / "x[link=a:b]y [@click=app.quit]z \x1b]0;t\x07.png"
    Image.new("RGB", (16, 16)).save(name, format="PNG")
    app = ImgtuiApp(
        config=testing.demo_config(tmp_path, partial_images=0, api_mode="responses"),
        store=Store(tmp_path / "data"),
        demo_base_url=server.base_url,
        renderer="halfcell",
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.composer.set_attachments(Attachments([name]))
        await pilot.pause()
        assert_defused(app)  # the chip
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert "x[link=a:b]y [@click=app.quit]z" in screen_text(app)
        assert_defused(app)  # the attach list
        await pilot.press("escape")
        app.composer.set_attachments(Attachments())
        task = app.submit(HOSTILE)
        assert task is not None
        await until(pilot, lambda: task.status is Status.DONE, "done")
        await pilot.pause()
        assert_defused(app)
        app.open_detail(task.id)
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail view")
        await pilot.pause()
        assert "A detailed rendering of" in screen_text(app)
        assert_defused(app)
        await pilot.press("escape")
        await pilot.pause()
        app.ask_delete(task.id)
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.pause()
        assert "@click=app.quit" in screen_text(app)
        assert_defused(app)


async def test_hostile_profile_names_and_test_connection(tmp_path, hostile):
    config = hostile_config(tmp_path, hostile)
    app = ImgtuiApp(config=config, store=Store(tmp_path / "data"), renderer="halfcell")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+o")
        await until(pilot, lambda: app.screen.query(OptionList), "the profile picker")
        await pilot.pause()
        assert_defused(app)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("f3")
        await until(pilot, lambda: app.screen.query("#test-result"), "settings")
        await pilot.pause()
        assert_defused(app)
        await pilot.press("ctrl+t")
        result = app.screen.query_one("#test-result")
        await until(pilot, lambda: "click me" in str(result.render()), "the test result")
        await pilot.pause()
        assert "@click=app.quit" in screen_text(app)
        assert_defused(app)


async def test_a_stored_task_with_markup_everywhere_does_not_crash(tmp_path):
    store = Store(tmp_path / "data")
    store.open()
    task = Task(prompt="[/] " + HOSTILE, params={}, profile_name="[/]", api_mode="images")
    task.status = Status.FAILED
    task.error_message = HOSTILE
    task.error_hint = "[/]"
    store.save(task)
    app = ImgtuiApp(config=testing.demo_config(tmp_path), store=store, renderer="halfcell")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.task_list.cards, "history")
        await pilot.pause()
        assert_defused(app)
