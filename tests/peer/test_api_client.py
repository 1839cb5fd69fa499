"""The real client against the real demo server over loopback HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import io

import pytest
from PIL import Image

from imgtui.api import (
    Completed,
    Connection,
    Failed,
    FailureKind,
    ImageRequest,
    InputImage,
    Partial,
    Progress,
    Started,
    check_connection,
    stream_images,
)
from imgtui.api.client import RetryPolicy
from imgtui.api.pool import ClientPool


@pytest.fixture(autouse=True)
def _clear(server):
    server.clear()


def conn_for(server, mode="images", **kw) -> Connection:
    return Connection(server.base_url, api_key="sk-test-key-0000", api_mode=mode, **kw)


class RecordedSleeps(list):
    """A retry sleep that records the back-off instead of waiting."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


NO_WAIT = RetryPolicy(sleep=RecordedSleeps())


async def collect(conn, req, retry=NO_WAIT):
    async with contextlib.aclosing(stream_images(conn, req, retry=retry)) as events:
        return [ev async for ev in events if not isinstance(ev, Progress)]


async def streams_started(server, count: int) -> bool:
    """Wait (at most 10 s) until the server has started `count` streams."""
    return await asyncio.to_thread(
        server.state.wait_for, lambda: server.streams_started >= count, 10.0
    )


def png_bytes(w=64, h=64, color=(30, 90, 200, 255)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (w, h), color).save(buf, "PNG")
    return buf.getvalue()


def by_type(events, cls):
    return [e for e in events if isinstance(e, cls)]


# -- each endpoint, streaming and not ---------------------------------------------------


@pytest.mark.parametrize("mode", ["images", "responses"])
@pytest.mark.parametrize("partials", [0, 1, 3])
async def test_streaming_generation(server, mode, partials):
    req = ImageRequest(prompt="a red fox", size="1024x1024", partial_images=partials)
    events = await collect(conn_for(server, mode), req)
    assert isinstance(events[0], Started)
    parts = by_type(events, Partial)
    expected = max(1, partials) if mode == "responses" else partials
    assert [p.index for p in parts] == list(range(expected))
    (done,) = by_type(events, Completed)
    assert events[-1] is done and not by_type(events, Failed)
    img = Image.open(io.BytesIO(done.image))
    assert img.size == (1024, 1024) and img.format == "PNG"
    assert done.usage and done.usage.get("total_tokens")
    if mode == "responses":
        assert done.response_id and done.response_id.startswith("resp_")
        assert done.revised_prompt
    body = server.requests[-1]["json"]
    if mode == "images":
        assert (
            body["stream"] is True
            and body["partial_images"] == partials
            and body["model"] == "gpt-image-1"
        )
    else:
        assert (
            body["tools"][0]["type"] == "image_generation"
            and body["tool_choice"]["type"] == "image_generation"
        )


@pytest.mark.parametrize("mode", ["images", "responses"])
async def test_multi_megabyte_frames_arrive_byte_exact(server, mode):
    """1536x1024 incompressible frames (~6 MB of base64 a line): partials and the final
    take the bytes path (no text decode, image strings cut out before JSON parsing)."""
    from imgtui.api.sse import BIG_LINE
    from imgtui.demo.pictures import noise_frame

    req = ImageRequest(prompt="noise", model="bench-noise", size="1536x1024", partial_images=2)
    events = await collect(conn_for(server, mode), req)
    parts, (done,) = by_type(events, Partial), by_type(events, Completed)
    assert [p.index for p in parts] == [0, 1] and not by_type(events, Failed)
    for p in parts:
        assert p.image == noise_frame(1536, 1024, p.index, "png")
    assert done.image == noise_frame(1536, 1024, "final", "png")
    assert len(done.image) * 4 // 3 > 50 * BIG_LINE  # megabytes, far past the threshold
    assert Image.open(io.BytesIO(done.image)).size == (1536, 1024)


@pytest.mark.parametrize("mode", ["images", "responses"])
async def test_non_streaming(server, mode):
    req = ImageRequest(
        prompt="a blue whale", n=2, stream=False, size="1536x1024", output_format="jpeg"
    )
    events = await collect(conn_for(server, mode), req)
    done = sorted(by_type(events, Completed), key=lambda e: e.slot)
    assert [e.slot for e in done] == [0, 1] and not by_type(events, Partial)
    for e in done:
        img = Image.open(io.BytesIO(e.image))
        assert img.format == "JPEG" and img.size == (1536, 1024)
    # images mode: one request with n=2; responses mode: one request per image
    assert len(server.requests) == (1 if mode == "images" else 2)


