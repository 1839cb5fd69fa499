"""The demo server speaks today's image API: the roster with shutdown dates, GIF and SVG
outputs, usage for every model, and the `strict` fault mode (a picky provider)."""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from PIL import Image

from imgtui.demo import DemoServer
from imgtui.models import FAMILIES

GEN = "/images/generations"
EDITS = "/images/edits"
RESP = "/responses"


@pytest.fixture
def client() -> httpx.Client:
    with httpx.Client(timeout=30) as c:
        yield c


def png(size=(64, 64), colour=(10, 120, 200, 255)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", size, colour).save(buf, "PNG")
    return buf.getvalue()


def test_models_lists_todays_roster_with_shutdown_dates(server: DemoServer, client):
    data = client.get(f"{server.base_url}/models").json()["data"]
    by_id = {m["id"]: m for m in data}
    for spec in FAMILIES:
        for model_id in spec.ids:
            expected = spec.shutdown.isoformat() if spec.shutdown else None
            assert by_id[model_id]["shutdown_date"] == expected
    assert by_id["gpt-image-1.5"]["shutdown_date"] == "2026-12-01"
    assert by_id["gpt-image-2.6-sunburst"]["shutdown_date"] is None
    assert "gpt-5.6-terra" in by_id
    one = client.get(f"{server.base_url}/models/gpt-image-1").json()
    assert one["shutdown_date"] == "2026-10-23"


@pytest.mark.parametrize("model", [m for spec in FAMILIES for m in spec.ids])
def test_usage_for_every_model(server: DemoServer, client, model):
    r = client.post(f"{server.base_url}{GEN}", json={"model": model, "prompt": "a cat"})
    assert r.status_code == 200
    usage = r.json()["usage"]
    assert usage["output_tokens"] > 0
    assert usage["input_tokens_details"]["text_tokens"] > 0


def test_gif_output_has_the_frames_asked_for(server: DemoServer, client):
    body = {
        "model": "gpt-image-2.6-flare",
        "prompt": "paper boat",
        "output_format": "gif",
        "size": "256x256",
        "frame_count": 4,
        "frame_duration_ms": 150,
    }
    r = client.post(f"{server.base_url}{GEN}", json=body)
    assert r.status_code == 200
    reply = r.json()
    assert reply["output_format"] == "gif"
    gif = Image.open(io.BytesIO(base64.b64decode(reply["data"][0]["b64_json"])))
    assert gif.format == "GIF"
    assert gif.n_frames == 4
    assert gif.info["duration"] == 150
    assert gif.size == (256, 256)


def test_gif_and_svg_never_stream(server: DemoServer, client):
    for fmt in ("gif", "svg"):
        r = client.post(
            f"{server.base_url}{GEN}",
            json={"prompt": "x", "output_format": fmt, "stream": True},
        )
        assert r.status_code == 400
        assert r.json()["error"]["param"] == "stream"


def test_svg_output_is_svg_markup_with_svg_usage(server: DemoServer, client):
    body = {
        "model": "gpt-image-2.6-flare",
        "prompt": "fox <icon> & co",
        "output_format": "svg",
        "size": "1024x1024",
        "svg": {"model": "gpt-5.6-terra", "reasoning": {"effort": "medium"}},
        "safety_identifier": "u_9f2c41",
    }
    reply = client.post(f"{server.base_url}{GEN}", json=body).json()
    svg = base64.b64decode(reply["data"][0]["b64_json"]).decode()
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" width="1024" height="1024"')
    assert "<title>fox &lt;icon&gt; &amp; co</title>" in svg
    assert reply["svg_usage"]["model"] == "gpt-5.6-terra"
    assert reply["safety_identifier"] == "u_9f2c41"
    r = client.post(f"{server.base_url}{GEN}", json=body | {"n": 2})
    assert (r.status_code, r.json()["error"]["param"]) == (400, "n")


def test_svg_fields_in_multipart_edits(server: DemoServer, client):
    r = client.post(
        f"{server.fault_url('strict')}{EDITS}",
        data={
            "model": "gpt-image-2.6-sunburst",
            "prompt": "vectorise",
            "output_format": "svg",
            "svg[model]": "gpt-5.6-terra",
            "svg[reasoning][effort]": "huge",
        },
        files=[("image[]", ("a.png", png(), "image/png"))],
    )
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "svg.reasoning.effort"


# -- strict mode ---------------------------------------------------------------------------


def strict(server, client, body, path=GEN):
    return client.post(f"{server.fault_url('strict')}{path}", json=body)


def test_strict_refuses_what_the_model_does_not_take(server: DemoServer, client):
    r = strict(server, client, {"model": "gpt-image-2", "prompt": "x", "quality": "xhigh"})
    assert r.status_code == 400
    error = r.json()["error"]
    assert (error["param"], error["code"]) == ("quality", "invalid_value")
    assert (
        error["message"]
        == "Invalid value for 'quality': 'xhigh': gpt-image-2 takes auto, low, medium, high"
    )
    r = strict(server, client, {"model": "gpt-image-2.5-flare", "prompt": "x", "complexity": "low"})
    assert r.json()["error"]["param"] == "complexity"
    r = strict(server, client, {"model": "gpt-image-2.6-flare", "prompt": "x", "style": "vivid"})
    assert r.json()["error"] == {
        "message": "Unknown parameter: 'style'.",
        "type": "invalid_request_error",
        "param": "style",
        "code": "unknown_parameter",
    }


def test_strict_takes_what_the_model_takes(server: DemoServer, client):
    body = {
        "model": "gpt-image-2.6-flare",
        "prompt": "x",
        "size": "1536x864",
        "quality": "xhigh",
        "complexity": "medium",
        "output_format": "webp",
        "output_compression": 80,
        "safety_identifier": "u_1",
    }
    assert strict(server, client, body).status_code == 200
    assert strict(server, client, {"model": "gpt-image-2", "prompt": "x"}).status_code == 200


def test_strict_unknown_model_takes_only_n(server: DemoServer, client):
    r = strict(server, client, {"model": "grok-2-image", "prompt": "x", "size": "1024x1024"})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "Argument not supported: size"
    assert (
        strict(server, client, {"model": "grok-2-image", "prompt": "x", "n": 2}).status_code == 200
    )


def test_strict_markup_edits(server: DemoServer, client):
    def edit(model, *parts):
        return client.post(
            f"{server.fault_url('strict')}{EDITS}",
            data={"model": model, "prompt": "move the lamp"},
            files=[("image[]", ("room.png", png(), "image/png")), *parts],
        )

    markup = ("markup", ("m.png", png(colour=(255, 0, 0, 0)), "image/png"))
    mask = ("mask", ("k.png", png(colour=(0, 0, 0, 0)), "image/png"))
    assert edit("gpt-image-2.6-sunburst", markup).status_code == 200
    r = edit("gpt-image-2", markup)
    assert (r.status_code, r.json()["error"]["param"]) == (400, "markup")
    r = edit("gpt-image-2.6-sunburst", markup, mask)
    assert (r.status_code, r.json()["error"]["param"]) == (400, "markup")


def test_strict_responses_tool(server: DemoServer, client):
    body = {
        "model": "gpt-5.6-terra",
        "input": "a poster",
        "tools": [{"type": "image_generation", "model": "gpt-image-2", "quality": "max"}],
    }
    r = strict(server, client, body, RESP)
    assert (r.status_code, r.json()["error"]["param"]) == (400, "quality")
    body["tools"][0]["quality"] = "high"
    assert strict(server, client, body, RESP).status_code == 200
