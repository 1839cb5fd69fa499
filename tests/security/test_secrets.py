"""Secrets other than the Bearer key, and where credentials may go (issue 10, item 3).

Every configured header value and query value is a secret: a server echoing them back
must not get them onto the screen, into history or an export (all of which show the
`Failed` message and the revised prompt). Credentials never cross origins: not on an API
redirect (httpx itself drops only `Authorization`), not to an image link elsewhere, not
down to plain http.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys

import httpx
import pytest
from PIL import Image

from imgtui.api import Completed, Connection, Failed, FailureKind, ImageRequest, stream_images
from imgtui.api.client import check_connection
from imgtui.api.transport import Deadline, download, origin

KEY = "sk-hostile-test-key-0001"
HEADER_SECRET = "azure-header-secret-0002"
QUERY_SECRET = "query-secret-0003/+="  # URL-encoding changes it on the wire
SECRETS = (KEY, HEADER_SECRET, QUERY_SECRET)


def conn(base_url: str, **kw) -> Connection:
    return Connection(
        base_url,
        api_key=KEY,
        headers={"api-key": HEADER_SECRET},
        query={"sig": QUERY_SECRET},
        max_retries=0,
        **kw,
    )


async def events(c: Connection, req: ImageRequest | None = None) -> list:
    req = req or ImageRequest(prompt="x", stream=False)
    async with contextlib.aclosing(stream_images(c, req)) as stream:
        return [e async for e in stream]


def leaked(text: str) -> list[str]:
    from urllib.parse import quote, quote_plus

    forms = {f for s in SECRETS for f in (s, quote(s, safe=""), quote_plus(s))}
    return [f for f in forms if f in text]


async def test_echoed_headers_and_query_are_masked_in_the_failure(hostile):
    (failed,) = [e for e in await events(conn(hostile.url("echo"))) if isinstance(e, Failed)]
    assert hostile.seen("/echo/")[0]["headers"]["api-key"] == HEADER_SECRET  # it was sent
    assert leaked(failed.message) == []
    assert "***" in failed.message and "Headers:" in failed.message


async def test_echoed_secrets_are_masked_in_the_revised_prompt(hostile):
    (done,) = [
        e for e in await events(conn(hostile.url("echo-revised"))) if isinstance(e, Completed)
    ]
    assert done.revised_prompt is not None and done.revised_prompt.startswith("echo ")
    assert leaked(done.revised_prompt) == []


async def test_test_connection_masks_echoed_secrets(hostile):
    failed = await check_connection(conn(hostile.url("echo")))
    assert failed is not None and failed.kind is FailureKind.AUTH
    assert leaked(failed.message) == [] and "***" in failed.message


def shown(done: Completed) -> str:
    """Every text of a final image that reaches a screen, history or an export."""
    return repr((done.meta, done.revised_prompt, done.response_id, done.usage))


async def test_secrets_echoed_in_the_reported_size_quality_format_and_usage_are_masked(hostile):
    (done,) = [e for e in await events(conn(hostile.url("echo-meta"))) if isinstance(e, Completed)]
    assert hostile.seen("/echo-meta/")[0]["headers"]["api-key"] == HEADER_SECRET
    assert leaked(shown(done)) == []
    assert done.usage == {"note": "***"}


async def test_a_response_id_carrying_a_secret_is_dropped(hostile):
    c = conn(hostile.url("echo-id"), api_mode="responses")
    (done,) = [e for e in await events(c) if isinstance(e, Completed)]
    assert leaked(shown(done)) == []
    assert done.response_id is None and done.meta.size == "***"


def test_cli_json_output_masks_secrets_echoed_outside_messages(hostile, tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "imgtui", "generate", "x", "--no-stream", "--json",
         "-o", str(tmp_path), "--base-url", hostile.url("echo-id"), "--api", "responses",
         "-H", f"api-key: {HEADER_SECRET}"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert '"response_id": null' in r.stdout and '"size": "***"' in r.stdout
    assert leaked(r.stderr + r.stdout) == []


def test_cli_stderr_masks_echoed_header_and_query_values(hostile, tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "imgtui", "generate", "x", "--no-stream", "-o", str(tmp_path),
         "--base-url", hostile.url("echo"), "--api-key", KEY,
         "-H", f"api-key: {HEADER_SECRET}", "--query", f"sig={QUERY_SECRET}"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode != 0 and "Headers:" in r.stderr
    assert leaked(r.stderr + r.stdout) == []
    assert hostile.seen("/echo/")[0]["headers"]["api-key"] == HEADER_SECRET


async def test_an_api_redirect_to_another_origin_is_not_followed(hostile):
    got = await events(conn(hostile.url("redirect-away")))
    (failed,) = [e for e in got if isinstance(e, Failed)]
    assert failed.kind is FailureKind.CONNECTION and failed.status == 307
    assert f"redirected the request to http://localhost:{hostile.port}" in failed.message
    assert hostile.seen("/landing/") == []  # nothing at all reached the other origin


async def test_an_api_redirect_within_the_origin_keeps_its_credentials(hostile):
    got = await events(conn(hostile.url("redirect-home")))
    assert [type(e).__name__ for e in got] == ["Started", "Completed"]
    (landed,) = hostile.seen("/plain/")
    assert landed["headers"]["api-key"] == HEADER_SECRET
    assert landed["headers"]["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize(
    "mode, fetched", [("url-away", "/img/away.png"), ("url-redirect", "/img/bounced.png")]
)
async def test_image_links_elsewhere_get_no_credentials(hostile, mode, fetched):
    (done,) = [e for e in await events(conn(hostile.url(mode))) if isinstance(e, Completed)]
    assert Image.open(io.BytesIO(done.image)).format == "PNG"
    (request,) = hostile.seen(fetched)
    assert "authorization" not in request["headers"] and "api-key" not in request["headers"]
    assert QUERY_SECRET not in request["query"] and "sig=" not in request["query"]
    if mode == "url-redirect":  # the first hop was on the API's origin: credentials there only
        (first,) = hostile.seen("/bounce/")
        assert first["headers"]["api-key"] == HEADER_SECRET


async def test_an_http_link_on_an_https_apis_host_gets_no_credentials():
    """A narrow unit (no TLS server here): the downgrade rule of `transport.download`."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, content=b"\x89PNG...")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        for url in ("http://api.example.test/img.png", "https://api.example.test/img.png"):
            await download(
                client, url,
                api_origin=origin("https://api.example.test/v1"),
                credentials={"Authorization": f"Bearer {KEY}", "api-key": HEADER_SECRET},
                params={"sig": QUERY_SECRET}, deadline=Deadline(10), cap=1024,
            )  # fmt: skip
    plain, tls = sent
    assert "authorization" not in plain.headers and "api-key" not in plain.headers
    assert "sig" not in plain.url.params
    assert tls.headers["authorization"] == f"Bearer {KEY}" and tls.url.params["sig"] == QUERY_SECRET


