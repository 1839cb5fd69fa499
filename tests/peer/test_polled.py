"""Polled providers (imgtui.api.polled) against the demo server's async mode."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from PIL import Image

from imgtui.api.events import Completed, Failed, FailureKind, Started
from imgtui.api.polled import (
    FAL,
    SUB2API,
    ManifestError,
    get_all,
    parse_manifests,
    render,
    run_polled,
)
from imgtui.api.request import Connection, ImageRequest, InputImage
from imgtui.demo.jobs import JobTable
from imgtui.demo.server import DemoServer

KEY = "sk-demo-async-key-0123456789"

# The playground's own async example (docs/custom-provider-llm-prompt.md, "异步接口示例"),
# as a user copies it out of the playground: only baseUrl is filled in by the test.
PLAYGROUND_ASYNC = {
    "customProviders": [
        {
            "id": "custom-example-async",
            "name": "示例异步服务商",
            "submit": {
                "path": "images/generations",
                "method": "POST",
                "contentType": "json",
                "query": {"async": "true"},
                "body": {
                    "model": "$profile.model",
                    "prompt": "$prompt",
                    "size": "$params.size",
                    "n": "$params.n",
                    "background": "$params.background",
                },
                "taskIdPath": "data",
            },
            "editSubmit": {
                "path": "images/edits",
                "method": "POST",
                "contentType": "multipart",
                "query": {"async": "true"},
                "body": {
                    "model": "$profile.model",
                    "prompt": "$prompt",
                    "size": "$params.size",
                    "n": "$params.n",
                },
                "files": [{"field": "image[]", "source": "inputImages", "array": True}],
                "taskIdPath": "data",
            },
            "poll": {
                "path": "images/tasks/{task_id}",
                "method": "GET",
                "intervalSeconds": 5,
                "statusPath": "data.status",
                "successValues": ["SUCCESS"],
                "failureValues": ["FAILURE"],
                "errorPath": "data.fail_reason",
                "result": {
                    "imageUrlPaths": ["data.data.data.*.url"],
                    "b64JsonPaths": ["data.data.data.*.b64_json"],
                },
            },
        }
    ],
    "profiles": [
        {
            "id": "custom-example-async-profile",
            "name": "示例异步服务商",
            "provider": "custom-example-async",
            "baseUrl": "",
            "model": "gpt-image-2.5-sunburst",
            "apiMode": "images",
            "apiKey": "sk-should-not-survive",
        }
    ],
}


@pytest.fixture(scope="module")
def server():
    """A demo server of this module's own: it requires KEY (the shared one takes any key)."""
    with DemoServer(delay=0.0, api_key=KEY) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _clear(server):
    server.clear()
    server.app.state.jobs = JobTable(polls_to_finish=2)
    yield


def png(w=48, h=32) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


async def collect(conn, req, provider, **kw):
    return [e async for e in run_polled(conn, req, provider, poll_interval=0, **kw)]


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as im:
        return im.size


async def test_sub2api_generation_is_submitted_then_polled(server):
    conn = Connection(base_url=server.base_url, api_key=KEY)
    req = ImageRequest(prompt="a lighthouse", model="gpt-image-2", size="1536x1024", n=2)
    handles = []
    events = await collect(conn, req, SUB2API, on_submitted=handles.append)
    assert [type(e) for e in events] == [Started, Started, Completed, Completed]
    assert all(size_of(e.image) == (1536, 1024) for e in events[2:])
    assert handles == [
        {"kind": "manifest", "provider": "sub2api-async", "task_id": "imgtask_000001"}
    ]
    paths = [(r["method"], r["path"]) for r in server.requests]
    assert paths == [
        ("POST", "/v1/images/generations/async"),
        ("GET", "/v1/images/tasks/imgtask_000001"),
        ("GET", "/v1/images/tasks/imgtask_000001"),
    ]
    submit = server.requests[0]
    assert submit["json"] == {
        "model": "gpt-image-2",
        "prompt": "a lighthouse",
        "size": "1536x1024",
        "quality": "auto",
        "output_format": "png",
        "n": 2,
    }
    assert all(r["headers"]["authorization"] == f"Bearer {KEY}" for r in server.requests)


