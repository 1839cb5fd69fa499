"""Start-up and memory with a big history: 1,000 tasks and 3,000 image files vs none,
and memory after 1,000 tasks generated in one session.

    python benchmarks/history.py [--runs 5] [--rss-runs 3] [--tasks 1000] [--files 3000]
    python benchmarks/history.py --generate 1000 [--from 200] [--size 1024x1024]   # only (c)

The history is written through the Store API into a temporary data dir: small real PNGs
(sizes, colours and shapes vary per file), mostly finished tasks with 1 to 4 images, some
failed ones (no file), some cancelled and interrupted ones (their last preview frame).

(a) Start-up to the first painted frame, in tmux, exactly as `benchmarks/startup.py` does it
    (its `time_to_marker`: the composer's placeholder appears). Median of --runs, after one
    untimed warm-up run per variant (bytecode, page cache, thumbnail cache). Target: the big
    history costs at most 1.2x the empty one.
(b) The app's memory ~3 s after start (history loaded and its first cards painted): VmRSS
    and VmHWM (the peak) of the app process from /proc/<pid>/status. Also the time until
    history shows (the newest task's prompt on screen). Median of --rss-runs. Target: 150 MB.

(c) Memory after --generate N tasks (default: --tasks) generated in one session: the app
    runs headless in a child process against the demo server (its own process, no delay),
    8 tasks at a time, each streaming partial frames and a final image of --size; VmRSS
    after every tenth of them (as it goes), and settled after --from M tasks (default N/5)
    and after all N: the store's queue done, a full collection, `memory.give_back()`,
    then VmRSS and the live Task, PIL Image, Textual Strip and TaskCard objects. The KiB
    per task from M to N is what the session keeps for each task it has shown once the
    start-up and the bounded caches (Textual's, the list's pictures) have filled: a
    linear leak shows there. 1,000 tasks took 351 s under load 4-6 on a 2-core machine
    (200 took 27 s at load 0.6).

Prints a table; no pass/fail (the exit code is 0 unless something could not run).
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from startup import time_to_marker  # noqa: E402  (same method as the start-up benchmark)

READY = "Describe an image"  # the composer's placeholder: the first frame is painted
EMPTY_MARKER = "No images yet"  # the empty task list
TARGET_RATIO = 1.2
TARGET_RSS_MB = 150
SETTLE_SECONDS = 3.0

WORDS = [
    "lighthouse",
    "dusk",
    "ramen",
    "fox",
    "forest",
    "neon",
    "city",
    "rain",
    "harbour",
    "mountain",
    "desert",
    "glass",
    "copper",
    "paper-cut",
    "isometric",
    "watercolour",
    "portrait",
    "owl",
    "teapot",
    "robot",
    "garden",
    "bridge",
    "comet",
    "library",
    "cathedral",
    "tram",
    "lantern",
    "orchard",
    "glacier",
    "violin",
    "cactus",
    "nebula",
]
SIZES = ((96, 64), (128, 128), (160, 96), (96, 144), (192, 128), (256, 256), (224, 160))


# -- the history --------------------------------------------------------------------------


def small_png(rng: random.Random, size: tuple[int, int] | None = None) -> bytes:
    """A small, real, distinct PNG: a two-colour gradient at a random angle plus shapes."""
    from PIL import Image, ImageDraw, ImageOps

    w, h = size or rng.choice(SIZES)
    c1 = tuple(rng.randrange(256) for _ in range(3))
    c2 = tuple(rng.randrange(256) for _ in range(3))
    grad = Image.linear_gradient("L").rotate(
        rng.uniform(0, 360), resample=Image.BILINEAR, expand=False
    )
    im = ImageOps.colorize(grad.resize((w, h)), c1, c2)
    draw = ImageDraw.Draw(im)
    for _ in range(rng.randint(2, 6)):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randint(4, w // 2), y0 + rng.randint(4, h // 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.line((x0, y0, x1, y1), fill=colour, width=rng.randint(1, 4))
    out = BytesIO()
    im.save(out, format="PNG")
    return out.getvalue()


def plan(tasks: int, files: int, rng: random.Random) -> list[tuple[str, int]]:
    """(status, file count) per task, newest first, with exactly `files` files in all.

    One task in 20 failed (no file), one in 20 cancelled and one in 20 interrupted (one
    preview frame each); the rest finished, with 1 to 4 images.
    """
    kinds = [
        "failed"
        if i % 20 == 7
        else "cancelled"
        if i % 20 == 13
        else "interrupted"
        if i % 20 == 17
        else "done"
        for i in range(tasks)
    ]
    done = [i for i, k in enumerate(kinds) if k == "done"]
    left = files - sum(k in ("cancelled", "interrupted") for k in kinds)
    if not done or not len(done) <= left <= 4 * len(done):
        raise SystemExit(f"cannot spread {files} files over {tasks} tasks")
    counts = {i: 1 for i in done}
    extra = left - len(done)
    while extra:
        i = rng.choice(done)
        if counts[i] < 4:
            counts[i] += 1
            extra -= 1
    return [
        (k, counts.get(i, 1 if k in ("cancelled", "interrupted") else 0))
        for i, k in enumerate(kinds)
    ]


def make_history(data: Path, tasks: int, files: int, seed: int = 1) -> tuple[str, int]:
    """Write the history; return the newest task's prompt and the number of files written."""
    from imgtui.api.events import Failed, FailureKind, ImageMeta
    from imgtui.store import Store
    from imgtui.tasks import Slot, SlotStatus, Status, Task

    rng = random.Random(seed)
    now = time.time()
    written = 0
    newest = ""
    with Store(data) as store:
        for i, (kind, count) in enumerate(plan(tasks, files, rng)):
            prompt = f"#{i:04d} " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14)))
            newest = newest or prompt
            size, quality = (
                rng.choice(("1024x1024", "1536x1024", "1024x1536")),
                rng.choice(("low", "medium", "high")),
            )
            n = max(1, count)
            created = now - 600 * (i + 1)
            task = Task(
                prompt=prompt,
                profile_name="Demo",
                created_at=created,
                params={
                    "model": "gpt-image-1",
                    "size": size,
                    "quality": quality,
                    "n": n,
                    "output_format": "png",
                    "partial_images": 2,
                    "stream": True,
                },
            )
            task.started_at, task.finished_at = created, created + rng.uniform(5, 40)
            task.first_partial_at = created + 3
            meta = ImageMeta(size=size, quality=quality, output_format="png")
            if kind == "done":
                task.status = Status.DONE
                task.slots = [
                    Slot(
                        status=SlotStatus.DONE,
                        meta=meta,
                        revised_prompt=f"{prompt}, detailed",
                        usage={"input_tokens": 20, "output_tokens": 4160},
                    )
                    for _ in range(n)
                ]
            elif kind == "failed":
                task.status = Status.FAILED
                task.first_partial_at = None
                err = Failed(
                    0, FailureKind.MODERATION, "The request was rejected by the safety system."
                )
                task.slots = [Slot(status=SlotStatus.FAILED, error=err)]
                task.error_kind, task.error_message = err.kind.value, err.message
            else:
                task.status = Status.CANCELLED if kind == "cancelled" else Status.INTERRUPTED
                task.slots = [Slot(status=SlotStatus.CANCELLED, partial_index=1, meta=meta)]
                if kind == "cancelled":
                    task.error_kind, task.error_message = "cancelled", "Cancelled"
            store.save(task)
            for j, slot in enumerate(task.slots):
                if slot.status is SlotStatus.DONE:
                    store.write_image(task, j, small_png(rng))
                    written += 1
                elif slot.partial_index is not None:
                    store.write_partial(task, j, small_png(rng))
                    written += 1
            store.save(task)
        assert store.count() == tasks
    return newest, written


