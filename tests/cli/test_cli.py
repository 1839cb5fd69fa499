"""`imgtui generate` and friends against a real demo server: as real subprocesses, and the
fault tests in this process (`generate_here`) with a retry policy that does not wait."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from imgtui.api.client import RetryPolicy
from imgtui.cli import build_parser
from imgtui.cli.generate import cmd_generate
from tests.cli.helpers import run


class RecordedSleeps(list):
    """A retry sleep that records the back-off instead of waiting."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def generate_here(args: list[str], capsys) -> tuple[int, str, str, list[float]]:
    """`imgtui generate ARGS` run in this process: exit code, stdout, stderr and the
    back-off the retry policy was asked to sleep (faults the client retries, 429/502/503,
    would otherwise wait 1 s + 2 s for real)."""
    sleeps = RecordedSleeps()
    parsed = build_parser().parse_args(["generate", *args])
    code = cmd_generate(parsed, retry=RetryPolicy(sleep=sleeps))
    out, err = capsys.readouterr()
    return code, out, err, sleeps


def test_generate_demo_saves_a_picture(tmp_path, env):
    out = tmp_path / "out"
    r = run(["generate", "--demo", "a red fox", "-o", str(out)], env)
    assert r.returncode == 0, r.stderr
    (path,) = out.iterdir()
    assert r.stdout.strip() == str(path)
    assert path.suffix == ".png" and "a-red-fox" in path.name
    assert Image.open(path).size == (1024, 1024)