async def test_n_parallel_streams_fill_every_slot(server):
    req = ImageRequest(prompt="three cats", n=3, partial_images=2)
    events = await collect(conn_for(server), req)
    assert sorted(e.slot for e in by_type(events, Completed)) == [0, 1, 2]
    assert len(server.requests) == 3 and all("n" not in r["json"] for r in server.requests)
    for slot in range(3):
        assert [p.index for p in by_type(events, Partial) if p.slot == slot] == [0, 1]


async def test_edit_multipart_with_mask(server):
    img = InputImage(png_bytes(), "ref.png", "image/png")
    mask = InputImage(png_bytes(color=(0, 0, 0, 0)), "mask.png", "image/png")
    req = ImageRequest(
        prompt="add a hat", images=(img, img), mask=mask, partial_images=1, input_fidelity="high"
    )
    events = await collect(conn_for(server), req)
    assert len(by_type(events, Completed)) == 1 and len(by_type(events, Partial)) == 1
    rec = server.requests[-1]
    assert rec["path"].endswith("/images/edits")
    assert [f["field"] for f in rec["files"]] == ["image[]", "image[]", "mask"]
    assert rec["form"]["stream"] == "true" and rec["form"]["partial_images"] == "1"
    assert rec["form"]["input_fidelity"] == "high" and rec["form"]["prompt"] == "add a hat"


async def test_responses_follow_up_and_input_images(server):
    conn = conn_for(server, "responses")
    first = await collect(conn, ImageRequest(prompt="a castle", partial_images=1))
    rid = by_type(first, Completed)[0].response_id
    img = InputImage(png_bytes(), "ref.png", "image/png")
    req = ImageRequest(
        prompt="make it night", previous_response_id=rid, images=(img,), partial_images=1
    )
    events = await collect(conn, req)
    assert by_type(events, Completed)
    body = server.requests[-1]["json"]
    assert body["previous_response_id"] == rid
    assert body["input"][0]["content"][1]["type"] == "input_image"


async def test_auth_header_and_extra_headers_query(server):
    conn = conn_for(server, headers={"api-key": "azure-style"}, query={"api-version": "2025-04-01"})
    await collect(conn, ImageRequest(prompt="x", partial_images=0))
    rec = server.requests[-1]
    assert rec["headers"]["authorization"] == "Bearer sk-test-key-0000"
    assert rec["headers"]["api-key"] == "azure-style"
    assert rec["query"] == "api-version=2025-04-01"


async def test_progress_events_report_bytes(server):
    req = ImageRequest(prompt="noise", model="bench-noise", size="1024x1024", partial_images=1)
    async with contextlib.aclosing(stream_images(conn_for(server), req)) as events:
        got = [ev async for ev in events]
    done = by_type(got, Completed)[0]
    assert done.bytes_received > len(done.image)  # base64 + JSON overhead
    assert by_type(got, Partial)[0].bytes_received > 0


# -- fault modes -----------------------------------------------------------------------

FAULTS = [
    # mode, kind, words in the message
    ("auth", FailureKind.AUTH, "Authentication failed"),
    ("ratelimit", FailureKind.RATE_LIMIT, "Rate limited"),
    ("server", FailureKind.SERVER, "Server error (500)"),
    ("moderation", FailureKind.MODERATION, "violence"),
    ("stream400", FailureKind.BAD_REQUEST, "Streaming refused"),
    ("cf524", FailureKind.PROXY_TIMEOUT, "524: A timeout occurred"),
    ("html502", FailureKind.SERVER, "502 Bad Gateway"),
    ("drop", FailureKind.STREAM, "Connection dropped"),
    ("error-flat", FailureKind.SERVER, "could not be generated"),
    ("error-nested", FailureKind.SERVER, "Upstream failed"),
    ("failed-event", FailureKind.SERVER, "worker crashed"),
    ("malformed", FailureKind.STREAM, "Malformed event"),
    ("eof", FailureKind.STREAM, "without a final image"),
]


