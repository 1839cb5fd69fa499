"""The demo provider: an OpenAI-compatible image server that needs no API key.

It is the app's built-in provider (pictures drawn from the prompt, paced like a real
model) and the peer the real client is tested against, including every failure mode in
`FAULT_MODES`.

    from imgtui.demo import DemoServer
    with DemoServer(delay=0) as srv:
        ...  # talk to srv.base_url, or srv.fault_url("drop")

Modules, one job each: `server` (running it), `endpoints` (the app and its routes),
`images_api` and `responses_api` (the two image APIs), `jobs` (async-task dialects),
`streaming` (SSE and connection control), `params` (the request-parameter table),
`frames` + `pictures` (images), `modes` (the fault-mode table), `faults` (their canned
bodies), `state` (recording and statistics).
"""

from imgtui.demo.modes import FAULT_MODES
from imgtui.demo.server import DemoServer, create_app, embedded_server, serve, server_process
from imgtui.demo.state import DemoState

__all__ = [
    "FAULT_MODES",
    "DemoServer",
    "DemoState",
    "create_app",
    "embedded_server",
    "serve",
    "server_process",
]
