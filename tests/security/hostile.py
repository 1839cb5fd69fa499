"""A hostile OpenAI-compatible server on loopback: what an attacker's relay would send.

Each behaviour is a path prefix: `{server.url(mode)}` is a base URL whose image requests
get that treatment. Every request is recorded (path, headers, query) so tests can check
what reached where. `localhost` and `127.0.0.1` are two origins of the same server, which
is how a cross-origin redirect or link is made without a second server.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import random
import socket
import struct
import threading
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

MIB = 1024 * 1024


def png(w: int = 32, h: int = 24, color=(200, 40, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, "PNG")
    return buf.getvalue()


def bomb_png(w: int = 100_000, h: int = 100_000) -> bytes:
    """A PNG whose header claims w x h pixels (10 G by default) with a tiny IDAT: opening
    it reads the header only, decoding it would need gigabytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)  # 8-bit greyscale
    idat = zlib.compress(b"\x00" * 4096, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


GOOD = png()


def noise_png(w: int = 240, h: int = 240) -> bytes:
    """Incompressible pixels: its base64 (~230 KB at 240x240) makes an SSE line longer than
    `imgtui.api.sse.BIG_LINE`, read as bytes and kept as a memoryview (`bigjson`)."""
    buf = io.BytesIO()
    Image.frombytes("RGB", (w, h), random.Random(16).randbytes(w * h * 3)).save(buf, "PNG")
    return buf.getvalue()


NOISE = noise_png()
TRUNCATED = GOOD[: len(GOOD) // 2]
NOT_AN_IMAGE = b"<html>not an image at all, just some words</html>"
BOMB = bomb_png()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def images_reply(image: bytes = GOOD, **item: object) -> dict:
    return {"created": 1700000000, "data": [{"b64_json": b64(image), **item}]}


@dataclass
class Hostile:
    """Recorded requests and the port, shared with the app."""

    port: int = 0
    requests: list[dict] = field(default_factory=list)

    def origin(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}"

    def url(self, mode: str, host: str = "127.0.0.1") -> str:
        """The base URL of mode `mode` (image requests go to `.../images/generations`)."""
        return f"{self.origin(host)}/{mode}/v1"

    def seen(self, prefix: str) -> list[dict]:
        return [r for r in self.requests if r["path"].startswith(prefix)]


def _app(h: Hostile) -> Starlette:
    def away(path: str) -> str:  # the other origin of this same server
        return f"{h.origin('localhost')}{path}"

    async def record(request: Request) -> dict:
        entry = {
            "path": request.url.path,
            "query": request.url.query,
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body": await request.body(),
        }
        h.requests.append(entry)
        return entry

    async def sse(chunks: AsyncIterator[bytes]) -> Response:
        return StreamingResponse(chunks, media_type="text/event-stream")

    async def generations(request: Request) -> Response:
        mode = request.path_params["mode"]
        seen = await record(request)
        headers, query = seen["headers"], seen["query"]
        if mode == "echo":  # an error that repeats the credentials and the query back
            message = (
                f"Rejected auth={headers.get('authorization')} "
                f"api-key={headers.get('api-key')} query={query}. Headers: {json.dumps(headers)}"
            )
            return JSONResponse(
                {"error": {"message": message, "type": "invalid_request_error"}}, 400
            )
        if mode == "echo-revised":
            return JSONResponse(images_reply(revised_prompt=f"echo {json.dumps(headers)} {query}"))
        if mode == "echo-meta":  # the credentials echoed in every other text field of a reply
            key = headers.get("api-key") or ""
            item = {"b64_json": b64(GOOD), "size": key, "quality": key, "output_format": key}
            return JSONResponse({"created": 1, "data": [item], "usage": {"note": key}})
        if mode == "echo-id":  # Responses API: the credentials as the response id
            key = headers.get("api-key") or ""
            item = {"type": "image_generation_call", "result": b64(GOOD), "size": key}
            return JSONResponse({"object": "response", "id": f"resp_{key}", "output": [item]})
        if mode == "redirect-away":
            return RedirectResponse(away("/landing/v1/images/generations"), status_code=307)
        if mode == "redirect-home":
            return RedirectResponse(f"{h.origin()}/plain/v1/images/generations", status_code=307)
        if mode in ("plain", "landing"):
            return JSONResponse(images_reply())
        if mode == "url-away":
            return JSONResponse({"data": [{"url": away("/img/away.png")}]})
        if mode == "url-redirect":  # a link on the API's origin that sends the client away
            return JSONResponse({"data": [{"url": f"{h.origin()}/bounce/img.png"}]})
        if mode == "url-huge":
            return JSONResponse({"data": [{"url": f"{h.origin()}/huge/img.png"}]})
        if mode == "drip":  # a valid stream start, then one byte at a time, forever

            async def drip() -> AsyncIterator[bytes]:
                yield b": hello\n\n"
                while True:
                    await asyncio.sleep(0.05)
                    yield b":"

            return await sse(drip())
        if mode == "big-line":  # one SSE line of 4 MiB (and counting) that never ends

            async def big() -> AsyncIterator[bytes]:
                yield b'data: {"type": "image_generation.partial_image", "b64_json": "'
                for _ in range(4 * 16):
                    yield b"A" * (64 * 1024)
                    await asyncio.sleep(0)

            return await sse(big())
        if mode == "many-partials":

            async def many() -> AsyncIterator[bytes]:
                for i in range(40):
                    event = {
                        "type": "image_generation.partial_image",
                        "b64_json": b64(GOOD),
                        "partial_image_index": i,
                    }
                    yield f"data: {json.dumps(event)}\n\n".encode()
                done = {"type": "image_generation.completed", "b64_json": b64(GOOD)}
                yield f"data: {json.dumps(done)}\n\n".encode()

            return await sse(many())
        if mode == "bomb-partial":  # a partial frame that is a decompression bomb

            async def bomb_frame() -> AsyncIterator[bytes]:
                for image in (BOMB, GOOD):
                    event = {"type": "image_generation.partial_image", "b64_json": b64(image)}
                    yield f"data: {json.dumps(event)}\n\n".encode()
                done = {"type": "image_generation.completed", "b64_json": b64(GOOD)}
                yield f"data: {json.dumps(done)}\n\n".encode()

            return await sse(bomb_frame())
        if mode == "nested":  # a 10 KB event of nothing but nested arrays (a RecursionError)
            deep = '{"type": "image_generation.completed", "b64_json": ' + "[" * 5000 + "]" * 5000
            if b'"stream": true' in seen["body"] or b'"stream":true' in seen["body"]:

                async def nested() -> AsyncIterator[bytes]:
                    yield f"data: {deep}}}\n\n".encode()

                return await sse(nested())
            return Response(
                '{"data": ' + "[" * 5000 + "]" * 5000 + "}", media_type="application/json"
            )
        if mode == "long-revised":
            return JSONResponse(images_reply(revised_prompt="word " * 200_000))
        if mode == "long-id":
            item = {"type": "image_generation_call", "result": b64(GOOD)}
            return JSONResponse(
                {"object": "response", "id": "resp_" + "x" * 5000, "output": [item]}
            )
        if mode in ("bad-b64", "bad-b64-then-good", "bad-b64-then-cut", "cut"):
            # A final image whose base64 is broken (bad padding), alone; repeated intact
            # in the Response's output; followed by a cut connection; or only the cut.
            text = b64(NOISE)
            broken = text[: len(text) // 4 * 4 - 3]
            item = {"type": "image_generation_call", "result": broken}
            events: list[dict] = {
                "bad-b64": [{"type": "image_generation.completed", "b64_json": broken}],
                "bad-b64-then-good": [
                    {"type": "response.output_item.done", "item": item},
                    {
                        "type": "response.completed",
                        "response": {"id": "resp_1", "output": [{**item, "result": text}]},
                    },
                ],
                "bad-b64-then-cut": [{"type": "response.output_item.done", "item": item}],
                "cut": [],
            }[mode]

            async def then_cut() -> AsyncIterator[bytes]:
                yield b": hello\n\n"
                for event in events:
                    yield f"data: {json.dumps(event)}\n\n".encode()
                if mode.endswith("cut"):
                    raise ConnectionResetError("the relay cut the stream")

            return await sse(then_cut())
        if mode in ("truncated", "not-image", "bomb"):
            image = {"truncated": TRUNCATED, "not-image": NOT_AN_IMAGE, "bomb": BOMB}[mode]
            if b'"stream": true' in seen["body"] or b'"stream":true' in seen["body"]:
                done = {"type": "image_generation.completed", "b64_json": b64(image)}

                async def one() -> AsyncIterator[bytes]:
                    yield f"data: {json.dumps(done)}\n\n".encode()

                return await sse(one())
            return JSONResponse(images_reply(image))
        return JSONResponse({"error": {"message": f"unknown mode {mode}"}}, 404)

    async def submit(request: Request) -> Response:  # sub2api-style async task
        await record(request)
        return JSONResponse({"task_id": "t1", "status": "processing"}, 202)

    async def task(request: Request) -> Response:
        mode = request.path_params["mode"]
        seen = await record(request)
        if mode == "task-echo":
            headers = seen["headers"]
            message = f"Rejected api-key={headers.get('api-key')} query={seen['query']}"
            return JSONResponse({"error": {"message": message}}, 400)
        if mode == "task-redirect":
            return RedirectResponse(away("/landing/v1/images/tasks/t1"), status_code=307)
        done = {"status": "completed", "result": {"data": [{"url": away("/img/task.png")}]}}
        return JSONResponse(done)

    async def models(request: Request) -> Response:
        seen = await record(request)
        if request.path_params["mode"] == "echo":
            headers = seen["headers"]
            message = (
                f"Rejected auth={headers.get('authorization')} "
                f"api-key={headers.get('api-key')} query={seen['query']}. Headers: {json.dumps(headers)}"
            )
            return JSONResponse({"error": {"message": message}}, 403)
        return JSONResponse({"data": []})

    async def image(request: Request) -> Response:
        await record(request)
        return Response(GOOD, media_type="image/png")

    async def bounce(request: Request) -> Response:
        await record(request)
        return RedirectResponse(away("/img/bounced.png"), status_code=302)

    async def huge(request: Request) -> Response:
        await record(request)

        async def body() -> AsyncIterator[bytes]:
            yield GOOD
            for _ in range(64):  # 4 MiB more
                yield b"\x00" * (64 * 1024)
                await asyncio.sleep(0)

        return StreamingResponse(body(), media_type="image/png")

    return Starlette(
        routes=[
            Route("/{mode}/v1/images/generations", generations, methods=["POST"]),
            Route("/{mode}/v1/responses", generations, methods=["POST"]),
            Route("/{mode}/v1/models", models, methods=["GET"]),
            Route("/{mode}/v1/images/generations/async", submit, methods=["POST"]),
            Route("/{mode}/v1/images/tasks/{task_id}", task, methods=["GET"]),
            Route("/img/{name}", image, methods=["GET"]),
            Route("/bounce/{name}", bounce, methods=["GET"]),
            Route("/huge/{name}", huge, methods=["GET"]),
        ]
    )


class HostileServer:
    """The hostile app, served by uvicorn in a daemon thread on a free loopback port."""

    def __init__(self) -> None:
        self.state = Hostile()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.state.port = self._sock.getsockname()[1]
        config = uvicorn.Config(
            _app(self.state), log_config=None, log_level="critical", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> Hostile:
        self._thread.start()
        started = threading.Event()

        def wait() -> None:
            while not self._server.started:
                if not self._thread.is_alive():
                    break
                started.wait(0.01)

        wait()
        return self.state

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._server.force_exit = True
        self._thread.join(5)
        self._sock.close()
