"""Every measurement of the README's performance table in one run, printed as its rows.

    python benchmarks/table.py                 # ~5-8 minutes on a quiet 2-core machine
    python benchmarks/table.py --tasks 1000    # the long-session row with 1,000 tasks (+~3-6 min)
    python benchmarks/table.py --quick         # fewer frames and tasks (a smoke run)

Runs, each in its own process, with the arguments below:

- `preview_latency.py --size 1536x1024,2048x2048,3840x2160 --frames F`: arrival -> painted
  vs the bare pybase64 + PNG decode of the same frames (ratio, target <= 1.5x);
- `loop_lag.py --size ... --rounds 1`: event-loop lag while 8 tasks stream each size at
  the demo's pace (max, target <= 30 ms), with the idle app and the bare client for scale;
- `gif_cpu.py --seconds 10` (`--gif-seconds`; 5 s windows varied by about +-0.5% of a
  core from run to run): CPU with an animated GIF playing in its card, in the card and
  the preview pane, in the detail view, and off screen, each vs a still in its place;
- `tests/system/test_memory.py` (as a script): peak and after-RSS of 8 streams of 4K;
- `history.py --generate N`: RSS after N tasks generated in one session, and KiB per task
  from N/5 tasks to N (settled: a full collection and `memory.give_back()` at both points).

Each script prints its own details (kept below the table); the table takes the figures
from their output. Ratios are measured within one run against a baseline of the same
run, so they mean something on a shared machine; the load average is printed at the start
and the end. Exit code 0 unless a script failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SIZES = ("1536x1024", "2048x2048", "3840x2160")
NAMES = {"1536x1024": "1.5K", "2048x2048": "2K", "3840x2160": "4K"}


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def run(args: list[str], log: list[str], timeout: float = 900) -> str:
    t0 = time.monotonic()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env
    )
    took = time.monotonic() - t0
    log.append(f"$ python {' '.join(args)}   ({took:.0f} s, exit {out.returncode})")
    log.append(out.stdout.rstrip())
    if out.returncode != 0:
        log.append(out.stderr[-2000:].rstrip())
        raise RuntimeError(f"{args[0]} failed (exit {out.returncode})")
    return out.stdout


def per_size(text: str) -> dict[str, str]:
    """The output of a --size script cut into one block per size (by its heading)."""
    blocks: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        head = re.match(r"(\d+x\d+) \(", line)
        if head:
            current = head.group(1)
            blocks[current] = ""
        if current:
            blocks[current] += line + "\n"
    return blocks


def number(pattern: str, text: str) -> float | None:
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None


def fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=12, help="preview frames per size")
    parser.add_argument("--tasks", type=int, default=200, help="tasks for the session row")
    parser.add_argument(
        "--gif-seconds", type=float, default=10, help="seconds per gif_cpu.py window"
    )
    parser.add_argument("--quick", action="store_true", help="6 frames, 48 tasks, 3 s windows")
    args = parser.parse_args()
    if args.quick:
        args.frames, args.tasks, args.gif_seconds = 6, 48, 3
    sizes = ",".join(SIZES)
    log: list[str] = []
    rows: list[tuple[str, str, str, str]] = []
    started = time.monotonic()
    load_start = load()
    failed = []

    def step(name: str, fn) -> None:
        try:
            fn()
        except Exception as exc:  # one script failing still prints the others' rows
            failed.append(name)
            rows.append((name, "", f"failed: {exc}", ""))

    def preview() -> None:
        out = run(
            ["benchmarks/preview_latency.py", "--size", sizes, "--frames", str(args.frames)], log
        )
        for size, block in per_size(out).items():
            med = number(r"arrival -> painted\s+median\s+([\d.]+) ms", block)
            bare = number(r"bare decode, pybase64\s+median\s+([\d.]+) ms", block)
            ratio = number(r"bare decode, pybase64\s+median\s+[\d.]+ ms\s+ratio\s+([\d.]+)x", block)
            stdlib = number(
                r"bare decode, stdlib base64\s+median\s+[\d.]+ ms\s+ratio\s+([\d.]+)x", block
            )
            thread = number(r"decode \+ shrink in the thread\s+([\d.]+) ms", block)
            rows.append(
                (
                    f"preview_latency.py {NAMES.get(size, size)}",
                    f"arrival -> painted, {size}",
                    f"median **{fmt(ratio, 'x', 2)}** pybase64 + PNG ({fmt(med, ' ms')} vs "
                    f"{fmt(bare, ' ms')}; thread decode + shrink {fmt(thread, ' ms')}); "
                    f"{fmt(stdlib, 'x', 2)} stdlib",
                    "<= 1.5x",
                )
            )

    def lag() -> None:
        out = run(["benchmarks/loop_lag.py", "--size", sizes, "--rounds", "1"], log, timeout=1200)
        for size, block in per_size(out).items():
            line = r"{}\s+max\s+([\d.]+) ms\s+p99\s+([\d.]+) ms"
            ours = re.search(line.format(re.escape("imgtui, while streaming")), block)
            idle = number(line.format("idle app"), block)
            wire = number(line.format(re.escape("client only, no app")), block)
            rows.append(
                (
                    f"loop_lag.py {NAMES.get(size, size)}",
                    f"8 streams of {size}, demo pace",
                    f"max **{ours.group(1) if ours else 'n/a'} ms**, p99 "
                    f"{ours.group(2) if ours else 'n/a'} ms; idle app max {fmt(idle, ' ms')}, "
                    f"bare client max {fmt(wire, ' ms')}",
                    "<= 30 ms",
                )
            )

    def gif() -> None:
        seconds = f"{args.gif_seconds:g}"
        out = run(["benchmarks/gif_cpu.py", "--seconds", seconds], log)

        def cpu(name: str) -> float | None:
            return number(re.escape(name) + r"\s+CPU\s+([\d.]+)%", out)

        def shown(name: str) -> float | None:
            return number(re.escape(name) + r".*frames shown in the window: (\d+)", out)

        def over(name: str, baseline: str) -> float | None:
            a, b = cpu(name), cpu(baseline)
            return None if a is None or b is None else a - b

        still, detail = "still (baseline)", "still detail (baseline)"
        rows.append(
            (
                "gif_cpu.py",
                "16-frame 1024x1024 GIF, 100 ms frames, app at 120x40",
                f"over a still: card **{fmt(over('gif card only', still), '%', 1)}** of a core, "
                f"card + preview pane **{fmt(over('gif visible', still), '%', 1)}** "
                f"({fmt(shown('gif visible'), '', 0)} frames shown in {seconds} s), detail view "
                f"**{fmt(over('gif detail view', detail), '%', 1)}**; off screen "
                f"{fmt(over('gif hidden', still), '%', 1)}",
                "< 5%; 0 off screen",
            )
        )

    def memory() -> None:
        out = run(["tests/system/test_memory.py"], log)
        result = json.loads(out.strip().splitlines()[-1])
        rows.append(
            (
                "test_memory.py",
                "8 streams of 3840x2160 (peak, after)",
                f"peak **{result['VmHWM']:.0f} MiB**, after {result['VmRSS']:.0f} MiB "
                f"({', '.join(sorted(set(result['statuses'])))})",
                "< 600 MiB; < 250 MiB",
            )
        )

    def session() -> None:
        out = run(["benchmarks/history.py", "--generate", str(args.tasks)], log, timeout=3600)
        m = re.search(
            r"after (\d+) tasks \((\d+) s\).*?VmRSS ([\d.]+) MiB \(\+([\d.]+) MiB, ([\d.]+) KiB per task\)",
            out,
        )
        slope = re.search(
            r"from (\d+) to (\d+) tasks: ([\d.]+) KiB per task \(VmRSS ([\d.]+) ->", out
        )
        rows.append(
            (
                "history.py --generate",
                f"{args.tasks} tasks generated in one session",
                (
                    f"**{m.group(3)} MiB** RSS after {args.tasks} tasks ({m.group(5)} KiB per "
                    f"task from the start, {m.group(2)} s)"
                    + (
                        f"; {slope.group(4)} MiB after {slope.group(1)}: **{slope.group(3)} KiB "
                        f"per task** from {slope.group(1)} to {slope.group(2)}"
                        if slope
                        else ""
                    )
                )
                if m
                else "did not finish",
                "<= 150 MB",
            )
        )

    os.chdir(ROOT)
    step("preview_latency.py", preview)
    step("loop_lag.py", lag)
    step("gif_cpu.py", gif)
    step("test_memory.py", memory)
    step("history.py", session)
    minutes = (time.monotonic() - started) / 60
    print(
        f"Performance table ({minutes:.1f} min; load average at start {load_start}, "
        f"at end {load()}; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs)\n"
    )
    print("| benchmark | what | result | target |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print("\nDetails (each script's own output):\n")
    print("\n".join(log))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
