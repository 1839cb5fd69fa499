"""`Runner.warm_up` imports the streaming modules in its thread, so the first task's stream
does not import them on the event loop (a 20-30 ms stall, `loop_lag.py --trace-stalls`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).parents[2] / "src")
STREAMING = ("imgtui.api.client", "imgtui.api.sse", "imgtui.api.bigjson", "imgtui.api.polled")

SCRIPT = f"""
import asyncio, sys
from imgtui.runner import Runner

streaming = {STREAMING!r}
before = [m for m in streaming if m in sys.modules]
asyncio.run(Runner().warm_up())
after = [m for m in streaming if m in sys.modules]
print(before, after)
"""


def test_warm_up_imports_the_streaming_modules():
    r = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"[] {list(STREAMING)!r}"
