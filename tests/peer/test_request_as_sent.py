"""The request as sent (`api.events.Sent`, `Task.sent`): exactly the body the server got,
with the key, every configured header value and every query value masked, input images
reduced to their size; kept in the history."""

from __future__ import annotations

import asyncio
import json

from PIL import Image

from imgtui.config import Profile
from imgtui.draft import Draft
from imgtui.runner import Runner
from imgtui.store import Store
from imgtui.tasks import ImageParams, Task, apply

KEY = "sk-proj-SENTSECRET0123456789"
HEADER = "org-HEADERSECRET"
QUERY = "2025-QUERYSECRET"


def run(server, tmp_path, *, api_mode="images", images=(), **params) -> Task:
    profile = Profile(
        "D",
        server.base_url,
        api_key=KEY,
        model="gpt-image-2",
        api_mode=api_mode,
        headers={"X-Org": HEADER},
        query={"api-version": QUERY},
    )
    draft = Draft(
        "a fox in the snow", profile, ImageParams(model="gpt-image-2", **params), images
    ).check()
    task = draft.task()
    task.queue()

    async def go() -> None:
        runner = Runner()
        try:
            await runner.run(draft, lambda event, _picture: apply(task, event))
        finally:
            await runner.aclose()

    asyncio.run(go())
    return task


def png_file(path):
    Image.new("RGB", (64, 64), (200, 30, 30)).save(path)
    return path


def assert_no_secret(value) -> None:
    text = json.dumps(value)
    for secret in (KEY, HEADER, QUERY):
        assert secret not in text


def test_generation_as_sent_matches_what_the_server_got(server, tmp_path):
    before = len(server.requests)
    task = run(server, tmp_path, quality="high", size="1536x1024", stream=False)
    (got,) = [r for r in server.requests[before:] if r["method"] == "POST"]
    (call,) = task.sent
    assert call["method"] == "POST"
    assert call["url"] == f"{server.base_url}/images/generations"
    assert call["json"] == got["json"]  # the body, exactly
    assert call["json"] == {
        "model": "gpt-image-2",
        "prompt": "a fox in the snow",
        "size": "1536x1024",
        "quality": "high",
    }
    assert call["headers"]["Authorization"] == "Bearer ***"
    assert call["headers"]["X-Org"] == "***" and call["query"] == {"api-version": "***"}
    assert got["headers"]["authorization"] == f"Bearer {KEY}"  # the real one was sent
    assert_no_secret(task.sent)


def test_edit_as_sent_lists_files_and_form(server, tmp_path):
    image = png_file(tmp_path / "in.png")
    before = len(server.requests)
    task = run(server, tmp_path, images=(image,), quality="low", stream=False)
    (got,) = [r for r in server.requests[before:] if r["method"] == "POST"]
    (call,) = task.sent
    assert call["url"].endswith("/images/edits")
    assert call["form"] == got["form"]
    (file,) = call["files"]
    assert file == {
        "field": "image",
        "filename": "in.png",
        "type": "image/png",
        "bytes": image.stat().st_size,
    }
    assert_no_secret(task.sent)


def test_responses_as_sent_reduces_data_urls(server, tmp_path):
    image = png_file(tmp_path / "in.png")
    task = run(
        server, tmp_path, api_mode="responses", images=(image,), stream=True, partial_images=1
    )
    (call,) = task.sent
    assert call["url"].endswith("/responses")
    content = call["json"]["input"][0]["content"]
    assert content[1] == {
        "type": "input_image",
        "image_url": f"data:image/png;base64,… ({image.stat().st_size:,} bytes)",
    }
    assert call["json"]["tools"][0]["type"] == "image_generation"
    assert_no_secret(task.sent)


def test_kept_in_the_history(server, tmp_path):
    task = run(server, tmp_path, stream=False)
    with Store(tmp_path / "data") as store:
        store.save(task)
    with Store(tmp_path / "data") as store:
        again = store.get(task.id)
    assert again.sent == task.sent
