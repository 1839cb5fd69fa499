"""The demo server, over real loopback HTTP: endpoints, streaming, pictures and fault modes."""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image, ImageChops, ImageStat

from imgtui.demo import FAULT_MODES, DemoServer, embedded_server
from imgtui.demo.params import MAX_PIXELS

# --------------------------------------------------------------------------- helpers


def parse_sse(raw: str) -> list[tuple[str | None, str]]:
    """(event name or None, data) per SSE event; comments skipped, CRLF accepted."""
    events: list[tuple[str | None, str]] = []
    name: str | None = None
    data: list[str] = []
    for line in raw.replace("\r\n", "\n").split("\n"):
        if not line:
            if data:
                events.append((name, "\n".join(data)))
            name, data = None, []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    if data:
        events.append((name, "\n".join(data)))
    return events


def sse_json(raw: str) -> list[dict]:
    """The JSON payloads of an SSE body (stops at [DONE])."""
    out = []
    for _, data in parse_sse(raw):
        if data == "[DONE]":
            break
        out.append(json.loads(data))
    return out


def decode(b64: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    image.load()
    return image


def colours(image: Image.Image) -> int:
    return len(image.convert("RGB").getcolors(maxcolors=1 << 24))


def png_bytes(
    colour: tuple[int, ...], size: tuple[int, int] = (64, 64), mode: str = "RGB"
) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour).save(buf, "PNG")
    return buf.getvalue()


GEN = "/images/generations"
EDITS = "/images/edits"
RESP = "/responses"


@pytest.fixture
def srv(server: DemoServer) -> DemoServer:
    server.clear()
    return server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0) as c:
        yield c


def responses_body(
    prompt: str = "a lighthouse", stream: bool = True, partials: int | None = 2, **extra
) -> dict:
    tool: dict = {"type": "image_generation", "size": "256x256"}
    if partials is not None:
        tool["partial_images"] = partials
    body = {"model": "gpt-5", "input": prompt, "stream": stream, "tools": [tool]}
    body.update(extra)
    return body


# --------------------------------------------------------------------------- basics


def test_models_lists_image_models_and_is_recorded(srv: DemoServer, client: httpx.Client) -> None:
    r = client.get(f"{srv.base_url}/models", headers={"Authorization": "Bearer anything"})
    assert r.status_code == 200
    ids = [m["id"] for m in r.json()["data"]]
    assert "gpt-image-1" in ids and "bench-noise" in ids
    record = srv.requests[-1]
    assert record["method"] == "GET" and record["path"] == "/v1/models"
    assert record["headers"]["authorization"] == "Bearer anything"
    assert record["json"] is None and record["files"] == []


def test_unknown_route_is_a_json_404(srv: DemoServer, client: httpx.Client) -> None:
    r = client.post(f"{srv.base_url}/nope", json={})
    assert r.status_code == 404
    assert "Invalid URL" in r.json()["error"]["message"]


def test_generation_non_streaming_returns_n_images(srv: DemoServer, client: httpx.Client) -> None:
    body = {
        "model": "gpt-image-1",
        "prompt": "a red fox",
        "n": 2,
        "size": "320x192",
        "output_format": "jpeg",
        "quality": "low",
    }
    r = client.post(f"{srv.base_url}{GEN}", json=body)
    assert r.status_code == 200
    reply = r.json()
    assert reply["size"] == "320x192" and reply["quality"] == "low"
    assert reply["background"] == "opaque" and reply["output_format"] == "jpeg"
    assert reply["usage"]["output_tokens"] > 0 and isinstance(reply["created"], int)
    assert len(reply["data"]) == 2
    images = [decode(d["b64_json"]) for d in reply["data"]]
    assert all(im.format == "JPEG" and im.size == (320, 192) for im in images)
    assert reply["data"][0]["revised_prompt"] == "A detailed rendering of: a red fox"
    assert reply["data"][0]["b64_json"] != reply["data"][1]["b64_json"]  # n variants differ
    assert srv.requests[-1]["json"] == body


@pytest.mark.parametrize("partials", [0, 1, 2, 3])
def test_generation_streaming_sends_partials_then_completed(
    srv: DemoServer, client: httpx.Client, partials: int
) -> None:
    body = {
        "prompt": "a harbour at dawn",
        "stream": True,
        "partial_images": partials,
        "size": "256x256",
    }
    r = client.post(f"{srv.base_url}{GEN}", json=body)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    assert [name for name, _ in events] == ["image_generation.partial_image"] * partials + [
        "image_generation.completed"
    ]
    payloads = [json.loads(data) for _, data in events]
    assert all(p["type"] == name for (name, _), p in zip(events, payloads, strict=True))
    assert [p["partial_image_index"] for p in payloads[:-1]] == list(range(partials))
    for p in payloads:
        assert p["size"] == "256x256" and p["quality"] == "high" and p["output_format"] == "png"
        assert p["background"] == "opaque" and isinstance(p["created_at"], int)
        assert decode(p["b64_json"]).size == (256, 256)
    assert payloads[-1]["usage"]["total_tokens"] > 0
    # Coarse to fine: every frame has more detail than the one before.
    detail = [colours(decode(p["b64_json"])) for p in payloads]
    assert detail == sorted(detail) and len(set(detail)) == len(detail)
    assert srv.streams_started == 1 and srv.streams_completed == 1 and srv.disconnects == 0


