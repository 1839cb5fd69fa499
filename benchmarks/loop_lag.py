"""Event-loop lag while 8 tasks stream frames of each size.

    python benchmarks/loop_lag.py [--size 3840x2160 ...] [--tasks 8] [--rounds 2] [--delay 3]

A probe coroutine on the app's loop sleeps 5 ms in a loop and records how late it wakes.
Runs in this process, for each frame size (default 1536x1024, 2048x2048 and 3840x2160):
the idle app; imgtui as built (frames decoded and shrunk on the picture threads); the
same streams read by the bare client with no app (the wire side's share of the lag); and
with --inline, the app with the decode moved onto the UI thread (what STYLE habit 5
avoids). Each round submits all tasks in one go, so the app first mounts 8 cards at
once; "while streaming" counts from the round's first partial frame. The server pace
defaults to the demo's (3 s per image, 4 frames: the 8 tasks' frames land together);
`--delay 0.2` saturates a 2-core machine that also runs the server. Frames are
incompressible (`bench-noise`): a 4K frame is ~24 MB of PNG, ~32 MB of base64. The demo
server runs in a child process. Prints numbers; no pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from concurrent.futures import Executor, Future
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import harness  # noqa: E402
from imgtui.demo import server_process  # noqa: E402

TICK = 0.005


class InlineExecutor(Executor):
    """Runs the frame decoder on the event loop's thread (to measure what threads save)."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        future: Future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


class StallTracer:
    """A watchdog thread: when the loop has not ticked for `threshold` s, it samples the
    loop thread's stack every 10 ms while the stall lasts; `report()` prints the innermost
    frame and the innermost imgtui/textual/PIL/httpx frames seen most often, i.e. where the
    stalls were spent, and what the loop thread did meanwhile (Linux): on a CPU (its own
    work), runnable but waiting for a CPU (other processes), or asleep (waiting for the GIL
    another thread holds, or for I/O)."""

    def __init__(self, threshold: float, name: str) -> None:
        import collections
        import threading

        self.threshold = threshold
        self.name = name
        self.last_tick = time.perf_counter()
        self.loop_thread = threading.get_ident()
        self.native_id = threading.get_native_id()
        self.counts: collections.Counter[str] = collections.Counter()
        self.states: collections.Counter[str] = collections.Counter()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def cpu_and_state(self) -> tuple[float, str]:
        """The loop thread's CPU seconds so far and its scheduler state (R, S, D...)."""
        try:
            cpu = time.clock_gettime(time.pthread_getcpuclockid(self.loop_thread))
            stat = Path(f"/proc/self/task/{self.native_id}/stat").read_text()
            return cpu, stat.rpartition(")")[2].split()[0]
        except (OSError, AttributeError, IndexError):
            return 0.0, "?"

    def run(self) -> None:
        import traceback

        cpu_before, _ = self.cpu_and_state()
        while not self.stop.wait(0.01):
            cpu, state = self.cpu_and_state()
            used, cpu_before = cpu - cpu_before, cpu
            if time.perf_counter() - self.last_tick < self.threshold:
                continue
            frame = sys._current_frames().get(self.loop_thread)
            if frame is None:
                continue
            if used >= 0.005:
                self.states["on a CPU"] += 1
            elif state == "R":
                self.states["waiting for a CPU"] += 1
            else:
                self.states["asleep (GIL or I/O)"] += 1
            stack = traceback.extract_stack(frame)
            ours = [
                f"{Path(f.filename).name}:{f.lineno} {f.name}"
                for f in stack[:-1]
                if any(k in f.filename for k in ("imgtui", "textual", "PIL", "httpx", "rich"))
            ]
            inner = f"{Path(stack[-1].filename).name}:{stack[-1].lineno} {stack[-1].name}"
            self.counts[" <- ".join([inner, *reversed(ours[-2:])])] += 1

    def report(self) -> None:
        self.stop.set()
        self.thread.join()
        total = sum(self.counts.values())
        if not total:
            return
        states = ", ".join(f"{k} {v * 100 // total}%" for k, v in self.states.most_common())
        print(
            f"  {self.name}: stalls > {self.threshold * 1000:.0f} ms: {total * 10} ms sampled "
            f"(the loop thread: {states}); top sites:"
        )
        for site, n in self.counts.most_common(8):
            print(f"    {n * 10:6d} ms  {site}")


