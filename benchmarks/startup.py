"""Start-up to the complete first screen (down to the footer's keys), in tmux: imgtui vs a
minimal Textual app.

    PYTHONPATH=src python3 benchmarks/startup.py [--runs 5] [--history 200]

Each run starts a fresh tmux session running the program and polls the pane until the whole
first screen shows: the footer's keys (both apps: `^p palette`; imgtui also `Generate`) and
the content (imgtui: the composer's placeholder; the minimal app: its Static).
imgtui runs as the `imgtui` command does (`python -m imgtui`: the CLI, then the app with
the terminal probe overlapping the imports), with an empty history and with N tasks of
history (images on disk).
imgtui's sources are byte-compiled first, as an installed package's are: with
PYTHONDONTWRITEBYTECODE set (the tmux server passes the environment on), every run would
otherwise compile them from source (~50 ms), while Textual loads its cached bytecode.
Prints medians and ratios measured in this run; no pass/fail.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

MINIMAL = """
from textual.app import App
from textual.widgets import Footer, Header, Static

class Minimal(App):
    def compose(self):
        yield Header()
        yield Static("minimal app ready")
        yield Footer()

Minimal().run()
"""
# The complete first screen: content and the footer's keys.
MINIMAL_SCREEN = ("minimal app ready", "palette")
IMGTUI_SCREEN = ("Describe an image", "Generate", "palette")


def time_to_marker(
    command: str, markers: tuple[str, ...], env: dict[str, str], timeout: float = 20.0
) -> float:
    """Seconds from starting `command` in tmux until every one of `markers` is on screen."""
    session = f"imgtui-bench-{os.getpid()}"
    subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    env_prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    t0 = time.perf_counter()
    subprocess.run(
        [
            "tmux",
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "160",
            "-y",
            "48",
            f"env {env_prefix} {command}",
        ],
        check=True,
    )
    try:
        while True:
            out = subprocess.run(
                ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
            if all(marker in out for marker in markers):
                return time.perf_counter() - t0
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError(f"{markers!r} did not all appear; pane:\n{out}")
            time.sleep(0.005)
    finally:
        pid = subprocess.run(
            ["tmux", "display-message", "-p", "-t", session, "#{pane_pid}"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        wait_gone(int(pid) if pid.isdigit() else None)


def wait_gone(pid: int | None, timeout: float = 10.0) -> None:
    """Wait until process `pid` has ended: a closed terminal makes imgtui end as Ctrl+Q
    does (streams closed, the store caught up), and the next run must neither share the
    CPUs with that nor have its directory removed under it."""
    deadline = time.monotonic() + timeout
    while pid is not None and time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)


def make_history(data: Path, count: int) -> None:
    from imgtui.store import Store
    from imgtui.tui import testing

    with Store(data) as store:
        base = testing.sample_history(store)
        for i in range(max(0, count - len(base))):
            task = base[i % 2]  # the finished ones
            clone = type(task)(
                prompt=f"{task.prompt} #{i}",
                params=dict(task.params),
                profile_name="Demo",
                created_at=task.created_at - 10 * (i + 1),
            )
            clone.status, clone.started_at, clone.finished_at = (
                task.status,
                task.started_at,
                task.finished_at,
            )
            clone.slots = [type(s)(status=s.status, meta=s.meta) for s in task.slots]
            store.save(clone)
            for j, s in enumerate(task.slots):
                if s.image_path is not None:
                    store.write_image(clone, j, Path(s.image_path).read_bytes())
            store.save(clone)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--history", type=int, default=200)
    args = parser.parse_args()
    if not shutil.which("tmux"):
        print("tmux is not installed", file=sys.stderr)
        return 1
    if not compileall.compile_dir(ROOT / "src", quiet=1):
        print(
            "warning: some of src/ did not byte-compile; those modules compile on every run",
            file=sys.stderr,
        )
    py = shlex.quote(sys.executable)
    base_env = {"COLORTERM": "truecolor", "PYTHONPATH": str(ROOT / "src"), "TERM": "xterm-256color"}
    results: dict[str, list[float]] = {
        "minimal": [],
        "imgtui (empty history)": [],
        f"imgtui ({args.history} tasks)": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        minimal = tmp_path / "minimal.py"
        minimal.write_text(MINIMAL)
        full = tmp_path / "full"
        make_history(full / "data", args.history)
        for _ in range(args.runs):
            results["minimal"].append(time_to_marker(f"{py} {minimal}", MINIMAL_SCREEN, base_env))
            empty = tmp_path / f"empty-{time.monotonic_ns()}"
            env = dict(
                base_env,
                IMGTUI_CONFIG_FILE=str(empty / "config.toml"),
                IMGTUI_DATA_DIR=str(empty / "data"),
            )
            results["imgtui (empty history)"].append(
                time_to_marker(f"{py} -m imgtui", IMGTUI_SCREEN, env)
            )
            env = dict(
                base_env,
                IMGTUI_CONFIG_FILE=str(full / "config.toml"),
                IMGTUI_DATA_DIR=str(full / "data"),
            )
            results[f"imgtui ({args.history} tasks)"].append(
                time_to_marker(f"{py} -m imgtui", IMGTUI_SCREEN, env)
            )
    base = statistics.median(results["minimal"])
    for name, values in results.items():
        med = statistics.median(values)
        print(
            f"{name:<26} median {med * 1000:7.0f} ms   min {min(values) * 1000:7.0f} ms   "
            f"ratio to minimal {med / base:5.2f}x   ({len(values)} runs)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
