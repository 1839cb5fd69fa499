"""Preview latency: a partial frame's arrival -> its thumbnail painted, vs a bare decode.

    PYTHONPATH=src python3 benchmarks/preview_latency.py [--frames 24] [--model bench-noise]

The app runs headless (halfcell) against the demo server (in a child process, as a real
API would be), streaming 1536x1024 frames through the real client. "Arrival" is when `stream_images` yields the Partial (its
bytes already base64-decoded by the client); "painted" is when the card's picture finished
rendering to segments. The baseline is the bare work any viewer must do for that frame:
base64-decode + PNG-decode the full 1536x1024 image, measured here on the same frames.
Prints numbers and ratios measured in this run; no pass/fail.
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
from imgtui.demo import server_process  # noqa: E402
from imgtui.api.events import Partial  # noqa: E402
from imgtui.store import Store  # noqa: E402
from imgtui.tui import messages, testing  # noqa: E402
from imgtui.tui.session import Params  # noqa: E402




def bare_decode(png: bytes) -> float:
    text = base64.b64encode(png).decode()
    t0 = time.perf_counter()
    data = base64.b64decode(text)
    with Image.open(io.BytesIO(data)) as im:
        im.load()
    return time.perf_counter() - t0


async def run(frames: int, model: str) -> None:
    from textual_image.renderable.halfcell import Image as HalfcellRenderable
    from textual_image.widget import HalfcellImage

    arrivals: dict[int, float] = {}  # id(frame bytes) -> arrival time
    picture_arrival: dict[int, float] = {}  # id(picture) -> arrival of its frame
    latencies: list[float] = []
    keep: list[object] = []  # keep objects alive so ids stay unique
    pngs: list[bytes] = []

    real_stream = imgtui.api.stream_images

    async def timed_stream(conn, req, **kwargs):
        async for event in real_stream(conn, req, **kwargs):
            if isinstance(event, Partial):
                arrivals[id(event)] = time.perf_counter()  # not .image: it decodes lazily
                keep.append(event)
            yield event

    class TaskEvent(messages.TaskEvent):  # same name: the app's handler still matches
        def __init__(self, task_id, event, picture=None):
            super().__init__(task_id, event, picture)
            if picture is not None and isinstance(event, Partial) and id(event) in arrivals:
                picture_arrival[id(picture)] = arrivals[id(event)]
                keep.append(picture)
                pngs.append(event.image)  # already decoded by the worker's thread

    real_render = HalfcellImage.render

    def render(self):
        renderable = real_render(self)
        if not isinstance(renderable, str):
            renderable._bench_source = id(self.image)
        return renderable

    real_console = HalfcellRenderable.__rich_console__

    def rich_console(self, console, options):
        segments = list(real_console(self, console, options))  # every cell of the picture
        arrived = picture_arrival.pop(getattr(self, "_bench_source", None), None)
        if arrived is not None:
            latencies.append(time.perf_counter() - arrived)
        yield from segments

    imgtui.api.stream_images = timed_stream
    app_module.TaskEvent = TaskEvent
    HalfcellImage.render = render
    HalfcellRenderable.__rich_console__ = rich_console

    with server_process(0.3) as base_url:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            app = app_module.ImgtuiApp(config=testing.demo_config(root, model=model, partial_images=3),
                                       store=Store(root / "data"), demo_base_url=base_url,
                                       renderer="halfcell")
            async with app.run_test(size=(120, 40)) as pilot:
                await app._history_loaded.wait()
                app._set_params(Params(app.params.profile, size="1536x1024", quality="high", n=1))
                tries = 0
                while len(latencies) < frames:
                    tries += 1
                    if tries > 3 * frames:
                        print(f"gave up: {len(arrivals)} arrivals, {len(latencies)} paints", file=sys.stderr)
                        break
                    task = app.submit(f"latency probe {len(latencies)}")
                    while not task.status.ended:
                        await pilot.pause(0.01)
                    await pilot.pause(0.1)
                    if task.status.value != "done":
                        print(f"task ended {task.status.value}: {task.error_message}", file=sys.stderr)
                        break

    baseline = [min(bare_decode(p) for _ in range(3)) for p in pngs[: max(1, len(latencies))]]
    size = Image.open(io.BytesIO(pngs[0])).size if pngs else (0, 0)
    med_lat, med_base = statistics.median(latencies), statistics.median(baseline)
    print(f"frames measured            {len(latencies)}  ({size[0]}x{size[1]}, ~{len(pngs[0]) // 1024} KiB PNG each, model {model})")
    print(f"arrival -> painted         median {med_lat * 1000:7.1f} ms   p90 {sorted(latencies)[int(len(latencies) * 0.9) - 1] * 1000:7.1f} ms   max {max(latencies) * 1000:7.1f} ms")
    print(f"bare base64 + PNG decode   median {med_base * 1000:7.1f} ms")
    print(f"ratio (latency / bare)     {med_lat / med_base:7.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--model", default="bench-noise", help="demo model: bench-noise (incompressible) or gpt-image-1")
    args = parser.parse_args()
    asyncio.run(run(args.frames, args.model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
