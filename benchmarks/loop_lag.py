"""Event-loop lag while 8 tasks stream 1536x1024 frames.

    PYTHONPATH=src python3 benchmarks/loop_lag.py [--tasks 8] [--rounds 2]

A probe coroutine on the app's loop sleeps 5 ms in a loop and records how late it wakes.
Runs in this process: the idle app; imgtui as built (frames decoded and shrunk in
threads); the same app with the decode moved onto the UI thread (what STYLE habit 5
avoids); and the same streams read by the bare client with no app (the wire side's share
of the lag). The demo server runs in a child process. Prints numbers; no pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import imgtui.tui.app as app_module  # noqa: E402
from imgtui.demo import server_process  # noqa: E402
from imgtui.store import Store  # noqa: E402
from imgtui.tui import testing  # noqa: E402
from imgtui.tui.session import Params  # noqa: E402



TICK = 0.005


async def probe(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(TICK)
        lags.append(max(0.0, time.perf_counter() - t0 - TICK))


async def scenario(base_url: str, tasks: int, rounds: int, model: str, inline_decode: bool) -> list[float]:
    real_asyncio = app_module.asyncio
    if inline_decode:
        async def to_thread(fn, *args, **kwargs):
            return fn(*args, **kwargs)

        app_module.asyncio = types.SimpleNamespace(**{k: getattr(asyncio, k) for k in dir(asyncio) if not k.startswith("__")})
        app_module.asyncio.to_thread = to_thread
    lags: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            app = app_module.ImgtuiApp(config=testing.demo_config(root, model=model, partial_images=3),
                                       store=Store(root / "data"), demo_base_url=base_url,
                                       renderer="halfcell")
            async with app.run_test(size=(140, 44)) as pilot:
                await app._history_loaded.wait()
                app._set_params(Params(app.params.profile, size="1536x1024", quality="high", n=1))
                stop = asyncio.Event()
                prober = asyncio.create_task(probe(lags, stop))
                if tasks == 0:
                    await pilot.pause(3.0)
                for r in range(rounds if tasks else 0):
                    started = [app.submit(f"lag probe {r}-{i}") for i in range(tasks)]
                    deadline = time.monotonic() + 120
                    while not all(t.status.ended for t in started):
                        if time.monotonic() > deadline:
                            print("  timed out:", [t.status_word() for t in started], file=sys.stderr)
                            break
                        await pilot.pause(0.02)
                    failed = [t for t in started if t.status.value != "done"]
                    if failed:
                        print(f"  {len(failed)} task(s) ended {failed[0].status.value}: {failed[0].error_message}",
                              file=sys.stderr)
                stop.set()
                await prober
    finally:
        app_module.asyncio = real_asyncio
    return lags


async def client_only(base_url: str, tasks: int, rounds: int, model: str) -> list[float]:
    """The same streams with no app: the real client, frames touched in a thread (as the app
    does), to show how much of the lag is the wire side."""
    from imgtui.api import stream_images
    from imgtui.api.events import Completed, Partial
    from imgtui.api.request import Connection, ImageRequest

    conn = Connection(base_url=base_url)
    lags: list[float] = []
    stop = asyncio.Event()
    prober = asyncio.create_task(probe(lags, stop))

    async def one(i: int) -> None:
        req = ImageRequest(prompt=f"client only {i}", model=model, size="1536x1024", partial_images=3)
        async for event in stream_images(conn, req):
            if isinstance(event, (Partial, Completed)):
                await asyncio.to_thread(lambda e=event: e.image)

    for _ in range(rounds):
        await asyncio.gather(*(one(i) for i in range(tasks)))
    stop.set()
    await prober
    return lags


def summary(name: str, lags: list[float]) -> tuple[float, float]:
    lags = sorted(lags)
    p99 = lags[int(len(lags) * 0.99) - 1] if lags else 0.0
    print(f"{name:<34} max {max(lags) * 1000:7.1f} ms   p99 {p99 * 1000:6.1f} ms   "
          f"median {statistics.median(lags) * 1000:5.2f} ms   ({len(lags)} samples)")
    return max(lags), p99


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", default="bench-noise")
    parser.add_argument("--delay", type=float, default=0.2,
                        help="server seconds per image (0.2: saturate the machine; 3: the demo's realistic pace)")
    args = parser.parse_args()
    with server_process(args.delay) as base_url:
        idle = summary("idle app", asyncio.run(scenario(base_url, 0, 0, args.model, False)))
        ours = summary(f"{args.tasks} tasks, decode in threads",
                       asyncio.run(scenario(base_url, args.tasks, args.rounds, args.model, False)))
        naive = summary(f"{args.tasks} tasks, decode on UI thread",
                        asyncio.run(scenario(base_url, args.tasks, args.rounds, args.model, True)))
        wire = summary(f"{args.tasks} streams, client only, no app",
                       asyncio.run(client_only(base_url, args.tasks, args.rounds, args.model)))
    print(f"max lag: threads / idle = {ours[0] / max(idle[0], 1e-6):.1f}x;  UI-thread decode / threads = {naive[0] / max(ours[0], 1e-6):.1f}x")
    print(f"max lag: app / client alone = {ours[0] / max(wire[0], 1e-6):.1f}x;  "
          f"p99: app / client alone = {ours[1] / max(wire[1], 1e-6):.1f}x")
    print(f"p99 lag: threads / idle = {ours[1] / max(idle[1], 1e-6):.1f}x;  UI-thread decode / threads = {naive[1] / max(ours[1], 1e-6):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
