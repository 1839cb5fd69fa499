"""Preview latency: a partial frame's arrival -> its thumbnail painted, vs a bare decode.

    PYTHONPATH=src python3 benchmarks/preview_latency.py [--frames 24] [--model bench-noise]

The app runs headless (halfcell) against the demo server (in a child process, as a real
API would be), streaming 1536x1024 frames through the real client. "Arrival" is when
`stream_images` yields the Partial (its base64 text not decoded yet); "painted" is when the
card's picture finished rendering to segments. The latency is split into its stages: the
worker's thread (base64 + PNG decode + shrink), the hop to the handler, the wait for the
screen's next update, and the paint.

The baseline is the bare work any viewer must do for that frame: base64-decode +
PNG-decode the full 1536x1024 image, measured here on the same frames, twice: with the
stdlib's base64 (what a plain viewer does) and with pybase64 (what the app itself uses,
so its ratio is the app's own overhead). Prints numbers and ratios measured in this run;
no pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from PIL import Image  # noqa: E402

import imgtui.api  # noqa: E402
import imgtui.tui.app as app_module  # noqa: E402
from imgtui.api.b64 import b64decode  # noqa: E402
from imgtui.api.events import Partial  # noqa: E402
from imgtui.demo import server_process  # noqa: E402
from imgtui.store import Store  # noqa: E402
from imgtui.tui import messages, testing  # noqa: E402
from imgtui.tui.session import Params  # noqa: E402


def bare_decode(png: bytes, b64decode) -> float:
    text = base64.b64encode(png).decode()
    t0 = time.perf_counter()
    data = b64decode(text)
    with Image.open(io.BytesIO(data)) as im:
        im.load()
    return time.perf_counter() - t0


async def run(frames: int, model: str) -> None:
    from textual_image.renderable.halfcell import Image as HalfcellRenderable
    from textual_image.widget import HalfcellImage

    # One dict of timestamps per frame, found by id(Partial) and then by id(picture).
    by_event: dict[int, dict[str, float]] = {}
    by_picture: dict[int, dict[str, float]] = {}
    measured: list[dict[str, float]] = []
    keep: list[object] = []  # keep objects alive so ids stay unique
    pngs: list[bytes] = []

    real_stream = imgtui.api.stream_images

    async def timed_stream(conn, req, **kwargs):
        async for event in real_stream(conn, req, **kwargs):
            if isinstance(event, Partial):
                by_event[id(event)] = {
                    "arrival": time.perf_counter()
                }  # not .image: it decodes lazily
                keep.append(event)
            yield event

    real_frame_picture = app_module._frame_picture

    def frame_picture(event, box):
        stamps = by_event.get(id(event))
        if stamps is not None:
            stamps["thread"] = time.perf_counter()
        picture = real_frame_picture(event, box)
        if stamps is not None:
            stamps["thread_done"] = time.perf_counter()
        return picture

    class TaskEvent(messages.TaskEvent):  # same name: the app's handler still matches
        def __init__(self, task_id, event, picture=None):
            super().__init__(task_id, event, picture)
            stamps = by_event.get(id(event)) if isinstance(event, Partial) else None
            if picture is not None and stamps is not None:
                by_picture[id(picture)] = stamps
                keep.append(picture)
                pngs.append(event.image)  # already decoded by the worker's thread

    real_handler = app_module.ImgtuiApp.on_task_event

    def on_task_event(self, message):
        real_handler(self, message)
        stamps = by_event.get(id(message.event))
        if stamps is not None:
            stamps["handled"] = time.perf_counter()

    real_render = HalfcellImage.render

    def render(self):
        renderable = real_render(self)
        if not isinstance(renderable, str):
            renderable._bench_source = id(self.image)
        return renderable

    real_console = HalfcellRenderable.__rich_console__

    def rich_console(self, console, options):
        stamps = by_picture.pop(getattr(self, "_bench_source", None), None)
        started = time.perf_counter()
        segments = list(real_console(self, console, options))  # every cell of the picture
        if stamps is not None and "handled" in stamps:
            stamps["paint"], stamps["painted"] = started, time.perf_counter()
            measured.append(stamps)
        yield from segments

    imgtui.api.stream_images = timed_stream
    app_module._frame_picture = frame_picture
    app_module.TaskEvent = TaskEvent
    app_module.ImgtuiApp.on_task_event = on_task_event
    HalfcellImage.render = render
    HalfcellRenderable.__rich_console__ = rich_console

    with server_process(0.3) as base_url, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        app = app_module.ImgtuiApp(
            config=testing.demo_config(root, model=model, partial_images=3),
            store=Store(root / "data"),
            demo_base_url=base_url,
            renderer="halfcell",
        )
        async with app.run_test(size=(120, 40)) as pilot:
            await app._history_loaded.wait()
            app._set_params(Params(app.params.profile, size="1536x1024", quality="high", n=1))
            tries = 0
            while len(measured) < frames:
                tries += 1
                if tries > 3 * frames:
                    print(
                        f"gave up: {len(by_event)} arrivals, {len(measured)} paints",
                        file=sys.stderr,
                    )
                    break
                task = app.submit(f"latency probe {len(measured)}")
                # Plain sleeps: pilot.pause() walks every widget each time, a load no
                # real session has, which would land on the frames being measured.
                while not task.status.ended:
                    await asyncio.sleep(0.02)
                await asyncio.sleep(0.1)
                if task.status.value != "done":
                    print(
                        f"task ended {task.status.value}: {task.error_message}", file=sys.stderr
                    )
                    break

    if not measured:
        print("no frames measured", file=sys.stderr)
        return

    def median_ms(a: str, b: str) -> float:
        return statistics.median(m[b] - m[a] for m in measured) * 1000

    latencies = sorted(m["painted"] - m["arrival"] for m in measured)
    sample = pngs[: len(measured)]
    stdlib = statistics.median(
        min(bare_decode(p, base64.b64decode) for _ in range(3)) for p in sample
    )
    fast = statistics.median(min(bare_decode(p, b64decode) for _ in range(3)) for p in sample)
    med = statistics.median(latencies)
    size = Image.open(io.BytesIO(pngs[0])).size
    print(
        f"frames measured            {len(measured)}  ({size[0]}x{size[1]}, ~{len(pngs[0]) // 1024} KiB PNG each, model {model})"
    )
    print(
        f"arrival -> painted         median {med * 1000:7.1f} ms   p90 {latencies[int(len(latencies) * 0.9) - 1] * 1000:7.1f} ms   max {latencies[-1] * 1000:7.1f} ms"
    )
    print(f"  to the worker's thread          {median_ms('arrival', 'thread'):7.1f} ms")
    print(f"  decode + shrink in the thread   {median_ms('thread', 'thread_done'):7.1f} ms")
    print(f"  to the handler, handled         {median_ms('thread_done', 'handled'):7.1f} ms")
    print(f"  to the screen's next update     {median_ms('handled', 'paint'):7.1f} ms")
    print(f"  painting the card picture       {median_ms('paint', 'painted'):7.1f} ms")
    print(
        f"bare decode, stdlib base64 + PNG  median {stdlib * 1000:7.1f} ms   ratio {med / stdlib:5.2f}x"
    )
    print(
        f"bare decode, pybase64 + PNG       median {fast * 1000:7.1f} ms   ratio {med / fast:5.2f}x   (the app's own decoder)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument(
        "--model",
        default="bench-noise",
        help="demo model: bench-noise (incompressible) or gpt-image-1",
    )
    args = parser.parse_args()
    asyncio.run(run(args.frames, args.model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
