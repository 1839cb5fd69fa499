"""The desktop around the terminal: open a file in the system viewer, the system
clipboard (text, and images both ways), and the escapes that reach the desktop through the
terminal (clipboard, notifications). No Textual: the app writes what these return.

- Text: the app copies through the terminal (OSC 52, which works over SSH; inside tmux
  `terminal_copy` picks what tmux lets through) and to the system clipboard here, for
  terminals that ignore OSC 52.
- The system clipboard is reached through the desktop's own tools, run with a timeout
  (`clipboard_tool`: wl-clipboard under Wayland, xclip under X11, osascript/pbcopy on
  macOS; pyperclip on Windows); over SSH there is none. OSC 52 carries text only, so
  images go only this way.
- Notifications: `notification()` is OSC 9 (iTerm2, ConEmu), OSC 777 (WezTerm, Ghostty,
  foot, urxvt), OSC 99 (kitty) or the bell, chosen from the environment
  (`notification_kind`); the text is cleaned and bounded (prompts are the user's, but
  pasted: they may hold anything).
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from imgtui.text import clean

__all__ = [
    "ClipboardImage",
    "DesktopError",
    "DoneNotices",
    "TerminalCopy",
    "TmuxOptions",
    "clipboard_tool",
    "copy_image_to_clipboard",
    "copy_to_clipboard",
    "inside_tmux",
    "notification",
    "notification_kind",
    "open_in_viewer",
    "osc52",
    "read_clipboard_image",
    "terminal_copy",
    "tmux_load_buffer",
    "tmux_options",
    "tmux_passthrough",
]


async def open_in_viewer(path: Path) -> str | None:
    """Open a file or folder with the system viewer (xdg-open, open, or the Windows shell
    association). Returns an error message for the user, or None. Waits at most 5 s for
    the opener to fail; a viewer that keeps running is fine."""
    if sys.platform == "win32":  # pragma: no cover
        try:
            os.startfile(path)  # type: ignore[attr-defined]
        except OSError as exc:
            return str(exc)
        return None
    opener = "open" if sys.platform == "darwin" else "xdg-open"
    try:
        proc = await asyncio.create_subprocess_exec(
            opener,
            str(path),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        return f"{opener} is not available ({exc.strerror or exc})"
    try:
        _, err = await asyncio.wait_for(proc.communicate(), 5)
    except TimeoutError:
        return None  # still running: the viewer took over
    if proc.returncode:
        detail = err.decode(errors="replace").strip().splitlines()
        return f"{opener} failed" + (f": {detail[-1]}" if detail else f" (exit {proc.returncode})")
    return None


# -- images on the system clipboard -------------------------------------------------------

CLIPBOARD_TIMEOUT = 3.0  # s: a clipboard owner that never answers must not hang a worker
MAX_CLIPBOARD_IMAGE = 64 * 1024 * 1024  # bytes read from the clipboard at most
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")  # the API takes these
_URI_LIST = "text/uri-list"  # what a file manager puts there for copied files
_MAC_READ = "the clipboard as «class PNGf»"  # AppleScript: prints «data PNGf<hex>»
_MAC_WRITE = (
    "on run argv",
    "set the clipboard to (read (POSIX file (item 1 of argv)) as «class PNGf»)",
    "end run",
)


class DesktopError(Exception):
    """The system clipboard (or tmux) could not be read or written; `str()` is for the
    user."""


@dataclass(frozen=True)
class ClipboardTool:
    """A command-line tool that reaches the system clipboard (argv prefixes; the MIME type
    is appended to `read` and `write`)."""

    name: str
    list_types: tuple[str, ...]
    read: tuple[str, ...]
    write: tuple[str, ...]


WL_CLIPBOARD = ClipboardTool(
    "wl-clipboard",
    ("wl-paste", "--list-types"),
    ("wl-paste", "--no-newline", "--type"),
    ("wl-copy", "--type"),
)
XCLIP = ClipboardTool(
    "xclip",
    ("xclip", "-selection", "clipboard", "-o", "-t", "TARGETS"),
    ("xclip", "-selection", "clipboard", "-o", "-t"),
    ("xclip", "-selection", "clipboard", "-i", "-t"),
)
OSASCRIPT = ClipboardTool("osascript", (), ("osascript", "-e", _MAC_READ), ("osascript",))
_TEXT_TYPE = {"xclip": "UTF8_STRING", "wl-clipboard": "text/plain;charset=utf-8"}


@dataclass(frozen=True)
class ClipboardImage:
    """What the clipboard held: image bytes (`data`, `mime`) or copied files (`paths`)."""

    data: bytes = b""
    mime: str = ""
    paths: tuple[Path, ...] = ()


def clipboard_tool(
    env: Mapping[str, str] | None = None, platform: str = sys.platform
) -> ClipboardTool:
    """The tool for this desktop: osascript on macOS, wl-clipboard under Wayland
    ($WAYLAND_DISPLAY), xclip under X11 ($DISPLAY). Raises DesktopError saying what is
    missing (over SSH there is no display: only text reaches the clipboard, by OSC 52)."""
    env = os.environ if env is None else env
    search = env.get("PATH")
    if platform == "darwin":
        if shutil.which("osascript", path=search):
            return OSASCRIPT
        raise DesktopError("osascript is not available")
    if env.get("WAYLAND_DISPLAY"):
        if shutil.which("wl-paste", path=search) and shutil.which("wl-copy", path=search):
            return WL_CLIPBOARD
        if not env.get("DISPLAY"):
            raise DesktopError("images need wl-clipboard (wl-copy, wl-paste): install it")
    if env.get("DISPLAY"):
        if shutil.which("xclip", path=search):
            return XCLIP
        raise DesktopError("images need xclip: install it")
    raise DesktopError(
        "no desktop clipboard here (no display: over SSH only text can be copied, by the terminal)"
    )


def _run(
    argv: Sequence[str],
    env: Mapping[str, str] | None,
    timeout: float,
    data: bytes | None = None,
    *,
    keep_output: bool = True,
) -> bytes:
    """Run a clipboard tool; its stdout. `keep_output=False` for tools that fork a process
    to serve the clipboard (xclip, wl-copy): that process keeps inherited pipes open, so
    stdout is not read and stderr goes to a file. Raises DesktopError."""
    name = argv[0]
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.run(
                argv,
                input=data if data is not None else None,
                stdin=None if data is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE if keep_output else subprocess.DEVNULL,
                stderr=err,
                env=None if env is None else dict(env),
                timeout=timeout,
                start_new_session=True,  # a clipboard server outlives a Ctrl+C here
                check=False,
            )
        except FileNotFoundError:
            raise DesktopError(f"{name} is not installed") from None
        except subprocess.TimeoutExpired:
            raise DesktopError(f"{name} did not answer within {timeout:g} s") from None
        except OSError as exc:
            raise DesktopError(f"{name} could not run: {exc.strerror or exc}") from None
        if proc.returncode:
            err.seek(0)
            lines = clean(err.read(2000).decode(errors="replace")).strip().splitlines()
            detail = lines[-1] if lines else f"exit {proc.returncode}"
            raise DesktopError(f"{name} failed: {detail}")
        return proc.stdout or b""


def read_clipboard_image(
    env: Mapping[str, str] | None = None,
    platform: str = sys.platform,
    timeout: float = CLIPBOARD_TIMEOUT,
) -> ClipboardImage:
    """The image on the system clipboard (PNG, JPEG, WebP or GIF, checked by its magic
    number), or the image files copied in a file manager (`text/uri-list`). Blocking: call
    in a thread. Raises DesktopError (no tool, nothing usable on the clipboard, a tool
    that fails or does not answer within `timeout` seconds)."""
    from imgtui.files import pasted_paths
    from imgtui.images import sniff_mime

    tool = clipboard_tool(env, platform)
    if tool is OSASCRIPT:
        out = _run(tool.read, env, timeout).decode("utf-8", "replace").strip()
        match = re.fullmatch(r"«data PNGf([0-9A-Fa-f]*)»", out)
        if not match:
            raise DesktopError("no image on the clipboard")
        data, mime = bytes.fromhex(match.group(1)), "image/png"
    else:
        offered = _run(tool.list_types, env, timeout).decode(errors="replace").split()
        mime = next((t for t in IMAGE_TYPES if t in offered), "")
        if not mime:
            if _URI_LIST in offered:
                listed = _run(tool.read + (_URI_LIST,), env, timeout).decode(errors="replace")
                paths = pasted_paths(listed)
                if paths:
                    return ClipboardImage(paths=tuple(paths))
            raise DesktopError("no image on the clipboard")
        data = _run(tool.read + (mime,), env, timeout)
    if len(data) > MAX_CLIPBOARD_IMAGE:
        raise DesktopError(f"the clipboard image is over {MAX_CLIPBOARD_IMAGE >> 20} MiB")
    sniffed = sniff_mime(data[:16])
    if sniffed is None:
        raise DesktopError(f"the clipboard's {mime} is not a PNG, JPEG, WebP or GIF image")
    return ClipboardImage(data=data, mime=sniffed)


def copy_image_to_clipboard(
    path: Path,
    env: Mapping[str, str] | None = None,
    platform: str = sys.platform,
    timeout: float = CLIPBOARD_TIMEOUT,
) -> str:
    """Put the image in `path` itself on the system clipboard, as PNG (converted with
    Pillow when the file is JPEG, WebP or GIF: PNG is what every application pastes).
    Blocking: call in a thread. Returns the tool's name; raises DesktopError (no tool,
    no display, a file that is not an image, a tool that fails or hangs)."""
    from imgtui.images import open_image, sniff_mime

    tool = clipboard_tool(env, platform)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DesktopError(f"cannot read {path}: {exc.strerror or exc}") from None
    if sniff_mime(data[:16]) != "image/png":
        buffer = io.BytesIO()
        try:
            with open_image(data) as img:
                img.save(buffer, "PNG")
        except (OSError, ValueError) as exc:
            raise DesktopError(f"{Path(path).name} is not an image: {exc}") from None
        data = buffer.getvalue()
    if tool is OSASCRIPT:
        with tempfile.NamedTemporaryFile(suffix=".png") as png:
            png.write(data)
            png.flush()
            _run(
                (*tool.write, *(a for line in _MAC_WRITE for a in ("-e", line)), png.name),
                env,
                timeout,
            )
        return tool.name
    _run(tool.write + ("image/png",), env, timeout, data, keep_output=False)
    return tool.name


def copy_to_clipboard(
    text: str,
    env: Mapping[str, str] | None = None,
    platform: str = sys.platform,
    timeout: float = CLIPBOARD_TIMEOUT,
) -> str | None:
    """Put `text` on the system clipboard (blocking: call in a thread): with the desktop's
    tool (`clipboard_tool`: xclip, wl-copy, or pbcopy on macOS), on Windows with pyperclip.
    Returns why not for the user (no display, no tool, a tool that fails), else None."""
    if platform == "win32":  # pragma: no cover
        import pyperclip

        try:
            pyperclip.copy(text)
        except pyperclip.PyperclipException as exc:
            return str(exc).splitlines()[0] if str(exc) else "no system clipboard"
        return None
    try:
        tool = clipboard_tool(env, platform)
        argv = ("pbcopy",) if tool is OSASCRIPT else tool.write + (_TEXT_TYPE[tool.name],)
        _run(argv, env, timeout, text.encode(), keep_output=False)
    except DesktopError as exc:
        return str(exc)
    return None


# -- the clipboard through the terminal (OSC 52), and tmux ----------------------------------

TMUX_TIMEOUT = 2.0  # s for a tmux command to answer


def osc52(text: str) -> str:
    """OSC 52: set the clipboard (`c`) to `text` (UTF-8, base64), BEL-terminated as
    Textual's own `App.copy_to_clipboard` writes it."""
    return f"\x1b]52;c;{base64.b64encode(text.encode()).decode('ascii')}\x07"


def tmux_passthrough(sequence: str) -> str:
    """`sequence` in tmux's passthrough wrapper (`ESC P tmux; ... ESC \\`, every ESC inside
    doubled): tmux hands it to the terminal outside unchanged when the pane's
    `allow-passthrough` is on (tmux 3.3+; older tmux always does)."""
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"


def inside_tmux(env: Mapping[str, str] | None = None) -> bool:
    """Running in a tmux pane: $TMUX set and $TERM tmux's own (a terminal started from a
    tmux pane inherits $TMUX, but has its own $TERM)."""
    env = os.environ if env is None else env
    return bool(env.get("TMUX")) and env.get("TERM", "").startswith(("tmux", "screen"))


@dataclass(frozen=True)
class TmuxOptions:
    """The tmux options that decide what reaches the terminal outside: `set_clipboard`
    (`on`, `external` — tmux's default —, `off`), `passthrough` (the pane's
    `allow-passthrough`: `1`/`on`/`all`, `0`/`off`; empty before tmux 3.3, which always
    passes through) and tmux's `version`."""

    set_clipboard: str
    passthrough: str
    version: str = ""

    @property
    def passes_through(self) -> bool:
        return self.passthrough in ("", "1", "on", "all")


def _tmux(args: Sequence[str], env: Mapping[str, str] | None, data: bytes | None = None) -> bytes:
    return _run(("tmux", *args), env, TMUX_TIMEOUT, data)