# -- measuring ----------------------------------------------------------------------------


def run_settled(
    command: str,
    env: dict[str, str],
    history_marker: str,
    settle: float = SETTLE_SECONDS,
    timeout: float = 30.0,
) -> dict[str, float]:
    """Start the app in tmux (same way as `time_to_marker`), note when the first frame and
    the history show, then read its memory `settle` seconds after start."""
    session = f"imgtui-history-{os.getpid()}"
    subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    env_prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    t0 = time.perf_counter()
    out = subprocess.run(
        [
            "tmux",
            "new-session",
            "-d",
            "-P",
            "-F",
            "#{pane_pid}",
            "-s",
            session,
            "-x",
            "160",
            "-y",
            "48",
            f"exec env {env_prefix} {command}",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    pid = int(out.stdout.strip())  # exec: the pane's process is the app
    result: dict[str, float] = {}
    try:
        pending = {"first_frame": READY, "history": history_marker}
        while pending:
            pane = subprocess.run(
                ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
            now = time.perf_counter() - t0
            for name, marker in list(pending.items()):
                if marker in pane:
                    result[name] = now
                    del pending[name]
            if now > timeout:
                raise TimeoutError(f"{list(pending.values())} did not appear; pane:\n{pane}")
            time.sleep(0.005)
        time.sleep(max(0.0, settle - (time.perf_counter() - t0)))
        status = Path(f"/proc/{pid}/status").read_text()
        for line in status.splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                result[key] = int(value.split()[0]) / 1024  # kB -> MiB
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    return result


# -- (c) generated in one session ---------------------------------------------------------


async def generate_in_session(tasks: int, size: str, first: int, wave: int = 8) -> None:
    """Child process: generate `tasks` tasks through the app, printing RSS as it goes and
    what the session holds after `first` tasks and at the end (`settled`)."""

    import harness
    from imgtui.config import demo_profile
    from imgtui.demo import server_process

    with server_process(0.0) as base_url, tempfile.TemporaryDirectory() as tmp:
        app = harness.make_app(Path(tmp), base_url, model=demo_profile().model, partial_images=2)
        async with app.run_test(size=(160, 48)):
            await harness.ready(app)
            harness.set_params(app, size, quality="low")
            base = harness.proc_status()["VmRSS"]
            print(f"  {'tasks':>6} {'VmRSS':>10} {'per task':>10}  (as it goes)", flush=True)
            print(f"  {0:6d} {base:6.1f} MiB", flush=True)
            done = 0
            t0 = time.perf_counter()
            step = max(1, tasks // 10)
            points: dict[int, dict[str, float]] = {}
            while done < tasks:
                size_of_wave = min(wave, tasks - done, first - done if done < first else wave)
                batch = [app.submit(f"session task {done + i}") for i in range(size_of_wave)]
                if not await harness.wait_ended(batch, timeout=120):
                    print("  timed out", file=sys.stderr)
                    return
                failed = [t for t in batch if t.status.value != "done"]
                if failed:
                    print(f"  {failed[0].status.value}: {failed[0].error_message}", file=sys.stderr)
                before, done = done, done + len(batch)
                if done // step != before // step or done == tasks:
                    rss = harness.proc_status()["VmRSS"]
                    print(
                        f"  {done:6d} {rss:6.1f} MiB {(rss - base) * 1024 / done:7.1f} KiB",
                        flush=True,
                    )
                if done in (first, tasks) and done not in points:
                    points[done] = await settled(app)
                    print(f"  after {done} tasks, settled: {describe(points[done])}", flush=True)
            took = time.perf_counter() - t0
            end = points[tasks]
            print(
                f"  after {tasks} tasks ({took:.0f} s), full collection: "
                f"VmRSS {end['VmRSS']:.1f} MiB (+{end['VmRSS'] - base:.1f} MiB, "
                f"{(end['VmRSS'] - base) * 1024 / tasks:.1f} KiB per task), "
                f"peak VmHWM {end['VmHWM']:.1f} MiB",
                flush=True,
            )
            if first in points and first < tasks:
                start = points[first]
                per_task = (end["VmRSS"] - start["VmRSS"]) * 1024 / (tasks - first)
                print(
                    f"  from {first} to {tasks} tasks: {per_task:.1f} KiB per task "
                    f"(VmRSS {start['VmRSS']:.1f} -> {end['VmRSS']:.1f} MiB)",
                    flush=True,
                )


async def settled(app) -> dict[str, float]:
    """What the session holds once its last writes are done: VmRSS and VmHWM (MiB) after a
    full collection and `memory.give_back()` (what the app itself does after each task, on
    the store thread), and counts of live objects by kind."""
    import asyncio
    import gc

    import harness
    from imgtui import memory

    await app.service.history.call(lambda: None)  # the store's queue has run
    await asyncio.sleep(0.5)  # the last pictures and repaints
    gc.collect()
    memory.give_back()
    out = harness.proc_status()
    kinds = {"Task": 0, "Image": 0, "Strip": 0, "TaskCard": 0}
    for obj in gc.get_objects():  # not the start-up objects `gc.freeze()` put aside
        name = type(obj).__name__
        if name in kinds:
            kinds[name] += 1
    out.update({f"live {k}": float(v) for k, v in kinds.items()})
    out["mounted cards"] = float(len(app.task_list.cards))
    return out


def describe(point: dict[str, float]) -> str:
    return f"VmRSS {point['VmRSS']:.1f} MiB; " + ", ".join(
        f"{k} {v:.0f}" for k, v in point.items() if not k.startswith("Vm")
    )


def run_generated(tasks: int, size: str, first: int | None = None) -> None:
    first = min(tasks, first if first is not None else max(1, tasks // 5))
    print(f"\n(c) {tasks} tasks of {size} generated in one session (headless app, child process):")
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--child-generate",
            str(tasks),
            "--size",
            size,
            "--from",
            str(first),
        ],
        check=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--generate",
        type=int,
        metavar="N",
        help="only (c): memory after N tasks generated in one session",
    )
    parser.add_argument("--size", default="1024x1024", help="image size for (c)")
    parser.add_argument(
        "--from",
        dest="first",
        type=int,
        metavar="M",
        help="(c): the KiB per task from M tasks to the end (default: a fifth of them)",
    )
    parser.add_argument("--child-generate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=5, help="start-up runs per variant")
    parser.add_argument("--rss-runs", type=int, default=3, help="memory runs per variant")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--files", type=int, default=3000)
    args = parser.parse_args()
    if args.child_generate:
        import asyncio

        n = args.child_generate
        asyncio.run(generate_in_session(n, args.size, min(n, args.first or max(1, n // 5))))
        return 0
    if args.generate:
        run_generated(args.generate, args.size, args.first)
        return 0
    if not shutil.which("tmux"):
        print("tmux is not installed", file=sys.stderr)
        return 1
    py = shlex.quote(sys.executable)
    command = f"{py} -m imgtui.tui.app"
    base_env = {"COLORTERM": "truecolor", "PYTHONPATH": str(ROOT / "src"), "TERM": "xterm-256color"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        full = tmp_path / "full"
        t = time.perf_counter()
        newest, written = make_history(full / "data", args.tasks, args.files)
        db_mb = (full / "data" / "history.sqlite3").stat().st_size / 2**20
        files_mb = (
            sum(p.stat().st_size for p in (full / "data" / "images").rglob("*") if p.is_file())
            / 2**20
        )
        print(
            f"history: {args.tasks} tasks, {written} image files ({files_mb:.1f} MiB), database {db_mb:.1f} MiB; "
            f"built in {time.perf_counter() - t:.1f} s"
        )
        full_env = dict(
            base_env,
            IMGTUI_CONFIG_FILE=str(full / "config.toml"),
            IMGTUI_DATA_DIR=str(full / "data"),
        )

        def empty_env() -> dict[str, str]:  # a fresh, empty data dir per run, as in startup.py
            empty = tmp_path / f"empty-{time.monotonic_ns()}"
            return dict(
                base_env,
                IMGTUI_CONFIG_FILE=str(empty / "config.toml"),
                IMGTUI_DATA_DIR=str(empty / "data"),
            )

        history_marker = newest[:24]
        variants = {
            "empty history": (empty_env, EMPTY_MARKER),
            f"{args.tasks} tasks / {written} files": (lambda: full_env, history_marker),
        }
        first: dict[str, list[float]] = {name: [] for name in variants}
        settled: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
        for env_of, _ in variants.values():  # warm-up: bytecode, page cache, thumbnails
            time_to_marker(command, READY, env_of())
        for _ in range(args.runs):  # interleaved, so drift hits both variants alike
            for name, (env_of, _) in variants.items():
                first[name].append(time_to_marker(command, READY, env_of()))
        for _ in range(args.rss_runs):
            for name, (env_of, marker) in variants.items():
                settled[name].append(run_settled(command, env_of(), marker))

    def med(values: list[float]) -> float:
        return statistics.median(values)

    print()
    print(
        f"{'variant':<26} {'first frame':>12} {'min':>7} {'history shown':>14} {'VmRSS @3s':>10} {'VmHWM':>8}"
    )
    for name in variants:
        s = settled[name]
        print(
            f"{name:<26} {med(first[name]) * 1000:9.0f} ms {min(first[name]) * 1000:4.0f} ms "
            f"{med([r['history'] for r in s]) * 1000:11.0f} ms {med([r['VmRSS'] for r in s]):6.1f} MiB "
            f"{med([r['VmHWM'] for r in s]):4.0f} MiB"
        )
    empty_name, full_name = variants
    ratio = med(first[full_name]) / med(first[empty_name])
    rss = med([r["VmRSS"] for r in settled[full_name]])
    print()
    print(
        f"first frame, {full_name} / empty: {ratio:.2f}x (target <= {TARGET_RATIO}x)  "
        f"[{args.runs} runs each, medians]"
    )
    print(
        f"memory with {full_name}: {rss:.1f} MiB VmRSS (target <= {TARGET_RSS_MB} MB)  "
        f"[{args.rss_runs} runs each, medians]"
    )
    run_generated(args.tasks, args.size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