def test_generate_with_openai_env_vars_only(tmp_path, env, server):
    env |= {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-env-key-4242"}
    r = run(
        [
            "generate",
            "a lighthouse",
            "-o",
            str(tmp_path),
            "--json",
            "-n",
            "2",
            "--partial-images",
            "2",
        ],
        env,
    )
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    kinds = [o["event"] for o in lines]
    assert (
        kinds.count("started") == 2
        and kinds.count("partial") == 4
        and kinds.count("completed") == 2
    )
    for o in lines:
        if o["event"] == "completed":
            assert Path(o["path"]).is_file() and o["usage"]["total_tokens"] > 0
            assert "revised_prompt" in o
    frames = sorted((o["slot"], o["index"]) for o in lines if o["event"] == "partial")
    assert frames == [(0, 0), (0, 1), (1, 0), (1, 1)]  # each image's two frames
    assert server.requests[-1]["headers"]["authorization"] == "Bearer sk-env-key-4242"
    assert "sk-env-key-4242" not in r.stdout + r.stderr


def test_saved_bytes_are_exactly_what_the_server_sent(tmp_path, env, server):
    env["OPENAI_BASE_URL"] = server.base_url
    r = run(
        ["generate", "exact bytes", "--format", "webp", "--no-stream", "-o", str(tmp_path)], env
    )
    assert r.returncode == 0, r.stderr
    (path,) = tmp_path.glob("*.webp")
    import httpx

    reply = httpx.post(
        server.base_url + "/images/generations",
        json={"prompt": "exact bytes", "model": "gpt-image-1", "output_format": "webp"},
    ).json()
    import base64

    assert path.read_bytes() == base64.b64decode(reply["data"][0]["b64_json"])


def test_names_never_overwrite(tmp_path, env, server):
    env["OPENAI_BASE_URL"] = server.base_url
    for _ in range(2):
        assert (
            run(
                ["generate", "same prompt", "-o", str(tmp_path), "--partial-images", "0"], env
            ).returncode
            == 0
        )
    assert len(list(tmp_path.glob("*.png"))) == 2


def test_edit_with_input_image(tmp_path, env, server):
    src = tmp_path / "in.png"
    Image.new("RGB", (64, 64), (250, 0, 0)).save(src)
    env["OPENAI_BASE_URL"] = server.base_url
    r = run(
        ["generate", "add a hat", "-i", str(src), "-i", str(src), "-o", str(tmp_path / "o")], env
    )
    assert r.returncode == 0, r.stderr
    assert server.requests[-1]["path"].endswith("/images/edits")


FAULTS = [
    "auth",
    "ratelimit",
    "server",
    "overloaded",
    "badgateway",
    "moderation",
    "stream400",
    "cf524",
    "html502",
    "drop",
    "error-flat",
    "error-nested",
    "failed-event",
    "response-failed",
    "incomplete",
    "malformed",
    "eof",
]


RETRIED = {"ratelimit", "overloaded", "badgateway", "html502"}  # 429, 503, 502, 502


@pytest.mark.parametrize("mode", FAULTS)
def test_every_fault_mode_exits_1_with_cause_and_hint(tmp_path, server, mode, capsys):
    code, out, err, sleeps = generate_here(
        ["a fox", "--base-url", server.fault_url(mode), "-o", str(tmp_path)], capsys
    )
    assert code == 1, (out, err)
    lines = err.strip().splitlines()
    assert lines[0].startswith("imgtui: ") and len(lines) == 2, err
    assert lines[1].startswith("  hint: ")
    assert "Traceback" not in err and "<" not in err
    assert not list(tmp_path.glob("*.png"))
    # retried twice before giving up (the back-off asked for, not slept); nothing else is
    assert len(sleeps) == (2 if mode in RETRIED else 0), sleeps


def test_fault_json_output(tmp_path, env, server):
    r = run(["generate", "x", "--base-url", server.fault_url("moderation"), "--json"], env)
    assert r.returncode == 1
    failed = next(json.loads(x) for x in r.stdout.splitlines() if '"failed"' in x)
    assert failed["kind"] == "moderation" and failed["message"] and failed["hint"]


@pytest.mark.parametrize(
    "args, words",
    [
        (["--size", "big"], "RATIO@TIER"),
        (["--partial-images", "5"], "partial_images"),
        (["--compression", "50"], "jpeg or webp"),
        (["-n", "11"], "1 to 10"),
        (["-i", "/nonexistent.png"], "no such file"),
        (["--background", "transparent", "--format", "jpeg"], "transparent"),
        (["--timeout", "-1"], "timeout"),
    ],
)
def test_invalid_arguments_exit_2_and_send_nothing(env, server, args, words):
    r = run(["generate", "x", "--base-url", server.base_url, *args], env)
    assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr
    assert server.requests == []


def test_no_provider_points_at_demo(env):
    r = run(["generate", "x"], env)
    assert r.returncode == 2 and "--demo" in r.stderr


def test_base_url_elsewhere_never_gets_the_env_key(env, server):
    env["OPENAI_API_KEY"] = "sk-do-not-leak"
    r = run(
        [
            "generate",
            "x",
            "--base-url",
            server.base_url,
            "--partial-images",
            "0",
            "-o",
            env["IMGTUI_DATA_DIR"],
        ],
        env,
    )
    assert r.returncode == 0, r.stderr
    assert "authorization" not in server.requests[-1]["headers"]


def test_ctrl_c_closes_streams_and_exits_130(tmp_path, env, server):
    server.clear()  # the counters below are this test's (the module's earlier tests stream too)
    env["OPENAI_BASE_URL"] = server.base_url
    # Ctrl-C in a terminal: the child must not inherit an ignored SIGINT (which it does when
    # the suite itself was started in the background, `cmd &`: it would then stream on)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "imgtui",
                "generate",
                "slow",
                "-n",
                "2",
                "--json",
                "--base-url",
                server.base_url,
                "-H",
                "x-demo-delay: 30",
                "-o",
                str(tmp_path),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    # wait until both requests are in flight on the server
    assert server.state.wait_for(lambda: server.streams_started >= 2, 20.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert server.wait_for_disconnects(2, 3.0)


def test_bad_header_flag(env, server):
    r = run(["generate", "x", "--base-url", server.base_url, "-H", "no-colon"], env)
    assert r.returncode == 2 and "NAME: VALUE" in r.stderr


def test_locate(env):
    r = run(["locate"], env)
    assert r.returncode == 0
    assert env["IMGTUI_CONFIG_FILE"] in r.stdout and env["IMGTUI_DATA_DIR"] in r.stdout


def test_profiles_import_export_list(env):
    url = (
        "https://example.app/?apiUrl=https%3A%2F%2Frelay.example.com%2Fv1&apiKey=sk-share-7777"
        "&apiMode=responses&model=gpt-image-1.5&profileName=Relay&streamImages=false&streamPartialImages=3"
    )
    r = run(["profiles", "import", url], env)
    assert r.returncode == 0, r.stderr
    listing = run(["profiles", "list"], env).stdout
    assert "Relay" in listing and "responses" in listing and "sk-share-7777" not in listing
    exported = run(["profiles", "export", "Relay"], env).stdout
    assert (
        "apiKey" not in exported
        and "streamImages=false" in exported
        and "streamPartialImages=3" in exported
    )
    with_key = run(["profiles", "export", "Relay", "--include-key"], env).stdout
    assert "sk-share-7777" in with_key
    mode = os.stat(env["IMGTUI_CONFIG_FILE"]).st_mode & 0o777
    assert mode == 0o600
    bad = run(["profiles", "import", "https://example.app/?apiUrl=ftp://x&apiMode=images"], env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_malformed_config_is_reported_not_overwritten(env):
    cfg = Path(env["IMGTUI_CONFIG_FILE"])
    cfg.parent.mkdir(parents=True)
    cfg.write_text('[[profiles]]\nname = "x"\nbase_url = "https://a/v1"\ntimout = 3\n')
    r = run(["generate", "x"], env)
    assert r.returncode == 2 and "timout" in r.stderr and "line 4" in r.stderr
    assert "timout" in cfg.read_text()


# -- replies of relays and other providers (issue 12): one line in the server's words + hint

RELAY_FAULTS = [
    # mode, extra flags, the server's words, words of the hint
    ("unframed-error", [], "exceeded your current quota", "quota is used up"),
    ("google-key", [], "API key not valid", "API key"),
    ("google-key-list", [], "API key not valid", "API key"),
    ("null-message", [], "type: invalid_request_error, code: invalid_size", "parameters"),
    ("async-task", [], "task_demo_0001, status queued", "polled provider"),
    ("transparent", ["--background", "transparent"], "Transparent background is not supported", "background to auto or opaque"),
    ("stream-go", [], "invalid character ':' looking for beginning of value", "--no-stream"),
    ("stream-partials", [], "Streaming must have non-zero partial images", "--no-stream"),
    ("stream-text", [], "stream not supported", "--no-stream"),
    ("stream-vague", [], "Bad request", "--no-stream"),
]  # fmt: skip


@pytest.mark.parametrize("mode, flags, said, hint", RELAY_FAULTS, ids=[f[0] for f in RELAY_FAULTS])
def test_relay_failures_end_in_the_servers_words_and_a_hint(
    tmp_path, server, mode, flags, said, hint, capsys
):
    code, out, err, _ = generate_here(
        ["a fox", "--base-url", server.fault_url(mode), "-o", str(tmp_path), *flags], capsys
    )
    assert code == 1, (out, err)
    message, hint_line = err.strip().splitlines()
    assert message.startswith("imgtui: ") and said in message
    assert hint_line.startswith("  hint: ") and hint in hint_line
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("mode", ["unframed-image", "stream-url"])
def test_relay_replies_that_hold_an_image_save_it(tmp_path, env, server, mode):
    r = run(
        ["generate", "a fox", "--base-url", server.fault_url(mode), "-o", str(tmp_path),
         "-s", "64x64", "-m", "relay-image"],  # a model the table doesn't know: any size
        env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    (path,) = tmp_path.iterdir()
    assert Image.open(path).size == (64, 64) and r.stdout.strip() == str(path)


def test_no_stream_gets_past_a_streaming_refusal(tmp_path, env, server):
    args = ["generate", "a fox", "--base-url", server.fault_url("stream-go"), "-o", str(tmp_path)]
    assert run(args, env).returncode == 1
    r = run([*args, "--no-stream"], env)
    assert r.returncode == 0, r.stderr
    assert len(list(tmp_path.glob("*.png"))) == 1


def test_a_base_url_holding_the_endpoint_names_the_one_to_use(env, server):
    r = run(["generate", "x", "--base-url", server.base_url + "/images/generations"], env)
    assert r.returncode == 1
    message, hint = r.stderr.strip().splitlines()
    assert (
        "Not found (404): Invalid URL (POST /v1/images/generations/images/generations)" in message
    )
    assert f"use {server.base_url} as the base URL" in hint


def test_a_base_url_query_string_becomes_query_parameters(tmp_path, env, server):
    r = run(
        ["generate", "x", "--base-url", server.base_url + "?api-version=2025-04-01",
         "--query", "deployment=d1", "--query", "x=a=b", "-o", str(tmp_path),
         "--partial-images", "0"],
        env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    (request,) = server.requests
    assert request["path"] == "/v1/images/generations"
    assert request["query"] == "api-version=2025-04-01&deployment=d1&x=a%3Db"


@pytest.mark.parametrize(
    "args, words",
    [
        (["--base-url", "ftp://h/v1"], "--base-url 'ftp://h/v1': must start with http:// or https://"),
        (["--base-url", "https://u:p@h/v1"], "--base-url must not contain user:password@"),
        (["--base-url", "https://h/v1#frag"], "--base-url must not contain a #fragment"),
        (["--base-url", "https://h/v1?novalue"], "pass parameters with --query NAME=VALUE"),
        (["--base-url", "https://h/v1", "--query", "novalue"], "--query takes NAME=VALUE"),
    ],
)  # fmt: skip
def test_base_url_and_query_flags_are_validated(env, args, words):
    r = run(["generate", "x", *args], env)
    assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr
