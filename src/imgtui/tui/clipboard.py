"""Images and text between the app and the desktop: copy (text through the terminal and
tmux, images through the desktop's tools) and paste (an image from the system clipboard
becomes an attachment). The decisions are `imgtui.desktop`'s; this module runs them off the
UI thread and writes the escapes through the app's driver.

Callers toast what these return; nothing here touches widgets.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgtui import desktop
from imgtui.tui.terminal import write_to_terminal

if TYPE_CHECKING:
    from textual.app import App

__all__ = [
    "Copied",
    "copy_image",
    "copy_text",
    "paste_image",
    "pasted_folder",
    "tell_copy_problem",
]

PASTED = "pasted"  # the data folder's sub-folder for images pasted from the clipboard


def copy_text(
    app: App[Any], text: str, env: Mapping[str, str] | None = None
) -> Coroutine[Any, Any, str]:
    """Copy `text` through the terminal now (OSC 52, and the app's own clipboard, which
    its inputs paste), and return the rest to await: inside tmux what its options let
    through (`desktop.terminal_copy`), and the system clipboard (`desktop.copy_to_clipboard`).
    Awaited, it gives why the text may not have arrived, for a toast ('' when the system
    clipboard took it, or nothing that imgtui can see stands in the way)."""
    app.copy_to_clipboard(text)
    return _copy_text_rest(app, text, os.environ if env is None else env)


async def _copy_text_rest(app: App[Any], text: str, env: Mapping[str, str]) -> str:
    options = None
    if desktop.inside_tmux(env):
        try:
            options = await asyncio.to_thread(desktop.tmux_options, env)
        except desktop.DesktopError:
            options = None
    plan = desktop.terminal_copy(env, options)
    if plan.passthrough:
        write_to_terminal(app, desktop.tmux_passthrough(desktop.osc52(text)))
    problem = plan.problem
    if plan.tmux_buffer:
        try:
            await asyncio.to_thread(desktop.tmux_load_buffer, text, env)
        except desktop.DesktopError as exc:
            problem = f"{exc}; {desktop.TMUX_HINT}"
    system_error = await asyncio.to_thread(desktop.copy_to_clipboard, text, env)
    return problem if system_error is not None else ""


async def tell_copy_problem(app: App[Any], pending: Coroutine[Any, Any, str], what: str) -> None:
    """Await `copy_text`'s rest; a warning toast naming `what` when it may not arrive."""
    problem = await pending
    if problem:
        app.notify(problem, title=f"{what} may not arrive", severity="warning", markup=False)


@dataclass(frozen=True)
class Copied:
    """What `copy_image` did: the image itself (`via` names the tool) or, when that was not
    possible (`why`), the path; `problem` is why the path may not have arrived either."""

    image: bool
    via: str = ""
    why: str = ""
    problem: str = ""

    def toast(self, path: Path) -> tuple[str, str, str]:
        """(title, message, severity) for the user."""
        if self.image:
            return "Image copied", f"{path.name} (via {self.via})", "information"
        message = f"{path}\nNot the image itself: {self.why}"
        if self.problem:
            return "Path copy may not arrive", f"{message}\n{self.problem}", "warning"
        return "Path copied", message, "information"


async def copy_image(app: App[Any], path: Path, env: Mapping[str, str] | None = None) -> Copied:
    """Copy the image in `path` itself to the system clipboard (as PNG); where the desktop
    offers no way (over SSH, no xclip or wl-clipboard), its path instead (`copy_text`)."""
    try:
        via = await asyncio.to_thread(desktop.copy_image_to_clipboard, path, env)
    except desktop.DesktopError as exc:
        problem = await copy_text(app, str(path), env)
        return Copied(False, why=str(exc), problem=problem)
    return Copied(True, via=via)


def pasted_folder(data_root: Path) -> Path:
    """Where images pasted from the clipboard are kept (the attachment needs a file that
    lasts as long as the task's history)."""
    return Path(data_root) / PASTED


async def paste_image(data_root: Path, env: Mapping[str, str] | None = None) -> list[Path]:
    """The image on the system clipboard, saved as `<data>/pasted/clipboard-<time>.<ext>`,
    or the image files copied in a file manager: paths to attach. Raises
    `desktop.DesktopError` (nothing usable there, no tool, a file that is not an image,
    a folder that cannot be written)."""
    from imgtui.api.request import RequestError
    from imgtui.files import make_private_dir
    from imgtui.images import check_image
    from imgtui.store import StoreError, write_unique
    from imgtui.store.files import ext_for

    got = await asyncio.to_thread(desktop.read_clipboard_image, env)
    if got.paths:
        try:
            return [check_image(str(p), "image") for p in got.paths]
        except RequestError as exc:
            raise desktop.DesktopError(exc.message) from None
    folder = pasted_folder(data_root)
    stem = time.strftime("clipboard-%Y%m%d-%H%M%S")

    def save() -> Path:
        make_private_dir(folder)
        return write_unique(folder, stem, ext_for(got.data), got.data)

    try:
        return [await asyncio.to_thread(save)]
    except (OSError, StoreError) as exc:
        raise desktop.DesktopError(str(exc)) from None
