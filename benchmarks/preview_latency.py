"""Preview latency: a partial frame's arrival -> its thumbnail painted, vs a bare decode.

    python benchmarks/preview_latency.py [--size 3840x2160 ...] [--frames 24] [--format png]

For each frame size (default 1536x1024, 2048x2048 and 3840x2160), the app runs headless
(halfcell) against the demo server (in a child process, as a real API would be), streaming
incompressible frames (`bench-noise`) through the real client, one task at a time.
"Arrival" is when the client has cut the frame's event out of the stream (its base64 not
decoded yet); "painted" is when the card's picture widget has made its lines for the screen (its
`render_lines`: the cells, their styles, Textual's padding and filters). The
latency is split into stages: waiting for a picture thread, base64 + image decode +
shrink in that thread, the hop to the handler until the picture reaches the widget, the
wait for the screen's next update, and the paint.

The baseline is the bare work any viewer must do for the same frame: base64-decode +
decode the full image with Pillow, with the stdlib's base64 (a plain viewer) and with
pybase64 (the app's own decoder, so that ratio is the app's own overhead), timed in a
thread between the app's tasks so that both see the same load from the rest of the
machine. `--format jpeg` shows what
decoding at reduced size buys where the format allows it (libjpeg's DCT scaling).
Ratios are measured in one run, frame by frame against the same frames; no pass/fail.
"CPU per task" is the process's CPU time (all threads) over the app's tasks, less the
baseline's decodes, per task: what showing a task's frames costs (the card's and the
preview pane's decodes, the loop, the screen updates).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

import harness
import imgtui.api.events as events_module
from imgtui import images
from imgtui.api.b64 import b64decode
from imgtui.demo import server_process
from imgtui.tui import imaging

Stamps = dict[str, float]


def bare_decode(data: bytes, decoder) -> tuple[float, float]:
    """Seconds of wall time and of this thread's CPU for one bare decode."""
    text = base64.b64encode(data)
    t0, c0 = time.perf_counter(), time.thread_time()
    raw = decoder(text)
    with Image.open(io.BytesIO(raw)) as im:
        im.load()
    return time.perf_counter() - t0, time.thread_time() - c0


class Probe:
    """Timestamps per frame, carried from object to object: the Partial event, its decoded
    bytes, the picture made from them, the widget that paints it. Objects are looked up
    by id() and dropped as soon as the next stage has them, so no frame is kept alive."""

    def __init__(self) -> None:
        self.by_event: dict[int, Stamps] = {}
        self.by_bytes: dict[int, Stamps] = {}
        self.by_picture: dict[int, Stamps] = {}
        self.measured: list[Stamps] = []
        self.samples: dict[tuple[int, bytes], bytes] = {}  # distinct frames, for the baseline
        self.bare: dict[str, list[float]] = {"stdlib": [], "pybase64": []}
        self.bare_cpu = 0.0  # CPU seconds the baseline's decodes took (not the app's)
        self.cpu = 0.0  # CPU seconds of the whole process over the app's tasks
        self.tasks = 0
        self.installed: list[tuple[object, str, object]] = []

    def patch(self, owner: object, name: str, value: object) -> None:
        self.installed.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    def uninstall(self) -> None:
        for owner, name, value in reversed(self.installed):
            setattr(owner, name, value)
        self.installed.clear()

    def install(self) -> None:
        probe = self
        Partial = events_module.Partial

        real_init = Partial.__init__

        def init(self, *args, **kwargs):
            real_init(self, *args, **kwargs)
            probe.by_event[id(self)] = {"arrival": time.perf_counter()}

        real_image = Partial.image

        def image(self):
            stamps = probe.by_event.pop(id(self), None)
            if stamps is not None:
                stamps["thread"] = time.perf_counter()
            data = real_image.fget(self)
            if stamps is not None:
                probe.by_bytes[id(data)] = stamps
                key = (len(data), data[-64:])
                if key not in probe.samples and len(probe.samples) < 4:
                    probe.samples[key] = data
            return data

        real_pictures = images.pictures

        def pictures(source, targets):  # `picture` too; the card's picture comes first
            stamps = probe.by_bytes.pop(id(source), None)
            made = real_pictures(source, targets)
            if stamps is not None and made and made[0] is not None:
                stamps["thread_done"] = time.perf_counter()
                probe.by_picture[id(made[0])] = stamps
            return made

        widget_class = imaging.image_widget_class("halfcell")
        real_prop = widget_class.image

        def set_image(self, value):
            stamps = probe.by_picture.get(id(value))
            if stamps is not None:
                stamps["handled"] = time.perf_counter()
            real_prop.fset(self, value)

        real_render_lines = widget_class.render_lines

        def render_lines(self, crop):
            stamps = probe.by_picture.pop(id(self.image), None)
            started = time.perf_counter()
            strips = real_render_lines(self, crop)  # every line of the picture, styled
            if stamps is not None and "handled" in stamps:
                stamps["paint"], stamps["painted"] = started, time.perf_counter()
                probe.measured.append(stamps)
            return strips

        self.patch(Partial, "__init__", init)
        self.patch(Partial, "image", property(image))
        self.patch(images, "pictures", pictures)  # the app decodes through imgtui.images
        self.patch(widget_class, "image", property(real_prop.fget, set_image))
        self.patch(widget_class, "render_lines", render_lines)