async def probe(
    lags: list[tuple[float, float]], stop: asyncio.Event, tracer: StallTracer | None = None
) -> None:
    """Record (wake time, lag) every TICK."""
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(TICK)
        now = time.perf_counter()
        lags.append((now, max(0.0, now - t0 - TICK)))
        if tracer is not None:
            tracer.last_tick = now


async def scenario(
    base_url: str,
    tasks: int,
    rounds: int,
    model: str,
    inline_decode: bool,
    size: str,
    trace: float = 0.0,
) -> tuple[list[float], list[float]]:
    """Lags over the whole run, and over the streaming windows only (from each round's
    first partial frame on; before it the app is mounting the round's new cards)."""
    samples: list[tuple[float, float]] = []
    windows: list[tuple[float, float]] = []
    submitted: list[float] = []
    layouts: list[float] = []  # when each layout pass of the main screen ended
    with tempfile.TemporaryDirectory() as tmp:
        app = harness.make_app(Path(tmp), base_url, model=model, partial_images=3)
        if inline_decode:
            app.runner.executor = InlineExecutor()
        async with app.run_test(size=(140, 44)):
            await harness.ready(app)
            harness.set_params(app, size)
            app.screen.screen_layout_refresh_signal.subscribe(
                app.screen, lambda _screen: layouts.append(time.perf_counter())
            )
            stop = asyncio.Event()
            tracer = StallTracer(trace, "idle app" if tasks == 0 else "imgtui") if trace else None
            prober = asyncio.create_task(probe(samples, stop, tracer))
            if tasks == 0:
                await asyncio.sleep(3.0)
            for r in range(rounds if tasks else 0):
                submitted.append(time.perf_counter())
                started = [app.submit(f"lag probe {r}-{i}") for i in range(tasks)]
                first_frame = None
                deadline = time.monotonic() + 120
                while not all(t.status.ended for t in started):
                    if time.monotonic() > deadline:
                        print("  timed out:", [t.status_word() for t in started], file=sys.stderr)
                        break
                    if first_frame is None and any(
                        s.partial is not None for t in started for s in t.slots
                    ):
                        first_frame = time.perf_counter()
                    await asyncio.sleep(
                        0.02
                    )  # not pilot.pause(): it walks every widget, a load no real session has
                windows.append((first_frame or time.perf_counter(), time.perf_counter()))
                failed = [t for t in started if t.status.value != "done"]
                if failed:
                    print(
                        f"  {len(failed)} task(s) ended {failed[0].status.value}: {failed[0].error_message}",
                        file=sys.stderr,
                    )
            stop.set()
            await prober
            if tracer is not None:
                tracer.report()
    streaming = [lag for at, lag in samples if any(a <= at <= b for a, b in windows)]
    if tasks:
        mounting = sum(
            1 for at in layouts for s, (a, _) in zip(submitted, windows, strict=True) if s <= at < a
        )
        during = sum(1 for at in layouts if any(a <= at <= b for a, b in windows))
        print(
            f"  layout passes of the screen: {mounting} from submitting to the first frame, "
            f"{during} while streaming ({rounds} round(s) of {tasks} tasks)"
        )
    return [lag for _, lag in samples], streaming


