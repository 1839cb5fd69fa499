"""Recipes inside saved images (imgtui.recipe): PNG text chunk, JPEG/WebP XMP."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from imgtui.api.events import Completed
from imgtui.recipe import RECIPE_KEY, Recipe, RecipeError, embed, read, read_file, write_file
from imgtui.tasks import Task, apply


def _image(fmt: str, mode: str = "RGB", **kw) -> bytes:
    rng = np.random.default_rng(1)
    arr = rng.integers(0, 256, (24, 32, 4 if mode == "RGBA" else 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr, mode).save(buf, fmt, **kw)
    return buf.getvalue()


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im)


RECIPE = Recipe(
    prompt="a red fox in snow — 狐狸 <b>&</b>",
    params={"model": "gpt-image-2", "size": "1024x1024", "quality": "high", "n": 2},
    revised_prompt="A red fox standing in fresh snow",
    model="gpt-image-2",
    profile_name="work relay",
    response_id="resp_123",
    parent_id="abc123",
    task_id="def456",
    slot=1,
    created_at=1_700_000_000.5,
)


@pytest.mark.parametrize(
    ("fmt", "mode", "kw"),
    [("PNG", "RGBA", {}), ("JPEG", "RGB", {"quality": 85}), ("WEBP", "RGB", {"quality": 80})],
)
def test_recipe_round_trips_and_pixels_are_unchanged(fmt, mode, kw):
    data = _image(fmt, mode, **kw)
    out = embed(data, RECIPE)
    assert read(out) == RECIPE
    assert read(data) is None
    assert np.array_equal(_pixels(out), _pixels(data))


def test_image_data_is_never_re_encoded():
    png = _image("PNG", "RGBA")
    idat = b"".join(c for t, c in _chunks(png) if t == b"IDAT")
    assert idat == b"".join(c for t, c in _chunks(embed(png, RECIPE)) if t == b"IDAT")
    jpeg = _image("JPEG", quality=85)
    sos = jpeg.index(b"\xff\xda")  # start of scan: the compressed image data follows
    assert jpeg[sos:] in embed(jpeg, RECIPE)
    webp = _image("WEBP", quality=80)
    vp8 = webp.index(b"VP8")
    assert webp[vp8:] in embed(webp, RECIPE)


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    out, i = [], 8
    while i < len(png):
        n = int.from_bytes(png[i : i + 4], "big")
        out.append((png[i + 4 : i + 8], png[i + 8 : i + 8 + n]))
        i += 12 + n
    return out


def test_png_recipe_is_a_text_chunk_and_every_other_chunk_is_kept():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "elsewhere")
    buf = io.BytesIO()
    pal = Image.new("P", (8, 8), 0)
    pal.putpalette([0, 0, 0, 255, 0, 0])
    pal.putpixel((1, 1), 1)
    pal.save(buf, "PNG", pnginfo=info, transparency=0)
    original = buf.getvalue()
    out = embed(original, RECIPE)
    added = [c for c in _chunks(out) if c not in _chunks(original)]
    assert [t for t, _ in added] == [b"iTXt"]
    assert added[0][1].startswith(b"XML:com.adobe.xmp\0")
    assert [c for c in _chunks(out) if c not in added] == _chunks(original)
    # Embedding again replaces the recipe instead of adding a second one.
    again = embed(out, Recipe(prompt="second"))
    assert read(again) == Recipe(prompt="second")
    assert again.count(b"imgtui:recipe") == 1


def test_a_plain_png_text_chunk_recipe_is_read_too():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_itxt(RECIPE_KEY, RECIPE.to_json())
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "PNG", pnginfo=info)
    assert read(buf.getvalue()) == RECIPE


def test_keys_never_enter_a_recipe():
    r = Recipe(prompt="p", params={"model": "m", "api_key": "sk-secret", "Authorization": "x"})
    assert r.params == {"model": "m"}
    assert "sk-secret" not in r.to_json()


def test_malformed_or_foreign_recipes_read_as_none():
    from PIL import PngImagePlugin

    for text in ("not json", '{"no": "prompt"}', '{"prompt": "p", "params": [1]}'):
        info = PngImagePlugin.PngInfo()
        info.add_itxt(RECIPE_KEY, text)
        buf = io.BytesIO()
        Image.new("RGB", (4, 4)).save(buf, "PNG", pnginfo=info)
        assert read(buf.getvalue()) is None
    assert read(b"GIF89a not really") is None
    assert read(b"") is None


def test_unknown_formats_cannot_carry_a_recipe():
    with pytest.raises(RecipeError):
        embed(b"GIF89a" + b"\0" * 20, RECIPE)
    with pytest.raises(RecipeError):
        embed(b"\x89PNG\r\n\x1a\nbroken", RECIPE)


def test_recipe_from_a_finished_task(tmp_path):
    task = Task(
        prompt="a castle",
        params={"model": "gpt-image-1.5", "size": "1536x1024", "n": 2},
        profile_name="demo",
        parent_id="parent1",
    )
    task.start()
    png = _image("PNG")
    apply(task, Completed(slot=1, image=png, revised_prompt="A castle at dusk", response_id="r9"))
    recipe = Recipe.from_task(task, slot=1)
    assert recipe.prompt == "a castle"
    assert recipe.revised_prompt == "A castle at dusk"
    assert recipe.response_id == "r9"
    assert recipe.model == "gpt-image-1.5"
    assert recipe.params == dict(task.params)
    assert recipe.parent_id == "parent1" and recipe.task_id == task.id and recipe.slot == 1
    path = tmp_path / "castle.png"
    write_file(path, png, recipe)
    assert read_file(path) == recipe
