"""Running the demo server: `DemoServer` (uvicorn in a thread), `embedded_server`, `serve`.

The demo server is an OpenAI-compatible image API (see `endpoints.py`) with fault modes
(`faults.py`), pacing and request recording (`state.py`). It is both the app's provider
that needs no API key and the peer the real client is tested against.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from typing import Any

from starlette.applications import Starlette

from imgtui.demo.endpoints import create_app
from imgtui.demo.state import DEFAULT_DELAY, DemoState

__all__ = [
    "DEFAULT_DELAY",
    "DemoServer",
    "DemoState",
    "create_app",
    "embedded_server",
    "serve",
    "server_process",
]


def _uvicorn_server(app: Starlette, state: DemoState, *, threaded: bool) -> Any:
    """A uvicorn.Server for `app`, quiet, that tells `state` when it starts shutting down.

    In a thread, uvicorn installs no signal handlers (it only does in the main thread) and
    we pass `log_config=None` so it attaches no handlers that write to the terminal (the
    TUI owns it); its loggers propagate to whatever the app configured.
    """
    import uvicorn

    class _Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            state.stopping.set()  # Ctrl-C: let open streams and stalls end now
            super().handle_exit(sig, frame)

    config_args: dict[str, Any] = {"log_config": None} if threaded else {}
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
        **config_args,
    )
    return _Server(config)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


class DemoServer:
    """The demo server on a loopback port, run by uvicorn in a daemon thread.

        with DemoServer(delay=0) as srv:
            httpx.post(srv.base_url + "/images/generations", json={...})

    Attributes for tests: `requests` (records of every request), `streams_started`,
    `streams_completed`, `streams_dropped`, `disconnects`, `max_in_flight`.
    """

    def __init__(
        self,
        delay: float = DEFAULT_DELAY,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
    ) -> None:
        self.host = host
        self.port = port  # the real port once started (when 0 was asked)
        self.state = DemoState(delay=delay, api_key=api_key)
        self.app = create_app(self.state)
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- addresses

    @property
    def origin(self) -> str:
        """`http://host:port` (a wildcard host is replaced by loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def fault_url(self, mode: str) -> str:
        """Base URL whose requests all fail in fault mode `mode`."""
        return f"{self.origin}/fault/{mode}/v1"

    # -- recording and statistics

    @property
    def delay(self) -> float:
        return self.state.delay

    @delay.setter
    def delay(self, value: float) -> None:
        self.state.delay = float(value)

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.state.requests

    @property
    def streams_started(self) -> int:
        return self.state.streams_started

    @property
    def streams_completed(self) -> int:
        return self.state.streams_completed

    @property
    def streams_dropped(self) -> int:
        return self.state.streams_dropped

    @property
    def disconnects(self) -> int:
        return self.state.disconnects

    @property
    def max_in_flight(self) -> int:
        """The most generations (streamed or Responses requests) answered at once since
        the last `clear()`."""
        return self.state.max_in_flight

    def wait_for_disconnects(self, count: int, timeout: float = 5.0) -> bool:
        """Block until at least `count` disconnects were seen; False after `timeout` seconds."""
        return self.state.wait_for(lambda: self.state.disconnects >= count, timeout)

    async def wait_for_disconnects_async(self, count: int, timeout: float = 5.0) -> bool:
        """`wait_for_disconnects` for async tests (waits in a worker thread)."""
        return await asyncio.to_thread(self.wait_for_disconnects, count, timeout)

    def clear(self) -> None:
        """Forget recorded requests and reset the counters (and open every gate)."""
        self.state.clear()

    def release(self, name: str) -> None:
        """Open gate `name`: streams sent with `x-demo-hold: NAME` send their final image."""
        self.state.open_gate(name)

    # -- lifecycle

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> DemoServer:
        """Start serving in a daemon thread; returns once the port accepts requests. Idempotent."""
        with self._lock:
            if self.running:
                return self
            sock = _bind(self.host, self.port)
            self.port = sock.getsockname()[1]
            self.state.stopping.clear()
            server = _uvicorn_server(self.app, self.state, threaded=True)
            thread = threading.Thread(
                target=server.run,
                kwargs={"sockets": [sock]},
                name=f"imgtui-demo-server:{self.port}",
                daemon=True,
            )
            thread.start()
            deadline = time.monotonic() + 10.0
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    server.should_exit = True
                    sock.close()
                    raise RuntimeError(f"demo server failed to start on {self.host}:{self.port}")
                time.sleep(0.005)
            self._server, self._thread = server, thread
            return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, cutting open streams and stalled requests. Fast (well under 1 s)."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
            if server is None or thread is None:
                return
            self.state.stopping.set()
            server.should_exit = True
            server.force_exit = True  # do not wait for open connections to finish
            thread.join(timeout)

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl-C (prints the base URL first)."""
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        self.state.stopping.clear()
        server = _uvicorn_server(self.app, self.state, threaded=False)
        print(
            f"imgtui demo server: {self.base_url}  (delay {self.delay:g}s per image; Ctrl-C stops)",
            flush=True,
        )
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:
            pass  # uvicorn re-raises the Ctrl-C it handled
        finally:
            sock.close()

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<DemoServer {self.base_url} {state} delay={self.delay:g}>"


_embedded: DemoServer | None = None
_embedded_lock = threading.Lock()


def embedded_server() -> DemoServer:
    """The process-wide demo server, started on first use. Thread-safe.

    Pacing is realistic (DEFAULT_DELAY seconds per image) unless `IMGTUI_DEMO_DELAY` sets it
    (tests and scripted demos use 0).
    """
    global _embedded
    with _embedded_lock:
        if _embedded is None:
            delay = DEFAULT_DELAY
            with contextlib.suppress(ValueError):
                delay = max(0.0, float(os.environ.get("IMGTUI_DEMO_DELAY", DEFAULT_DELAY)))
            _embedded = DemoServer(delay=delay)
        return _embedded.start()


def serve(
    host: str = "127.0.0.1", port: int = 0, delay: float = DEFAULT_DELAY, api_key: str | None = None
) -> None:
    """Run the demo server in the foreground (for `imgtui demo-server`); Ctrl-C stops it."""
    DemoServer(delay=delay, host=host, port=port, api_key=api_key).serve_forever()


@contextlib.contextmanager
def server_process(delay: float = DEFAULT_DELAY, host: str = "127.0.0.1"):
    """Run the demo server in a child process on a free port; yields its base URL.

    Benchmarks use it so the server, as a real API would be, does not compete with the
    client for this process's GIL.
    """
    import re
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).resolve().parents[2])
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from imgtui.demo import serve; "
        f"serve({host!r}, 0, {float(delay)!r})"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, src], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        match = re.search(r"http://\S+/v1", line)
        if not match:
            raise RuntimeError(f"the demo server did not start: {line!r}")
        yield match.group(0)
    finally:
        proc.terminate()
        proc.wait(10)