def tmux_options(env: Mapping[str, str] | None = None) -> TmuxOptions:
    """Ask the tmux server this pane belongs to ($TMUX, $TMUX_PANE) for its clipboard and
    passthrough options. Blocking (a subprocess, at most 2 s). Raises DesktopError."""
    env = os.environ if env is None else env
    target = ("-t", env["TMUX_PANE"]) if env.get("TMUX_PANE") else ()
    out = _tmux(
        ("display-message", "-p", *target, "#{set-clipboard}\t#{allow-passthrough}\t#{version}"),
        env,
    )
    fields = (out.decode(errors="replace").rstrip("\n").split("\t") + ["", "", ""])[:3]
    return TmuxOptions(*fields)


def tmux_load_buffer(text: str, env: Mapping[str, str] | None = None) -> None:
    """`tmux load-buffer -w -`: a tmux paste buffer that tmux also sends to the outer
    terminal's clipboard (OSC 52; tmux 3.2+, whatever `set-clipboard` says short of `off`).
    Blocking. Raises DesktopError."""
    _tmux(("load-buffer", "-w", "-"), env, text.encode())


@dataclass(frozen=True)
class TerminalCopy:
    """How text gets to the clipboard through the terminal. OSC 52 is always written as it
    is (outside tmux that is all it takes; tmux passes it on with `set-clipboard on` and
    drops it otherwise); `passthrough`: written again, wrapped for tmux's passthrough;
    `tmux_buffer`: handed to `tmux load-buffer -w` as well; `problem`: why it may not
    arrive, for the user ('' when nothing that imgtui can see stands in the way)."""

    passthrough: bool = False
    tmux_buffer: bool = False
    problem: str = ""

    def sequence(self, text: str) -> str:
        """Everything written to the terminal for `text`."""
        plain = osc52(text)
        return plain + (tmux_passthrough(plain) if self.passthrough else "")