async def test_sub2api_edit_goes_to_the_async_edit_endpoint(server):
    conn = Connection(base_url=server.base_url, api_key=KEY)
    req = ImageRequest(prompt="add a hat", model="gpt-image-2", images=(InputImage(png()),))
    events = await collect(conn, req, SUB2API)
    assert isinstance(events[-1], Completed)
    submit = server.requests[0]
    assert submit["path"] == "/v1/images/edits/async"
    assert [f["field"] for f in submit["files"]] == ["image[]"]
    assert submit["form"]["prompt"] == "add a hat"


async def test_playground_manifest_imports_and_generates_through_the_demo(server):
    providers, profiles = parse_manifests(json.dumps(PLAYGROUND_ASYNC, ensure_ascii=False))
    (provider,) = providers
    assert provider.id == "custom-example-async" and provider.is_async
    assert profiles[0]["provider"] == "custom-example-async"
    assert "apiKey" not in profiles[0]
    conn = Connection(base_url=server.origin + "/tasks-api/v1", api_key=KEY)
    req = ImageRequest(prompt="a red fox", model=profiles[0]["model"], background="transparent")
    events = await collect(conn, req, provider)
    assert isinstance(events[-1], Completed)
    assert size_of(events[-1].image) == (1024, 1024)
    submit = server.requests[0]
    assert submit["path"] == "/tasks-api/v1/images/generations"
    assert submit["query"] == "async=true"
    assert submit["json"] == {
        "model": "gpt-image-2.5-sunburst",
        "prompt": "a red fox",
        "size": "auto",
        "n": 1,
        "background": "transparent",  # $params.background appears only when asked for
    }


async def test_fal_queue_submits_polls_and_downloads_the_result(server):
    conn = Connection(base_url=server.origin + "/fal", api_key=KEY)
    req = ImageRequest(prompt="a cat", model="openai/gpt-image-2", size="1024x1536", quality="low")
    handles = []
    events = await collect(conn, req, FAL, on_submitted=handles.append)
    assert isinstance(events[-1], Completed) and size_of(events[-1].image) == (1024, 1536)
    assert handles[0]["kind"] == FAL
    submit = server.requests[0]
    assert submit["path"] == "/fal/openai/gpt-image-2"
    assert submit["headers"]["authorization"] == f"Key {KEY}"
    assert submit["json"]["image_size"] == {"width": 1024, "height": 1536}
    assert submit["json"]["num_images"] == 1
    got = [r["path"] for r in server.requests]
    assert got[-2] == f"/fal/openai/gpt-image-2/requests/{handles[0]['task_id']}"
    assert got[-1].startswith("/files/")  # the image URL of the result, downloaded


async def test_fal_edit_uses_the_edit_sub_path(server):
    conn = Connection(base_url=server.origin + "/fal", api_key=KEY)
    req = ImageRequest(prompt="a hat", model="openai/gpt-image-2", images=(InputImage(png()),))
    events = await collect(conn, req, FAL)
    assert isinstance(events[-1], Completed)
    assert server.requests[0]["path"] == "/fal/openai/gpt-image-2/edit"
    assert server.requests[0]["json"]["image_urls"][0].startswith("data:image/png;base64,")


@pytest.mark.parametrize("provider", [SUB2API, FAL])
async def test_a_restart_mid_polling_resumes_the_same_task(server, provider):
    server.app.state.jobs.polls_to_finish = 3
    base = server.base_url if provider is SUB2API else server.origin + "/fal"
    conn = Connection(base_url=base, api_key=KEY)
    req = ImageRequest(prompt="resume me", model="openai/gpt-image-2")
    handles: list[dict] = []
    polled = asyncio.Event()

    async def sleep(_):
        polled.set()  # the first poll happened and said "pending"
        await asyncio.Event().wait()  # ... and the process dies while it waits

    async def first_run():
        async for _ in run_polled(conn, req, provider, on_submitted=handles.append, sleep=sleep):
            pass

    run = asyncio.create_task(first_run())
    await asyncio.wait_for(polled.wait(), 10)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    jobs = server.app.state.jobs
    assert jobs.submitted == 1 and jobs.polled == 1

    saved = json.loads(json.dumps(handles[0]))  # what a store would persist
    events = await collect(conn, req, provider, resume=saved)
    assert isinstance(events[-1], Completed)
    assert jobs.submitted == 1  # nothing was submitted again
    assert jobs.polled == 3