async def measure_size(base_url: str, size: str, frames: int, model: str, fmt: str) -> Probe:
    probe = Probe()
    probe.install()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = harness.make_app(Path(tmp), base_url, model=model, partial_images=3)
            async with app.run_test(size=(120, 40)):
                await harness.ready(app)
                harness.set_params(app, size, output_format=fmt)
                cpu_start = harness.cpu_seconds()
                for _ in range(3 * frames):
                    if len(probe.measured) >= frames:
                        break
                    task = app.submit(f"latency probe {len(probe.measured)}")
                    await harness.wait_ended([task])
                    await asyncio.sleep(0.1)
                    probe.tasks += 1
                    # The baseline, interleaved with the app's frames so that both see the
                    # same load from whatever else runs on the machine: the same frames,
                    # decoded bare in a thread while the app idles.
                    for sample in list(probe.samples.values()):
                        for name, decoder in (
                            ("stdlib", base64.b64decode),
                            ("pybase64", b64decode),
                        ):
                            wall, cpu = await asyncio.to_thread(bare_decode, sample, decoder)
                            probe.bare[name].append(wall)
                            probe.bare_cpu += cpu
                    if task.status.value != "done":
                        print(
                            f"task ended {task.status.value}: {task.error_message}", file=sys.stderr
                        )
                        break
                probe.cpu = harness.cpu_seconds() - cpu_start
    finally:
        probe.uninstall()
    return probe


def report(size: str, probe: Probe, model: str, fmt: str) -> None:
    measured = probe.measured
    print(f"{harness.size_label(size)}, {fmt}, model {model}:")
    if not measured or not probe.samples:
        print("  no frames measured")
        return

    def median_ms(a: str, b: str) -> float:
        return statistics.median(m[b] - m[a] for m in measured) * 1000

    latencies = sorted(m["painted"] - m["arrival"] for m in measured)
    samples = list(probe.samples.values())
    stdlib = statistics.median(probe.bare["stdlib"])
    fast = statistics.median(probe.bare["pybase64"])
    med = statistics.median(latencies)
    p90 = latencies[max(0, int(len(latencies) * 0.9) - 1)]
    kib = statistics.median(len(s) for s in samples) // 1024
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"  frames measured               {len(measured)}  (~{kib} KiB each; load average {load})"
    )
    print(
        f"  arrival -> painted            median {med * 1000:7.1f} ms   p90 {p90 * 1000:7.1f} ms"
        f"   max {latencies[-1] * 1000:7.1f} ms"
    )
    print(f"    waiting for a picture thread    {median_ms('arrival', 'thread'):7.1f} ms")
    print(f"    decode + shrink in the thread   {median_ms('thread', 'thread_done'):7.1f} ms")
    print(f"    to the widget                   {median_ms('thread_done', 'handled'):7.1f} ms")
    print(f"    to the screen's next update     {median_ms('handled', 'paint'):7.1f} ms")
    print(f"    painting the card picture       {median_ms('paint', 'painted'):7.1f} ms")
    if probe.tasks:
        app_cpu = (probe.cpu - probe.bare_cpu) / probe.tasks
        print(
            f"  CPU per task (3 partial frames + final, card and preview pane)"
            f"  {app_cpu * 1000:7.1f} ms"
        )
    print(
        f"  bare decode, stdlib base64      median {stdlib * 1000:7.1f} ms   ratio {med / stdlib:5.2f}x"
    )
    print(
        f"  bare decode, pybase64           median {fast * 1000:7.1f} ms   ratio {med / fast:5.2f}x"
        "   (the app's own decoder; target <= 1.5x)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_size_argument(parser)
    parser.add_argument("--frames", type=int, default=24, help="frames measured per size")
    parser.add_argument(
        "--model", default="bench-noise", help="demo model: bench-noise (incompressible) or another"
    )
    parser.add_argument("--format", default="png", choices=("png", "jpeg", "webp"))
    parser.add_argument(
        "--delay",
        type=float,
        default=3.0,
        help="server seconds per image (default 3, the demo's pace: 4 frames 0.75 s apart)",
    )
    args = parser.parse_args()
    with server_process(args.delay) as base_url:
        for size in harness.sizes_from(args):
            probe = asyncio.run(measure_size(base_url, size, args.frames, args.model, args.format))
            report(size, probe, args.model, args.format)
    return 0


if __name__ == "__main__":
    sys.exit(main())