def test_pictures_are_deterministic_per_prompt(srv: DemoServer, client: httpx.Client) -> None:
    def final(prompt: str) -> str:
        r = client.post(f"{srv.base_url}{GEN}", json={"prompt": prompt, "size": "128x128"})
        return r.json()["data"][0]["b64_json"]

    first = final("a quiet forest")
    assert final("a quiet forest") == first
    other = final("a noisy city")
    assert other != first
    # Different prompts give visibly different pictures, not just different bytes.
    difference = ImageChops.difference(decode(first).convert("RGB"), decode(other).convert("RGB"))
    assert sum(ImageStat.Stat(difference).mean) / 3 > 10


@pytest.mark.parametrize(
    ("fmt", "background", "pil_format", "mode"),
    [
        ("png", "auto", "PNG", "RGB"),
        ("png", "transparent", "PNG", "RGBA"),
        ("webp", "opaque", "WEBP", "RGB"),
        ("jpeg", "opaque", "JPEG", "RGB"),
    ],
)
def test_output_format_and_background(
    srv: DemoServer, client: httpx.Client, fmt: str, background: str, pil_format: str, mode: str
) -> None:
    body = {
        "prompt": "glass marbles",
        "size": "96x64",
        "output_format": fmt,
        "background": background,
    }
    reply = client.post(f"{srv.base_url}{GEN}", json=body).json()
    image = decode(reply["data"][0]["b64_json"])
    assert image.format == pil_format and image.mode == mode and image.size == (96, 64)
    if background == "transparent":
        assert image.getchannel("A").getextrema()[0] < 255  # some pixels really are transparent


