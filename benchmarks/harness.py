"""What the TUI benchmarks share: frame sizes, an app on the demo server, memory readings.

Not a benchmark itself. The app-facing helpers are in one place so that a change in how
the app is built or driven is fixed here once, not in every script.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

# Today's models produce up to 3840x2160; 1536x1024 was the largest of the first models.
SIZES = ("1536x1024", "2048x2048", "3840x2160")
SIZE_NAMES = {"1536x1024": "1.5K", "2048x2048": "2K", "3840x2160": "4K"}


def add_size_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--size",
        action="append",
        metavar="WxH",
        help=f"frame size; repeatable or comma-separated (default: {', '.join(SIZES)})",
    )


def sizes_from(args: argparse.Namespace) -> list[str]:
    """The --size values in order, each checked to be WIDTHxHEIGHT."""
    out: list[str] = []
    for value in args.size or SIZES:
        for size in value.split(","):
            w, _, h = size.strip().lower().partition("x")
            if not (w.isdigit() and h.isdigit()):
                raise SystemExit(f"--size {size!r}: expected WIDTHxHEIGHT, e.g. 2048x2048")
            out.append(f"{int(w)}x{int(h)}")
    return out


def size_label(size: str) -> str:
    name = SIZE_NAMES.get(size)
    return f"{size} ({name})" if name else size


def make_app(root: Path, base_url: str, *, model: str = "bench-noise", partial_images: int = 3):
    """The real app, halfcell renderer, a temporary data dir, the demo profile at `base_url`."""
    import imgtui.tui.app as app_module
    from imgtui.store import Store
    from imgtui.tui import testing

    return app_module.ImgtuiApp(
        config=testing.demo_config(root, model=model, partial_images=partial_images),
        store=Store(root / "data"),
        demo_base_url=base_url,
        renderer="halfcell",
    )


async def ready(app) -> None:
    """Wait until the app's history has loaded (the app is idle and ready for tasks)."""
    await app.history_loaded.wait()


def set_params(app, size: str, *, quality: str = "high", n: int = 1, output_format: str = "png"):
    """Size, quality, n and format for the next tasks, as the parameter bar would set them."""
    from imgtui.draft import Params

    app.set_params(
        Params(app.params.profile, size=size, quality=quality, n=n, output_format=output_format)
    )


async def wait_ended(tasks, timeout: float = 300.0) -> bool:
    """Poll (plain sleeps: pilot.pause() walks every widget, a load no real session has)
    until every task has ended; False on timeout."""
    deadline = time.monotonic() + timeout
    while not all(t.status.ended for t in tasks):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def proc_status(pid: int | str = "self") -> dict[str, float]:
    """VmRSS and VmHWM (peak) of a process, in MiB, from /proc/<pid>/status."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


def reset_peak_rss() -> None:
    """Reset VmHWM to the current RSS (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def cpu_seconds() -> float:
    """CPU time of this process, all threads (user + system)."""
    t = os.times()
    return t.user + t.system