TMUX_HINT = "add `set -g set-clipboard on` to ~/.tmux.conf"


def terminal_copy(
    env: Mapping[str, str] | None = None, options: TmuxOptions | None = None
) -> TerminalCopy:
    """How to copy through the terminal here. Outside tmux: OSC 52. Inside tmux (`options`
    from `tmux_options`, None when tmux did not answer): OSC 52 alone when `set-clipboard`
    is `on` (tmux keeps it and passes it on); else also wrapped for passthrough when the
    pane allows it; else through `tmux load-buffer -w` (tmux's default, `external`); with
    `off` nothing gets through, and `problem` says so."""
    if not inside_tmux(env):
        return TerminalCopy()
    if options is None:
        return TerminalCopy(
            passthrough=True,
            problem=f"tmux did not say whether it passes the clipboard on: {TMUX_HINT}",
        )
    if options.set_clipboard == "on":
        return TerminalCopy()
    if options.passes_through:
        return TerminalCopy(passthrough=True)
    if options.set_clipboard == "external":
        return TerminalCopy(tmux_buffer=True)
    return TerminalCopy(
        problem=f"tmux's set-clipboard is off, so tmux keeps the clipboard to itself: {TMUX_HINT}"
    )


# -- notifications --------------------------------------------------------------------------

