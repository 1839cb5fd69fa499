"""`imgtui generate` flags derived from the profile's field table (issue 10, items 4 and 7):
`--deadline` ends a run against a server that drips bytes, and a non-finite or negative
time is a usage error (exit 2, nothing sent) instead of a traceback or a hang."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from imgtui.cli import build_parser
from imgtui.cli.generate import cmd_generate

GUARD = 60.0  # seconds: only so that a regression fails instead of hanging the suite


def generate(args: list[str], tmp_path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "IMGTUI_"))}
    env["IMGTUI_CONFIG_FILE"] = str(tmp_path / "config.toml")
    env["IMGTUI_DATA_DIR"] = str(tmp_path / "data")
    return subprocess.run(
        [sys.executable, "-m", "imgtui", "generate", "x", "-o", str(tmp_path), *args],
        capture_output=True, text=True, timeout=GUARD, env=env,
    )  # fmt: skip


def test_deadline_flag_ends_a_run_against_a_dripping_server(hostile, tmp_path):
    """The read timeout (5 s) never trips while a byte arrives every 50 ms; `--deadline 1`
    ends the run with the deadline's message."""
    r = generate(["--base-url", hostile.url("drip"), "--timeout", "5", "--deadline", "1"], tmp_path)
    assert r.returncode == 1, r.stderr
    message, hint = r.stderr.strip().splitlines()
    assert message == "imgtui: The request ran past its deadline of 1 s"
    assert hint.endswith("(settings, the config file, or --deadline).")
    assert len(hostile.seen("/drip/")) == 1


@pytest.mark.parametrize(
    "flag, value, words",
    [
        ("--deadline", "nan", "must be a number"),
        ("--deadline", "-1", "must be more than 0"),
        ("--deadline", "0", "must be more than 0"),
        ("--deadline", "inf", "must be a number"),
        ("--timeout", "nan", "must be a number"),
        ("--timeout", "-5", "must be more than 0"),
        ("--timeout", "99999", "at most 3600"),
    ],
)
def test_bad_times_are_usage_errors_and_send_nothing(hostile, tmp_path, flag, value, words):
    r = generate(["--base-url", hostile.url("plain"), flag, value], tmp_path)
    assert r.returncode == 2
    assert f"argument {flag}: " in r.stderr and words in r.stderr
    assert "Traceback" not in r.stderr
    assert hostile.requests == []


def test_mainline_model_flag_reaches_the_responses_request(server, tmp_path, capsys):
    args = ["generate", "x", "--base-url", server.base_url, "--api", "responses"]
    args += ["--mainline-model", "gpt-5-mini", "--partial-images", "0", "-o", str(tmp_path)]
    server.clear()
    assert cmd_generate(build_parser().parse_args(args)) == 0, capsys.readouterr().err
    (request,) = [r for r in server.requests if r["path"].endswith("/responses")]
    assert request["json"]["model"] == "gpt-5-mini"


def test_profile_policy_flags_reach_the_request(server, tmp_path, capsys):
    """`--omit-params` and `--size-in-prompt` (a relay that refuses parameters) come from
    the same field table as the settings form and change what is sent."""
    args = ["generate", "a kite", "--base-url", server.base_url, "-s", "1024x1024"]
    args += ["-q", "high", "--omit-params", "quality", "--size-in-prompt", "--no-stream"]
    server.clear()
    code = cmd_generate(build_parser().parse_args([*args, "-o", str(tmp_path)]))
    assert code == 0, capsys.readouterr().err
    (request,) = [r for r in server.requests if r["path"].endswith("/images/generations")]
    assert "quality" not in request["json"] and "size" not in request["json"]
    assert request["json"]["prompt"] == "a kite\n\nImage size: 1024x1024."


def test_a_bad_omit_params_value_is_a_usage_error(hostile, tmp_path):
    r = generate(["--base-url", hostile.url("plain"), "--omit-params", "Size!"], tmp_path)
    assert r.returncode == 2 and "argument --omit-params: " in r.stderr
    assert hostile.requests == []
