"""Event-loop lag while 8 tasks stream 1536x1024 frames.

    PYTHONPATH=src python3 benchmarks/loop_lag.py [--tasks 8] [--rounds 2] [--delay 3 --delay 0.2]

A probe coroutine on the app's loop sleeps 5 ms in a loop and records how late it wakes.
Runs in this process: the idle app; imgtui as built (frames decoded and shrunk on the
picture threads); the same app with the decode moved onto the UI thread (what STYLE habit
5 avoids); and the same streams read by the bare client with no app (the wire side's share
of the lag). Each round submits all tasks in one go, so the app first mounts 8 cards at
once; "while streaming" counts from the round's first partial frame. Two server paces:
the demo's (3 s per image: the 8 tasks' frames still land together) and 0.2 s per image
(~250 MB/s of base64 into a 2-core machine that also runs the server). The demo server
runs in a child process. Prints numbers; no pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import imgtui.tui.app as app_module  # noqa: E402
from imgtui.demo import server_process  # noqa: E402
from imgtui.store import Store  # noqa: E402
from imgtui.tui import testing  # noqa: E402
from imgtui.tui.session import Params  # noqa: E402

TICK = 0.005


async def probe(lags: list[tuple[float, float]], stop: asyncio.Event) -> None:
    """Record (wake time, lag) every TICK."""
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(TICK)
        now = time.perf_counter()
        lags.append((now, max(0.0, now - t0 - TICK)))


async def scenario(
    base_url: str, tasks: int, rounds: int, model: str, inline_decode: bool
) -> tuple[list[float], list[float]]:
    """Lags over the whole run, and over the streaming windows only (from each round's
    first partial frame on; before it the app is mounting the round's new cards)."""
    samples: list[tuple[float, float]] = []
    windows: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        app = app_module.ImgtuiApp(
            config=testing.demo_config(root, model=model, partial_images=3),
            store=Store(root / "data"),
            demo_base_url=base_url,
            renderer="halfcell",
        )
        if inline_decode:

            async def inline(fn, *args):
                return fn(*args)

            app.in_picture_thread = inline  # type: ignore[method-assign]
        async with app.run_test(size=(140, 44)):
            await app._history_loaded.wait()
            app._set_params(Params(app.params.profile, size="1536x1024", quality="high", n=1))
            stop = asyncio.Event()
            prober = asyncio.create_task(probe(samples, stop))
            if tasks == 0:
                await asyncio.sleep(3.0)
            for r in range(rounds if tasks else 0):
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
    streaming = [lag for at, lag in samples if any(a <= at <= b for a, b in windows)]
    return [lag for _, lag in samples], streaming


async def client_only(base_url: str, tasks: int, rounds: int, model: str) -> list[float]:
    """The same streams with no app: the real client, frames touched in a thread (as the app
    does), to show how much of the lag is the wire side."""
    from imgtui.api import stream_images
    from imgtui.api.events import Completed, Partial
    from imgtui.api.request import Connection, ImageRequest

    conn = Connection(base_url=base_url)
    samples: list[tuple[float, float]] = []
    stop = asyncio.Event()
    prober = asyncio.create_task(probe(samples, stop))

    async def one(i: int) -> None:
        req = ImageRequest(
            prompt=f"client only {i}", model=model, size="1536x1024", partial_images=3
        )
        async for event in stream_images(conn, req):
            if isinstance(event, (Partial, Completed)):
                await asyncio.to_thread(lambda e=event: e.image)

    for _ in range(rounds):
        await asyncio.gather(*(one(i) for i in range(tasks)))
    stop.set()
    await prober
    return [lag for _, lag in samples]


def summary(name: str, lags: list[float]) -> tuple[float, float]:
    lags = sorted(lags) or [0.0]
    p99 = lags[max(0, int(len(lags) * 0.99) - 1)]
    print(
        f"  {name:<40} max {max(lags) * 1000:7.1f} ms   p99 {p99 * 1000:6.1f} ms   "
        f"median {statistics.median(lags) * 1000:5.2f} ms   ({len(lags)} samples)"
    )
    return max(lags), p99


def run_pace(delay: float, tasks: int, rounds: int, model: str) -> None:
    print(
        f"server pace {delay:g} s per image ({tasks} tasks x 4 frames of 1536x1024, {rounds} rounds):"
    )
    with server_process(delay) as base_url:
        idle = summary("idle app", asyncio.run(scenario(base_url, 0, 0, model, False))[0])
        whole, streaming = asyncio.run(scenario(base_url, tasks, rounds, model, False))
        ours_all = summary("imgtui, whole run", whole)
        ours = summary("imgtui, while streaming", streaming)
        whole, streaming = asyncio.run(scenario(base_url, tasks, rounds, model, True))
        summary("decode on the UI thread, whole run", whole)
        naive = summary("decode on the UI thread, while streaming", streaming)
        wire = summary(
            "client only, no app", asyncio.run(client_only(base_url, tasks, rounds, model))
        )
    print(
        f"  max lag while streaming: imgtui / idle app = {ours[0] / max(idle[0], 1e-6):.1f}x;  "
        f"UI-thread decode / imgtui = {naive[0] / max(ours[0], 1e-6):.1f}x;  "
        f"imgtui / client alone = {ours[0] / max(wire[0], 1e-6):.1f}x"
    )
    print(
        f"  p99 lag while streaming: imgtui / idle app = {ours[1] / max(idle[1], 1e-6):.1f}x;  "
        f"whole run / streaming = {ours_all[1] / max(ours[1], 1e-6):.1f}x"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", default="bench-noise")
    parser.add_argument(
        "--delay",
        type=float,
        action="append",
        help="server seconds per image; repeatable (default: 3, the demo's pace, "
        "and 0.2, which saturates a 2-core machine)",
    )
    args = parser.parse_args()
    for delay in args.delay or [3.0, 0.2]:
        run_pace(delay, args.tasks, args.rounds, args.model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
