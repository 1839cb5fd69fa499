"""The desktop around the terminal (`imgtui.desktop`, `imgtui.files.pasted_paths`): dropped
and pasted file names, images on the system clipboard through stand-in `xclip`, `wl-paste`,
`wl-copy`, `osascript` and `tmux` scripts on PATH (real subprocesses), the bytes of OSC 52
inside and outside tmux, notifications, and a real tmux server's options and buffer."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from PIL import Image

from imgtui import desktop
from imgtui.desktop import DesktopError, TmuxOptions
from imgtui.files import pasted_paths

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_bytes(colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, "PNG")
    return out.getvalue()


def fake_tool(bin_dir: Path, name: str, body: str) -> Path:
    """An executable `name` in `bin_dir`: a shell script standing in for a clipboard tool."""
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


BASICS = ("sh", "cat", "sed", "tr", "echo", "printf", "sleep", "touch")  # what the stand-ins use


def basics(folder: Path) -> Path:
    """A folder with only the basic commands the stand-in scripts use, so a PATH of the
    stand-ins plus this finds no real xclip, wl-paste or tmux that the machine may have."""
    folder.mkdir(exist_ok=True)
    for name in BASICS:
        real = shutil.which(name)
        if real and not (folder / name).exists():
            (folder / name).symlink_to(real)
    return folder


def fake_path(bin_dir: Path) -> str:
    return f"{bin_dir}:{basics(bin_dir.parent / 'basics')}"


def fake_env(bin_dir: Path, **extra: str) -> dict[str, str]:
    env = {"PATH": fake_path(bin_dir), "HOME": str(bin_dir.parent)}
    env.update(extra)
    return env


# -- pasted and dropped file names ---------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "my photos").mkdir()
    named = {
        "plain": tmp_path / "cat.png",
        "spaced": tmp_path / "my photos" / "sea side.png",
        "quote": tmp_path / "Bob's dog.jpg",
        "percent": tmp_path / "100% done.png",
    }
    for path in named.values():
        path.write_bytes(png_bytes())
    return named


def test_pasted_paths_reads_what_terminals_paste_for_a_drop(files, tmp_path):
    plain, spaced, quote, percent = (
        files["plain"],
        files["spaced"],
        files["quote"],
        files["percent"],
    )
    assert pasted_paths(str(plain)) == [plain]
    assert pasted_paths(f"  {plain}\n") == [plain]
    assert pasted_paths(str(spaced)) == [spaced]  # bare, with spaces
    assert pasted_paths(f"'{spaced}'") == [spaced]  # GNOME Terminal, Konsole
    assert pasted_paths(f'"{spaced}"') == [spaced]
    assert pasted_paths(str(spaced).replace(" ", "\\ ")) == [spaced]  # iTerm2, macOS
    assert pasted_paths("'" + str(quote).replace("'", "'\\''") + "'") == [quote]
    assert pasted_paths(spaced.as_uri()) == [spaced]  # file:///.../my%20photos/sea%20side.png
    assert pasted_paths(percent.as_uri()) == [percent]  # %25 is one %
    assert pasted_paths("file://localhost" + str(plain)) == [plain]
    several = f"'{spaced}' {plain} {percent.as_uri()}"
    assert pasted_paths(several) == [spaced, plain, percent]
    assert pasted_paths(f"{plain.as_uri()}\r\n# a comment\r\n{spaced.as_uri()}\r\n") == [
        plain,
        spaced,
    ]  # text/uri-list
    assert pasted_paths(f"{plain} {plain}") == [plain]


def test_pasted_text_that_is_not_only_files_stays_text(files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert pasted_paths("a cat.png in the style of Hokusai") is None
    assert pasted_paths(f"{files['plain']} and more") is None
    assert pasted_paths(str(tmp_path / "missing.png")) is None
    assert pasted_paths(str(tmp_path / "my photos")) is None  # a folder
    assert pasted_paths("file://elsewhere" + str(files["plain"])) is None  # another host
    assert pasted_paths(f"'{files['plain']}") is None  # an unbalanced quote
    assert pasted_paths("") is None
    assert pasted_paths("cat.png") == [Path("cat.png")]  # relative to the working folder


# -- images on the system clipboard --------------------------------------------------------


def xclip_script(store: Path, targets: str) -> str:
    """A stand-in for xclip: TARGETS lists `targets`; `-o -t T` prints `store/T`;
    `-i -t T` saves stdin as `store/in-T` and the arguments as `store/args`."""
    return f"""
store={store}
echo "$@" > "$store/args"
case "$*" in
  *"-o -t TARGETS"*) printf '%s\\n' {targets} ;;
  *-o*) t=$(echo "$*" | sed 's/.*-t //'); f="$store/$(echo "$t" | tr / _)"
        [ -f "$f" ] || {{ echo "Error: target $t not available" >&2; exit 1; }}
        cat "$f" ;;
  *-i*) t=$(echo "$*" | sed 's/.*-t //'); cat > "$store/in-$(echo "$t" | tr / _)" ;;
esac
"""


def test_an_image_pasted_through_xclip(tmp_path):
    store = tmp_path / "clip"
    store.mkdir()
    (store / "image_png").write_bytes(png_bytes())
    fake_tool(tmp_path / "bin", "xclip", xclip_script(store, "TARGETS UTF8_STRING image/png"))
    got = desktop.read_clipboard_image(fake_env(tmp_path / "bin", DISPLAY=":0"), "linux")
    assert got.mime == "image/png" and got.data == png_bytes() and got.paths == ()


def test_no_image_on_the_clipboard_says_so(tmp_path):
    store = tmp_path / "clip"
    store.mkdir()
    fake_tool(tmp_path / "bin", "xclip", xclip_script(store, "TARGETS UTF8_STRING STRING"))
    with pytest.raises(DesktopError, match="no image on the clipboard"):
        desktop.read_clipboard_image(fake_env(tmp_path / "bin", DISPLAY=":0"), "linux")


def test_files_copied_in_a_file_manager_come_as_paths(tmp_path):
    store = tmp_path / "clip"
    store.mkdir()
    picture = tmp_path / "copied picture.png"
    picture.write_bytes(png_bytes())
    (store / "text_uri-list").write_text(picture.as_uri() + "\r\n")
    fake_tool(tmp_path / "bin", "xclip", xclip_script(store, "TARGETS text/uri-list"))
    got = desktop.read_clipboard_image(fake_env(tmp_path / "bin", DISPLAY=":0"), "linux")
    assert got.paths == (picture,) and got.data == b""


def test_clipboard_bytes_that_are_no_image_are_refused(tmp_path):
    store = tmp_path / "clip"
    store.mkdir()
    (store / "image_png").write_bytes(b"<html>not a picture</html>")
    fake_tool(tmp_path / "bin", "xclip", xclip_script(store, "image/png"))
    with pytest.raises(DesktopError, match="not a PNG, JPEG, WebP or GIF"):
        desktop.read_clipboard_image(fake_env(tmp_path / "bin", DISPLAY=":0"), "linux")


def test_an_image_pasted_through_wl_paste_under_wayland(tmp_path):
    data = png_bytes((0, 0, 255))
    (tmp_path / "clip.png").write_bytes(data)
    fake_tool(
        tmp_path / "bin",
        "wl-paste",
        f"""case "$*" in
  --list-types) printf 'text/plain\\nimage/png\\n' ;;
  "--no-newline --type image/png") cat {tmp_path / "clip.png"} ;;
  *) exit 2 ;;
