"""Start-up: `imgtui.tui.run_app`'s terminal probe picks the renderer textual-image's own
probe picks (bar kitty before 0.28), in one batch, keeping what the user types meanwhile
(a child process on a pty that plays the terminal)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import select
import sys
from pathlib import Path

import pytest

from imgtui.tui.terminal import in_multiplexer

pty = pytest.importorskip("pty")

SRC = str(Path(__file__).parents[2] / "src")
HAS_NUMPY = importlib.util.find_spec("numpy") is not None
# textual-image 0.12 asks one query after another; later versions send one batch (DA1 last,
# so no timeout) and pass the Kitty query through tmux: nothing there to leave out.
SEQUENTIAL_PROBE = not hasattr(importlib.import_module("textual_image._terminal"), "probe_terminal")
sequential_probe_only = pytest.mark.skipif(
    not SEQUENTIAL_PROBE, reason="textual-image batches its probe"
)

CHILD = r"""
import json, os, sys
if sys.argv[1] == "textual-image":
    import textual_image.widget
else:
    import imgtui.tui as tui
    resolved = []
    tui._probe(None, resolved)
from imgtui.tui import imaging, terminal
kind = imaging.prepare_renderer(
    resolved[0] if sys.argv[1] != "textual-image" and resolved else imaging.renderer_name(None)
)
result = {"kind": kind, "numpy": "numpy" in sys.modules, "typed": terminal.typed_during_probe()}
os.write(sys.stdout.fileno(), ("RESULT" + json.dumps(result) + "\n").encode())
"""

QUERY = re.compile(rb"\x1b\[c|\x1b_G[^\x1b]*\x1b\\|\x1b\[16t|\x1b\[>0q")


def probe(
    tmp_path: Path,
    how: str,
    *,
    sixel: bool,
    kitty: bool,
    env: dict[str, str],
    version: bytes = b"",
    typed: tuple[bytes, bytes] = (b"", b""),
) -> tuple[dict, list[str]]:
    """Run the probe on a pty that answers DA1 (with Sixel or not), if `kitty` the Kitty
    query, XTVERSION with `version` if given; `typed` is what the user types just before
    and just after the DA1 reply."""
    import fcntl
    import struct
    import termios

    child_env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "IMGTUI_RENDERER", "STY")}
    child_env |= {
        "PYTHONPATH": SRC,
        "TERM": "xterm-256color",
        "IMGTUI_CONFIG_FILE": str(tmp_path / "none.toml"),
    }
    child_env |= env
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover  (the child)
        os.execve(sys.executable, [sys.executable, "-c", CHILD, how], child_env)
    fcntl.ioctl(
        fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0)
    )  # no pixel size: ask for it
    out, asked = b"", []
    try:
        while b"RESULT" not in out or not out.endswith(b"\n"):
            ready, _, _ = select.select([fd], [], [], 20)
            if not ready:
                break
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            out += data
            while (m := QUERY.search(out)) is not None:
                query, out = m.group(0), out[m.end() :]
                if query == b"\x1b[c":
                    asked.append("DA1")
                    reply = b"\x1b[?62;4;22c" if sixel else b"\x1b[?62;22c"
                    os.write(fd, typed[0] + reply + typed[1])
                elif query == b"\x1b[>0q":
                    asked.append("XTVERSION")
                    if version:
                        os.write(fd, b"\x1bP>|" + version + b"\x1b\\")
                elif query == b"\x1b[16t":
                    asked.append("cell size")
                    os.write(fd, b"\x1b[6;20;10t")
                else:
                    asked.append("kitty")
                    if kitty:
                        os.write(
                            fd, b"\x1b_Gi=" + re.search(rb"i=(\d+)", query).group(1) + b";OK\x1b\\"
                        )
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
    m = re.search(rb"RESULT(\{.*\})", out)
    assert m is not None, out[-2000:]
    return json.loads(m.group(1)), asked


TERMINALS = {
    "sixel": dict(sixel=True, kitty=False),
    "kitty": dict(sixel=False, kitty=True),
    "plain": dict(sixel=False, kitty=False),
}


@pytest.mark.parametrize("terminal", list(TERMINALS))
def test_auto_picks_what_textual_image_picks(tmp_path, terminal):
    theirs, _ = probe(tmp_path, "textual-image", env={}, **TERMINALS[terminal])
    ours, asked_by_us = probe(tmp_path, "imgtui", env={}, **TERMINALS[terminal])
    assert (
        ours["kind"]
        == theirs["kind"]
        == {"sixel": "sixel", "kitty": "tgp", "plain": "halfcell"}[terminal]
    )
    assert ours["numpy"] is (HAS_NUMPY and terminal == "sixel")  # only the Sixel encoder uses it
    # one batch (DA1 last, so no timeout), each question once
    assert sorted(asked_by_us) == ["DA1", "XTVERSION", "cell size", "kitty"]
    assert "cell size" in asked_by_us


def test_inside_tmux_the_kitty_query_is_not_sent(tmp_path):
    result, asked = probe(
        tmp_path, "imgtui", sixel=False, kitty=False, env={"TMUX": "/tmp/tmux-1/default,1,0"}
    )
    assert (result["kind"], result["numpy"]) == ("halfcell", False)
    assert "kitty" not in asked


def test_sixel_through_tmux_is_still_found(tmp_path):
    result, _ = probe(tmp_path, "imgtui", sixel=True, kitty=False, env={"TERM": "tmux-256color"})
    assert (result["kind"], result["numpy"]) == ("sixel", HAS_NUMPY)


@pytest.mark.parametrize("renderer", ["halfcell", "tgp"])
def test_a_set_renderer_skips_both_queries(tmp_path, renderer):
    result, asked = probe(
        tmp_path, "imgtui", sixel=True, kitty=True, env={"IMGTUI_RENDERER": renderer}
    )
    assert (result["kind"], result["numpy"]) == (renderer, False)
    if SEQUENTIAL_PROBE:
        assert asked == ["cell size"]


def test_the_renderer_in_settings_counts(tmp_path):
    (tmp_path / "none.toml").write_text('[settings]\nrenderer = "unicode"\n')
    result, asked = probe(tmp_path, "imgtui", sixel=True, kitty=True, env={})
    assert result["numpy"] is False  # Sixel was on offer, but unicode is set
    if SEQUENTIAL_PROBE:
        assert asked == ["cell size"]


def test_keys_typed_during_the_probe_are_kept_and_the_reply_is_not_text(tmp_path):
    """Keys typed while the terminal is asked (before its DA1 reply) are the user's: kept
    in order, with nothing of the reply in them; the reply still counts (Sixel found)."""
    result, asked = probe(
        tmp_path, "imgtui", sixel=True, kitty=False, env={}, typed=(b"rose \x1b[Dga", b"")
    )
    assert result["kind"] == "sixel"
    assert result["typed"] == "rose \x1b[Dga"
    assert "DA1" in asked


@pytest.mark.parametrize(
    ("version", "expected"),
    [(b"kitty(0.26.5)", "halfcell"), (b"kitty(0.31.2)", "tgp"), (b"", "tgp")],
    ids=["kitty-0.26", "kitty-0.31", "no-xtversion"],
)
def test_kitty_before_0_28_falls_back_to_half_cells(tmp_path, version, expected):
    """kitty gained Unicode placeholders (how textual-image draws) in 0.28: before that the
    pictures are green boxes, so half cells instead."""
    result, asked = probe(tmp_path, "imgtui", sixel=False, kitty=True, env={}, version=version)
    assert result["kind"] == expected
    assert "XTVERSION" in asked


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"TERM": "xterm-256color"}, False),
        ({"TERM": "tmux-256color"}, True),
        ({"TERM": "screen.xterm-256color"}, True),
        ({"TERM": "xterm-256color", "TMUX": "/tmp/tmux-1/default,1,0"}, True),
        (
            {"TERM": "xterm-kitty", "TMUX": "/tmp/tmux-1/default,1,0"},
            False,
        ),  # kitty started from a tmux pane
    ],
)
def test_in_multiplexer(env, expected):
    assert in_multiplexer(env) is expected


def test_the_app_keeps_keys_typed_while_it_starts(tmp_path):
    """The whole `imgtui` on a pty: keys typed before and after the terminal's DA1 reply
    all reach the prompt, in order, and the reply itself does not; Enter sends it."""
    import fcntl
    import struct
    import termios
    import time

    from imgtui.store import Store

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "IMGTUI_"))}
    env |= {
        "PYTHONPATH": SRC,
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "IMGTUI_CONFIG_FILE": str(tmp_path / "config.toml"),
        "IMGTUI_DATA_DIR": str(tmp_path / "data"),
        "IMGTUI_DEMO_DELAY": "0",
    }
    env.pop("TMUX", None)
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover  (the child)
        os.execve(sys.executable, [sys.executable, "-m", "imgtui"], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 1000, 600))
    out = b""
    sent_typing = False

    def pump(seconds: float) -> None:
        nonlocal out, sent_typing
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:
                return
            out += data
            if not sent_typing and b"\x1b[c" in out:
                sent_typing = True  # typed before the reply, then after it
                os.write(fd, b"rose" + b"\x1b[?63;1;2;4;22c" + b" garden")

    def stored() -> list:
        store = Store(tmp_path / "data")
        try:
            store.open()
            return store.load(limit=5)
        except Exception:
            return []
        finally:
            store.close()

    try:
        deadline = time.monotonic() + 30
        while b"Generate" not in out and time.monotonic() < deadline:  # the footer is up
            pump(0.1)
        assert sent_typing, out[-500:]
        os.write(fd, b" at dusk\r")
        while not stored() and time.monotonic() < deadline:
            pump(0.2)
        tasks = stored()
        assert [t.prompt for t in tasks] == ["rose garden at dusk"]
        os.write(fd, b"\x11")  # Ctrl+Q
        pump(0.5)
        os.write(fd, b"y")  # (if a task still runs)
        pump(1.0)
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
