"""Issue 10.5: a final image that arrived is never lost.

The output folder is checked before anything is sent; when writing fails anyway the bytes
go to a fallback folder whose path the user is told (CLI and app); non-finite numbers in
`usage` never keep a history row from being saved. (A Responses final followed by a
stall or a cut is kept by the client: tests/peer/test_api_client.py, `drop-after-final`.)
"""

from __future__ import annotations

import asyncio
import io
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from imgtui.api.events import Completed
from imgtui.cli import build_parser
from imgtui.cli.generate import check_writable, draft_from_args, run_generate
from imgtui.store import Store
from imgtui.tasks import Status, Task, apply
from imgtui.tui import testing
from imgtui.tui.app import ImgtuiApp
from tests.conftest import SRC

PNG = b"\x89PNG\r\n\x1a\n"


def run_cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "IMGTUI_"))}
    env |= {
        "IMGTUI_CONFIG_FILE": str(tmp_path / "cfg" / "config.toml"),
        "IMGTUI_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(SRC),
    }
    return subprocess.run(
        [sys.executable, "-m", "imgtui", *args], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.skipif(
    not Path("/proc/self").is_dir(), reason="needs a folder nobody can write: /proc"
)
def test_cli_checks_the_output_folder_before_sending(server, tmp_path):
    # /proc exists and is a folder, but no file can be created in it (not even by root)
    r = run_cli(["generate", "a fox", "--base-url", server.base_url, "-o", "/proc"], tmp_path)
    assert r.returncode == 2, r.stderr
    assert "cannot write to the output folder /proc" in r.stderr
    assert "Traceback" not in r.stderr
    assert server.requests == []  # nothing was sent, nothing was paid for


async def test_cli_keeps_the_image_when_the_folder_fails_after_the_check(server, tmp_path):
    out = tmp_path / "out"
    args = build_parser().parse_args(
        ["generate", "a paid fox", "--base-url", server.base_url, "-o", str(out)]
    )
    draft = draft_from_args(args)
    check_writable(out)
    shutil.rmtree(out)
    out.write_bytes(b"")  # the folder is gone (a full disk, an unmounted drive...)
    err = io.StringIO()
    report = await run_generate(
        draft,
        out,
        as_json=False,
        out=io.StringIO(),
        err=err,
        live=False,
        fallbacks=[tmp_path / "rescued"],
    )
    (kept,) = report.rescued
    assert kept.parent == tmp_path / "rescued"
    assert report.failures == 1  # exit 1: the image is not where it was asked for
    assert f"it was kept at {kept}" in err.getvalue()
    with Image.open(kept) as im:
        assert im.size == (1024, 1024)


async def test_app_keeps_a_final_the_data_folder_cannot_take(server, tmp_path):
    data = tmp_path / "data"
    app = ImgtuiApp(
        config=testing.demo_config(tmp_path, partial_images=0),
        store=Store(data),
        demo_base_url=server.base_url,
        renderer="halfcell",
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.history_loaded.wait(), 10)
        await app.history.drain(10)
        shutil.rmtree(data / "images")
        (data / "images").write_bytes(b"")  # nothing can be written under images/ now
        task = app.submit("a paid-for lighthouse")
        assert task is not None
        deadline = asyncio.get_running_loop().time() + 15
        while task.slots[0].image_path is None:
            assert asyncio.get_running_loop().time() < deadline, "the image was not kept"
            await pilot.pause(0.05)
        assert task.status is Status.DONE
        kept = task.slots[0].image_path
        assert kept.parent == data / "rescued" and kept.read_bytes().startswith(PNG)
        assert any(str(kept) in n.message for n in app.notices)
        # Save (the detail view's `s`) copies it from there
        (saved,) = await app.history.call(app.store.export_images, task, tmp_path / "saved")
        with Image.open(saved) as copy, Image.open(kept) as original:
            assert copy.tobytes() == original.tobytes()  # (the copy carries its recipe too)
        await app.history.drain(10)
        await app.shutdown()
    (data / "images").unlink()  # the disk is fixed: the next start finds the row pointing there
    with Store(data) as store:
        assert store.get(task.id).slots[0].image_path == kept


def test_nan_in_usage_does_not_keep_the_row_from_being_saved(tmp_path):
    task = Task("a fox", {"n": 1})
    task.start()
    usage = {"total_tokens": math.nan, "input_tokens_details": {"image_tokens": math.inf}}
    apply(task, Completed(0, PNG + b"rest", usage=usage))
    with Store(tmp_path / "data") as store:
        store.write_image(task, 0, PNG + b"rest")
        store.save(task)
        saved = store.get(task.id)
    assert saved is not None and saved.status is Status.DONE
    assert saved.slots[0].usage == {
        "total_tokens": None,
        "input_tokens_details": {"image_tokens": None},
    }
