"""CPU while an animated GIF is on screen, and when it is not, vs a still picture.

    python benchmarks/gif_cpu.py [--seconds 5] [--gif-size 1024x1024] [--frames 16]

Makes a 16-frame animated GIF with Pillow (100 ms per frame, like the models' GIF
output), writes histories through the Store API and opens the real app on each (headless,
halfcell, in this process), then measures the process's CPU time (all threads) over
--seconds once the history has loaded and settled:

- gif visible:  the GIF task is the newest, its card on screen;
- gif hidden:   the GIF task is older than a screenful of still tasks (its card off screen);
- still:        the same history with a still PNG in place of the GIF (the baseline).

Also counts how often the GIF card's picture was painted in the window, which tells
whether the app animates it at all. Targets (issue 16): visible < 5% of one core above
the still baseline; hidden == the baseline. Prints numbers; no pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import harness

STILL_TASKS_ABOVE = 12  # more cards than a 40-row screen shows


def make_gif(width: int, height: int, frames: int, ms: int = 100) -> bytes:
    from PIL import Image, ImageDraw

    pictures = []
    for i in range(frames):
        im = Image.new("RGB", (width, height), (20 + 10 * i, 40, 90))
        draw = ImageDraw.Draw(im)
        r = min(width, height) // 6
        cx = int(width * (0.2 + 0.6 * i / max(1, frames - 1)))
        draw.ellipse((cx - r, height // 2 - r, cx + r, height // 2 + r), fill=(250, 200, 40))
        pictures.append(im.convert("P", palette=Image.Palette.ADAPTIVE))
    out = io.BytesIO()
    pictures[0].save(out, "GIF", save_all=True, append_images=pictures[1:], duration=ms, loop=0)
    return out.getvalue()


def make_png(width: int, height: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 60, 90)).save(out, "PNG")
    return out.getvalue()


def write_history(data: Path, picture: bytes, fmt: str, newer_stills: int) -> None:
    from imgtui.api.events import ImageMeta
    from imgtui.store import Store
    from imgtui.tasks import Slot, SlotStatus, Status, Task

    still = make_png(256, 256)
    now = time.time()
    with Store(data) as store:
        entries = [(picture, fmt, "the animated one")] + [
            (still, "png", f"still {i}") for i in range(newer_stills)
        ]
        for i, (image, out_format, prompt) in enumerate(entries):  # oldest first
            created = now - 600 * (len(entries) - i)
            task = Task(
                prompt=prompt,
                profile_name="Demo",
                created_at=created,
                params={"model": "demo", "size": "1024x1024", "n": 1, "output_format": out_format},
            )
            task.started_at, task.finished_at = created, created + 10
            task.status = Status.DONE
            task.slots = [Slot(status=SlotStatus.DONE, meta=ImageMeta(output_format=out_format))]
            store.save(task)
            store.write_image(task, 0, image)
            store.save(task)


async def measure(root: Path, seconds: float, width: int = 120) -> tuple[float, int]:
    """(CPU seconds per second, paints of the oldest task's picture) over `seconds`."""
    from textual_image.renderable.halfcell import Image as HalfcellRenderable

    paints = 0
    real_console = HalfcellRenderable.__rich_console__

    def counting(self, console, options):
        nonlocal paints
        paints += 1
        yield from real_console(self, console, options)

    app = harness.make_app(root, "http://127.0.0.1:9")  # its history: root / "data"
    async with app.run_test(size=(width, 40)):
        await harness.ready(app)
        await asyncio.sleep(2.0)  # history pictures decoded and painted
        HalfcellRenderable.__rich_console__ = counting
        try:
            cpu0, t0 = harness.cpu_seconds(), time.perf_counter()
            await asyncio.sleep(seconds)
            cpu = (harness.cpu_seconds() - cpu0) / (time.perf_counter() - t0)
        finally:
            HalfcellRenderable.__rich_console__ = real_console
    return cpu, paints


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--gif-size", default="1024x1024")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument(
        "--width",
        type=int,
        default=120,
        help="terminal columns: 120 shows the selected task in the preview pane too "
        "(two views animate); under 110 the list is alone (the card only)",
    )
    args = parser.parse_args()
    w, _, h = args.gif_size.partition("x")
    gif = make_gif(int(w), int(h), args.frames)
    png = make_png(int(w), int(h))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"GIF {args.gif_size}, {args.frames} frames x 100 ms ({len(gif) // 1024} KiB); "
        f"{args.seconds:g} s per window; load average {load}"
    )
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        cases = {
            "gif visible": (gif, "gif", 0),
            "gif hidden": (gif, "gif", STILL_TASKS_ABOVE),
            "still (baseline)": (png, "png", 0),
        }
        for name, (picture, fmt, above) in cases.items():
            root = Path(tmp) / name.replace(" ", "-").strip("()")
            write_history(root / "data", picture, fmt, above)
            cpu, paints = asyncio.run(measure(root, args.seconds, args.width))
            results[name] = cpu
            if name == "gif visible":
                animated = paints > 1
            print(
                f"  {name:<18} CPU {cpu * 100:5.1f}% of one core   "
                f"picture paints in the window: {paints}"
            )
    if not animated:
        print("  the GIF card was not repainted: the app shows this GIF as a still picture")
    extra = results["gif visible"] - results["still (baseline)"]
    hidden = results["gif hidden"] - results["still (baseline)"]
    print(
        f"  animation on screen costs {extra * 100:+.1f}% of a core over the still picture "
        f"(target < 5%); off screen {hidden * 100:+.1f}% (target 0)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