@pytest.mark.parametrize("mode, kind, words", FAULTS, ids=[f[0] for f in FAULTS])
async def test_fault_modes_fail_with_kind_message_and_hint(server, mode, kind, words):
    conn = Connection(server.fault_url(mode), max_retries=1)
    sleeps = RecordedSleeps()
    events = await collect(
        conn, ImageRequest(prompt="a fox", partial_images=2), RetryPolicy(sleep=sleeps)
    )
    (failed,) = by_type(events, Failed)
    assert failed.kind is kind, failed
    assert words in failed.message and failed.hint
    assert "<" not in failed.message and "\n" not in failed.message  # never a raw page
    assert not by_type(events, Completed)
    if mode in ("drop", "error-flat", "error-nested", "malformed", "eof"):
        assert by_type(events, Partial), "partials before the fault still arrive"
    if mode == "ratelimit":  # retried once, after the server's Retry-After
        assert len(server.requests) == 2 and sleeps == [1.0]
        assert failed.retry_after == 1.0
    elif mode == "html502":  # retried once, after the policy's first back-off
        assert len(server.requests) == 2 and sleeps == [1.0]
    else:
        assert sleeps == []


async def test_fault_chosen_by_model_name(server):
    events = await collect(conn_for(server), ImageRequest(prompt="a fox", model="fault-moderation"))
    assert by_type(events, Failed)[0].kind is FailureKind.MODERATION


@pytest.mark.parametrize(
    "mode, kind",
    [
        ("response-failed", FailureKind.SERVER),  # a `response.failed` event
        ("incomplete", FailureKind.STREAM),  # `response.incomplete`: ended without an image
        ("relay", None),  # only partials + response.completed: still a success
    ],
)
async def test_responses_fault_modes(server, mode, kind):
    conn = Connection(server.fault_url(mode), api_mode="responses")
    events = await collect(conn, ImageRequest(prompt="a fox", partial_images=2))
    if kind is None:
        (done,) = by_type(events, Completed)
        assert Image.open(io.BytesIO(done.image)).size
        assert len(by_type(events, Partial)) == 2
    else:
        (failed,) = by_type(events, Failed)
        assert failed.kind is kind and failed.message and failed.hint


@pytest.mark.parametrize("mode", ["json", "dataonly", "url"])
async def test_tolerated_variants_succeed(server, mode):
    conn = Connection(server.fault_url(mode))
    events = await collect(conn, ImageRequest(prompt="a fox", partial_images=2))
    (done,) = by_type(events, Completed)
    assert Image.open(io.BytesIO(done.image)).format == "PNG"
    if mode == "dataonly":
        assert [p.index for p in by_type(events, Partial)] == [0, 1]


async def test_partial_failure_keeps_arrived_images(server):
    # `flaky` fails every second request with HTTP 500: of two parallel slots, one fails.
    conn = Connection(server.fault_url("flaky"), max_retries=0)
    events = await collect(conn, ImageRequest(prompt="two", n=2, partial_images=1))
    (done,) = by_type(events, Completed)
    (failed,) = by_type(events, Failed)
    assert {done.slot, failed.slot} == {0, 1}
    assert failed.kind is FailureKind.SERVER and Image.open(io.BytesIO(done.image)).size


async def test_every_slot_fails_on_its_own(server):
    conn = Connection(server.fault_url("server"), max_retries=0)
    events = await collect(conn, ImageRequest(prompt="two", n=2, partial_images=1))
    assert sorted(f.slot for f in by_type(events, Failed)) == [0, 1]


async def test_retries_connection_refused_then_fails(unused_tcp_port):
    conn = Connection(f"http://127.0.0.1:{unused_tcp_port}/v1", max_retries=2)
    sleeps = RecordedSleeps()
    events = await collect(conn, ImageRequest(prompt="x"), RetryPolicy(sleep=sleeps))
    (failed,) = by_type(events, Failed)
    assert failed.kind is FailureKind.CONNECTION and failed.message == "Connection refused"
    assert sleeps == [1.0, 2.0]  # the policy's exponential back-off, not slept


async def test_retry_policy_overrides_the_connection(server):
    conn = Connection(server.fault_url("overloaded"), max_retries=5)
    sleeps = RecordedSleeps()
    policy = RetryPolicy(max_retries=1, max_backoff=0.25, sleep=sleeps)
    (failed,) = by_type(await collect(conn, ImageRequest(prompt="x"), policy), Failed)
    assert failed.status == 503 and len(server.requests) == 2 and sleeps == [0.25]


