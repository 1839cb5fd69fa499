"""A final image must be an image (issue 10, item 6): truncated files, non-image bytes and
decompression bombs fail the slot with a clear message, the raw bytes kept for
inspection, and the bomb is never decoded (its header alone is read)."""

from __future__ import annotations

import contextlib
import subprocess
import sys

import pytest

from imgtui.api import Completed, Connection, Failed, FailureKind, ImageRequest, stream_images
from imgtui.api.imagecheck import BrokenImage, check_image
from tests.security.hostile import BOMB, GOOD, NOT_AN_IMAGE, TRUNCATED, bomb_png

CASES = [
    # mode, raw bytes served, words of the message
    ("truncated", TRUNCATED, "damaged or cut off"),
    ("not-image", NOT_AN_IMAGE, "Not an image"),
    ("bomb", BOMB, "decompression bomb"),
]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
@pytest.mark.parametrize("mode, raw, words", CASES, ids=[c[0] for c in CASES])
async def test_a_broken_final_image_fails_the_slot_and_keeps_the_bytes(
    hostile, mode, raw, words, stream
):
    conn = Connection(hostile.url(mode), max_retries=0)
    req = ImageRequest(prompt="x", stream=stream, partial_images=0)
    async with contextlib.aclosing(stream_images(conn, req)) as s:
        events = [e async for e in s]
    assert not [e for e in events if isinstance(e, Completed)]
    (failed,) = [e for e in events if isinstance(e, Failed)]
    assert failed.kind is FailureKind.STREAM
    assert failed.message.startswith("The final image is not usable: ")
    assert words in failed.message
    assert failed.raw == raw
    assert "raw bytes are kept" in failed.hint


def test_the_check_reads_headers_only():
    """A 10-gigapixel header is refused in far less memory than decoding it would need."""
    import tracemalloc

    tracemalloc.start()
    with pytest.raises(BrokenImage, match="decompression bomb"):
        check_image(BOMB)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 5 * 1024 * 1024
    with pytest.raises(BrokenImage, match=r"Refused a 10000x6000 PNG \(60,000,000 pixels"):
        check_image(bomb_png(10_000, 6_000))  # under Pillow's own bomb bound, over ours
    assert check_image(GOOD).format == "PNG"


def test_cli_saves_the_raw_bytes_and_exits_non_zero(hostile, tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "imgtui", "generate", "a fox", "--no-stream", "-o", str(tmp_path),
         "--base-url", hostile.url("truncated")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode != 0
    assert "The final image is not usable" in r.stderr
    (kept,) = tmp_path.glob("*.broken")
    assert kept.read_bytes() == TRUNCATED
    assert str(kept) in r.stderr
    assert not list(tmp_path.glob("*.png"))


async def test_a_partial_frame_that_is_a_bomb_never_reaches_a_decoder(hostile):
    """Partial frames are previews: a bomb (or non-image) frame arrives empty, so neither
    the app nor the CLI hands it to Pillow; the frames after it and the final still count."""
    from imgtui.api import Partial

    conn = Connection(hostile.url("bomb-partial"), max_retries=0)
    req = ImageRequest(prompt="x", partial_images=2)
    async with contextlib.aclosing(stream_images(conn, req)) as s:
        events = [e async for e in s]
    frames = [e.image for e in events if isinstance(e, Partial)]
    assert frames == [b"", GOOD]
    (done,) = [e for e in events if isinstance(e, Completed)]
    assert done.image == GOOD


async def _events(hostile, mode: str) -> list:
    conn = Connection(hostile.url(mode), max_retries=0)
    req = ImageRequest(prompt="x", stream=True, partial_images=0)
    async with contextlib.aclosing(stream_images(conn, req)) as s:
        return [e async for e in s]


async def test_a_final_whose_base64_is_broken_is_no_final(hostile):
    """The final's base64 is decoded in a thread when the stream ends (issue 16): broken
    base64 fails the slot as a stream without a final image, as when it was decoded on
    arrival."""
    events = await _events(hostile, "bad-b64")
    (failed,) = [e for e in events if isinstance(e, (Completed, Failed))]
    assert isinstance(failed, Failed) and failed.kind is FailureKind.STREAM
    assert failed.message == "The stream ended without a final image"


async def test_a_broken_final_falls_back_to_the_responses_output_copy(hostile):
    """Responses repeat the image in `response.completed`: when the `output_item.done`
    copy is broken, the intact copy is the final."""
    from tests.security.hostile import NOISE

    events = await _events(hostile, "bad-b64-then-good")
    (done,) = [e for e in events if isinstance(e, (Completed, Failed))]
    assert isinstance(done, Completed) and done.image == NOISE
    assert done.response_id == "resp_1"


async def test_a_cut_stream_after_a_broken_final_reports_the_cut(hostile):
    """A stream cut after a final arrived keeps the final (the paid image is never lost);
    when that final's base64 turns out broken, the slot fails with the cut, exactly as a
    cut with no final at all."""
    for mode in ("cut", "bad-b64-then-cut"):
        events = await _events(hostile, mode)
        (failed,) = [e for e in events if isinstance(e, (Completed, Failed))]
        assert isinstance(failed, Failed) and failed.kind is FailureKind.STREAM
        assert failed.message.startswith("Connection dropped mid-stream after "), mode
