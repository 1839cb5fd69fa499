"""`imgtui generate --from FILE` (batches), `--transparent local` and `--recipe`, run as
real subprocesses against the embedded demo server."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from tests.cli import helpers
from tests.cli.helpers import clean_env


def run(args, env):
    return helpers.run(args, env, timeout=180)  # a batch of 20 takes longer


def test_twenty_prompts_run_through_the_queue_into_history(tmp_path):
    env = clean_env(tmp_path)
    lines = [f"prompt number {i}" for i in range(17)]
    lines += [
        "# a comment line",
        json.dumps({"prompt": "a wide castle", "size": "1536x1024", "quality": "low"}),
        json.dumps({"prompt": "two foxes", "n": 2, "stream": False}),
        json.dumps({"prompt": "a sticker", "transparent": "local"}),
    ]
    batch = tmp_path / "prompts.txt"
    batch.write_text("\n".join(lines), encoding="utf-8")
    out = tmp_path / "out"
    r = run(["generate", "--demo", "--from", str(batch), "-o", str(out), "--json"], env)
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    summary = events[-1]
    assert summary["event"] == "summary"
    assert (summary["prompts"], summary["done"], summary["failed"]) == (20, 20, 0)
    assert summary["images"] == 21  # "two foxes" asked for two
    completed = [e for e in events if e["event"] == "completed"]
    assert len(completed) == 21
    wide = next(e for e in completed if e["prompt"] == "a wide castle")
    assert wide["line"] == 19 and wide["size"] == "1536x1024"
    sticker = next(e for e in completed if e["prompt"] == "a sticker")
    assert sticker["original_path"] is not None

    listed = run(["history", "list", "--json"], env)
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(rows) == 20 and all(row["status"] == "done" for row in rows)
    assert {row["prompt"] for row in rows} >= {"prompt number 0", "two foxes", "a sticker"}
    assert all(Path(p).is_file() for row in rows for p in row["images"])


def test_a_bad_batch_line_sends_nothing(tmp_path):
    env = clean_env(tmp_path)
    batch = tmp_path / "prompts.txt"
    batch.write_text('fine\n{"prompt": "x", "sise": "1024x1024"}\n', encoding="utf-8")
    r = run(["generate", "--demo", "--from", str(batch), "-o", str(tmp_path / "out")], env)
    assert r.returncode == 2
    assert "line 2" in r.stderr and "sise" in r.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_local_transparent_sticker_is_saved_twice_and_imports_back(tmp_path):
    env = clean_env(tmp_path)
    out = tmp_path / "out"
    r = run(
        ["generate", "--demo", "a sticker of a fox", "--transparent", "local", "--recipe",
         "-s", "1024x1024", "-o", str(out)],
        env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    keyed = Path(r.stdout.strip())
    original = keyed.with_name(keyed.stem + "-original.png")
    assert sorted(out.iterdir()) == sorted([keyed, original])
    with Image.open(keyed) as im:
        alpha = np.asarray(im.convert("RGBA"))[..., 3]
    assert alpha[0, 0] == 0 and (alpha == 255).any()
    with Image.open(original) as im:
        assert im.mode == "RGB"

    r = run(["import", str(keyed)], env)
    assert r.returncode == 0, r.stderr
    listed = run(["history", "list", "--json"], env)
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["prompt"] == "a sticker of a fox"
    assert row["params"]["transparent"] == "local" and row["params"]["size"] == "1024x1024"
