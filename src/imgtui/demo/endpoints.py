"""The demo server's app: `create_app` routes every endpoint; the small ones live here.

* `POST /v1/images/generations`, `POST /v1/images/edits`: `images_api.py`.
* `POST /v1/responses`: `responses_api.py`.
* `GET /v1/models` (cheap, for "test connection"), `GET /files/<name>` (`url` fault mode).
* The same endpoints under `/fault/<mode>/v1/...`, where every request fails in that mode
  (the table in `modes.py`); the async-task dialects of `jobs.py`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from imgtui.demo import jobs, today
from imgtui.demo.faults import error_body
from imgtui.demo.images_api import images_endpoint
from imgtui.demo.modes import fault
from imgtui.demo.params import check_auth, fault_for
from imgtui.demo.responses_api import responses_endpoint
from imgtui.demo.state import DEFAULT_DELAY, ApiError, DemoState

#: Listed by GET /v1/models after today's roster (`today.roster`); fault-<mode> names work
#: too but are not listed.
EXTRA_MODELS = ("gpt-5", "bench-noise")


async def _models_endpoint(request: Request, state: DemoState) -> Response:
    """GET /models: a cheap call for "test connection"."""
    state.record(request)
    check_auth(request, state)
    # Only faults of the HTTP/connection kind make sense here; the others list normally.
    mode = fault(fault_for(request))
    if mode.on_models:
        reply = await mode.early_reply(request, state, False)
        if reply is not None:
            return reply
    model_id = request.path_params.get("model")
    if model_id is not None:
        return JSONResponse(today.model_object(model_id))
    return JSONResponse({"object": "list", "data": today.roster(EXTRA_MODELS)})


async def _files_endpoint(request: Request, state: DemoState) -> Response:
    """GET /files/<name>: images handed out by the `url` fault mode."""
    state.record(request)
    entry = state.files.get(request.path_params["name"])
    if entry is None:
        return JSONResponse(error_body("No such file.", code="not_found"), status_code=404)
    return Response(entry[0], media_type=entry[1])


async def _index_endpoint(request: Request, state: DemoState) -> Response:
    return PlainTextResponse(
        f"imgtui demo server: OpenAI-compatible image API at {request.base_url}v1\n"
    )


def _endpoint(
    handler: Callable[[Request, DemoState], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """Adapt `handler(request, state)` to a Starlette endpoint that turns ApiError into replies."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request, request.app.state.demo)
        except ApiError as exc:
            return exc.response()

    return endpoint


async def _not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    message = f"Invalid URL ({request.method} {request.url.path})"
    return JSONResponse(error_body(message), status_code=status)


def create_app(
    state: DemoState | None = None, *, delay: float = DEFAULT_DELAY, api_key: str | None = None
) -> Starlette:
    """The demo server's ASGI app. Without `state`, a fresh one with `delay` and `api_key`."""
    state = state if state is not None else DemoState(delay=delay, api_key=api_key)
    generations = _endpoint(functools.partial(images_endpoint, edit=False))
    edits = _endpoint(functools.partial(images_endpoint, edit=True))
    responses = _endpoint(responses_endpoint)
    models = _endpoint(_models_endpoint)

    routes = [Route("/", _endpoint(_index_endpoint), methods=["GET"])]
    for prefix in ("/v1", "/fault/{fault}/v1"):
        routes += [
            Route(f"{prefix}/images/generations", generations, methods=["POST"]),
            Route(f"{prefix}/images/edits", edits, methods=["POST"]),
            Route(f"{prefix}/responses", responses, methods=["POST"]),
            Route(f"{prefix}/models", models, methods=["GET"]),
            Route(f"{prefix}/models/{{model}}", models, methods=["GET"]),
        ]
    routes.append(Route("/files/{name}", _endpoint(_files_endpoint), methods=["GET"]))
    routes += jobs.routes()  # async mode: sub2api, new-api style tasks, fal.ai queue

    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_found})
    app.state.demo = state
    app.state.jobs = jobs.JobTable()
    return app