async def client_only(
    base_url: str, tasks: int, rounds: int, model: str, size: str, trace: float = 0.0
) -> list[float]:
    """The same streams with no app: the real client, frames touched in a thread (as the app
    does), to show how much of the lag is the wire side."""
    from imgtui.api import stream_images
    from imgtui.api.events import Completed, Partial
    from imgtui.api.request import Connection, ImageRequest

    conn = Connection(base_url=base_url)
    samples: list[tuple[float, float]] = []
    stop = asyncio.Event()
    tracer = StallTracer(trace, "client only") if trace else None
    prober = asyncio.create_task(probe(samples, stop, tracer))

    async def one(i: int) -> None:
        req = ImageRequest(prompt=f"client only {i}", model=model, size=size, partial_images=3)
        async for event in stream_images(conn, req):
            if isinstance(event, (Partial, Completed)):
                await asyncio.to_thread(lambda e=event: e.image)

    for _ in range(rounds):
        await asyncio.gather(*(one(i) for i in range(tasks)))
    stop.set()
    await prober
    if tracer is not None:
        tracer.report()
    return [lag for _, lag in samples]


def summary(name: str, lags: list[float]) -> tuple[float, float]:
    lags = sorted(lags) or [0.0]
    p99 = lags[max(0, int(len(lags) * 0.99) - 1)]
    print(
        f"  {name:<40} max {max(lags) * 1000:7.1f} ms   p99 {p99 * 1000:6.1f} ms   "
        f"median {statistics.median(lags) * 1000:5.2f} ms   ({len(lags)} samples)"
    )
    return max(lags), p99


def run_pace(
    delay: float, tasks: int, rounds: int, model: str, size: str, inline: bool, trace: float
) -> None:
    print(
        f"{harness.size_label(size)}, server pace {delay:g} s per image "
        f"({tasks} tasks x 4 frames, {rounds} rounds):"
    )
    with server_process(delay) as base_url:
        idle = summary(
            "idle app", asyncio.run(scenario(base_url, 0, 0, model, False, size, trace))[0]
        )
        whole, streaming = asyncio.run(scenario(base_url, tasks, rounds, model, False, size, trace))
        ours_all = summary("imgtui, whole run", whole)
        ours = summary("imgtui, while streaming", streaming)
        if inline:
            whole, streaming = asyncio.run(scenario(base_url, tasks, rounds, model, True, size))
            summary("decode on the UI thread, whole run", whole)
            naive = summary("decode on the UI thread, while streaming", streaming)
        wire = summary(
            "client only, no app",
            asyncio.run(client_only(base_url, tasks, rounds, model, size, trace)),
        )
    print(
        f"  max lag while streaming: imgtui / idle app = {ours[0] / max(idle[0], 1e-6):.1f}x;  "
        f"imgtui / client alone = {ours[0] / max(wire[0], 1e-6):.1f}x"
        + (f";  UI-thread decode / imgtui = {naive[0] / max(ours[0], 1e-6):.1f}x" if inline else "")
        + "  (target: max <= 30 ms)"
    )
    print(
        f"  p99 lag while streaming: imgtui / idle app = {ours[1] / max(idle[1], 1e-6):.1f}x;  "
        f"whole run / streaming = {ours_all[1] / max(ours[1], 1e-6):.1f}x"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_size_argument(parser)
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", default="bench-noise")
    parser.add_argument(
        "--delay",
        type=float,
        action="append",
        help="server seconds per image; repeatable (default: 3, the demo's pace; "
        "0.2 saturates a 2-core machine)",
    )
    parser.add_argument(
        "--inline", action="store_true", help="also run with the decode on the UI thread"
    )
    parser.add_argument(
        "--trace-stalls",
        type=float,
        default=0.0,
        metavar="MS",
        help="sample the loop's stack during stalls longer than MS and print where they were",
    )
    args = parser.parse_args()
    for size in harness.sizes_from(args):
        for delay in args.delay or [3.0]:
            run_pace(
                delay,
                args.tasks,
                args.rounds,
                args.model,
                size,
                args.inline,
                args.trace_stalls / 1000,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