# -- polled providers (sub2api-style async tasks) follow the same rules ----------------


async def polled(c: Connection) -> list:
    from imgtui.api.polled import SUB2API, run_polled

    req = ImageRequest(prompt="x", stream=False)
    return [e async for e in run_polled(c, req, SUB2API, poll_interval=0)]


async def test_a_polled_task_error_echoing_secrets_is_masked(hostile):
    (failed,) = [e for e in await polled(conn(hostile.url("task-echo"))) if isinstance(e, Failed)]
    assert "Rejected api-key=***" in failed.message and leaked(failed.message) == []


async def test_a_polled_task_redirect_elsewhere_is_not_followed(hostile):
    (failed,) = [
        e for e in await polled(conn(hostile.url("task-redirect"))) if isinstance(e, Failed)
    ]
    assert "redirected the request to http://localhost" in failed.message
    assert hostile.seen("/landing/") == []


async def test_a_polled_result_link_elsewhere_gets_no_credentials(hostile):
    got = await polled(conn(hostile.url("task-away")))
    assert [type(e).__name__ for e in got] == ["Started", "Completed"]
    (fetch,) = hostile.seen("/img/task.png")
    assert "authorization" not in fetch["headers"] and "api-key" not in fetch["headers"]
    assert fetch["query"] == ""
    (poll,) = hostile.seen("/task-away/v1/images/tasks/")
    assert poll["headers"]["api-key"] == HEADER_SECRET  # the API's own origin: credentials
