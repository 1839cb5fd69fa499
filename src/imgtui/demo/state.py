"""Shared state of the demo server: settings, the request log, stream statistics, caches.

Also the small helpers every handler uses to reply with an OpenAI-style error.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from imgtui.api.b64 import b64encode
from imgtui.demo.faults import error_body

#: Seconds per image when the app runs its embedded demo provider.
DEFAULT_DELAY = 3.0

# Bounded caches: files served for the `url` mode, final images kept for previous_response_id.
MAX_FILES = 64
MAX_RESPONSES = 64


class DemoState:
    """What requests share: settings, the request log, stream statistics and caches.

    Request handlers run on the server's event loop thread; tests read the log and the
    counters from other threads, so counters change under a condition variable.
    """

    def __init__(self, delay: float = DEFAULT_DELAY, api_key: str | None = None) -> None:
        self.delay = float(delay)
        self.api_key = api_key
        #: One record per request: method, path, query, headers, json, form, files.
        self.requests: list[dict[str, Any]] = []
        self.streams_started = 0
        self.streams_completed = 0  # the server sent the whole stream
        self.streams_dropped = 0  # cut on purpose (`drop` fault, shutdown)
        self.disconnects = 0  # the client went away before the reply was finished
        self.flaky_count = 0  # requests seen by the `flaky` fault mode
        self.first_only_count = 0  # streams seen by modes that fail only the first few
        #: Cuts that could not reach uvicorn's transport (see `streaming.close_transport`).
        self.transport_fallbacks = 0
        self._in_flight: dict[str, int] = {}  # prompt -> requests being answered (picture variants)
        #: Generations being answered now, and the most at once since `clear()` (queue tests).
        self.in_flight = 0
        self.max_in_flight = 0
        #: The seconds of every pacing wait, in the order they started (`streaming.pace`):
        #: what tests read instead of timing the server.
        self.paced: list[float] = []
        #: Gates of `x-demo-hold: NAME` streams: closed until `open_gate(NAME)` (or `clear()`).
        self._gates: dict[str, threading.Event] = {}
        #: Set while the server shuts down: sleeping handlers and streams stop early.
        self.stopping = threading.Event()
        self._cond = threading.Condition()
        self.files: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self.responses: OrderedDict[str, bytes] = OrderedDict()

    # -- statistics

    def next_flaky_fails(self) -> bool:
        """Count a request of the `flaky` mode; True for every second one."""
        with self._cond:
            self.flaky_count += 1
            return self.flaky_count % 2 == 0

    def next_of_first_fails(self, first: int) -> bool:
        """Count a stream of a `first_only` mode; True for the first `first` since `clear()`."""
        with self._cond:
            self.first_only_count += 1
            return self.first_only_count <= first

    def bump(self, counter: str) -> None:
        """Add one to a stream counter and wake anyone waiting on the counters."""
        with self._cond:
            setattr(self, counter, getattr(self, counter) + 1)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until `predicate()` holds (checked under the lock); False on timeout."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def gate(self, name: str) -> threading.Event:
        """The gate `name` (created closed on first use)."""
        with self._cond:
            return self._gates.setdefault(name, threading.Event())

    def open_gate(self, name: str) -> None:
        """Let the streams held at gate `name` send their final image."""
        self.gate(name).set()

    def note_pace(self, seconds: float) -> None:
        """Record a pacing wait of `seconds` about to start."""
        with self._cond:
            self.paced.append(seconds)
            self._cond.notify_all()

    # -- picture variants for parallel requests

    def claim_variant(self, prompt: str) -> int:
        """How many requests with this prompt are already in flight (0 for the first).

        Clients send n parallel single-image requests for n images; without this they would
        all get the same picture. Sequential requests still get variant 0 (deterministic).
        """
        with self._cond:
            n = self._in_flight.get(prompt, 0)
            self._in_flight[prompt] = n + 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return n

    def release_variant(self, prompt: str) -> None:
        with self._cond:
            self.in_flight -= 1
            n = self._in_flight.get(prompt, 1) - 1
            if n > 0:
                self._in_flight[prompt] = n
            else:
                self._in_flight.pop(prompt, None)

    def clear(self) -> None:
        """Forget recorded requests and reset the counters."""
        with self._cond:
            self.requests.clear()
            self.streams_started = self.streams_completed = self.streams_dropped = (
                self.disconnects
            ) = 0
            self.flaky_count = self.transport_fallbacks = self.first_only_count = 0
            self.max_in_flight = self.in_flight
            self.paced.clear()
            for gate in self._gates.values():
                gate.set()  # nothing stays held for a test that has gone
            self._gates.clear()
            self._cond.notify_all()

    # -- recording

    def record(
        self,
        request: Request,
        *,
        json_body: dict | None = None,
        form: dict[str, str] | None = None,
        files: list[dict[str, Any]] | None = None,
    ) -> None:
        """Note a request (for tests) and wake anyone in `wait_for`."""
        record = {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "json": json_body,
            "form": form,
            "files": files or [],
        }
        with self._cond:
            self.requests.append(record)
            self._cond.notify_all()

    # -- caches

    def store_file(self, data: bytes, extension: str, content_type: str) -> str:
        """Keep `data` for GET /files/<name>; returns the name."""
        name = f"{secrets.token_hex(12)}.{extension}"
        self.files[name] = (data, content_type)
        while len(self.files) > MAX_FILES:
            self.files.popitem(last=False)
        return name

    def store_response_image(self, response_id: str, data: bytes) -> None:
        """Remember a response's final image so `previous_response_id` can build on it."""
        self.responses[response_id] = data
        while len(self.responses) > MAX_RESPONSES:
            self.responses.popitem(last=False)


class ApiError(Exception):
    """Raised by request handling to reply with an OpenAI-style error (JSON body)."""

    def __init__(self, status: int, body: dict, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(body.get("error", {}).get("message", ""))
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, error_body(message, param=param, code=code))


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(24)}"


def to_b64(data: bytes) -> str:
    return b64encode(data)