esac
""",
    )
    fake_tool(tmp_path / "bin", "wl-copy", "cat > /dev/null\n")
    env = fake_env(tmp_path / "bin", WAYLAND_DISPLAY="wayland-0", DISPLAY=":0")
    assert desktop.clipboard_tool(env, "linux") is desktop.WL_CLIPBOARD
    assert desktop.read_clipboard_image(env, "linux").data == data


def test_an_image_pasted_through_osascript_on_macos(tmp_path):
    data = png_bytes()
    fake_tool(tmp_path / "bin", "osascript", f"echo '«data PNGf{data.hex().upper()}»'\n")
    got = desktop.read_clipboard_image(fake_env(tmp_path / "bin"), "darwin")
    assert got.data == data and got.mime == "image/png"


def test_no_display_no_tool_no_hang(tmp_path):
    with pytest.raises(DesktopError, match="no desktop clipboard here"):
        desktop.clipboard_tool(fake_env(tmp_path / "bin"), "linux")
    with pytest.raises(DesktopError, match="need xclip"):
        desktop.clipboard_tool(fake_env(tmp_path / "nobin", DISPLAY=":0"), "linux")
    with pytest.raises(DesktopError, match="wl-clipboard"):
        desktop.clipboard_tool(fake_env(tmp_path / "nobin", WAYLAND_DISPLAY="w"), "linux")
    fake_tool(tmp_path / "bin", "xclip", "exec sleep 30\n")  # a clipboard owner that hangs
    with pytest.raises(DesktopError, match=r"did not answer within 0\.5 s"):
        desktop.read_clipboard_image(fake_env(tmp_path / "bin", DISPLAY=":0"), "linux", 0.5)
    fake_tool(
        tmp_path / "bin", "xclip", "echo 'Error: Can\x1b]0;x\x07t open display' >&2\nexit 1\n"
    )
    with pytest.raises(DesktopError, match=r"xclip failed: Error: Can\]0;xt open display"):
        desktop.read_clipboard_image(fake_env(tmp_path / "bin", DISPLAY=":0"), "linux")


def test_copying_an_image_puts_png_bytes_on_the_clipboard(tmp_path):
    store = tmp_path / "clip"
    store.mkdir()
    fake_tool(tmp_path / "bin", "xclip", xclip_script(store, "TARGETS"))
    jpeg = tmp_path / "photo.jpg"
    Image.new("RGB", (12, 10), (10, 200, 10)).save(jpeg, "JPEG")
    env = fake_env(tmp_path / "bin", DISPLAY=":0")
    assert desktop.copy_image_to_clipboard(jpeg, env, "linux") == "xclip"
    sent = (store / "in-image_png").read_bytes()
    assert sent.startswith(PNG_MAGIC)  # converted: PNG is what every application pastes
    assert Image.open(io.BytesIO(sent)).size == (12, 10)
    assert (store / "args").read_text().split() == [
        "-selection",
        "clipboard",
        "-i",
        "-t",
        "image/png",
    ]
    png = tmp_path / "a.png"
    png.write_bytes(png_bytes())
    desktop.copy_image_to_clipboard(png, env, "linux")
    assert (store / "in-image_png").read_bytes() == png_bytes()  # sent as it is


def test_text_goes_to_the_clipboard_as_utf8(tmp_path):
    store = tmp_path / "clip"
    store.mkdir()
    fake_tool(tmp_path / "bin", "xclip", xclip_script(store, "TARGETS"))
    env = fake_env(tmp_path / "bin", DISPLAY=":0")
    assert desktop.copy_to_clipboard("/tmp/café 1.png", env, "linux") is None
    assert (store / "in-UTF8_STRING").read_text() == "/tmp/café 1.png"
    assert desktop.copy_to_clipboard("x", fake_env(tmp_path / "bin"), "linux") == (
        "no desktop clipboard here (no display: over SSH only text can be copied, by the terminal)"
    )


def test_copying_returns_while_the_tool_keeps_serving_the_clipboard(tmp_path):
    """xclip and wl-copy fork a process that serves the clipboard and keeps the pipes it
    inherited: reading their output would wait for that process to end."""
    marker = tmp_path / "served"
    fake_tool(
        tmp_path / "bin",
        "xclip",
        f"cat > /dev/null\n(sleep 4; touch {marker}) &\nexit 0\n",
    )
    png = tmp_path / "a.png"
    png.write_bytes(png_bytes())
    desktop.copy_image_to_clipboard(png, fake_env(tmp_path / "bin", DISPLAY=":0"), "linux", 2.0)
    assert not marker.exists()  # returned while the server still runs


def test_copying_an_image_on_macos_reads_it_as_png(tmp_path):
    log = tmp_path / "osascript.log"
    fake_tool(tmp_path / "bin", "osascript", f'for a in "$@"; do echo "$a" >> {log}; done\n')
    png = tmp_path / "a.png"
    png.write_bytes(png_bytes())
    assert desktop.copy_image_to_clipboard(png, fake_env(tmp_path / "bin"), "darwin") == (
        "osascript"
    )
    args = log.read_text().splitlines()
    assert "set the clipboard to (read (POSIX file (item 1 of argv)) as «class PNGf»)" in args
    assert args[-1].endswith(".png")  # the file, as an argument: never inside the script


# -- OSC 52 and tmux -----------------------------------------------------------------------

TMUX_ENV = {"TMUX": "/tmp/tmux-0/default,1,0", "TERM": "tmux-256color", "TMUX_PANE": "%3"}


def test_osc52_bytes_outside_and_inside_tmux():
    assert desktop.osc52("héllo") == "\x1b]52;c;aMOpbGxv\x07"
    assert desktop.tmux_passthrough(desktop.osc52("héllo")) == (
        "\x1bPtmux;\x1b\x1b]52;c;aMOpbGxv\x07\x1b\\"
    )
    outside = desktop.terminal_copy({"TERM": "xterm-256color"}, None)
    assert outside.sequence("héllo") == "\x1b]52;c;aMOpbGxv\x07" and not outside.problem
    # a terminal started from a tmux pane inherits $TMUX, not tmux's $TERM
    assert not desktop.inside_tmux({"TMUX": "/tmp/x,1,0", "TERM": "xterm-kitty"})


@pytest.mark.parametrize(
    "options,sequence,buffer,problem",
    [
        (TmuxOptions("on", "0", "3.3a"), "plain", False, ""),
        (TmuxOptions("external", "1", "3.3a"), "wrapped", False, ""),
        (TmuxOptions("external", "all", "3.4"), "wrapped", False, ""),
        (TmuxOptions("external", "", "3.2a"), "wrapped", False, ""),  # no option before 3.3
        (TmuxOptions("external", "0", "3.3a"), "plain", True, ""),
        (TmuxOptions("off", "0", "3.3a"), "plain", False, "set-clipboard is off"),
        (None, "wrapped", False, "did not say"),
    ],
)
def test_inside_tmux_the_copy_goes_where_tmux_lets_it(options, sequence, buffer, problem):
    plan = desktop.terminal_copy(TMUX_ENV, options)
    plain = "\x1b]52;c;aGk=\x07"
    expected = plain + ("\x1bPtmux;\x1b" + plain + "\x1b\\" if sequence == "wrapped" else "")
    assert plan.sequence("hi") == expected
    assert plan.tmux_buffer is buffer
    assert (problem in plan.problem) and bool(plan.problem) is bool(problem)
    if problem:
        assert "set -g set-clipboard on" in plan.problem


def test_tmux_options_from_a_stand_in_tmux(tmp_path):
    log = tmp_path / "tmux.log"
    fake_tool(tmp_path / "bin", "tmux", f'echo "$@" > {log}\nprintf "external\\t0\\t3.3a\\n"\n')
    options = desktop.tmux_options(fake_env(tmp_path / "bin", **TMUX_ENV))
    assert options == TmuxOptions("external", "0", "3.3a") and not options.passes_through
    assert log.read_text().split()[:4] == ["display-message", "-p", "-t", "%3"]


@pytest.fixture
def real_tmux(tmp_path):
    """A tmux server of the test's own (a private socket), with one pane: the environment
    a program in that pane sees."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    socket = tmp_path / f"tmux-{uuid.uuid4().hex[:8]}"
    run = ["tmux", "-S", str(socket), "-f", "/dev/null"]
    subprocess.run([*run, "new-session", "-d", "-s", "t", "sleep 600"], check=True)
    try:
        pane = subprocess.run(
            [*run, "display-message", "-p", "#{pane_id},#{pid}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        pane_id, pid = pane.split(",")
        env = dict(os.environ, TMUX=f"{socket},{pid},0", TMUX_PANE=pane_id, TERM="tmux-256color")
        yield run, env
    finally:
        subprocess.run([*run, "kill-server"], check=False)


def test_a_real_tmux_answers_and_takes_the_buffer(real_tmux):
    run, env = real_tmux
    options = desktop.tmux_options(env)
    assert options.set_clipboard == "external" and not options.passes_through
    desktop.tmux_load_buffer("a path/with spaces.png", env)
    shown = subprocess.run([*run, "show-buffer"], capture_output=True, text=True, check=True)
    assert shown.stdout == "a path/with spaces.png"
    subprocess.run([*run, "set", "-g", "set-clipboard", "on"], check=True)
    subprocess.run(
        [*run, "set", "-p", "-t", env["TMUX_PANE"], "allow-passthrough", "on"], check=True
    )
    options = desktop.tmux_options(env)
    assert options.set_clipboard == "on" and options.passes_through


# -- notifications -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env,kind",
    [
        ({"TERM_PROGRAM": "iTerm.app"}, "osc9"),
        ({"TERM": "tmux-256color", "LC_TERMINAL": "iTerm2"}, "osc9"),
        ({"ConEmuANSI": "ON"}, "osc9"),
        ({"TERM_PROGRAM": "WezTerm"}, "osc777"),
        ({"TERM": "xterm-ghostty"}, "osc777"),
        ({"TERM": "foot"}, "osc777"),
        ({"TERM": "rxvt-unicode-256color"}, "osc777"),
        ({"TERM": "xterm-kitty"}, "osc99"),
        ({"TERM": "screen", "KITTY_WINDOW_ID": "1"}, "osc99"),
        ({"TERM": "xterm-256color"}, "bell"),
        ({"TERM": "xterm-256color", "KONSOLE_VERSION": "221203"}, "bell"),
        ({"TERM": "mlterm"}, "bell"),
        ({}, "bell"),
    ],
)
def test_notification_kind_by_terminal(env, kind):
    assert desktop.notification_kind(env) == kind


def test_notification_bytes_are_clean_and_bounded():
    hostile = "a red\x1b]52;c;ZXZpbA==\x07 fox; then\x1b\\ more\n\tlines \x9c" + "x" * 500
    for kind in ("osc9", "osc777", "osc99"):
        sequence = desktop.notification("imgtui: Done", hostile, kind)
        terminator = "\x07" if kind == "osc9" else "\x1b\\"
        inner = sequence.removesuffix(terminator)
        if kind == "osc99":
            inner = inner.replace("\x1b\\\x1b]99;", "")
        assert "\x07" not in inner and "\x1b\\" not in inner and "\x9c" not in inner
        assert inner.count("\x1b") == 1  # the escape's own start only
        assert "\n" not in sequence and "\t" not in sequence
        assert len(sequence) < 260
    osc777 = desktop.notification("imgtui: Done", "a; b", "osc777")
    assert osc777 == "\x1b]777;notify;imgtui: Done;a, b\x1b\\"
    assert desktop.notification("imgtui: Done", "cat", "osc9") == "\x1b]9;imgtui: Done: cat\x07"
    # ConEmu and Windows Terminal read `OSC 9;4;...` as a command: never a digit first
    assert desktop.notification("4;3", "x", "osc9").startswith("\x1b]9;imgtui 4,3")
    assert desktop.notification("t", "b", "osc99") == (
        "\x1b]99;i=imgtui:d=0;t\x1b\\\x1b]99;i=imgtui:d=1:p=body;b\x1b\\"
    )
    assert desktop.notification("t", "b", "bell") == "\x07"


def test_done_notices_hold_a_burst_and_say_how_many():
    now = [100.0]
    notices = desktop.DoneNotices(gap=5.0, clock=lambda: now[0])
    assert notices.ended("done", "first", still_active=3) == ("imgtui: Done", "first")
    now[0] += 1
    assert notices.ended("failed", "second", still_active=2) is None  # a burst: held
    assert notices.ended("cancelled", "third", still_active=1) is None  # the user's own doing
    now[0] += 1
    assert notices.ended("done", "last", still_active=0) == (
        "imgtui: Done",
        "last (+1 more ended)",
    )
    now[0] += 1
    assert notices.ended("failed", "again", still_active=4) is None
    now[0] += 10
    assert notices.ended("failed", "later", still_active=4) == (
        "imgtui: Failed",
        "later (+1 more ended)",
    )
