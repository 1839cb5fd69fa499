"""Issue 10.7: process hygiene.

A second imgtui on the same data folder leaves the first one's running tasks
alone and says so; leftover temporary files from a kill are swept at start; `--timeout
nan`, a deeply nested config file and a deeply nested JSON event get clear messages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imgtui.api import Connection, Failed, FailureKind, ImageRequest, stream_images
from imgtui.store import Store
from imgtui.tasks import Status, Task
from tests.conftest import SRC


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "IMGTUI_"))}
    env |= {
        "IMGTUI_CONFIG_FILE": str(tmp_path / "cfg" / "config.toml"),
        "IMGTUI_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(SRC),
    }
    return env


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imgtui", *args], env=env, capture_output=True, text=True, timeout=60
    )


# -- two instances on one data folder ---------------------------------------------------------

HOLDER = """
import sys, time
from imgtui.store import Store
from imgtui.tasks import Task
store = Store(sys.argv[1])
store.open()
task = Task("the first instance's task", {"n": 1}, id="firstinstance1")
task.start()
store.save(task)
print("ready", flush=True)
sys.stdin.read()  # until the test closes our stdin
store.close()
"""


def test_a_second_instance_leaves_the_first_ones_running_tasks_alone(tmp_path):
    data = tmp_path / "data"
    first = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data)],
        env=clean_env(tmp_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "ready"
        second = Store(data)
        report = second.open()
        assert report.other_instance == first.pid
        assert report.message is not None and "Another imgtui" in report.message
        assert second.mark_interrupted() == 0
        task = second.get("firstinstance1")
        assert task is not None and task.status is Status.RUNNING
        second.close()
    finally:
        assert first.stdin is not None
        first.stdin.close()
        first.wait(10)
    # the first instance is gone: now its unfinished task is recovered
    with Store(data) as store:
        assert store.mark_interrupted() == 1
        task = store.get("firstinstance1")
        assert task is not None and task.status is Status.INTERRUPTED


async def test_the_app_tells_the_user_another_instance_runs(server, tmp_path):
    from imgtui.tui import testing
    from imgtui.tui.app import ImgtuiApp

    holder = Store(tmp_path / "data")
    holder.open()
    try:
        app = ImgtuiApp(
            config=testing.demo_config(tmp_path),
            store=Store(tmp_path / "data"),
            demo_base_url=server.base_url,
            renderer="halfcell",
        )
        async with app.run_test(size=(120, 40)) as pilot:
            await app.history_loaded.wait()
            await pilot.pause()
            assert any("Another imgtui" in n.message for n in app.notices)
    finally:
        holder.close()


# -- leftovers and bad input -------------------------------------------------------------------


def test_leftover_temporary_files_are_swept_at_start(tmp_path):
    data = tmp_path / "data"
    with Store(data) as store:
        task = Task("x", {"n": 1})
        task.start()
        store.write_image(task, 0, b"\x89PNG\r\n\x1a\n....")
    folder = data / "images" / task.id
    old = folder / ".0.png.k1ll3d.tmp"  # a write the killed process never renamed
    old.write_bytes(b"half an image")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    fresh = folder / ".1.png.wr1t1ng.tmp"  # maybe another writer's, right now: kept
    fresh.write_bytes(b"being written")
    with Store(data) as store:
        pass
    assert not old.exists() and fresh.exists()
    assert (folder / "0.png").exists()


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_timeout_must_be_a_finite_number(server, tmp_path, value):
    sent = len(server.requests)
    r = run_cli(
        ["generate", "x", "--base-url", server.base_url, f"--timeout={value}"], clean_env(tmp_path)
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "--timeout" in r.stderr  # the flag is named
    assert len(server.requests) == sent  # nothing was sent


def test_a_deeply_nested_config_file_is_a_clear_error(tmp_path):
    env = clean_env(tmp_path)
    config = Path(env["IMGTUI_CONFIG_FILE"])
    config.parent.mkdir(parents=True)
    config.write_text("[settings]\nrenderer = " + "[" * 50_000 + "]" * 50_000 + "\n")
    r = run_cli(["generate", "x"], env)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "nested too deeply" in r.stderr and str(config) in r.stderr


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
async def test_a_deeply_nested_event_is_a_clear_failure(hostile, stream):
    events = [
        e
        async for e in stream_images(
            Connection(hostile.url("nested"), max_retries=0),
            ImageRequest("x", stream=stream, partial_images=0),
        )
    ]
    (failed,) = [e for e in events if isinstance(e, Failed)]
    assert failed.kind is FailureKind.STREAM
    assert "RecursionError" not in failed.message and json.dumps(failed.message)
