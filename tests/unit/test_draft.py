"""Drafts and typed parameters: one request builder for the composer and `imgtui generate`."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PIL import Image

from imgtui.api.request import RequestError
from imgtui.config import Profile
from imgtui.draft import Attachments, Draft, Params
from imgtui.tasks import ImageParams, Task, finite

PROFILE = Profile("P", "https://relay.example/v1", model="gpt-image-2", partial_images=3)


def png(path: Path) -> Path:
    Image.new("RGBA", (16, 16)).save(path)
    return path


def test_choice_to_request_carries_every_parameter(tmp_path):
    choice = Params(PROFILE, size="1536x1024", quality="high", n=2, output_format="webp")
    attachments = Attachments([png(tmp_path / "a.png")], png(tmp_path / "m.png"), "parent1")
    draft = Draft.from_choice("  a fox  ", choice, attachments).check()
    req = draft.request()
    assert (req.prompt, req.model, req.size, req.quality, req.n) == (
        "a fox", "gpt-image-2", "1536x1024", "high", 2,
    )  # fmt: skip
    assert (req.output_format, req.partial_images, req.stream) == ("webp", 3, True)
    assert [i.name for i in req.images] == ["a.png"] and req.mask is not None
    task = draft.task()
    assert task.params == draft.params and task.parent_id == "parent1"
    assert task.input_images == [str((tmp_path / "a.png").resolve())]


def test_refine_in_responses_mode_continues_the_response():
    choice = Params(Profile("R", "https://relay.example/v1", api_mode="responses"))
    draft = Draft.from_choice("more", choice, Attachments(previous_response_id="resp_1"))
    assert draft.request().previous_response_id == "resp_1"
    images_mode = Draft.from_choice("more", Params(PROFILE), Attachments(previous_response_id="x"))
    assert images_mode.params.previous_response_id is None


@pytest.mark.parametrize(
    "change, field",
    [
        ({"size": "1000x1000"}, "size"),
        ({"n": 11}, "n"),
        ({"partial_images": 4}, "partial_images"),
        ({"output_compression": 50}, "output_compression"),
    ],
)
def test_check_names_the_bad_field(change, field):
    params = ImageParams(**change)
    with pytest.raises(RequestError) as err:
        Draft("x", PROFILE, params).check()
    assert err.value.field == field


def test_check_refuses_missing_files_and_a_mask_without_images(tmp_path):
    with pytest.raises(RequestError, match="no such file"):
        Draft("x", PROFILE, ImageParams(), (tmp_path / "nope.png",)).check()
    with pytest.raises(RequestError, match="needs at least one input image"):
        Draft("x", PROFILE, ImageParams(), (), png(tmp_path / "m.png")).check()


def test_check_refuses_an_unset_key_reference(monkeypatch):
    monkeypatch.delenv("IMGTUI_TEST_UNSET", raising=False)
    profile = Profile("K", "https://relay.example/v1", api_key="${IMGTUI_TEST_UNSET}")
    with pytest.raises(RequestError) as err:
        Draft("x", profile, ImageParams()).check()
    assert err.value.field == "api_key" and "IMGTUI_TEST_UNSET" in err.value.message


def test_image_params_round_trip_and_tolerate_old_rows():
    params = ImageParams(model="m", n=3, partial_images=2, moderation="low")
    assert ImageParams.from_json(params.to_json()) == params
    old = {"model": "m", "n": "3", "stream": "yes", "size": 7, "n_extra": 1, "partial_images": 2.0}
    assert ImageParams.from_json(old) == ImageParams(model="m", partial_images=2)
    assert Task("p", {"n": 2, "stream": False, "partial_images": 3}).partial_images == 0


def test_finite_replaces_nan_and_infinity():
    usage = {"total_tokens": math.nan, "details": {"x": math.inf, "y": 1.5}, "list": [-math.inf]}
    assert finite(usage) == {"total_tokens": None, "details": {"x": None, "y": 1.5}, "list": [None]}
