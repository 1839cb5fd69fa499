"""What the CLI tests share: a clean environment for `imgtui` subprocesses and the runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SRC = Path(__file__).parents[2] / "src"


def clean_env(tmp_path: Path) -> dict[str, str]:
    """This process's environment without OPENAI_*/IMGTUI_* variables, with its own config
    and data dirs under `tmp_path` and an undelayed demo server."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "IMGTUI_"))}
    e["IMGTUI_CONFIG_FILE"] = str(tmp_path / "cfg" / "config.toml")
    e["IMGTUI_DATA_DIR"] = str(tmp_path / "data")
    e["IMGTUI_DEMO_DELAY"] = "0"
    e["PYTHONPATH"] = str(SRC)
    return e


def run(args: list[str], env: dict[str, str], timeout: float = 60, **kw: Any):
    """`python -m imgtui ARGS` as a subprocess: the CompletedProcess, text output captured."""
    return subprocess.run(
        [sys.executable, "-m", "imgtui", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )
