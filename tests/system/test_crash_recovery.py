"""Crash recovery, for real: `kill -9` of the app in the middle of a stream, then reopen.

The real app (`python -m imgtui`) runs on a tmux pty, with its config file and data dir in
a temporary folder, against a demo server in this test process. The run:

1. a first task finishes (its image file is on disk, its row says `done`);
2. a second, slow task starts and shows its first partial frame on the card;
3. the app gets SIGKILL while that stream is open (the server has not finished it).

Each test then works on its own copy of the data dir left behind:

* `Store.mark_interrupted()` turns the killed task into `interrupted`;
* the finished task is still `done`, its image byte-identical to before the kill and decodable;
* the app opened on that data dir (Pilot) shows the interrupted card, and `r` retries it.

The scenario runs once per module (about 8 s); tmux is required.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from imgtui import config as imgtui_config
from imgtui.config import Config, Profile, Settings
from imgtui.store import DB_NAME, Store
from imgtui.tasks import SlotStatus, Status
from imgtui.tui.app import ImgtuiApp
from imgtui.tui.widgets.task_card import TaskCard

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None,
    reason="tmux is not installed: this test runs the real app on a tmux pty",
)

ROOT = Path(__file__).resolve().parents[2]
PROFILE = "Crash"
PARTIALS = 3
FAST_DELAY = 0.1  # seconds per image for the task that finishes (and the retry)
DEMO_DELAY = FAST_DELAY  # the shared demo server's pace in this module (conftest)
SLOW_DELAY = 12.0  # the killed task: a partial every 3 s, the final image after 12 s
READY_MARKER = "Describe an image"  # the composer's placeholder: the first frame is painted
FIRST_PROMPT = "a lighthouse at dusk, finished before the crash"
KILLED_PROMPT = "a ramen bowl, killed mid-stream"
SIZE = (120, 40)


# -- the running app, on a tmux pty -------------------------------------------------------


class Tmux:
    """One tmux server of our own (its socket in the test's tmp dir): nothing else is touched."""

    def __init__(self, socket: Path, session: str = "imgtui-crash") -> None:
        self.socket = socket
        self.session = session

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["tmux", "-S", str(self.socket), *args], capture_output=True, text=True, check=check
        )

    def start(self, command: str, env: dict[str, str]) -> int:
        """Run `command` (exec'd, so the pane's pid is the app's) and return that pid."""
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        out = self.run(
            "new-session",
            "-d",
            "-P",
            "-F",
            "#{pane_pid}",
            "-s",
            self.session,
            "-x",
            "160",
            "-y",
            "48",
            f"exec env -u OPENAI_API_KEY -u OPENAI_BASE_URL {prefix} {command}",
        )
        return int(out.stdout.strip())

    def pane(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session, check=False).stdout

    def type(self, text: str) -> None:
        self.run("send-keys", "-t", self.session, "-l", text)
        self.run("send-keys", "-t", self.session, "Enter")

    def wait_for_text(self, text: str, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while text not in (pane := self.pane()):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what} ({text!r}); pane:\n{pane}")
            time.sleep(0.05)

    def kill_server(self) -> None:
        self.run("kill-server", check=False)


def db_rows(data: Path) -> dict[str, dict]:
    """The task rows as the app left them (read-only; WAL lets us read while it writes)."""
    db = data / DB_NAME
    if not db.exists():
        return {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute("SELECT id, prompt, status, slots FROM tasks").fetchall()
    except sqlite3.OperationalError:  # the table is not there yet
        return {}
    finally:
        conn.close()
    return {r[0]: {"prompt": r[1], "status": r[2], "slots": json.loads(r[3])} for r in rows}


def wait_for_row(data: Path, predicate, timeout: float, what: str) -> tuple[str, dict]:
    deadline = time.monotonic() + timeout
    while True:
        for task_id, row in db_rows(data).items():
            if predicate(row):
                return task_id, row
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; rows: {db_rows(data)}")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class Crash:
    config_file: Path
    data: Path  # the data dir as the killed app left it (do not modify: copy it)
    done_id: str
    done_image: str  # relative to the data dir
    done_sha256: str
    killed_id: str
    partial_in_db_before_kill: bool


@pytest.fixture(scope="module")
def crash(server, tmp_path_factory) -> Crash:
    root = tmp_path_factory.mktemp("crash")
    config_file, data = root / "config.toml", root / "data"
    imgtui_config.save(
        Config(
            path=config_file,
            profiles=[
                Profile(PROFILE, server.base_url, model="gpt-image-2", partial_images=PARTIALS)
            ],
            settings=Settings(
                active_profile=PROFILE, renderer="halfcell", output_dir=str(root / "exports")
            ),
        )
    )
    env = {
        "IMGTUI_CONFIG_FILE": str(config_file),
        "IMGTUI_DATA_DIR": str(data),
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p
        ),
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
    }
    tmux = Tmux(root / "tmux.sock")
    server.delay = FAST_DELAY
    server.clear()
    try:
        pid = tmux.start(f"{shlex.quote(sys.executable)} -m imgtui", env)
        tmux.wait_for_text(READY_MARKER, 20, "the app's first frame")

        # 1. A task that finishes: its image is on disk and its row says done.
        tmux.type(FIRST_PROMPT)
        done_id, row = wait_for_row(
            data,
            lambda r: (
                r["prompt"] == FIRST_PROMPT
                and r["status"] == "done"
                and all(s.get("image_path") for s in r["slots"])
            ),
            15,
            "the first task to be done",
        )
        done_image = row["slots"][0]["image_path"]
        done_sha256 = hashlib.sha256((data / done_image).read_bytes()).hexdigest()
        assert server.streams_completed == 1

        # 2. A slow task, until its first partial frame is on the card.
        server.delay = SLOW_DELAY
        tmux.type(KILLED_PROMPT)
        killed_id, _ = wait_for_row(
            data,
            lambda r: r["prompt"] == KILLED_PROMPT and r["status"] == "running",
            10,
            "the second task's row",
        )
        tmux.wait_for_text(
            f"frame 1 of {PARTIALS}", SLOW_DELAY / 2, "the first partial frame on the card"
        )
        # Give the store thread a moment to persist that frame (if the app does so).
        deadline = time.monotonic() + 1.5
        while not (partial := _partial_in_db(data, killed_id)) and time.monotonic() < deadline:
            time.sleep(0.05)

        # 3. SIGKILL while the stream is open.
        assert server.streams_started == 2 and server.streams_completed == 1, (
            "the slow stream already ended"
        )
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        assert b"imgtui" in cmdline, f"pid {pid} is not the app: {cmdline!r}"
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not alive(pid), "the app survived SIGKILL"
        assert server.wait_for_disconnects(1, timeout=5), "the server did not see the stream cut"
        assert server.streams_completed == 1
    finally:
        tmux.kill_server()
        server.delay = FAST_DELAY
    return Crash(config_file, data, done_id, done_image, done_sha256, killed_id, partial)


