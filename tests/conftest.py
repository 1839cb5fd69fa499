"""Fixtures shared by every test.

- `server`: the demo server, one per session on a loopback port. Each test module gets it
  cleared (requests and counters forgotten) at its pacing: the module's `DEMO_DELAY`
  (seconds per image, default 0). Modules that change `server.delay` themselves get it
  reset before the next module.
- Every test runs with its own config file and data folder (`IMGTUI_CONFIG_FILE`,
  `IMGTUI_DATA_DIR` under `tmp_path`) and without `OPENAI_API_KEY`/`OPENAI_BASE_URL`, so
  nothing reads or writes the user's real config, history or key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from imgtui.demo import DemoServer

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


@pytest.fixture(scope="session")
def demo_server() -> Iterator[DemoServer]:
    """The session's one demo server (use `server` in tests: it is cleared per module)."""
    with DemoServer(delay=0.0) as srv:
        yield srv


@pytest.fixture(scope="module")
def server(demo_server: DemoServer, request: pytest.FixtureRequest) -> Iterator[DemoServer]:
    """The shared demo server, cleared, at the module's `DEMO_DELAY` seconds per image."""
    demo_server.delay = getattr(request.module, "DEMO_DELAY", 0.0)
    demo_server.clear()
    yield demo_server
    demo_server.delay = 0.0
    demo_server.clear()


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A config file and data folder of the test's own; no OpenAI variables."""
    monkeypatch.setenv("IMGTUI_CONFIG_FILE", str(tmp_path / "imgtui-config" / "config.toml"))
    monkeypatch.setenv("IMGTUI_DATA_DIR", str(tmp_path / "imgtui-data"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
