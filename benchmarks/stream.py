"""Streaming throughput: imgtui's client vs bare httpx vs the openai SDK, same bytes, same run.

    python benchmarks/stream.py [--rounds 3] [--size 1536x1024]

Streams 4 parallel requests x (3 partials + final) of incompressible pixels (~100 MB of SSE)
from the demo server on loopback, and prints each reader's throughput and the
ratios against bare httpx. Absolute numbers vary with machine load; the ratios, measured
in the same run with rounds interleaved, are what to compare.

The server runs in its own process (`imgtui demo-server`), as a real API would: in-process,
it would compete with the reader for the GIL and penalise every reader that does real work
(parsing, base64) against one that only counts bytes. Needs the `bench` extra
(openai) for the SDK column; without it that column is skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "src"))

import httpx

from imgtui.api import Completed, Connection, ImageRequest, Partial, stream_images
from imgtui.demo import server_process

PARALLEL = 4
PARTIALS = 3


def body(size: str) -> dict:
    return {
        "model": "bench-noise",
        "prompt": "noise",
        "size": size,
        "n": 1,
        "stream": True,
        "partial_images": PARTIALS,
    }


async def bare_httpx(base_url: str, size: str) -> tuple[int, int]:
    """Read the raw bytes and nothing else: the ceiling for any SSE client."""
    async with httpx.AsyncClient(timeout=120) as client:

        async def one() -> int:
            n = 0
            async with client.stream(
                "POST", base_url + "/images/generations", json=body(size)
            ) as resp:
                async for chunk in resp.aiter_bytes():
                    n += len(chunk)
            return n

        sizes = await asyncio.gather(*(one() for _ in range(PARALLEL)))
    return sum(sizes), PARALLEL * (PARTIALS + 1)


async def imgtui_client(base_url: str, size: str) -> tuple[int, int]:
    """The full path: SSE parsing, JSON, base64 decoding into image bytes."""
    req = ImageRequest(
        prompt="noise", model="bench-noise", size=size, n=PARALLEL, partial_images=PARTIALS
    )
    nbytes, frames = {}, 0
    async with contextlib.aclosing(stream_images(Connection(base_url), req)) as events:
        async for ev in events:
            if isinstance(ev, (Partial, Completed)):
                frames += 1
                nbytes[ev.slot] = max(nbytes.get(ev.slot, 0), ev.bytes_received)
    return sum(nbytes.values()), frames


async def openai_sdk(base_url: str, size: str) -> tuple[int, int] | None:
    try:
        from openai import AsyncOpenAI
    except ImportError:
        return None
    client = AsyncOpenAI(base_url=base_url, api_key="bench", timeout=120, max_retries=0)

    async def one() -> int:
        frames = 0
        stream = await client.images.generate(
            model="bench-noise",
            prompt="noise",
            size=size,  # type: ignore[arg-type]
            n=1,
            stream=True,
            partial_images=PARTIALS,
        )
        async for event in stream:
            if getattr(event, "b64_json", None):
                frames += 1
        return frames

    frames = await asyncio.gather(*(one() for _ in range(PARALLEL)))
    await client.close()
    return 0, sum(frames)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", default="1536x1024")
    args = parser.parse_args()

    with server_process(0.0) as url:
        await bare_httpx(url, args.size)  # warm the server's frame cache and the connection paths
        readers = {"bare httpx": bare_httpx, "imgtui": imgtui_client, "openai SDK": openai_sdk}
        times: dict[str, list[float]] = {name: [] for name in readers}
        total_bytes = 0
        for _ in range(args.rounds):
            for name, reader in readers.items():
                t0 = time.perf_counter()
                result = await reader(url, args.size)
                dt = time.perf_counter() - t0
                if result is None:
                    times.pop(name, None)
                    continue
                nbytes, frames = result
                assert frames == PARALLEL * (PARTIALS + 1), f"{name}: {frames} frames"
                if name == "bare httpx":
                    total_bytes = nbytes
                times[name].append(dt)

    mb = total_bytes / 1e6
    base = statistics.median(times["bare httpx"])
    print(
        f"{PARALLEL} parallel streams x ({PARTIALS} partials + final) at {args.size}: "
        f"{mb:.0f} MB of SSE per round, median of {args.rounds} rounds"
    )
    print(f"{'reader':<12} {'median s':>9} {'MB/s':>8} {'vs bare httpx':>14}")
    for name, ts in times.items():
        if not ts:
            continue
        med = statistics.median(ts)
        print(f"{name:<12} {med:9.3f} {mb / med:8.1f} {base / med:13.2f}x")
    if times.get("openai SDK"):
        print(
            f"imgtui vs openai SDK: {statistics.median(times['openai SDK']) / statistics.median(times['imgtui']):.2f}x"
        )
    else:
        print("openai SDK: not installed (pip install -e '.[bench]')")


if __name__ == "__main__":
    asyncio.run(main())