def _partial_in_db(data: Path, task_id: str) -> bool:
    row = db_rows(data).get(task_id)
    return bool(
        row
        and any(s.get("partial_index") is not None and s.get("partial_path") for s in row["slots"])
    )


@pytest.fixture
def data_copy(crash, tmp_path) -> Path:
    """This test's own copy of the data dir the killed app left (database, WAL and files)."""
    dest = tmp_path / "data"
    shutil.copytree(crash.data, dest)
    return dest


# -- after the crash ---------------------------------------------------------------------


def test_killed_task_is_left_running_then_marked_interrupted(crash, data_copy):
    rows = db_rows(data_copy)
    assert rows[crash.killed_id]["status"] == "running"  # what the killed process left
    assert rows[crash.done_id]["status"] == "done"
    with Store(data_copy) as store:
        assert store.mark_interrupted() == 1
        killed = store.get(crash.killed_id)
        assert killed.status is Status.INTERRUPTED
        assert [s.status for s in killed.slots] == [SlotStatus.CANCELLED]
        assert killed.finished_at is not None
        assert killed.error_message == "imgtui exited before this task finished"
        assert store.mark_interrupted() == 0  # once only
        assert [t.id for t in store.load()] == [crash.killed_id, crash.done_id]


def test_finished_image_is_intact(crash, data_copy):
    from PIL import Image

    with Store(data_copy) as store:
        store.mark_interrupted()
        done = store.get(crash.done_id)
    assert done.status is Status.DONE
    assert [s.status for s in done.slots] == [SlotStatus.DONE]
    (image,) = done.images
    assert image == data_copy / crash.done_image
    data = image.read_bytes()
    assert (
        hashlib.sha256(data).hexdigest() == crash.done_sha256
    )  # byte-identical to before the kill
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(image) as im:
        im.verify()
    with Image.open(image) as im:
        im.load()  # fully decodable, not just a valid header
        assert im.width > 0 and im.height > 0
    leftovers = sorted(p.name for p in image.parent.iterdir() if p != image)
    assert leftovers == []  # no temp file, no stale preview frame next to it


def test_killed_task_keeps_its_last_partial_frame(crash, data_copy):
    from PIL import Image

    assert crash.partial_in_db_before_kill, "no partial frame was persisted while the task ran"
    with Store(data_copy) as store:
        store.mark_interrupted()
        killed = store.get(crash.killed_id)
    (slot,) = killed.slots
    assert slot.partial_index is not None and slot.partial_index >= 0
    assert killed.first_partial_at is not None
    source, unfinished = killed.preview()
    assert unfinished and source == slot.partial_path and slot.partial_path.is_file()
    with Image.open(slot.partial_path) as im:
        im.load()


async def test_reopened_app_shows_interrupted_card_and_retries(
    crash, data_copy, server, monkeypatch
):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server.delay = FAST_DELAY
    config = imgtui_config.load(crash.config_file)
    app = ImgtuiApp(config=config, store=Store(data_copy), renderer="halfcell")
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.history_loaded.wait(), 10)
        await pilot.pause()
        killed = app.tasks[crash.killed_id]
        assert killed.status is Status.INTERRUPTED
        assert app.tasks[crash.done_id].status is Status.DONE
        card = app.query_one(f"#task-{crash.killed_id}", TaskCard)
        text = " ".join(card.info_text().split())  # the card wraps to its width
        assert "interrupted" in text and "imgtui exited before this task finished" in text
        assert "done" in app.query_one(f"#task-{crash.done_id}", TaskCard).info_text()

        assert app.task_list.selected_id == crash.killed_id  # the newest task
        app.action_focus_tasks()
        await pilot.pause()
        await pilot.press("f5")
        deadline = time.monotonic() + 10
        while True:
            retries = [
                t for t in app.tasks.values() if t.id not in (crash.killed_id, crash.done_id)
            ]
            if retries and retries[0].status.ended:
                break
            assert time.monotonic() < deadline, "the retry did not finish"
            await pilot.pause(0.05)
        (retry,) = retries
        assert retry.prompt == KILLED_PROMPT and retry.profile_name == PROFILE
        assert retry.status is Status.DONE, retry.error_message
        assert killed.status is Status.INTERRUPTED  # the old task stays in history as it was
        await app.shutdown()
    with Store(data_copy) as store:
        saved = store.get(retry.id)
        assert saved.status is Status.DONE and saved.images and saved.images[0].is_file()
        assert store.get(crash.killed_id).status is Status.INTERRUPTED
        assert store.count() == 3
