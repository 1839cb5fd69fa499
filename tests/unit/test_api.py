"""Narrow unit tests of the protocol core: validation, error mapping, SSE decoding.

The end-to-end proof (real client, real demo server, loopback HTTP) is in test_api_client.py.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from imgtui.api import errors
from imgtui.api.calls import build_calls
from imgtui.api.events import Completed, FailureKind, ImageMeta, Partial
from imgtui.api.parse import StreamParser, iter_sse_json
from imgtui.api.request import Connection, ImageRequest, InputImage, RequestError, parse_size


def png(w: int = 8, h: int = 8, color=(200, 30, 30, 255)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (w, h), color).save(buf, "PNG")
    return buf.getvalue()


# -- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "x" * 32_001}, "prompt"),
        ({"n": 0}, "n"),
        ({"n": 11}, "n"),
        ({"size": "1000x1000"}, "size"),  # not multiples of 16
        ({"size": "3200x1024"}, "size"),  # ratio > 3:1
        ({"size": "4096x2048"}, "size"),  # > 3840x2160
        ({"size": "big"}, "size"),
        ({"partial_images": 4}, "partial_images"),
        ({"partial_images": -1}, "partial_images"),
        ({"output_compression": 50}, "output_compression"),  # png
        ({"output_compression": 101, "output_format": "jpeg"}, "output_compression"),
        ({"background": "transparent", "output_format": "jpeg"}, "background"),
        ({"output_format": "bmp"}, "output_format"),
        ({"moderation": "high"}, "moderation"),
        ({"model": ""}, "model"),
    ],
)
def test_validation_names_the_field(changes, field):
    with pytest.raises(RequestError) as info:
        ImageRequest(prompt="a fox").with_(**changes).validate()
    assert info.value.field == field
    assert info.value.message


def test_valid_requests_pass():
    ImageRequest(prompt="a fox", size="3840x2160", n=10, partial_images=3).validate()
    ImageRequest(
        prompt="a fox",
        size="1024x3072",
        output_format="webp",
        output_compression=80,
        background="transparent",
        quality="ultra-new-quality",
        model="gpt-image-9",
    ).validate()
    assert parse_size("auto") is None
    assert parse_size("1536x1024") == (1536, 1024)


def test_input_images_checked(tmp_path):
    with pytest.raises(RequestError, match="no such file"):
        InputImage.load(tmp_path / "missing.png")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(RequestError, match="not a PNG"):
        InputImage.load(tmp_path / "notes.txt")
    (tmp_path / "a.png").write_bytes(png())
    img = InputImage.load(tmp_path / "a.png")
    assert img.mime == "image/png" and img.name == "a.png"
    jpeg = io.BytesIO()
    Image.new("RGB", (4, 4)).save(jpeg, "JPEG")
    req = ImageRequest(
        prompt="x", images=(img,), mask=InputImage(jpeg.getvalue(), "m.jpg", "image/jpeg")
    )
    with pytest.raises(RequestError) as info:
        req.validate()
    assert info.value.field == "mask"


def test_connection_repr_hides_key():
    conn = Connection("https://api.example.com/v1", api_key="sk-secret-123456")
    assert "sk-secret" not in repr(conn) and "123456" not in repr(conn)


# -- request serialisation -------------------------------------------------------------


def test_generation_calls_split_per_slot_when_streaming():
    conn = Connection("http://x/v1")
    calls = build_calls(conn, ImageRequest(prompt="p", n=3, partial_images=2).validate())
    assert [c.slots for c in calls] == [[0], [1], [2]]
    assert all(
        "n" not in c.json and c.json["stream"] is True and c.json["partial_images"] == 2
        for c in calls
    )  # n=1 is the API's default: not sent
    (single,) = build_calls(conn, ImageRequest(prompt="p", n=3, stream=False).validate())
    assert single.slots == [0, 1, 2] and single.json["n"] == 3
    assert "stream" not in single.json and "partial_images" not in single.json


def test_edit_call_is_multipart_with_mask():
    img = InputImage(png(), "a.png", "image/png")
    req = ImageRequest(prompt="p", images=(img, img), mask=img, input_fidelity="high").validate()
    (call,) = build_calls(Connection("http://x/v1"), req)
    assert call.path == "/images/edits" and call.json is None
    assert [f[0] for f in call.files] == ["image[]", "image[]", "mask"]
    assert call.data["stream"] == "true" and call.data["input_fidelity"] == "high"
    (one,) = build_calls(Connection("http://x/v1"), req.with_(images=(img,), mask=None))
    assert [f[0] for f in one.files] == ["image"]


def test_responses_call_forces_tool_and_min_one_partial():
    img = InputImage(png(), "a.png", "image/png")
    conn = Connection("http://x/v1", api_mode="responses", mainline_model="gpt-5")
    req = ImageRequest(
        prompt="p", partial_images=0, images=(img,), previous_response_id="resp_1"
    ).validate()
    (call,) = build_calls(conn, req)
    body = call.json
    assert call.path == "/responses" and body["model"] == "gpt-5"
    assert body["tool_choice"] == {"type": "image_generation"}
    assert body["tools"][0]["partial_images"] == 1 and body["tools"][0]["model"] == "gpt-image-1"
    assert body["previous_response_id"] == "resp_1"
    content = body["input"][0]["content"]
    assert content[0] == {"type": "input_text", "text": "p"}
    assert content[1]["image_url"].startswith("data:image/png;base64,")


# -- error mapping ---------------------------------------------------------------------


def _map(status, body, headers=None):
    return errors.from_response(status, httpx.Headers(headers or {}), body)


def test_error_mapping_kinds_and_hints():
    f = _map(401, b'{"error":{"message":"Incorrect API key","code":"invalid_api_key"}}')
    assert f.kind is FailureKind.AUTH and f.hint
    f = _map(
        429, b'{"error":{"message":"slow down","code":"rate_limit_exceeded"}}', {"Retry-After": "3"}
    )
    assert f.kind is FailureKind.RATE_LIMIT and f.retry_after == 3.0
    f = _map(
        400,
        json.dumps(
            {
                "error": {
                    "message": "Your request was rejected by the safety system",
                    "code": "moderation_blocked",
                    "moderation_details": {"moderation_stage": "input", "categories": ["violence"]},
                }
            }
        ).encode(),
    )
    assert f.kind is FailureKind.MODERATION and "violence" in f.message
    f = _map(
        400,
        b'{"error":{"message":"Unsupported parameter: \'stream\' is not supported with this model.","param":"stream"}}',
    )
    assert f.kind is FailureKind.BAD_REQUEST and "streaming off" in f.hint
    f = _map(500, b'{"error":{"message":"boom","type":"server_error"}}')
    assert f.kind is FailureKind.SERVER


def test_html_pages_are_summarised_not_dumped():
    page = (
        b"<!DOCTYPE html><html><head><title>api.example.com | 524: A timeout occurred</title>"
        b"<style>body{}</style></head><body>" + b"<div>cloudflare</div>" * 200 + b"</body></html>"
    )
    f = _map(524, page)
    assert f.kind is FailureKind.PROXY_TIMEOUT
    assert f.message == "Proxy timeout (524): api.example.com | 524: A timeout occurred"
    assert "Cloudflare" in f.hint and "partial images" in f.hint
    f = _map(
        502,
        b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
        b"</h1></center><hr><center>nginx</center></body></html>",
    )
    assert f.kind is FailureKind.SERVER and f.message == "Server error (502): 502 Bad Gateway"
    f = _map(418, b"\n\n  I'm a teapot\nsecond line")
    assert f.message == "Request rejected (418): I'm a teapot"


@pytest.mark.parametrize(
    "elapsed, kind, who",
    [
        (61.0, FailureKind.PROXY_TIMEOUT, "nginx"),
        (110.0, FailureKind.PROXY_TIMEOUT, "Cloudflare"),
        (12.0, FailureKind.STREAM, None),
    ],
)
def test_dropped_connection_near_proxy_marks(elapsed, kind, who):
    f = errors.from_exception(
        httpx.RemoteProtocolError("peer closed"), timeout=600, elapsed=elapsed, streaming=True
    )
    assert f.kind is kind
    if who:
        assert who in f.hint and "partial images" in f.hint


def test_transport_errors():
    assert errors.from_exception(httpx.ReadTimeout("t"), timeout=5).kind is FailureKind.TIMEOUT
    f = errors.from_exception(httpx.ConnectError("[Errno 111] Connection refused"), timeout=5)
    assert f.kind is FailureKind.CONNECTION and f.message == "Connection refused"


def test_scrub_removes_key():
    assert "sk-live-abcdef123" not in errors.scrub(
        "bad key sk-live-abcdef123 given", "sk-live-abcdef123"
    )


# -- SSE decoding: any chunking yields the same events ---------------------------------

FINAL = png(16, 16, (10, 200, 10, 255))
PART = png(16, 16, (200, 200, 10, 255))


def _stream_bytes(crlf: bool = False, event_lines: bool = True) -> bytes:
    nl = "\r\n" if crlf else "\n"
    events = [
        {
            "type": "image_generation.partial_image",
            "b64_json": base64.b64encode(PART).decode(),
            "partial_image_index": 0,
            "size": "16x16",
        },
        {
            "type": "image_generation.partial_image",
            "b64_json": base64.b64encode(PART).decode(),
            "partial_image_index": 1,
        },
        {"type": "some.unknown.event", "x": 1},
        {
            "type": "image_generation.completed",
            "b64_json": base64.b64encode(FINAL).decode(),
            "usage": {"total_tokens": 5},
            "output_format": "png",
            "quality": "high",
        },
    ]
    out = ": PING" + nl + nl
    for ev in events:
        if event_lines:
            out += f"event: {ev['type']}{nl}"
        out += f"data: {json.dumps(ev)}{nl}{nl}: keep-alive{nl}"
    out += "data: [DONE]" + nl + nl
    return out.encode()


async def _chunks(data: bytes, cuts: list[int]):
    pos = 0
    for cut in sorted(set(c for c in cuts if 0 < c < len(data))):
        yield data[pos:cut]
        pos = cut
        await asyncio.sleep(0)
    yield data[pos:]


async def _parse(data: bytes, cuts: list[int]):
    parser = StreamParser(0, ImageMeta("auto", "auto", "auto", "png"))
    events = []
    async for obj in iter_sse_json(_chunks(data, cuts)):
        if obj == "[DONE]":
            break
        events += parser.feed(obj, 0)
    events.append(parser.finish(0))
    return events


def _summary(events):
    return [(type(e).__name__, getattr(e, "index", None), e.image) for e in events]


@contextlib.contextmanager
def _big_limits(on: bool):
    """With `on`, every data line but `[DONE]` and every JSON string counts as big."""
    from imgtui.api import bigjson, sse

    saved = sse.BIG_LINE, bigjson.LONG
    if on:
        sse.BIG_LINE, bigjson.LONG = 16, 8
    try:
        yield
    finally:
        sse.BIG_LINE, bigjson.LONG = saved


@settings(max_examples=150, deadline=None)
@given(data=st.data(), crlf=st.booleans(), event_lines=st.booleans(), big=st.booleans())
def test_any_chunking_yields_same_events(data, crlf, event_lines, big):
    raw = _stream_bytes(crlf, event_lines)
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=40))
    expected = asyncio.run(_parse(raw, []))
    with _big_limits(big):
        got = asyncio.run(_parse(raw, cuts))
    assert _summary(got) == _summary(expected)
    assert [type(e) for e in got] == [Partial, Partial, Completed]
    assert got[-1].image == FINAL and got[-1].usage == {"total_tokens": 5}
    assert got[-1].meta.quality == "high" and got[0].meta.size == "16x16"


def test_byte_at_a_time_utf8_and_malformed():
    text = (
        'data: {"type":"image_generation.partial_image","b64_json":"'
        + base64.b64encode(PART).decode()
        + '","partial_image_index":0,"note":"héllo ✓"}\n\n'
    )
    raw = text.encode()
    events = asyncio.run(_collect_objs(raw, list(range(len(raw)))))
    assert events[0]["note"] == "héllo ✓"
    with pytest.raises(errors.ApiFailure) as info:
        asyncio.run(_collect_objs(b'data: {"type": "x", "b64_json": \n\n', []))
    assert info.value.kind is FailureKind.STREAM


async def _collect_objs(raw, cuts):
    return [o async for o in iter_sse_json(_chunks(raw, cuts))]


def test_eof_without_final_is_failure():
    raw = _stream_bytes().split(b"event: image_generation.completed")[0]
    with pytest.raises(errors.ApiFailure) as info:
        asyncio.run(_parse(raw, []))
    assert info.value.kind is FailureKind.STREAM and "without a final image" in info.value.message


def test_late_partial_after_final_is_ignored():
    parser = StreamParser(0, ImageMeta())
    parser.feed({"type": "image_generation.completed", "_b64": base64.b64encode(FINAL)}, 0)
    assert (
        parser.feed(
            {
                "type": "image_generation.partial_image",
                "_b64": base64.b64encode(PART).decode(),
                "partial_image_index": 2,
            },
            0,
        )
        == []
    )


@pytest.mark.parametrize(
    "obj, kind",
    [
        ({"type": "error", "code": "server_error", "message": "bad"}, FailureKind.SERVER),
        (
            {"type": "error", "error": {"code": "rate_limit_exceeded", "message": "slow"}},
            FailureKind.RATE_LIMIT,
        ),
        ({"type": "image_generation.failed", "message": "nope"}, FailureKind.STREAM),
        (
            {
                "type": "response.failed",
                "response": {"error": {"code": "server_error", "message": "x"}},
            },
            FailureKind.SERVER,
        ),
        (
            {
                "type": "response.incomplete",
                "response": {"incomplete_details": {"reason": "max_output_tokens"}},
            },
            FailureKind.STREAM,
        ),
        (
            {"error": {"message": "moderation", "code": "moderation_blocked"}},
            FailureKind.MODERATION,
        ),
    ],
)
def test_in_stream_errors(obj, kind):
    with pytest.raises(errors.ApiFailure) as info:
        StreamParser(0, ImageMeta()).feed(obj, 0)
    assert info.value.kind is kind and info.value.message


@given(
    st.lists(st.sampled_from(["a", "bb", "\n", "\r\n", "\r", "é", "data: x"]), max_size=30),
    st.lists(st.integers(0, 200), max_size=10),
    st.sampled_from([None, 0, 3]),
)
def test_byte_lines_match_splitlines_semantics(pieces, cuts, join_off_loop):
    """Whatever the chunking, and whether long lines come out joined or as `Pieces` to
    join in a thread (`join_off_loop`: the length above which they do)."""
    from imgtui.api import sse
    from imgtui.api.sse import ByteLines, Pieces

    text = "".join(pieces)
    raw = text.encode()
    splitter, found, pos = ByteLines(), [], 0
    saved = sse.JOIN_OFF_LOOP
    sse.JOIN_OFF_LOOP = saved if join_off_loop is None else join_off_loop
    try:
        for cut in sorted(set(c for c in cuts if 0 < c < len(raw))) + [len(raw)]:
            found += splitter.feed(raw[pos:cut])
            pos = cut
        found += splitter.flush()
    finally:
        sse.JOIN_OFF_LOOP = saved
    got = []
    for line in found:
        got += asyncio.run(line.lines()) if isinstance(line, Pieces) else [line]
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    expected = normalized.split("\n")
    if expected and expected[-1] == "":
        expected.pop()
    # a lone CR is only recognised once its line reaches a LF or the end: same lines either way
    assert got == [line.encode() for line in expected]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["", "\n", "\r\n", " "]))
def test_b64decode_matches_the_stdlib(data, separator):
    from imgtui.api.b64 import b64decode, b64encode

    text = b64encode(data)
    assert text == base64.b64encode(data).decode()
    wrapped = separator.join(text[i : i + 76] for i in range(0, len(text), 76)) or text
    assert b64decode(wrapped) == base64.b64decode(wrapped) == data
    assert b64decode(wrapped.encode()) == data


def test_b64decode_rejects_what_the_stdlib_rejects():
    import binascii

    from imgtui.api.b64 import b64decode

    with pytest.raises(binascii.Error):
        b64decode("aGVsbG8")  # bad padding
    with pytest.raises(ValueError):
        b64decode("é")


def _json_values():
    text = st.text(alphabet=st.sampled_from('ab/+="\\\né✓ \x00'), max_size=40)
    leaves = st.none() | st.booleans() | st.integers() | text
    return st.recursive(
        leaves,
        lambda kids: (
            st.lists(kids, max_size=4)
            | st.dictionaries(
                st.sampled_from(["b64_json", "result", "type", "x", 'a"b', "é"]) | text,
                kids,
                max_size=4,
            )
        ),
        max_leaves=12,
    )


@settings(max_examples=300, deadline=None)
@given(_json_values(), st.booleans(), st.sampled_from([None, 2]))
def test_bigjson_gives_what_json_gives(value, escape_slashes, indent):
    """Every string longer than LONG is cut; kept ones come back as their raw bytes."""
    from imgtui.api import bigjson

    payload = json.dumps(value, indent=indent, ensure_ascii=False).encode()
    if escape_slashes:
        payload = payload.replace(b"/", b"\\/")  # as some relays write JSON
    keep = ("b64_json", "result")
    with _big_limits(True):
        got = bigjson.loads(b"data: " + payload, keep, start=6)

    def expected(node, key=None):
        if isinstance(node, dict):
            return {k: expected(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [expected(v, key) for v in node]
        if (
            isinstance(node, str)
            and key in keep
            and len(json.dumps(node, ensure_ascii=False).encode()) - 2 > 8
        ):
            raw = json.dumps(node, ensure_ascii=False).encode()[1:-1]
            if escape_slashes:
                raw = raw.replace(b"/", b"\\/")
            return raw if b"\\" not in raw else node
        return node

    assert got == expected(json.loads(payload))


def test_bigjson_real_sizes_and_errors():
    from imgtui.api import bigjson

    image = base64.b64encode(bytes(range(256)) * 2000).decode()
    event = {
        "type": "image_generation.partial_image",
        "b64_json": image,
        "n": [1, {"result": image}],
        "note": "x" * 70000,
    }
    got = bigjson.loads(json.dumps(event).encode(), ("b64_json", "result"))
    assert got["b64_json"] == image.encode() and got["n"][1]["result"] == image.encode()
    assert got["note"] == "x" * 70000 and got["type"] == event["type"]
    long_key = {"k" * 70000: 1, "b64_json": image}
    assert bigjson.loads(json.dumps(long_key).encode(), ("b64_json",))["k" * 70000] == 1
    for broken in (
        b'{"b64_json": "' + image.encode(),
        b'{"b64_json": "' + image.encode() + b'"',
        b"[" + b"1," * 40000,
    ):
        with pytest.raises(ValueError):
            bigjson.loads(broken, ("b64_json",))


def test_a_big_line_among_other_data_lines():
    """An event whose data spans several lines, one of them big, still joins as SSE says."""
    image = base64.b64encode(bytes(range(256)) * 400).decode()
    raw = (
        'data: {"type": "image_generation.partial_image",\ndata: "b64_json": "'
        + image
        + '",\ndata: "partial_image_index": 0}\n\n'
    ).encode()
    with _big_limits(False):
        from imgtui.api.sse import BIG_LINE

        assert len(image) > BIG_LINE
        objs = asyncio.run(_collect_objs(raw, [5, 70, 300, 90000]))
    assert objs == [
        {"type": "image_generation.partial_image", "_b64": image, "partial_image_index": 0}
    ]


def test_a_long_line_in_pieces_is_joined_off_the_loop(monkeypatch):
    """A line longer than JOIN_OFF_LOOP that arrived in several chunks comes out as its
    Pieces (joined in a thread), a CRLF's CR dropped without joining; a lone CR inside
    it still splits it; a short line is joined at once."""
    from imgtui.api import sse
    from imgtui.api.sse import ByteLines, Pieces

    monkeypatch.setattr(sse, "JOIN_OFF_LOOP", 10)
    splitter = ByteLines()
    assert splitter.feed(b"data: 0123") == []
    assert splitter.feed(b"456789abc\r") == []
    line, short = splitter.feed(b"\nshort\r\nsho")
    assert isinstance(line, Pieces) and not line.cr and short == b"short"
    assert list(line) == [b"data: 0123", b"456789abc"]  # no copy of the line here
    assert asyncio.run(line.lines()) == [b"data: 0123456789abc"]
    assert splitter.feed(b"rt\n") == [b"short"]  # two pieces, 5 bytes: joined at once
    splitter.feed(b"0123456789")
    (mixed,) = splitter.feed(b"ab\rcd\r\n")
    assert isinstance(mixed, Pieces) and mixed.cr
    assert asyncio.run(mixed.lines()) == [b"0123456789ab", b"cd"]


async def _sse_items(raw: bytes, chunk: int = 65536) -> list:
    from imgtui.api.sse import iter_sse

    return [item async for item in iter_sse(_chunks(raw, list(range(chunk, len(raw), chunk))))]


def test_a_long_line_whose_colon_comes_late_is_no_field():
    """A line's field name is read from its first bytes only: a 100 KB line whose first
    `:` comes after 64 KiB is stray text (or JSON when it starts with `{`), never a field."""
    from imgtui.api.sse import SSEData, Stray, Unframed

    text = b"x" * 70_000 + b": data"
    doc = b'{"error": {"message": "' + b"m" * 70_000 + b'", "code": "server_error"}}'
    image = base64.b64encode(bytes(range(256)) * 400)
    data = b'data: {"type": "image_generation.partial_image", "b64_json": "' + image + b'"}'
    items = asyncio.run(_sse_items(text + b"\n\n" + doc + b"\n\n" + data + b"\n\n"))
    stray, unframed, event = items
    assert stray == Stray("x" * 300)
    assert unframed == Unframed(doc)
    assert isinstance(event, SSEData) and event.data == data and event.start == 6
    assert asyncio.run(_sse_items(b"retry\nid\ndata\n\n")) == []  # names without values


def test_bigjson_keeps_long_values_as_views_not_copies():
    """A kept long string is a read-only memoryview into the payload (no 32 MB copy),
    equal to its bytes; base64 decodes from it as from bytes."""
    from imgtui.api import bigjson
    from imgtui.api.b64 import b64decode

    data = bytes(range(256)) * 400
    image = base64.b64encode(data)
    payload = b'data: {"type": "x", "b64_json": "' + image + b'", "n": 1}'
    got = bigjson.loads(payload, ("b64_json",), start=6)
    view = got["b64_json"]
    assert isinstance(view, memoryview) and view.readonly and view.obj is payload
    assert view == image and got == {"type": "x", "b64_json": image, "n": 1}
    assert b64decode(view) == data
    assert b64decode(memoryview(b"\n" + image + b"\n")[1:]) == data  # lenient path


def test_a_final_image_stays_base64_until_finish():
    """decode_event decodes no image (finals included): `StreamParser.finish` does, off
    the event loop; a broken one is no final; a Response's output copy is its fallback."""
    from imgtui.api.parse import decode_event

    image = base64.b64encode(FINAL)
    broken = image[: len(image) // 4 * 4 - 3]
    line = b'data: {"type": "image_generation.completed", "b64_json": "' + image + b'"}'
    with _big_limits(True):
        obj = decode_event(line, 6)
    assert isinstance(obj["_b64"], memoryview) and obj["_b64"] == image
    parser = StreamParser(0, ImageMeta())
    parser.feed(obj, 10)
    assert parser.final is not None and parser.final.b64 == (image,) and parser.done
    assert parser.finish(20) == Completed(0, FINAL, bytes_received=20)
    assert parser.final.b64 == ()  # the line it viewed is not kept until the stream closes

    parser = StreamParser(0, ImageMeta())
    parser.feed({"type": "image_generation.completed", "_b64": broken.decode()}, 0)
    assert parser.final is not None  # kept as it came: decoded only by finish
    with pytest.raises(errors.ApiFailure) as info:
        parser.finish(0)
    assert info.value.message == "The stream ended without a final image"

    parser = StreamParser(0, ImageMeta())
    item = {"type": "image_generation_call", "_b64": broken}
    parser.feed({"type": "response.output_item.done", "item": item}, 0)
    output = [{**item, "_b64": image}]
    parser.feed({"type": "response.completed", "response": {"id": "r", "output": output}}, 0)
    done = parser.finish(0)
    assert done.image == FINAL and done.response_id == "r"


def test_a_partial_with_broken_base64_is_empty_not_an_error():
    good = base64.b64encode(PART).decode()
    assert Partial(0, 0, b64=good).image == PART
    assert Partial(0, 0, b64=good[:-3]).image == b""  # cut off: bad padding
    assert Partial(0, 0, b64="é").image == b""


def test_httpx_sse_private_parser_is_the_tested_one():
    """`imgtui.api.sse` relies on httpx-sse's private `_decoders.SSEDecoder`. When httpx-sse
    moves past the tested range or the parser changes, this fails: re-check `sse.py`."""
    from imgtui.api import sse

    version = sse.check_httpx_sse()
    low, high = sse.HTTPX_SSE_TESTED
    assert low <= sse.version_tuple(version) < high, (
        f"httpx-sse {version} is outside the tested range {low}..{high}: check imgtui/api/sse.py"
    )


def test_scrub_masks_every_configured_value_even_cut_short():
    secrets = ["sk-live-abcdef123", "hdr-secret-value", "q/s+cret"]
    text = "key sk-live-abcdef123, header hdr-secret-value, query q%2Fs%2Bcret or q/s+cret"
    assert errors.scrub(text, secrets) == "key ***, header ***, query *** or ***"
    cut = "x" * 150 + " hdr-sec…"  # a message cut to one line inside a secret
    assert errors.scrub(cut, secrets) == "x" * 150 + " ***…"
    assert errors.scrub("the word test stays", ["abc"]) == "the word test stays"  # < 4 chars


@pytest.mark.parametrize(
    "body, shown",
    [
        (b'{"error": {"message": "quota"}}', [{"error": {"message": "quota"}}]),
        (b'{\n  "error": {\n    "message": "quota"\n  }\n}\n', [{"error": {"message": "quota"}}]),
        (b'data: {"type": "a"}\n\n{"error": "late"}\n\n', [{"type": "a"}, {"error": "late"}]),
        (b"stream not supported\n", []),
    ],
)
def test_unframed_json_in_an_event_stream_is_read_as_json(body, shown):
    assert asyncio.run(_collect_objs(body, [1, 7, 30])) == shown


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    stray=st.lists(st.sampled_from(["hello relay", "<html>", "  ", "x: y", "200 OK"]), max_size=4),
    big=st.booleans(),
)
def test_stray_text_between_events_changes_nothing(data, stray, big):
    """Lines that are neither SSE fields nor JSON (relay noise) are skipped wherever they
    fall between events, under any chunking, on the small-line and the big-line path."""
    blocks = _stream_bytes().split(b"\n\n")
    for line in stray:
        at = data.draw(st.integers(0, len(blocks) - 1))
        blocks.insert(at, line.encode())
    raw = b"\n\n".join(blocks)
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=20))
    with _big_limits(big):
        got = asyncio.run(_parse(raw, cuts))
    assert _summary(got) == _summary(asyncio.run(_parse(_stream_bytes(), [])))