@pytest.mark.parametrize(
    ("mode", "provider", "words"),
    [
        ("async-fail", SUB2API, "Upstream request failed"),
        ("async-lost", SUB2API, "image task not found"),
        ("async-fail", FAL, "Upstream request failed"),
    ],
)
async def test_failed_and_lost_tasks_fail_every_slot(server, mode, provider, words):
    base = f"{server.origin}/fault/{mode}" + ("/v1" if provider is SUB2API else "/fal")
    conn = Connection(base_url=base, api_key=KEY)
    req = ImageRequest(prompt="doomed", model="openai/gpt-image-2", n=2)
    events = await collect(conn, req, provider)
    failed = [e for e in events if isinstance(e, Failed)]
    assert [e.slot for e in failed] == [0, 1]
    assert words in failed[0].message
    assert KEY not in failed[0].message


@pytest.mark.parametrize(
    ("mode", "kind"), [("moderation", FailureKind.MODERATION), ("auth", FailureKind.AUTH)]
)
async def test_http_fault_modes_answer_the_submission(server, mode, kind):
    conn = Connection(base_url=f"{server.origin}/fault/{mode}/v1", api_key=KEY)
    events = await collect(conn, ImageRequest(prompt="x"), SUB2API)
    assert events[-1].kind is kind
    assert server.app.state.jobs.submitted == 0


async def test_a_wrong_key_is_an_auth_failure(server):
    conn = Connection(base_url=server.base_url, api_key="sk-wrong")
    events = await collect(conn, ImageRequest(prompt="x"), SUB2API)
    assert events[-1].kind is FailureKind.AUTH


async def test_missing_task_id_names_the_path(server):
    bad = dict(PLAYGROUND_ASYNC["customProviders"][0])
    bad["submit"] = {**bad["submit"], "taskIdPath": "data.id"}
    (provider,), _ = parse_manifests(json.dumps([bad]))
    conn = Connection(base_url=server.origin + "/tasks-api/v1", api_key=KEY)
    events = await collect(conn, ImageRequest(prompt="x"), provider)
    assert "data.id" in events[-1].message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", "not JSON"),
        ('{"customProviders": []}', "no providers"),
        ('[{"id": "x"}]', "submit"),
        ('[{"submit": {"taskIdPath": "data"}}]', "needs a 'poll'"),
        ('[{"submit": {}, "poll": {"path": "t/{task_id}"}}]', "statusPath"),
        ('[{"submit": {"method": "PUT"}}]', "GET or POST"),
    ],
)
def test_invalid_manifests_are_refused(text, words):
    with pytest.raises(ManifestError, match=words):
        parse_manifests(text)


def test_templates_drop_missing_values_and_paths_expand_lists():
    ctx = {"prompt": "p", "params": {"n": 2, "background": None}, "inputImages": {"urls": None}}
    body = {
        "prompt": "$prompt",
        "n": "$params.n",
        "bg": "$params.background",
        "urls": "$inputImages.urls",
        "fixed": "2k",
        "nested": {"x": "$nope"},
    }
    assert render(body, ctx) == {"prompt": "p", "n": 2, "fixed": "2k", "nested": {}}
    payload = {"data": {"result": {"images": [{"url": ["a", "b"]}, {"url": ["c"]}]}}}
    assert get_all(payload, "data.result.images.*.url.*") == ["a", "b", "c"]
    assert get_all({"data": [{"b64_json": "x"}, {"url": "u"}]}, "data.*.b64_json") == ["x"]
