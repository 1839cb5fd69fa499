"""`service.FrameDecoder`: which frames of a task are decoded for its card. Once a final is
shown only an earlier image's final is decoded (the card moves to the first image, as
the history shows it); later finals and previews cost only their base64."""

from __future__ import annotations

import io

from PIL import Image

from imgtui.api.events import Completed
from imgtui.service import FrameDecoder


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def test_only_earlier_finals_are_decoded_once_one_is_shown():
    decoder = FrameDecoder((16, 16))
    assert decoder(Completed(slot=2, image=png())) is not None  # the first to finish
    assert decoder(Completed(slot=3, image=png())) is None  # later image: not shown
    assert decoder(Completed(slot=0, image=png())) is not None  # image 1: the card moves
    assert decoder(Completed(slot=1, image=png())) is None
    assert decoder.shown_slot == 0


def test_a_final_not_wanted_is_not_decoded_and_a_later_one_still_can_be():
    decoder = FrameDecoder((16, 16))
    decoder.wanted = False  # the card cannot be seen
    assert decoder(Completed(slot=1, image=png())) is None
    assert decoder.skipped == 1 and decoder.shown_slot is None
    decoder.wanted = True
    assert decoder(Completed(slot=2, image=png())) is not None
    assert decoder.shown_slot == 2