NOTIFY_TITLE_MAX = 40  # characters
NOTIFY_BODY_MAX = 160
_SPACES = re.compile(r"\s+")


def notification_kind(env: Mapping[str, str] | None = None) -> str:
    """The notification escape this terminal shows, from its environment: `osc9` (iTerm2,
    ConEmu), `osc777` (WezTerm, Ghostty, foot, urxvt), `osc99` (kitty), else `bell`
    (xterm, Konsole, GNOME Terminal, Alacritty, macOS Terminal...: no desktop notification
    escape; a bell marks the window urgent). The variables checked survive tmux and SSH
    where the terminal forwards them (LC_TERMINAL, KITTY_WINDOW_ID...)."""
    env = os.environ if env is None else env
    program = env.get("TERM_PROGRAM", "")
    term = env.get("TERM", "")
    if (
        program == "iTerm.app"
        or env.get("LC_TERMINAL") == "iTerm2"
        or env.get("ConEmuANSI") == "ON"
    ):
        return "osc9"
    if term == "xterm-kitty" or env.get("KITTY_WINDOW_ID"):
        return "osc99"
    if (
        program in ("WezTerm", "ghostty")
        or term == "xterm-ghostty"
        or term.startswith(("foot", "rxvt-unicode"))
        or env.get("WEZTERM_PANE")
        or env.get("GHOSTTY_RESOURCES_DIR")
    ):
        return "osc777"
    return "bell"


def _field(text: str, limit: int) -> str:
    """One line of plain text: no control characters (no ESC, BEL or ST to end the escape
    early), no `;` (a field separator in OSC 777 and 99), at most `limit` characters."""
    text = _SPACES.sub(" ", clean(text, newlines=False)).replace(";", ",").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def notification(title: str, body: str, kind: str) -> str:
    """The escape for a desktop notification of `kind` (from `notification_kind`), the
    texts cleaned and cut to 40 and 160 characters. OSC 9 has one text: `title: body`
    (starting with a letter: ConEmu and Windows Terminal read `9;<digit>;` as commands)."""
    if kind == "bell":
        return "\x07"
    title = _field(title, NOTIFY_TITLE_MAX) or "imgtui"
    body = _field(body, NOTIFY_BODY_MAX)
    if kind == "osc777":
        return f"\x1b]777;notify;{title};{body}\x1b\\"
    if kind == "osc99":  # kitty: a title, then the body (d=0: more to come)
        return f"\x1b]99;i=imgtui:d=0;{title}\x1b\\\x1b]99;i=imgtui:d=1:p=body;{body}\x1b\\"
    if not title[:1].isalpha():
        title = "imgtui " + title
    return f"\x1b]9;{title}: {body}\x07"


class DoneNotices:
    """When tasks end while the terminal window is not focused: what to tell the desktop.

    One notice per ended task, except in a burst (a batch): a task that ends less than
    `gap` seconds after the last notice is counted, not announced, unless it is the last
    one running; the next notice says how many more ended. Cancelled tasks are the user's
    own doing: no notice.
    """

    def __init__(self, gap: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.gap = gap
        self.clock = clock
        self.last = float("-inf")
        self.held = 0

    def ended(self, status: str, prompt: str, still_active: int) -> tuple[str, str] | None:
        """`status` is the task's end word (`done`, `failed`, `cancelled`...), `prompt` its
        prompt, `still_active` how many tasks still run or wait. Returns (title, body) to
        show, or None."""
        if status == "cancelled":
            return None
        now = self.clock()
        if still_active and now - self.last < self.gap:
            self.held += 1
            return None
        self.last = now
        more = f" (+{self.held} more ended)" if self.held else ""
        self.held = 0
        word = {"done": "Done", "failed": "Failed"}.get(status, status.capitalize())
        return f"imgtui: {word}", _field(prompt, NOTIFY_BODY_MAX - len(more)) + more
