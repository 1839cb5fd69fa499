"""Local transparency end to end on the wire: the prompt instruction goes out, the demo
server draws on the key colour as a model would, and the result keys out here."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from imgtui.api import Completed, Connection, ImageRequest, stream_images
from imgtui.transparency import GREEN, key_out, transparent_prompt


async def test_a_sticker_made_through_the_demo_keys_out(server):
    conn = Connection(base_url=server.base_url)
    req = ImageRequest(prompt=transparent_prompt("a round sticker"), size="1024x1024", stream=False)
    events = [e async for e in stream_images(conn, req)]
    (done,) = [e for e in events if isinstance(e, Completed)]
    with Image.open(io.BytesIO(done.image)) as im:
        rgb = np.asarray(im.convert("RGB"))
    assert tuple(rgb[0, 0]) == GREEN  # the server followed the instruction
    result = key_out(done.image)
    assert result.key == GREEN
    with Image.open(io.BytesIO(result.png)) as im:
        alpha = np.asarray(im)[..., 3]
    assert alpha[0, 0] == 0 and alpha[-1, -1] == 0
    assert (alpha == 255).any()  # the subject stays
    assert 0.05 < result.transparent < 0.95
    assert server.requests[-1]["json"]["prompt"].startswith("a round sticker\n\n")
