"""`service.FrameDecoder`: which frames of a task are decoded for its card. Once a final is
shown only an earlier image's final is decoded (the card moves to the first image, as
the history shows it); later finals and previews cost only their base64."""

from __future__ import annotations

import io

from PIL import Image

from imgtui.api.events import Completed, Partial
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


def test_partial_frames_are_shrunk_to_the_preview_panes_box_too_when_asked():
    decoder = FrameDecoder((16, 16))
    assert decoder(Partial(slot=0, index=0, image=png())).size == (16, 16)
    assert decoder.made_also(0, 0, (24, 24)) is None  # not asked for then
    decoder.also = ((24, 24), 2)
    assert decoder(Partial(slot=0, index=1, image=png())).size == (16, 16)
    assert decoder.made_also(0, 1, (24, 24)).size == (24, 24)
    assert decoder.made_also(0, 0, (24, 24)) is None  # another frame
    assert decoder.made_also(0, 1, (30, 30)) is None  # another box
    assert decoder.made_also(1, 1, (24, 24)) is None  # another image
    decoder.wanted = False  # the card cannot be seen: nothing for it, the pane's still
    assert decoder(Partial(slot=0, index=2, image=png())) is None
    assert decoder.skipped == 1
    assert decoder.made_also(0, 2, (24, 24)).size == (24, 24)
    assert decoder(Completed(slot=0, image=png())) is None  # finals: the card's alone
