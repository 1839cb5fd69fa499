"""Start-up: `imgtui.tui.run_app`'s terminal probe picks the renderer textual-image's own
probe picks, asking the terminal less (a child process on a pty that plays the terminal)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import select
import sys
from pathlib import Path

import pytest

from imgtui.tui import in_multiplexer

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
    tui.import_textual_image(tui._renderer_setting(None))
from imgtui.tui import imaging
kind = imaging.prepare_renderer(imaging.renderer_name(None))
result = {"kind": kind, "numpy": "numpy" in sys.modules}
os.write(sys.stdout.fileno(), ("RESULT" + json.dumps(result) + "\n").encode())
"""

QUERY = re.compile(rb"\x1b\[c|\x1b_G[^\x1b]*\x1b\\|\x1b\[16t")


def probe(
    tmp_path: Path, how: str, *, sixel: bool, kitty: bool, env: dict[str, str]
) -> tuple[dict, list[str]]:
    """Run the probe on a pty that answers DA1 (with Sixel or not) and, if `kitty`, the Kitty query."""
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
                    os.write(fd, b"\x1b[?62;4;22c" if sixel else b"\x1b[?62;22c")
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
    theirs, asked_by_them = probe(tmp_path, "textual-image", env={}, **TERMINALS[terminal])
    ours, asked_by_us = probe(tmp_path, "imgtui", env={}, **TERMINALS[terminal])
    assert (
        ours["kind"]
        == theirs["kind"]
        == {"sixel": "sixel", "kitty": "tgp", "plain": "halfcell"}[terminal]
    )
    assert ours["numpy"] is (HAS_NUMPY and terminal == "sixel")  # only the Sixel encoder uses it
    assert asked_by_us.count("kitty") == asked_by_them.count("kitty")
    assert "cell size" in asked_by_us


@sequential_probe_only
def test_inside_tmux_the_kitty_query_is_not_sent(tmp_path):
    result, asked = probe(
        tmp_path, "imgtui", sixel=False, kitty=False, env={"TMUX": "/tmp/tmux-1/default,1,0"}
    )
    assert result == {"kind": "halfcell", "numpy": False}
    assert asked == ["DA1", "cell size"]


def test_sixel_through_tmux_is_still_found(tmp_path):
    result, _ = probe(tmp_path, "imgtui", sixel=True, kitty=False, env={"TERM": "tmux-256color"})
    assert result == {"kind": "sixel", "numpy": HAS_NUMPY}


@pytest.mark.parametrize("renderer", ["halfcell", "tgp"])
def test_a_set_renderer_skips_both_queries(tmp_path, renderer):
    result, asked = probe(
        tmp_path, "imgtui", sixel=True, kitty=True, env={"IMGTUI_RENDERER": renderer}
    )
    assert result == {"kind": renderer, "numpy": False}
    if SEQUENTIAL_PROBE:
        assert asked == ["cell size"]


def test_the_renderer_in_settings_counts(tmp_path):
    (tmp_path / "none.toml").write_text('[settings]\nrenderer = "unicode"\n')
    result, asked = probe(tmp_path, "imgtui", sixel=True, kitty=True, env={})
    assert result["numpy"] is False  # Sixel was on offer, but unicode is set
    if SEQUENTIAL_PROBE:
        assert asked == ["cell size"]


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
