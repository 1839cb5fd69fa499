"""Caps on size and time (issue 10, item 4): each ends the slot with a clear message.

The hostile server sends more than the (small, test-sized) `Limits` allow; the real
defaults are in `imgtui.api.limits`. `asyncio.wait_for` only guards the suite against a
hang on broken code: the assertions are about what the client reports.
"""

from __future__ import annotations

import asyncio
import contextlib

from imgtui.api import (
    Completed,
    Connection,
    Failed,
    FailureKind,
    ImageRequest,
    Partial,
    stream_images,
)
from imgtui.api.limits import MIB, Limits

GUARD = 60.0  # seconds: only so that a regression fails instead of hanging the suite


async def run(base_url: str, req: ImageRequest, **kw) -> list:
    conn = Connection(base_url, max_retries=0, timeout=kw.pop("timeout", 30.0))

    async def collect() -> list:
        async with contextlib.aclosing(stream_images(conn, req, **kw)) as stream:
            return [e async for e in stream]

    return await asyncio.wait_for(collect(), GUARD)


def only_failure(events: list) -> Failed:
    assert not [e for e in events if isinstance(e, Completed)]
    (failed,) = [e for e in events if isinstance(e, Failed)]
    return failed


async def test_a_server_sending_a_byte_at_a_time_ends_at_the_deadline(hostile):
    events = await run(hostile.url("drip"), ImageRequest(prompt="x"), timeout=5.0, deadline=1.0)
    failed = only_failure(events)
    assert failed.kind is FailureKind.TIMEOUT
    assert failed.message == "The request ran past its deadline of 1 s"
    assert "raise the profile's deadline" in failed.hint


async def test_the_connections_deadline_applies_by_default(hostile):
    conn = Connection(hostile.url("drip"), max_retries=0, timeout=5.0, deadline=1.0)

    async def collect() -> list:
        async with contextlib.aclosing(stream_images(conn, ImageRequest(prompt="x"))) as s:
            return [e async for e in s]

    failed = only_failure(await asyncio.wait_for(collect(), GUARD))
    assert failed.kind is FailureKind.TIMEOUT and "deadline of 1 s" in failed.message


async def test_an_sse_line_over_the_cap_is_refused_before_it_is_joined(hostile):
    limits = Limits(max_event=1 * MIB)
    failed = only_failure(
        await run(hostile.url("big-line"), ImageRequest(prompt="x"), limits=limits)
    )
    assert failed.kind is FailureKind.STREAM
    assert "over the 1.0 MiB limit" in failed.message and "line" in failed.message


async def test_an_image_download_over_the_cap_is_refused_while_it_streams(hostile):
    limits = Limits(max_download=1 * MIB)
    req = ImageRequest(prompt="x", stream=False)
    failed = only_failure(await run(hostile.url("url-huge"), req, limits=limits))
    assert failed.kind is FailureKind.STREAM
    assert failed.message == f"The image download is over the {MIB:,}-byte limit: refused"


async def test_partial_frames_per_slot_are_capped(hostile):
    events = await run(hostile.url("many-partials"), ImageRequest(prompt="x", partial_images=3))
    assert len([e for e in events if isinstance(e, Partial)]) == Limits().max_partials == 8
    assert len([e for e in events if isinstance(e, Completed)]) == 1


async def test_a_huge_revised_prompt_is_cut(hostile):
    events = await run(hostile.url("long-revised"), ImageRequest(prompt="x", stream=False))
    (done,) = [e for e in events if isinstance(e, Completed)]
    limit = Limits().max_revised_prompt
    assert done.revised_prompt is not None
    assert done.revised_prompt.startswith("word word")
    assert done.revised_prompt.endswith(" … (cut: 1,000,000 characters)")
    assert len(done.revised_prompt) < limit + 40


async def test_an_oversized_response_id_is_dropped(hostile):
    conn = Connection(hostile.url("long-id"), api_mode="responses", max_retries=0)
    req = ImageRequest(prompt="x", stream=False)
    async with contextlib.aclosing(stream_images(conn, req)) as s:
        (done,) = [e async for e in s if isinstance(e, Completed)]
    assert done.response_id is None and done.image


def test_cli_ends_at_a_profiles_deadline_against_a_dripping_server(hostile, tmp_path):
    """The profile's `deadline` reaches the request: `imgtui generate` ends, it does not
    hang on a server that sends a byte now and then (the read timeout never trips)."""
    import os
    import subprocess
    import sys

    config = tmp_path / "config.toml"
    config.write_text(
        "[[profiles]]\n"
        'name = "Drip"\n'
        f'base_url = "{hostile.url("drip")}"\n'
        "timeout = 30\n"
        "deadline = 1\n"
    )
    env = {**os.environ, "IMGTUI_CONFIG_FILE": str(config), "IMGTUI_DATA_DIR": str(tmp_path)}
    r = subprocess.run(
        [sys.executable, "-m", "imgtui", "generate", "x", "--profile", "Drip", "-o", str(tmp_path)],
        capture_output=True, text=True, timeout=GUARD, env=env,
    )  # fmt: skip
    assert r.returncode == 1, r.stderr
    message, hint = r.stderr.strip().splitlines()
    assert message == "imgtui: The request ran past its deadline of 1 s"
    assert "raise the profile's deadline" in hint
