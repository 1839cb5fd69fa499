"""The Textual app. Importing this package imports nothing heavy.

`run_app()` here is the fast way in: it imports textual-image (which probes the terminal
at import, waiting on the terminal's answers) in a thread while the app's modules import,
then runs `imgtui.tui.app.run_app`.

textual-image 0.12's probe asks for Sixel (DA1, which every terminal answers at once),
then, without Sixel, for the Kitty graphics protocol (a query that a terminal without it
never answers: a 100 ms timeout). Later versions send one batched query that DA1's reply
ends (no timeout) and pass the Kitty query through tmux. Its Sixel encoder imports numpy
(tens of ms). The probe thread leaves out what cannot change the outcome: with the 0.12
probe, both queries when the renderer is set (the probe only resolves `auto`) and the Kitty
query inside tmux or GNU screen (neither passes it on to the terminal); with any version,
numpy whenever Sixel will not be used.
"""

from __future__ import annotations

import gc
import os
import sys
import threading


def run_app(renderer: str | None = None, profile: str | None = None) -> int:
    """The `imgtui` command: probe the terminal (`terminal.probe`: the user's keys typed
    meanwhile are kept and replayed into the app) while the app's modules import, then run."""
    # The imports build ~80k objects that live as long as the process, and next to no
    # garbage: collecting while they build costs ~10 ms, and a full pass over them would
    # land before the first frame (~20 ms). So no collection until they are built, and
    # then they are frozen (left out of every later collection).
    gc.disable()
    try:
        resolved: list[str] = []
        thread = threading.Thread(
            target=_probe, args=(renderer, resolved), name="imgtui-terminal-probe", daemon=True
        )
        thread.start()
        from imgtui.tui import app

        thread.join()
        gc.freeze()
    finally:
        gc.enable()
    return app.run_app(renderer=resolved[0] if resolved else renderer, profile=profile)


def _probe(renderer: str | None, resolved: list[str]) -> None:
    """Resolve `auto` with imgtui's own probe (`terminal.probe`), then import textual-image
    asking the terminal nothing more. `resolved` gets the concrete renderer, if any."""
    try:
        from imgtui.tui import terminal

        setting = _renderer_setting(renderer)
        if setting == "auto" and _is_tty():
            caps = terminal.probe(ask_kitty=not terminal.in_multiplexer())
            terminal.seed_textual_image(caps)
            setting = caps.renderer()
            resolved.append(setting)
        terminal.import_textual_image(setting)
    except Exception:  # the app reports renderer problems itself (its own import probes in full)
        pass


def _is_tty() -> bool:
    return bool(
        sys.__stdin__ and sys.__stdin__.isatty() and sys.__stdout__ and sys.__stdout__.isatty()
    )


def _renderer_setting(renderer: str | None) -> str:
    """What `imgtui.tui.app.run_app` will ask for: $IMGTUI_RENDERER, else `renderer`, else settings."""
    from imgtui.tui.imaging import renderer_name

    if os.environ.get("IMGTUI_RENDERER") or renderer:
        return renderer_name(renderer)
    from imgtui.config import load

    try:
        return renderer_name(load().settings.renderer)
    except Exception:  # run_app reports a bad config
        return "auto"
