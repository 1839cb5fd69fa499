"""`imgtui generate` with today's models and parameters, against the real demo server: what
is sent (only what was set), the new flags, GIF and SVG results, sizes, cost."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

from imgtui.models import cost_usd
from tests.cli.helpers import run


def generate(server, env, tmp_path, *flags, base=None):
    base = base or server.base_url
    return run(
        ["generate", "a cat", "--base-url", base, "--api-key", "sk-t", "-o", str(tmp_path),
         "--json", *flags],
        env,
    )  # fmt: skip


def sent(server) -> dict:
    (request,) = [r for r in server.requests if r["path"].endswith("/images/generations")]
    return request["json"]


def test_only_what_the_user_set_is_sent(server, env, tmp_path):
    r = generate(server, env, tmp_path, "-m", "gpt-image-2.6-flare", "--no-stream")
    assert r.returncode == 0, r.stderr
    assert sent(server) == {"model": "gpt-image-2.6-flare", "prompt": "a cat"}


def test_a_strict_relay_takes_a_request_with_nothing_unasked(server, env, tmp_path):
    r = generate(
        server, env, tmp_path, "-m", "relay-image", "--no-stream", base=server.fault_url("strict")
    )
    assert r.returncode == 0, r.stderr
    r = generate(
        server, env, tmp_path, "-m", "relay-image", "-s", "1024x1024", "--no-stream",
        base=server.fault_url("strict"),
    )  # fmt: skip
    assert r.returncode == 1
    failed = json.loads(r.stdout.splitlines()[-1])
    assert (failed["event"], failed["message"]) == (
        "failed",
        "Request rejected (400) [size]: Argument not supported: size",
    )


def test_new_parameters_are_sent(server, env, tmp_path):
    r = generate(
        server, env, tmp_path, "-m", "gpt-image-2.6-flare", "-q", "xhigh", "--complexity",
        "medium", "-s", "16:9@1k", "--format", "webp", "--compression", "80", "--safety-id",
        "u_1", "--moderation", "low", "--no-stream", base=server.fault_url("strict"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert sent(server) == {
        "model": "gpt-image-2.6-flare",
        "prompt": "a cat",
        "quality": "xhigh",
        "complexity": "medium",
        "size": "1360x768",
        "output_format": "webp",
        "output_compression": 80,
        "safety_identifier": "u_1",
        "moderation": "low",
    }


def test_gif_of_four_frames_saved_playable(server, env, tmp_path):
    r = generate(
        server, env, tmp_path, "-m", "gpt-image-2.6-flare", "--format", "gif", "--frames", "4",
        "--frame-ms", "120", "-s", "512x512",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    body = sent(server)
    assert (body["frame_count"], body["frame_duration_ms"], "stream" in body) == (4, 120, False)
    completed = json.loads(r.stdout.splitlines()[-1])
    path = Path(completed["path"])
    assert path.suffix == ".gif"
    gif = Image.open(path)
    assert (gif.n_frames, gif.info["duration"], gif.size) == (4, 120, (512, 512))


def test_svg_saved_as_received(server, env, tmp_path):
    r = generate(
        server, env, tmp_path, "-m", "gpt-image-2.6-flare", "--format", "svg", "--svg-model",
        "gpt-5.6-terra", "--svg-effort", "low", "-s", "1024x1024",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert sent(server)["svg"] == {"model": "gpt-5.6-terra", "reasoning": {"effort": "low"}}
    path = Path(json.loads(r.stdout.splitlines()[-1])["path"])
    assert path.suffix == ".svg"
    assert path.read_bytes().startswith(b'<svg xmlns="http://www.w3.org/2000/svg"')


def test_refused_before_sending_naming_the_field(server, env, tmp_path):
    r = generate(server, env, tmp_path, "-m", "gpt-image-2", "-q", "max")
    assert r.returncode == 2
    assert r.stderr.strip() == "imgtui: quality: 'max': gpt-image-2 takes auto, low, medium, high"
    r = generate(server, env, tmp_path, "-m", "gpt-image-2.5-flare", "--format", "gif")
    assert r.returncode == 2
    r = generate(server, env, tmp_path, "--format", "svg", "-n", "2")
    assert r.stderr.strip() == "imgtui: n: 2: SVG output needs n=1"
    assert server.requests == []


def test_markup_and_mask_are_exclusive(server, env, tmp_path):
    png = tmp_path / "a.png"
    Image.new("RGBA", (64, 64)).save(png)
    r = generate(server, env, tmp_path, "-i", str(png), "--mask", str(png), "--markup", str(png))
    assert r.returncode == 2
    assert "not allowed with argument --mask" in r.stderr


def test_markup_edit_sends_the_overlay(server, env, tmp_path):
    png = tmp_path / "a.png"
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(png)
    out = tmp_path / "out"
    r = run(
        ["generate", "move it", "--base-url", server.fault_url("strict"), "-o", str(out),
         "-m", "gpt-image-2.6-sunburst", "-i", str(png), "--markup", str(png), "--no-stream"],
        env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    (request,) = [r for r in server.requests if r["path"].endswith("/images/edits")]
    assert [f["field"] for f in request["files"]] == ["image", "markup"]


def test_size_snapped_with_a_note(server, env, tmp_path):
    r = generate(server, env, tmp_path, "-m", "gpt-image-1.5", "-s", "16:9@2k", "--no-stream")
    assert r.returncode == 0, r.stderr
    assert sent(server)["size"] == "1536x1024"
    assert (
        "imgtui: note: 16:9@2k -> 1536x1024: this model takes only auto, 1024x1024, 1536x1024, "
        "1024x1536" in r.stderr
    )


def test_completed_event_carries_cost(server, env, tmp_path):
    r = generate(server, env, tmp_path, "-m", "gpt-image-2.6-flare", "--no-stream")
    completed = json.loads(r.stdout.splitlines()[-1])
    assert completed["cost_usd"] == cost_usd("gpt-image-2.6-flare", completed["usage"])
    assert completed["cost_usd"] > 0
    r = generate(server, env, tmp_path, "-m", "relay-image", "--no-stream")
    assert json.loads(r.stdout.splitlines()[-1])["cost_usd"] is None


def test_size_in_prompt_and_omit_params_from_the_profile(server, env, tmp_path):
    cfg = Path(env["IMGTUI_CONFIG_FILE"])
    cfg.parent.mkdir(parents=True)
    cfg.write_text(
        "[[profiles]]\n"
        'name = "Picky"\n'
        f'base_url = "{server.base_url}"\n'
        'model = "gpt-image-2.6-flare"\n'
        "stream = false\n"
        "size_in_prompt = true\n"
        'omit_params = ["quality"]\n'
    )
    r = run(
        ["generate", "a cat", "--profile", "Picky", "-s", "1536x864", "-q", "high",
         "-o", str(tmp_path)],
        env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert sent(server) == {
        "model": "gpt-image-2.6-flare",
        "prompt": "a cat\n\nImage size: 1536x864.",
    }


def test_image_bytes_of_the_gif_are_as_received(server, env, tmp_path):
    r = generate(server, env, tmp_path, "--format", "gif", "--frames", "2", "-s", "256x256")
    path = Path(json.loads(r.stdout.splitlines()[-1])["path"])
    assert Image.open(io.BytesIO(path.read_bytes())).n_frames == 2


# -- imgtui models, imgtui usage, the daily limit -------------------------------------------


def write_profile(env, server, extra=""):
    cfg = Path(env["IMGTUI_CONFIG_FILE"])
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(
        "[[profiles]]\n"
        'name = "Shop"\n'
        f'base_url = "{server.base_url}"\n'
        'api_key = "sk-shop-secret"\n'
        'model = "gpt-image-1"\n'
        "stream = false\n" + extra
    )


def test_models_lists_the_providers_models_and_flags_the_profiles(server, env):
    write_profile(env, server)
    r = run(["models", "--json"], env)
    assert r.returncode == 0, r.stderr
    listing = json.loads(r.stdout)
    assert listing["profile"] == "Shop"
    by_id = {m["id"]: m for m in listing["image_models"]}
    assert by_id["gpt-image-1"]["shutdown_date"] == "2026-10-23"
    assert by_id["gpt-image-2.6-flare"] == {
        "id": "gpt-image-2.6-flare",
        "shutdown_date": None,
        "family": "gpt-image-2.6",
        "warning": None,
    }
    assert "gpt-5.6-terra" in [m["id"] for m in listing["mainline_models"]]
    assert "imgtui: warning: this profile's model: gpt-image-1 was shut down on 2026-10-23" in (
        r.stderr
    )
    assert "sk-shop-secret" not in r.stdout + r.stderr
    # cached: a second listing sends nothing
    requests = len(server.requests)
    assert run(["models"], env).returncode == 0
    assert len(server.requests) == requests
    assert run(["models", "--refresh"], env).returncode == 0
    assert len(server.requests) == requests + 1


def test_usage_sums_the_history_and_the_daily_limit_refuses(server, env, tmp_path):
    write_profile(env, server)
    batch = tmp_path / "prompts.txt"
    batch.write_text("a cat\na dog\n")
    r = run(["generate", "--from", str(batch), "-m", "gpt-image-2.6-flare", "-o",
             str(tmp_path / "out")], env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = run(["usage", "--json"], env)
    assert r.returncode == 0, r.stderr
    usage = json.loads(r.stdout)
    (day,) = usage["days"]
    assert (day["profile"], day["tasks"], day["unpriced"]) == ("Shop", 2, 0)
    assert day["cost_usd"] > 0
    assert usage["total_usd"] == day["cost_usd"]

    write_profile(env, server, f"daily_limit_usd = {day['cost_usd']}\n")
    server.clear()
    r = run(["generate", "a bird", "-o", str(tmp_path / "out")], env)
    assert r.returncode == 2
    assert "the daily spending limit of profile 'Shop' is reached" in r.stderr
    assert server.requests == []
    write_profile(env, server, f"daily_limit_usd = {day['cost_usd'] * 2}\n")
    r = run(["generate", "a bird", "-m", "gpt-image-2.6-flare", "-o", str(tmp_path / "out")], env)
    assert r.returncode == 0, r.stderr
