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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import ModuleType

_SIXEL_QUERY = ("\x1b[?", "c")  # the reply markers textual-image waits for after DA1
_KITTY_QUERY = ("\x1b_G", "\x1b\\")  # ... and after its Kitty graphics query
_KITTY_TERMS = ("xterm-kitty", "xterm-ghostty")


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
        setting = _renderer_setting(renderer)
        if setting == "auto" and _is_tty():
            from imgtui.tui import terminal

            caps = terminal.probe(ask_kitty=not in_multiplexer())
            terminal.seed_textual_image(caps)
            setting = caps.renderer()
            resolved.append(setting)
        import_textual_image(setting)
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


def import_textual_image(renderer: str) -> None:
    """Import textual-image (call before Textual owns the terminal), asking the terminal
    only what can change the renderer `renderer` ends up as."""
    if "textual_image.renderable" in sys.modules:
        return
    from textual_image import _terminal

    tty = bool(sys.__stdout__ and sys.__stdout__.isatty())
    skip: set[tuple[str, str]] = set()
    if hasattr(_terminal, "probe_terminal"):  # the batched probe (cached): nothing to leave out
        sixel = renderer == "sixel" or (
            renderer == "auto" and tty and _terminal.probe_terminal().sixel
        )
    elif renderer != "auto":
        skip = {_SIXEL_QUERY, _KITTY_QUERY}
        sixel = renderer == "sixel"
    else:
        sixel = tty and _answers_sixel(_terminal)
        if not sixel:
            skip.add(_SIXEL_QUERY)  # asked already
        if in_multiplexer():
            skip.add(_KITTY_QUERY)

    ask = _terminal.capture_terminal_response

    def capture(start_marker: str, end_marker: str, timeout: float | None = None):
        if (
            start_marker,
            end_marker,
        ) in skip:  # the query then reports "unsupported" and sends nothing
            raise _terminal.TerminalError("not asked")
        return ask(start_marker, end_marker, timeout)

    no_numpy = None if sixel else _Unimportable("numpy", threading.current_thread())
    if no_numpy is not None:
        sys.meta_path.insert(0, no_numpy)
    if skip:
        _terminal.capture_terminal_response = capture  # the renderable modules bind it at import
    try:
        import textual_image.renderable
        import textual_image.widget  # noqa: F401  (caches the cell size)
    finally:
        if no_numpy is not None:
            sys.meta_path.remove(no_numpy)
        if skip:
            _terminal.capture_terminal_response = ask
            for name in ("textual_image.renderable.sixel", "textual_image.renderable.tgp"):
                module = sys.modules.get(name)
                if getattr(module, "capture_terminal_response", None) is capture:
                    module.capture_terminal_response = ask  # type: ignore[union-attr]


def in_multiplexer(environ: Mapping[str, str] | None = None) -> bool:
    """Inside tmux or GNU screen: both answer DA1 themselves and never pass a Kitty graphics
    query on (an application would have to wrap it in tmux's passthrough).

    $TMUX is inherited by a terminal started from inside tmux; kitty and Ghostty, which
    do answer the query, name themselves in $TERM.
    """
    env = os.environ if environ is None else environ
    term = env.get("TERM", "")
    if term.startswith(("tmux", "screen")):
        return True
    return bool(env.get("TMUX")) and term not in _KITTY_TERMS


def _answers_sixel(terminal: ModuleType) -> bool:
    """textual-image's Sixel check (`renderable.sixel.query_terminal_support`)."""
    try:
        with terminal.capture_terminal_response(*_SIXEL_QUERY, timeout=0.1) as response:
            sys.__stdout__.write("\x1b[c")  # type: ignore[union-attr]
            sys.__stdout__.flush()  # type: ignore[union-attr]
    except (terminal.TerminalError, TimeoutError):
        return False
    return "4" in response.sequence[len(_SIXEL_QUERY[0]) : -len(_SIXEL_QUERY[1])].split(";")


class _Unimportable:
    """A meta path finder that makes `import <name>` fail in one thread (textual-image's
    Sixel encoder then does without numpy; no other renderer uses it)."""

    def __init__(self, name: str, thread: threading.Thread) -> None:
        self.name = name
        self.thread = thread

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname == self.name and threading.current_thread() is self.thread:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None