def test_size_auto_clamping_and_invalid(srv: DemoServer, client: httpx.Client) -> None:
    reply = client.post(
        f"{srv.base_url}{GEN}", json={"prompt": "x", "size": "auto", "quality": "low"}
    ).json()
    assert reply["size"] == "1024x1024" and decode(reply["data"][0]["b64_json"]).size == (
        1024,
        1024,
    )

    reply = client.post(f"{srv.base_url}{GEN}", json={"prompt": "x", "size": "1x99999"}).json()
    assert reply["size"] == "16x3840" and decode(reply["data"][0]["b64_json"]).size == (16, 3840)

    r = client.post(
        f"{srv.base_url}{GEN}", json={"prompt": "x", "size": "99999x99999", "model": "fault-json"}
    )
    width, height = map(int, r.json()["size"].split("x"))
    assert width <= 3840 and height <= 3840 and width * height <= MAX_PIXELS

    r = client.post(f"{srv.base_url}{GEN}", json={"prompt": "x", "size": "huge"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "size"


def test_validation_errors_look_like_the_real_api(srv: DemoServer, client: httpx.Client) -> None:
    r = client.post(f"{srv.base_url}{GEN}", json={"model": "gpt-image-1"})
    assert r.status_code == 400
    assert (
        r.json()["error"]["param"] == "prompt"
        and r.json()["error"]["type"] == "invalid_request_error"
    )

    r = client.post(f"{srv.base_url}{GEN}", json={"prompt": "x", "partial_images": 4})
    assert r.status_code == 400 and r.json()["error"]["param"] == "partial_images"

    r = client.post(
        f"{srv.base_url}{GEN}", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and "JSON" in r.json()["error"]["message"]

    r = client.post(
        f"{srv.base_url}{RESP}", json={"model": "gpt-5", "tools": [{"type": "image_generation"}]}
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "input"


# --------------------------------------------------------------------------- edits


def test_edit_multipart_streaming_records_files_and_uses_input(
    srv: DemoServer, client: httpx.Client
) -> None:
    red, blue = png_bytes((255, 0, 0)), png_bytes((0, 0, 255))
    files = [
        ("image[]", ("red.png", red, "image/png")),
        ("image[]", ("blue.png", blue, "image/png")),
        ("mask", ("mask.png", png_bytes((0, 0, 0, 255), mode="RGBA"), "image/png")),
    ]
    data = {
        "prompt": "make it glow",
        "model": "gpt-image-1",
        "stream": "true",
        "partial_images": "2",
        "size": "128x128",
    }
    r = client.post(f"{srv.base_url}{EDITS}", data=data, files=files)
    assert r.status_code == 200
    payloads = sse_json(r.text)
    assert [p["type"] for p in payloads] == ["image_edit.partial_image"] * 2 + [
        "image_edit.completed"
    ]
    final = decode(payloads[-1]["b64_json"]).convert("RGB")
    # A fully opaque mask means "edit nothing": the result is the first input image.
    assert final.size == (128, 128) and final.getcolors() == [(128 * 128, (255, 0, 0))]

    record = srv.requests[-1]
    assert record["path"] == "/v1/images/edits" and record["json"] is None
    assert record["form"] == data
    assert [(f["field"], f["filename"], f["content_type"]) for f in record["files"]] == [
        ("image[]", "red.png", "image/png"),
        ("image[]", "blue.png", "image/png"),
        ("mask", "mask.png", "image/png"),
    ]
    assert record["files"][0]["size"] == len(red)


def test_edit_non_streaming_blends_the_input_with_the_prompt(
    srv: DemoServer, client: httpx.Client
) -> None:
    files = {"image": ("white.png", png_bytes((255, 255, 255)), "image/png")}
    data = {"prompt": "ink", "size": "64x64"}
    reply = client.post(f"{srv.base_url}{EDITS}", data=data, files=files).json()
    edited = decode(reply["data"][0]["b64_json"]).convert("RGB")
    plain = decode(
        client.post(f"{srv.base_url}{GEN}", json=data).json()["data"][0]["b64_json"]
    ).convert("RGB")
    # Blended with white: brighter than the plain picture for the same prompt.
    assert sum(ImageStat.Stat(edited).mean) > sum(ImageStat.Stat(plain).mean)


def test_edit_without_image_or_with_junk_is_rejected(srv: DemoServer, client: httpx.Client) -> None:
    r = client.post(
        f"{srv.base_url}{EDITS}",
        data={"prompt": "x"},
        files={"other": ("a.txt", b"hi", "text/plain")},
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "image"
    r = client.post(
        f"{srv.base_url}{EDITS}",
        data={"prompt": "x"},
        files={"image": ("a.png", b"not a png", "image/png")},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_image_file"


# --------------------------------------------------------------------------- responses

RESPONSES_SEQUENCE = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.image_generation_call.in_progress",
    "response.image_generation_call.generating",
    "response.image_generation_call.partial_image",
    "response.image_generation_call.partial_image",
    "response.image_generation_call.completed",
    "response.output_item.done",
    "response.completed",
]


def test_responses_streaming_full_sequence(srv: DemoServer, client: httpx.Client) -> None:
    r = client.post(f"{srv.base_url}{RESP}", json=responses_body())
    assert r.status_code == 200
    events = parse_sse(r.text)
    payloads = [json.loads(d) for _, d in events]
    assert [name for name, _ in events] == RESPONSES_SEQUENCE == [p["type"] for p in payloads]
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))

    response_id = payloads[0]["response"]["id"]
    assert response_id.startswith("resp_") and payloads[1]["response"]["id"] == response_id
    item_id = payloads[2]["item"]["id"]
    assert item_id.startswith("ig_") and payloads[2]["item"]["type"] == "image_generation_call"
    partials = payloads[5:7]
    assert [p["partial_image_index"] for p in partials] == [0, 1]
    assert all(p["item_id"] == item_id and p["output_index"] == 0 for p in partials)

    done = payloads[8]["item"]
    assert (
        done["status"] == "completed"
        and done["size"] == "256x256"
        and done["output_format"] == "png"
    )
    assert (
        done["revised_prompt"] == "A detailed rendering of: a lighthouse"
        and done["background"] == "opaque"
    )
    assert decode(done["result"]).size == (256, 256)
    assert colours(decode(partials[0]["partial_image_b64"])) < colours(decode(done["result"]))

    completed = payloads[9]["response"]
    assert completed["id"] == response_id and completed["status"] == "completed"
    assert completed["output"][0]["result"] == done["result"]
    assert completed["usage"]["total_tokens"] > 0


def test_responses_non_streaming_and_previous_response_id(
    srv: DemoServer, client: httpx.Client
) -> None:
    first = client.post(
        f"{srv.base_url}{RESP}", json=responses_body(stream=False, partials=None)
    ).json()
    assert first["object"] == "response" and first["status"] == "completed"
    item = first["output"][0]
    assert item["type"] == "image_generation_call" and item["action"] == "generate"
    assert decode(item["result"]).size == (256, 256)

    follow = client.post(
        f"{srv.base_url}{RESP}",
        json=responses_body("now at night", stream=False, previous_response_id=first["id"]),
    ).json()
    assert follow["previous_response_id"] == first["id"] and follow["output"][0]["action"] == "edit"
    assert follow["id"] != first["id"]

    r = client.post(
        f"{srv.base_url}{RESP}",
        json=responses_body(stream=False, previous_response_id="resp_unknown"),
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "previous_response_id"


def test_responses_with_input_image_derives_from_it(srv: DemoServer, client: httpx.Client) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(png_bytes((0, 255, 0))).decode()
    message = {
        "role": "user",
        "content": [
            {"type": "input_text", "text": "add a moon"},
            {"type": "input_image", "image_url": data_url},
        ],
    }
    body = responses_body(stream=False, partials=None, input=[message])
    item = client.post(f"{srv.base_url}{RESP}", json=body).json()["output"][0]
    assert (
        item["action"] == "edit" and item["revised_prompt"] == "A detailed rendering of: add a moon"
    )
    image = decode(item["result"]).convert("RGB")
    red, green, blue = ImageStat.Stat(image).mean
    assert green > red and green > blue  # the green input shows through


def test_responses_stream_with_zero_partials_is_rejected(
    srv: DemoServer, client: httpx.Client
) -> None:
    r = client.post(f"{srv.base_url}{RESP}", json=responses_body(partials=0))
    assert r.status_code == 400 and "partial_images" in r.json()["error"]["message"]


# --------------------------------------------------------------------------- pacing and auth


def test_x_demo_delay_slows_one_request(srv: DemoServer, client: httpx.Client) -> None:
    """The header paces one request (the server's own delay is 0 here): its image's time
    spread over its frames, half before the partial and half before the final. The
    server's record of its pacing waits is read, not the clock."""
    body = {"prompt": "slow", "size": "64x64", "stream": True, "partial_images": 1}
    client.post(f"{srv.base_url}{GEN}", json=body)
    assert srv.state.paced == [0.0, 0.0]

    srv.clear()
    with client.stream(
        "POST", f"{srv.base_url}{GEN}", json=body, headers={"x-demo-delay": "0.6"}
    ) as r:
        lines = r.iter_lines()
        assert next(lines).startswith("event: image_generation.partial_image")
        assert srv.state.paced[0] == 0.3  # the first frame waited half the delay...
        rest = "\n".join(lines)
    assert srv.state.paced == [0.3, 0.3]  # ...and the final the other half
    assert "image_generation.completed" in rest


def test_x_demo_hold_keeps_the_final_image_until_the_gate_opens(
    srv: DemoServer, client: httpx.Client
) -> None:
    """A test that must see the previews before the final (e.g. a live detail view) holds
    the stream at a gate and opens it when it has seen them: no race against a delay."""
    body = {"prompt": "held", "size": "64x64", "stream": True, "partial_images": 2}
    with client.stream(
        "POST", f"{srv.base_url}{GEN}", json=body, headers={"x-demo-hold": "gate-1"}
    ) as r:
        lines = (line for line in r.iter_lines() if line.startswith("event:"))
        assert next(lines) == "event: image_generation.partial_image"
        assert next(lines) == "event: image_generation.partial_image"
        assert srv.state.streams_completed == 0  # held: the final is not sent
        srv.release("gate-1")
        assert next(lines) == "event: image_generation.completed"
    assert srv.state.wait_for(lambda: srv.state.streams_completed == 1, 10)


def test_parallel_requests_are_paced_concurrently(srv: DemoServer) -> None:
    body = {"prompt": "together", "size": "64x64"}

    replies: list[int] = []

    def one() -> None:
        with httpx.Client(timeout=20) as c:
            reply = c.post(f"{srv.base_url}{GEN}", json=body, headers={"x-demo-delay": "1"})
            replies.append(reply.status_code)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    # All four are taken in while the first is still being paced: pacing one request
    # never holds up the server's loop (a blocking wait would take them in one by one).
    assert srv.state.wait_for(lambda: len(srv.requests) == 4, 20)
    assert replies == []
    for t in threads:
        t.join()
    assert replies == [200] * 4


def test_api_key_is_enforced_when_configured(client: httpx.Client) -> None:
    with DemoServer(delay=0, api_key="sk-secret") as srv:
        body = {"prompt": "x", "size": "32x32"}
        assert client.post(f"{srv.base_url}{GEN}", json=body).status_code == 401
        wrong = client.post(
            f"{srv.base_url}{GEN}", json=body, headers={"Authorization": "Bearer sk-wrong"}
        )
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
        assert (
            client.get(
                f"{srv.base_url}/models", headers={"Authorization": "Bearer sk-wrong"}
            ).status_code
            == 401
        )
        ok = client.post(
            f"{srv.base_url}{GEN}", json=body, headers={"Authorization": "Bearer sk-secret"}
        )
        assert ok.status_code == 200 and ok.json()["data"]


# --------------------------------------------------------------------------- fault modes

HTTP_FAULTS = {
    "auth": 401,
    "ratelimit": 429,
    "server": 500,
    "overloaded": 503,
    "badgateway": 502,
    "moderation": 400,
    "stream400": 400,
    "cf524": 524,
    "html502": 502,
}


@pytest.mark.parametrize("by", ["path", "model"])
@pytest.mark.parametrize("mode", list(HTTP_FAULTS))
def test_http_faults(srv: DemoServer, client: httpx.Client, mode: str, by: str) -> None:
    body = {"prompt": "x", "stream": True, "partial_images": 1, "model": "gpt-image-1"}
    if by == "path":
        url = f"{srv.fault_url(mode)}{GEN}"
    else:
        url, body["model"] = f"{srv.base_url}{GEN}", f"fault-{mode}"
    r = client.post(url, json=body)
    assert r.status_code == HTTP_FAULTS[mode]
    if mode == "auth":
        assert r.json() == {
            "error": {
                "message": "Incorrect API key provided: sk-...abcd",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        }
    elif mode == "ratelimit":
        assert (
            r.headers["retry-after"] == "1" and r.json()["error"]["code"] == "rate_limit_exceeded"
        )
    elif mode in ("server", "overloaded"):
        assert r.json()["error"]["type"] == "server_error"
    elif mode == "badgateway":
        assert r.text == "Bad Gateway" and r.headers["content-type"].startswith("text/plain")
    elif mode == "moderation":
        error = r.json()["error"]
        assert (
            error["code"] == "moderation_blocked" and error["type"] == "image_generation_user_error"
        )
        assert error["moderation_details"] == {
            "moderation_stage": "input",
            "categories": ["violence"],
        }
    elif mode == "stream400":
        assert (
            "Unsupported parameter: 'stream' is not supported with this model."
            in r.json()["error"]["message"]
        )
    elif mode == "cf524":
        assert r.text.startswith("<!DOCTYPE html>") and len(r.text) > 500
        assert "<title>api.example.com | 524: A timeout occurred</title>" in r.text
    elif mode == "html502":
        assert r.text == (
            "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
            "</center><hr><center>nginx</center></body></html>"
        )


def test_http_faults_apply_to_models_and_responses_tool_model(
    srv: DemoServer, client: httpx.Client
) -> None:
    assert client.get(f"{srv.fault_url('auth')}/models").status_code == 401
    assert client.get(f"{srv.fault_url('eof')}/models").status_code == 200
    body = responses_body()
    body["tools"][0]["model"] = "fault-ratelimit"
    assert client.post(f"{srv.base_url}{RESP}", json=body).status_code == 429
    assert (
        client.post(
            f"{srv.base_url}{RESP}", json=responses_body(model="fault-overloaded")
        ).status_code
        == 503
    )


def test_stream400_only_rejects_streaming(srv: DemoServer, client: httpx.Client) -> None:
    r = client.post(f"{srv.fault_url('stream400')}{GEN}", json={"prompt": "x", "size": "32x32"})
    assert r.status_code == 200 and r.json()["data"][0]["b64_json"]


def test_unknown_fault_mode_lists_the_modes(srv: DemoServer, client: httpx.Client) -> None:
    for url, model in (
        (f"{srv.base_url}{GEN}", "fault-bogus"),
        (f"{srv.fault_url('bogus')}{GEN}", "gpt-image-1"),
    ):
        r = client.post(url, json={"prompt": "x", "model": model})
        assert r.status_code == 400
        message = r.json()["error"]["message"]
        assert "bogus" in message and all(mode in message for mode in FAULT_MODES)


@pytest.mark.parametrize("endpoint", [GEN, RESP])
def test_drop_cuts_the_stream_after_one_partial(srv: DemoServer, endpoint: str) -> None:
    body = (
        responses_body()
        if endpoint == RESP
        else {"prompt": "x", "stream": True, "partial_images": 3, "size": "64x64"}
    )
    received: list[str] = []
    with (
        httpx.Client(timeout=5) as c,
        pytest.raises(httpx.RemoteProtocolError),
        c.stream("POST", f"{srv.fault_url('drop')}{endpoint}", json=body) as r,
    ):
        assert r.status_code == 200
        received.extend(r.iter_lines())  # keeps the lines read before the connection drops
    partials = [json.loads(line[5:]) for line in received if line.startswith("data:")]
    assert [p["type"].rsplit(".", 1)[-1] for p in partials][-1] == "partial_image"
    assert sum(p["type"].endswith("partial_image") for p in partials) == 1
    assert srv.streams_dropped == 1 and srv.streams_completed == 0


def test_drop_non_streaming_closes_without_reply(srv: DemoServer, client: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(f"{srv.fault_url('drop')}{GEN}", json={"prompt": "x"})


def test_stall_sends_nothing_and_records_the_disconnect(srv: DemoServer) -> None:
    with httpx.Client(timeout=httpx.Timeout(5.0, read=0.3)) as c, pytest.raises(httpx.ReadTimeout):
        c.post(  # a read timeout: not one byte for 0.3 s
            f"{srv.fault_url('stall')}{GEN}",
            json={"prompt": "x", "stream": True, "partial_images": 1},
        )
    assert srv.wait_for_disconnects(1, timeout=3)


def test_client_leaving_mid_stream_is_a_disconnect(srv: DemoServer) -> None:
    body = {"prompt": "x", "stream": True, "partial_images": 3, "size": "64x64"}
    # 1.2 s over 4 frames: the first partial comes after 0.3 s, then the client leaves.
    with (
        httpx.Client(timeout=5) as c,
        c.stream("POST", f"{srv.base_url}{GEN}", json=body, headers={"x-demo-delay": "1.2"}) as r,
    ):
        assert next(r.iter_lines()).startswith("event: image_generation.partial_image")
    assert srv.wait_for_disconnects(1, timeout=3)
    assert srv.streams_started == 1 and srv.streams_completed == 0


async def test_async_disconnect_wait(srv: DemoServer) -> None:
    body = {"prompt": "x", "stream": True, "partial_images": 2, "size": "64x64"}
    async with (
        httpx.AsyncClient(timeout=5) as c,
        c.stream("POST", f"{srv.base_url}{GEN}", json=body, headers={"x-demo-delay": "0.9"}) as r,
    ):
        async for line in r.aiter_lines():
            if line.startswith("data:"):
                break
    assert await srv.wait_for_disconnects_async(1, timeout=3)


@pytest.mark.parametrize("endpoint", [GEN, EDITS, RESP])
@pytest.mark.parametrize("mode", ["error-flat", "error-nested", "failed-event"])
def test_in_stream_errors(srv: DemoServer, client: httpx.Client, endpoint: str, mode: str) -> None:
    url = f"{srv.fault_url(mode)}{endpoint}"
    if endpoint == EDITS:
        data = {"prompt": "x", "stream": "true", "partial_images": "3", "size": "64x64"}
        r = client.post(
            url, data=data, files={"image": ("a.png", png_bytes((9, 9, 9)), "image/png")}
        )
    else:
        body = (
            responses_body(partials=3)
            if endpoint == RESP
            else {"prompt": "x", "stream": True, "partial_images": 3, "size": "64x64"}
        )
        r = client.post(url, json=body)
    payloads = sse_json(r.text)
    assert sum(p["type"].endswith("partial_image") for p in payloads) == 1  # exactly one partial
    last = payloads[-1]
    if mode == "error-flat":
        assert last == {
            **last,
            "type": "error",
            "code": "server_error",
            "message": "The image could not be generated",
            "param": None,
        }
    elif mode == "error-nested":
        assert last["type"] == "error"
        assert last["error"] == {
            "type": "server_error",
            "code": "server_error",
            "message": "Upstream failed",
            "param": None,
        }
    else:
        prefix = {
            GEN: "image_generation",
            EDITS: "image_edit",
            RESP: "response.image_generation_call",
        }[endpoint]
        assert last["type"] == f"{prefix}.failed" and last["message"]
    assert srv.streams_completed == 1  # the stream itself ended cleanly


def test_some_fail_fails_only_the_first_two_streams(srv: DemoServer, client: httpx.Client) -> None:
    """`some-fail`: per-image failures of an n > 1 task (one stream per image), and a
    retry of the failed ones that succeeds."""
    srv.clear()
    body = {"prompt": "x", "stream": True, "partial_images": 1, "size": "64x64"}
    ends = [
        sse_json(client.post(f"{srv.fault_url('some-fail')}{GEN}", json=body).text)[-1]["type"]
        for _ in range(4)
    ]
    assert ends == ["error", "error", "image_generation.completed", "image_generation.completed"]
    srv.clear()
    last = sse_json(client.post(f"{srv.fault_url('some-fail')}{GEN}", json=body).text)[-1]
    assert last["type"] == "error"


def test_response_failed_and_incomplete(srv: DemoServer, client: httpx.Client) -> None:
    payloads = sse_json(
        client.post(
            f"{srv.fault_url('response-failed')}{RESP}", json=responses_body(partials=3)
        ).text
    )
    assert payloads[0]["type"] == "response.created"
    assert sum(p["type"].endswith("partial_image") for p in payloads) == 1
    assert payloads[-1]["type"] == "response.failed"
    assert (
        payloads[-1]["response"]["error"]["code"] == "server_error"
        and payloads[-1]["response"]["error"]["message"]
    )

    payloads = sse_json(
        client.post(f"{srv.fault_url('incomplete')}{RESP}", json=responses_body(partials=2)).text
    )
    assert payloads[-1]["type"] == "response.incomplete"
    assert payloads[-1]["response"]["incomplete_details"]["reason"] == "max_output_tokens"
    assert not any(
        p["type"] in ("response.completed", "response.output_item.done") for p in payloads
    )

    # On the Images API: response-failed -> nested error; incomplete -> eof.
    body = {"prompt": "x", "stream": True, "partial_images": 2, "size": "64x64"}
    payloads = sse_json(client.post(f"{srv.fault_url('response-failed')}{GEN}", json=body).text)
    assert payloads[-1]["type"] == "error" and payloads[-1]["error"]["code"] == "server_error"
    payloads = sse_json(client.post(f"{srv.fault_url('incomplete')}{GEN}", json=body).text)
    assert [p["type"] for p in payloads] == ["image_generation.partial_image"] * 2

    # Non-streaming Responses: a Response object with that status.
    reply = client.post(
        f"{srv.fault_url('incomplete')}{RESP}", json=responses_body(stream=False)
    ).json()
    assert reply["status"] == "incomplete" and reply["output"] == []
    reply = client.post(
        f"{srv.fault_url('response-failed')}{RESP}", json=responses_body(stream=False)
    ).json()
    assert reply["status"] == "failed" and reply["error"]["code"] == "server_error"


@pytest.mark.parametrize("endpoint", [GEN, RESP])
def test_malformed_ends_with_invalid_json(
    srv: DemoServer, client: httpx.Client, endpoint: str
) -> None:
    body = (
        responses_body(partials=2)
        if endpoint == RESP
        else {"prompt": "x", "stream": True, "partial_images": 2, "size": "64x64"}
    )
    events = parse_sse(client.post(f"{srv.fault_url('malformed')}{endpoint}", json=body).text)
    *good, (_, last) = events
    assert sum(json.loads(d)["type"].endswith("partial_image") for _, d in good) == 1
    assert last.startswith('{"type": "') and last.rstrip().endswith(":")
    with pytest.raises(json.JSONDecodeError):
        json.loads(last)


@pytest.mark.parametrize("endpoint", [GEN, RESP])
def test_eof_sends_all_partials_and_no_result(
    srv: DemoServer, client: httpx.Client, endpoint: str
) -> None:
    body = (
        responses_body(partials=3)
        if endpoint == RESP
        else {"prompt": "x", "stream": True, "partial_images": 3, "size": "64x64"}
    )
    payloads = sse_json(client.post(f"{srv.fault_url('eof')}{endpoint}", json=body).text)
    assert sum(p["type"].endswith("partial_image") for p in payloads) == 3
    assert payloads[-1]["type"].endswith("partial_image")
    assert srv.streams_completed == 1


def test_json_mode_ignores_stream(srv: DemoServer, client: httpx.Client) -> None:
    r = client.post(
        f"{srv.fault_url('json')}{GEN}",
        json={"prompt": "x", "stream": True, "partial_images": 2, "size": "32x32"},
    )
    assert r.headers["content-type"] == "application/json" and decode(
        r.json()["data"][0]["b64_json"]
    ).size == (32, 32)
    r = client.post(f"{srv.base_url}{RESP}", json=responses_body(model="fault-json"))
    assert r.headers["content-type"] == "application/json" and r.json()["output"][0]["result"]
    assert srv.streams_started == 0


@pytest.mark.parametrize(
    ("mode", "endpoint"), [("dataonly", GEN), ("dataonly", RESP), ("relay", GEN)]
)
def test_dataonly_style(srv: DemoServer, client: httpx.Client, mode: str, endpoint: str) -> None:
    body = (
        responses_body(partials=2)
        if endpoint == RESP
        else {"prompt": "x", "stream": True, "partial_images": 2, "size": "32x32"}
    )
    raw = client.post(f"{srv.fault_url(mode)}{endpoint}", json=body).text
    assert "event:" not in raw and ": PING\r\n" in raw and raw.endswith("data: [DONE]\r\n\r\n")
    assert "\n" not in raw.replace("\r\n", "")  # every line ends with CRLF
    payloads = sse_json(raw)
    assert payloads[-1]["type"] in ("image_generation.completed", "response.completed")


def test_relay_responses_sends_only_partials_and_completed(
    srv: DemoServer, client: httpx.Client
) -> None:
    raw = client.post(f"{srv.fault_url('relay')}{RESP}", json=responses_body(partials=2)).text
    assert "event:" not in raw
    payloads = sse_json(raw)
    assert [p["type"] for p in payloads] == ["response.image_generation_call.partial_image"] * 2 + [
        "response.completed"
    ]
    result = payloads[-1]["response"]["output"][0]["result"]
    assert decode(result).size == (256, 256)


def test_url_mode_serves_the_image(srv: DemoServer, client: httpx.Client) -> None:
    r = client.post(
        f"{srv.fault_url('url')}{GEN}",
        json={"prompt": "x", "stream": True, "n": 2, "size": "48x48"},
    )
    assert r.headers["content-type"] == "application/json"
    data = r.json()["data"]
    assert len(data) == 2 and all("b64_json" not in d for d in data)
    url = data[0]["url"]
    assert url.startswith(f"http://127.0.0.1:{srv.port}/files/") and url.endswith(".png")
    image = client.get(url)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (48, 48)
    assert client.get(f"http://127.0.0.1:{srv.port}/files/missing.png").status_code == 404


# mode -> (status, content type, a check of the body) for stream=true requests
RELAY_REPLIES = {
    "unframed-error": (200, "text/event-stream", lambda r: json.loads(r.text)["error"]["code"] == "insufficient_quota"),
    "unframed-image": (200, "text/event-stream", lambda r: json.loads(r.text)["data"][0]["b64_json"]),
    "google-key": (400, "application/json", lambda r: r.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"),
    "google-key-list": (400, "application/json", lambda r: r.json()[0]["error"]["status"] == "INVALID_ARGUMENT"),
    "null-message": (400, "application/json", lambda r: r.json()["error"]["message"] is None),
    "async-task": (200, "application/json", lambda r: r.json() == {"task_id": "task_demo_0001", "status": "queued", "created": 1700000000}),
    "transparent": (400, "application/json", lambda r: "Transparent background" in r.json()["error"]["message"]),
    "stream-go": (400, "application/json", lambda r: "looking for beginning of value" in r.json()["error"]["message"]),
    "stream-partials": (400, "application/json", lambda r: "non-zero partial images" in r.json()["error"]["message"]),
    "stream-text": (400, "text/plain", lambda r: r.text == "stream not supported"),
    "stream-vague": (400, "application/json", lambda r: r.json()["error"]["message"] == "Bad request"),
}  # fmt: skip


@pytest.mark.parametrize("mode", list(RELAY_REPLIES))
def test_relay_replies(srv: DemoServer, client: httpx.Client, mode: str) -> None:
    status, ctype, check = RELAY_REPLIES[mode]
    body = {"prompt": "x", "stream": True, "partial_images": 1, "size": "64x64"}
    r = client.post(f"{srv.fault_url(mode)}{GEN}", json=body)
    assert r.status_code == status and r.headers["content-type"].startswith(ctype)
    assert check(r)
    if mode.startswith("stream-"):  # only streaming is refused
        r = client.post(f"{srv.fault_url(mode)}{GEN}", json=body | {"stream": False})
        assert r.status_code == 200 and r.json()["data"][0]["b64_json"]


def test_stream_url_completes_with_a_link_to_the_image(
    srv: DemoServer, client: httpx.Client
) -> None:
    body = {"prompt": "x", "stream": True, "partial_images": 1, "size": "64x64"}
    r = client.post(f"{srv.fault_url('stream-url')}{GEN}", json=body)
    events = sse_json(r.text)
    assert [e["type"] for e in events] == [
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    done = events[-1]
    assert "b64_json" not in done and done["url"].startswith(srv.origin)
    image = client.get(done["url"])
    assert Image.open(io.BytesIO(image.content)).size == (64, 64)


def test_drop_after_final_sends_the_image_then_cuts(srv: DemoServer) -> None:
    received: list[str] = []
    with httpx.Client(timeout=5) as c, pytest.raises(httpx.RemoteProtocolError):  # noqa: SIM117
        with c.stream(
            "POST", f"{srv.fault_url('drop-after-final')}{RESP}", json=responses_body()
        ) as r:
            received.extend(r.iter_lines())
    events = [json.loads(line[5:]) for line in received if line.startswith("data:")]
    assert events[-1]["type"] == "response.output_item.done" and events[-1]["item"]["result"]
    assert "response.completed" not in [e["type"] for e in events]


def test_cutting_a_connection_reaches_uvicorns_transport(srv: DemoServer) -> None:
    """`streaming.close_transport` uses uvicorn internals: fail loudly when they change."""
    import importlib.metadata

    from imgtui.demo.streaming import UVICORN_TESTED

    with httpx.Client(timeout=5) as c:
        for body in (
            {"prompt": "x", "size": "64x64"},
            {"prompt": "x", "stream": True, "partial_images": 1, "size": "64x64"},
        ):
            with pytest.raises(httpx.RemoteProtocolError):
                c.post(f"{srv.fault_url('drop')}{GEN}", json=body).read()
    assert srv.state.transport_fallbacks == 0, "uvicorn changed: see demo/streaming.py"
    version = importlib.metadata.version("uvicorn")
    parts = tuple(int(p) for p in version.split(".")[:2])
    low, high = UVICORN_TESTED
    assert low <= parts < high, (
        f"uvicorn {version} is outside the tested range: check close_transport"
    )


def test_every_fault_mode_is_covered_here() -> None:
    covered = set(HTTP_FAULTS) | set(RELAY_REPLIES) | {
        "drop", "stall", "error-flat", "error-nested", "failed-event", "response-failed",
        "incomplete", "malformed", "eof", "json", "dataonly", "url", "relay", "flaky",
        "async-fail", "async-lost",  # async mode: tests/peer/test_polled.py
        "stream-url", "drop-after-final", "some-fail",
        "strict",  # tests/peer/test_demo_today.py
    }  # fmt: skip
    assert covered == set(FAULT_MODES)


# --------------------------------------------------------------------------- benchmark model


def test_bench_noise_is_incompressible_and_cached(srv: DemoServer, client: httpx.Client) -> None:
    body = {
        "model": "bench-noise",
        "prompt": "x",
        "stream": True,
        "partial_images": 2,
        "size": "128x96",
    }
    first = sse_json(client.post(f"{srv.base_url}{GEN}", json=body).text)
    assert [p["type"] for p in first] == ["image_generation.partial_image"] * 2 + [
        "image_generation.completed"
    ]
    for p in first:
        raw = base64.b64decode(p["b64_json"])
        image = decode(p["b64_json"])
        assert image.size == (128, 96) and len(raw) >= 128 * 96 * 3  # no compression possible
        assert colours(image) > 128 * 96 * 0.9
    second = sse_json(client.post(f"{srv.base_url}{GEN}", json=body).text)
    assert [p["b64_json"] for p in second] == [
        p["b64_json"] for p in first
    ]  # cached per (size, index)
    assert len({p["b64_json"] for p in first}) == 3  # but every frame index differs


# --------------------------------------------------------------------------- lifecycle


def test_start_is_idempotent_and_urls(client: httpx.Client) -> None:
    srv = DemoServer(delay=0)
    try:
        srv.start()
        port = srv.port
        assert port != 0 and srv.start() is srv and srv.port == port
        assert srv.base_url == f"http://127.0.0.1:{port}/v1"
        assert srv.fault_url("drop") == f"http://127.0.0.1:{port}/fault/drop/v1"
        assert client.get(f"{srv.base_url}/models").status_code == 200
    finally:
        srv.stop()
    assert not srv.running
    srv.stop()  # stopping twice is fine
    with pytest.raises(httpx.ConnectError):
        client.get(f"{srv.base_url}/models")


def test_stop_is_fast_with_open_streams_and_stalls() -> None:
    srv = DemoServer(delay=30).start()
    outcomes: list[str] = []

    def call(url: str, body: dict) -> None:
        try:
            with httpx.Client(timeout=20) as c, c.stream("POST", url, json=body) as r:
                for _ in r.iter_lines():
                    pass
            outcomes.append("clean end")
        except httpx.HTTPError as exc:
            outcomes.append(type(exc).__name__)

    calls = [
        (
            f"{srv.base_url}{GEN}",
            {"prompt": "x", "stream": True, "partial_images": 3, "size": "32x32"},
        ),
        (f"{srv.fault_url('stall')}{GEN}", {"prompt": "x"}),
        (f"{srv.base_url}{GEN}", {"prompt": "x", "size": "32x32"}),
    ]
    threads = [threading.Thread(target=call, args=c) for c in calls]
    for t in threads:
        t.start()
    # all three in flight: the stream has started, the other two are waiting
    assert srv.state.wait_for(lambda: len(srv.requests) >= 3 and srv.streams_started >= 1, 10)
    srv.stop(timeout=5)
    for t in threads:  # the image takes 30 s: a client still waiting means stop left it open
        t.join(5)
    assert not any(t.is_alive() for t in threads)
    assert sorted(outcomes) == ["RemoteProtocolError"] * 3  # nobody got a clean (fake) ending


def test_embedded_server_is_a_lazy_singleton(client: httpx.Client) -> None:
    results: list[DemoServer] = []
    threads = [threading.Thread(target=lambda: results.append(embedded_server())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    srv = results[0]
    try:
        assert all(s is srv for s in results) and srv.running and srv.delay == 3.0
        assert client.get(f"{srv.base_url}/models").status_code == 200
    finally:
        srv.stop()
    assert embedded_server() is srv and srv.running  # restarted on demand
    srv.stop()


def test_flaky_fails_every_second_request(server) -> None:
    server.clear()
    url = server.fault_url("flaky") + "/images/generations"
    codes = [
        httpx.post(url, json={"prompt": "x", "model": "gpt-image-1"}, timeout=10).status_code
        for _ in range(4)
    ]
    assert codes == [200, 500, 200, 500]
