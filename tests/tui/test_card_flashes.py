"""One-frame flashes of a card's picture (issue 13.8), shown by the widget tree and by what
the Sixel widget writes, not by timing.

- A new card's picture box gets one Sixel widget for its whole life: the first picture
  goes to it (textual-image recomposed on every change: a new widget, the picture painted
  twice with an empty box between).
- No repaint of a shown picture blanks the cells it covers first: not at a new frame, not
  at the card's state changes (running -> partial -> done), not when the selection moves.
  Blanked cells show as empty until the terminal has decoded the Sixel again.
"""

from __future__ import annotations

from imgtui.store import Store
from imgtui.tui import terminal, testing
from tests.tui.pilot import SIZE, RecordingApp, settled, submit, wait_for

DEMO_DELAY = 0.05


def blanks_covered_cells(strips) -> bool:
    """A render that blanks cells under the picture: a row left empty (Textual pads it with
    blank cells) or holding a run of spaces. Every row must only move the cursor over the
    picture's cells, or carry the Sixel (on the first row)."""
    return any(
        not list(strip) or any(s.text and s.text.isspace() for s in strip) for strip in strips
    )


async def test_a_sixel_card_never_blanks_or_replaces_its_picture(tmp_path, server, monkeypatch):
    sixel = terminal.sixel_widget_class()
    composed: dict[int, int] = {}  # outer widget -> inner widgets composed
    renders: list[tuple[int, list]] = []  # (outer widget, strips) of renders with a picture
    compose = sixel.compose

    def counting_compose(self):
        outer = id(self)
        composed[outer] = composed.get(outer, 0) + 1
        for inner in compose(self):
            render = inner.render_lines

            def recording(crop, inner=inner, render=render, outer=outer):
                strips = render(crop)
                if inner.image is not None and len(strips) > 1:
                    renders.append((outer, strips))
                return strips

            inner.render_lines = recording
            yield inner

    monkeypatch.setattr(sixel, "compose", counting_compose)
    app = RecordingApp(
        config=testing.demo_config(tmp_path, partial_images=2),
        store=Store(tmp_path / "data"),
        demo_base_url=server.base_url,
        renderer="sixel",
    )
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        first = await submit(pilot, "a red fox")
        await wait_for(pilot, lambda: first.status.ended, what="the first task")
        second = await submit(pilot, "a blue fox")  # moves the selection off the first card
        await wait_for(pilot, lambda: second.status.ended, what="the second task")
        await pilot.pause()
        assert app.seen[first.id][-1] == "done" and "frame 2 of 2" in app.seen[first.id]
        card = app.task_list.card(first.id)
        assert card is not None and card.has_final
        outer = card.query_one(sixel)
        assert composed[id(outer)] == 1, "the picture box got a new Sixel widget"
        mine = [strips for who, strips in renders if who == id(outer)]
        assert len(mine) >= 3  # first frame, second frame, final (and repaints)
        assert not [s for s in mine if blanks_covered_cells(s)], "a repaint blanked the picture"