async def test_client_pool_shares_until_full_then_lends_a_private_client(server):
    pool = ClientPool(shared_slots=3)
    conn = conn_for(server)
    async with pool.lease(conn, 2) as first, pool.lease(conn, 1) as second:
        assert first is second and pool.in_flight == 3
        async with pool.lease(conn, 1) as third:  # would make 4 streams: a client of its own
            assert third is not first and pool.in_flight == 3
            events = await collect(conn, ImageRequest(prompt="x", partial_images=0))
            assert by_type(events, Completed)
            got = [
                e
                async for e in stream_images(conn, ImageRequest(prompt="y"), client=third)
                if isinstance(e, Completed)
            ]
            assert len(got) == 1
        assert third.is_closed and not first.is_closed
    assert pool.in_flight == 0
    await pool.aclose()
    assert first.is_closed


async def test_read_timeout(server):
    conn = Connection(server.fault_url("stall"), timeout=0.5, max_retries=0)
    events = await collect(conn, ImageRequest(prompt="x"))
    assert by_type(events, Failed)[0].kind is FailureKind.TIMEOUT
    assert await asyncio.to_thread(server.wait_for_disconnects, 1, 5.0)


# -- cancellation ----------------------------------------------------------------------


async def test_cancel_closes_the_connection_promptly(server):
    conn = conn_for(server, headers={"x-demo-delay": "30"})
    req = ImageRequest(prompt="slow", partial_images=3)
    got_started = asyncio.Event()

    async def consume():
        async with contextlib.aclosing(stream_images(conn, req)) as events:
            async for ev in events:
                if isinstance(ev, Started):
                    got_started.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_started.wait(), 5)
    assert await streams_started(server, 1)  # the request is in flight on the server
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    # the image takes 30 s: a disconnect seen by the server means the client closed it
    assert await asyncio.to_thread(server.wait_for_disconnects, 1, 10.0)
    assert server.streams_completed == 0


async def test_cancel_parallel_slots_closes_every_stream(server):
    conn = conn_for(server, headers={"x-demo-delay": "30"})
    task = asyncio.create_task(collect(conn, ImageRequest(prompt="slow", n=3, partial_images=3)))
    assert await streams_started(server, 3)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(server.wait_for_disconnects, 3, 10.0)
    assert server.streams_completed == 0


async def test_check_connection(server):
    assert await check_connection(conn_for(server)) is None
    failed = await check_connection(
        Connection(server.fault_url("auth"), api_key="sk-abc-secret-9999")
    )
    assert failed.kind is FailureKind.AUTH and "sk-abc-secret-9999" not in failed.message


async def test_demo_gives_parallel_slots_different_pictures_and_stays_deterministic(server):
    events = await collect(
        conn_for(server), ImageRequest(prompt="three cats", n=3, partial_images=0)
    )
    images = [e.image for e in sorted(by_type(events, Completed), key=lambda e: e.slot)]
    assert len(set(images)) == 3, "n parallel requests should not all get the same demo picture"
    again = await collect(
        conn_for(server), ImageRequest(prompt="three cats", n=1, partial_images=0)
    )
    assert by_type(again, Completed)[0].image in images  # a lone request gets the first variant
    once_more = await collect(
        conn_for(server), ImageRequest(prompt="three cats", n=1, partial_images=0)
    )
    assert by_type(once_more, Completed)[0].image == by_type(again, Completed)[0].image


# -- replies of relays and other providers (issue 12) ------------------------------------

RELAY_FAILURES = [
    # mode, stream, kind, the server's words in the message, words of the hint
    ("unframed-error", True, FailureKind.RATE_LIMIT, "exceeded your current quota", "quota is used up"),
    ("google-key", True, FailureKind.AUTH, "API key not valid", "API key"),
    ("google-key-list", True, FailureKind.AUTH, "API key not valid", "API key"),
    ("null-message", False, FailureKind.BAD_REQUEST, "type: invalid_request_error, code: invalid_size", "parameters"),
    ("async-task", False, FailureKind.BAD_REQUEST, "task_demo_0001, status queued", "polled provider"),
    ("transparent", False, FailureKind.BAD_REQUEST, "Transparent background is not supported", "background to auto or opaque"),
    ("stream400", True, FailureKind.BAD_REQUEST, "'stream' is not supported", "--no-stream"),
    ("stream-go", True, FailureKind.BAD_REQUEST, "invalid character ':' looking for beginning of value", "--no-stream"),
    ("stream-partials", True, FailureKind.BAD_REQUEST, "Streaming must have non-zero partial images", "--no-stream"),
    ("stream-text", True, FailureKind.BAD_REQUEST, "stream not supported", "--no-stream"),
    ("stream-vague", True, FailureKind.BAD_REQUEST, "Bad request", "--no-stream"),
]  # fmt: skip


