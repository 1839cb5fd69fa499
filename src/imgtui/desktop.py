"""The desktop around the terminal: open a file in the system viewer, copy text to the
system clipboard. No Textual.

The app also copies through the terminal (OSC 52, which works over SSH); the system
clipboard here (pyperclip: wl-copy/xclip/xsel, pbcopy, the Windows API) covers terminals
that ignore OSC 52.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["copy_to_clipboard", "open_in_viewer"]


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


def copy_to_clipboard(text: str) -> str | None:
    """Put `text` on the system clipboard (blocking: call in a thread). Returns an error
    message when no clipboard mechanism is available, else None."""
    import pyperclip

    try:
        pyperclip.copy(text)
    except pyperclip.PyperclipException as exc:
        return str(exc).splitlines()[0] if str(exc) else "no system clipboard"
    return None