@pytest.mark.parametrize(
    "mode, stream, kind, said, hint", RELAY_FAILURES, ids=[f[0] for f in RELAY_FAILURES]
)
async def test_relay_failures_show_the_servers_words_and_the_right_hint(
    server, mode, stream, kind, said, hint
):
    conn = Connection(server.fault_url(mode), max_retries=0)
    req = ImageRequest(prompt="a fox", partial_images=1, stream=stream)
    (failed,) = by_type(await collect(conn, req), Failed)
    assert failed.kind is kind, failed
    assert said in failed.message and "\n" not in failed.message
    assert hint in failed.hint
    assert "partial images" not in failed.hint  # streaming more would only cost more


@pytest.mark.parametrize("mode", ["stream-go", "stream-text", "stream-vague"])
async def test_turning_streaming_off_as_the_hint_says_works(server, mode):
    conn = Connection(server.fault_url(mode), max_retries=0)
    events = await collect(conn, ImageRequest(prompt="a fox", stream=False))
    (done,) = by_type(events, Completed)
    assert Image.open(io.BytesIO(done.image)).format == "PNG"


@pytest.mark.parametrize("api", ["images", "responses"])
async def test_an_unframed_json_reply_in_an_event_stream_is_read(server, api):
    conn = Connection(server.fault_url("unframed-image"), api_mode=api)
    events = await collect(conn, ImageRequest(prompt="a fox", size="64x64", partial_images=1))
    (done,) = by_type(events, Completed)
    assert Image.open(io.BytesIO(done.image)).size == (64, 64)
    assert done.revised_prompt == "A detailed rendering of: a fox"


async def test_a_streamed_completed_event_with_a_url_downloads_the_image(server):
    conn = Connection(server.fault_url("stream-url"), api_key="sk-test-key-0000")
    events = await collect(conn, ImageRequest(prompt="a fox", size="64x64", partial_images=1))
    (done,) = by_type(events, Completed)
    assert Image.open(io.BytesIO(done.image)).size == (64, 64)
    assert len(by_type(events, Partial)) == 1
    (fetch,) = [r for r in server.requests if r["path"].startswith("/files/")]
    # the demo server's own origin is the API's: the key goes along there
    assert fetch["headers"]["authorization"] == "Bearer sk-test-key-0000"


@pytest.mark.parametrize("endpoint", ["/images/generations", "/images/generations/"])
async def test_a_base_url_holding_the_endpoint_gets_the_base_url_to_use(server, endpoint):
    conn = Connection(server.base_url + endpoint, max_retries=0)
    (failed,) = by_type(await collect(conn, ImageRequest(prompt="a fox")), Failed)
    assert failed.status == 404
    assert "Invalid URL (POST /v1/images/generations/images/generations)" in failed.message
    assert f"use {server.base_url} as the base URL" in failed.hint


async def test_a_base_url_with_a_query_string_keeps_it_after_the_path(server):
    conn = Connection(server.base_url + "?api-version=2025-04-01", query={"extra": "1"})
    events = await collect(conn, ImageRequest(prompt="a fox", partial_images=0))
    assert by_type(events, Completed)
    (request,) = server.requests
    assert request["path"] == "/v1/images/generations"
    assert request["query"] == "api-version=2025-04-01&extra=1"


async def test_a_final_image_that_arrived_survives_the_stream_breaking_after_it(server):
    """Responses: the image came in output_item.done, then the connection was cut before
    response.completed: the image is the result, not a failure."""
    conn = Connection(server.fault_url("drop-after-final"), api_mode="responses")
    events = await collect(conn, ImageRequest(prompt="a fox", size="64x64", partial_images=1))
    assert not by_type(events, Failed)
    (done,) = by_type(events, Completed)
    assert Image.open(io.BytesIO(done.image)).size == (64, 64)
    assert done.response_id is not None  # from response.created
