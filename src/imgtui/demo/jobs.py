"""The demo server's async mode: providers that answer with a task id to poll.

Three dialects, the ones `imgtui.api.polled` speaks:

* sub2api: `POST /v1/images/generations/async` (JSON) and `/v1/images/edits/async`
  (multipart) -> `202 {"task_id", "status": "processing", "poll_url"}`;
  `GET /v1/images/tasks/{task_id}` -> `status` processing | completed (`result` is the
  Images API body) | failed (`error`).
* new-api style tasks (the playground's own async example): `POST
  /tasks-api/v1/images/generations?async=true` -> `{"code": "success", "data": task_id}`;
  `GET /tasks-api/v1/images/tasks/{task_id}` -> `{"data": {"status": IN_PROGRESS |
  SUCCESS | FAILURE, "fail_reason", "data": <Images API body>}}`.
* fal.ai queue: `POST /fal/{owner}/{app}[/{sub}]` -> `{request_id, status_url,
  response_url}`; `GET /fal/{owner}/{app}/requests/{id}/status` -> IN_QUEUE | IN_PROGRESS
  | COMPLETED; `GET /fal/{owner}/{app}/requests/{id}` -> `{"images": [{"url": ...}]}`.

A task finishes on its `polls_to_finish`-th status poll (`JobTable.polls_to_finish`,
default 2), so a test sees it pending first, deterministically. Fault modes (the table in
`modes.py`, under `/fault/<mode>/...` or as a `fault-<mode>` model): a mode's `early` reply
answers the submission (auth401, rate429, ...); its `async_task` column makes the task
fail (`async-fail`) or vanish (`async-lost`, polls answer 404) once polled.
Jobs live in `app.state.jobs`, so a client that restarts finds its task still there.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from imgtui.demo import modes
from imgtui.demo.faults import error_body
from imgtui.demo.frames import Frames, decode_source
from imgtui.demo.params import (
    ImageParams,
    check_auth,
    fault_for,
    image_params,
    read_form,
    read_json,
)
from imgtui.demo.state import ApiError, DemoState, bad_request, to_b64

FAILURE_MESSAGE = "Upstream request failed (demo async-fail)"


@dataclass
class Job:
    id: str
    params: ImageParams
    source: Any = None
    fault: str | None = None
    polls: int = 0
    created: float = field(default_factory=time.time)
    images: list[bytes] | None = None


class JobTable:
    """Submitted tasks by id. Lives as long as the server."""

    def __init__(self, polls_to_finish: int = 2) -> None:
        self.polls_to_finish = polls_to_finish
        self.jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)
        self.submitted = 0
        self.polled = 0

    def add(self, prefix: str, params: ImageParams, source: Any, fault: str | None) -> Job:
        job = Job(f"{prefix}{next(self._ids):06d}", params, source, fault)
        self.jobs[job.id] = job
        self.submitted += 1
        return job

    async def advance(self, job_id: str) -> tuple[Job | None, str]:
        """Count one status poll: the job and its state, "pending" | "done" | "failed"."""
        self.polled += 1
        job = self.jobs.get(job_id)
        outcome = modes.fault(job.fault).async_task if job is not None else "lost"
        if job is None or outcome == "lost":
            return None, "lost"
        job.polls += 1
        if job.polls < self.polls_to_finish:
            return job, "pending"
        if outcome == "fail":
            return job, "failed"
        if job.images is None:
            job.images = [
                await Frames(job.params, job.source, variant=i).final() for i in range(job.params.n)
            ]
        return job, "done"


def _jobs(request: Request) -> JobTable:
    return request.app.state.jobs


def _state(request: Request) -> DemoState:
    return request.app.state.demo


def _fault(request: Request, model: Any) -> str | None:
    return fault_for(request, model)


async def _early(request: Request, fault: str | None) -> Response | None:
    """A fault mode's reply to the submission itself (auth401, rate429, ...), if it has one."""
    early = modes.fault(fault).early
    return await early(request, _state(request), False) if early is not None else None


def _images_body(job: Job) -> dict[str, Any]:
    return {
        "created": int(job.created),
        "data": [
            {"b64_json": to_b64(img), "revised_prompt": job.params.revised_prompt}
            for img in job.images or []
        ],
        **job.params.meta(),
    }


async def _read_images_request(request: Request, edit: bool) -> tuple[dict, Any]:
    state = _state(request)
    if edit:
        fields, uploads = await read_form(request)
        state.record(request, form=fields, files=[u.summary() for u in uploads])
    else:
        fields = await read_json(request)
        state.record(request, json_body=fields)
    check_auth(request, state)
    source = None
    if edit:
        images = [u for u in uploads if u.field in ("image", "image[]")]
        if not images:
            raise bad_request("Missing required parameter: 'image'.", param="image")
        mask = next((u.data for u in uploads if u.field == "mask"), None)
        source = await decode_source(images[0].data, mask, "image")
    if fields.get("stream") in (True, "true"):
        raise bad_request("Streaming is not supported for async image tasks.", param="stream")
    return fields, source


def _guard(handler):
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return exc.response()

    endpoint.__name__ = handler.__name__
    return endpoint


# -- sub2api ------------------------------------------------------------------------------


async def _sub2api_submit(request: Request) -> Response:
    edit = request.url.path.endswith("/edits/async")
    fields, source = await _read_images_request(request, edit)
    fault = _fault(request, fields.get("model"))
    early = await _early(request, fault)
    if early is not None:
        return early
    params = image_params(fields, request, _state(request))
    job = _jobs(request).add("imgtask_", params, source, fault)
    prefix = request.url.path.rsplit("/images/", 1)[0]
    body = {
        "id": job.id,
        "task_id": job.id,
        "object": "image.generation.task",
        "status": "processing",
        "created_at": int(job.created),
        "poll_url": f"{prefix}/images/tasks/{job.id}",
    }
    headers = {"Location": str(body["poll_url"]), "Retry-After": "3", "Cache-Control": "no-store"}
    return JSONResponse(body, status_code=202, headers=headers)


async def _sub2api_task(request: Request) -> Response:
    _state(request).record(request)
    check_auth(request, _state(request))
    job, state = await _jobs(request).advance(request.path_params["task_id"])
    if job is None:
        return JSONResponse(error_body("image task not found", code="not_found"), status_code=404)
    body: dict[str, Any] = {
        "id": job.id,
        "task_id": job.id,
        "object": "image.generation.task",
        "status": {"pending": "processing", "done": "completed", "failed": "failed"}[state],
        "created_at": int(job.created),
    }
    if state == "done":
        body.update(http_status=200, result=_images_body(job), completed_at=int(time.time()))
    elif state == "failed":
        body.update(http_status=502, error={"type": "api_error", "message": FAILURE_MESSAGE})
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


# -- new-api style tasks ------------------------------------------------------------------


async def _tasks_submit(request: Request) -> Response:
    edit = request.url.path.endswith("/edits")
    fields, source = await _read_images_request(request, edit)
    if request.query_params.get("async") != "true":
        raise bad_request("this demo endpoint only accepts async=true", param="async")
    fault = _fault(request, fields.get("model"))
    early = await _early(request, fault)
    if early is not None:
        return early
    params = image_params(fields, request, _state(request))
    job = _jobs(request).add("task_", params, source, fault)
    return JSONResponse({"code": "success", "message": "", "data": job.id})


async def _tasks_task(request: Request) -> Response:
    _state(request).record(request)
    check_auth(request, _state(request))
    job, state = await _jobs(request).advance(request.path_params["task_id"])
    if job is None:
        return JSONResponse({"code": "task_not_exist", "message": "task_not_exist"}, 404)
    data: dict[str, Any] = {
        "task_id": job.id,
        "status": {"pending": "IN_PROGRESS", "done": "SUCCESS", "failed": "FAILURE"}[state],
        "fail_reason": FAILURE_MESSAGE if state == "failed" else "",
        "progress": "100%" if state == "done" else "50%",
    }
    if state == "done":
        data["data"] = _images_body(job)
    return JSONResponse({"code": "success", "message": "", "data": data})


# -- fal.ai queue -------------------------------------------------------------------------


def _fal_auth(request: Request) -> Response | None:
    key = _state(request).api_key
    if key is None:
        return None
    auth = request.headers.get("authorization", "")
    if auth[:4].lower() == "key " and auth[4:].strip() == key:
        return None
    return JSONResponse({"detail": "Unauthorized"}, status_code=401)


async def _fal_submit(request: Request) -> Response:
    fields = await read_json(request)
    _state(request).record(request, json_body=fields)
    denied = _fal_auth(request)
    if denied is not None:
        return denied
    size = fields.get("image_size")
    converted = dict(fields)
    converted["size"] = (
        f"{size.get('width')}x{size.get('height')}" if isinstance(size, dict) else "auto"
    )
    converted["n"] = fields.get("num_images", 1)
    converted.pop("stream", None)
    source = None
    urls = fields.get("image_urls")
    if isinstance(urls, list) and urls:
        import base64

        first = urls[0]
        if not isinstance(first, str) or "," not in first:
            return JSONResponse({"detail": "image_urls must be data URLs here"}, 422)
        source = await decode_source(base64.b64decode(first.split(",", 1)[1]), None, "image")
    fault = _fault(request, None)
    early = await _early(request, fault)
    if early is not None:
        return early
    params = image_params(converted, request, _state(request))
    job = _jobs(request).add("fal-", params, source, fault)
    owner, app = request.path_params["owner"], request.path_params["app"]
    root = f"{request.base_url}".rstrip("/") + request.url.path.split(f"/{owner}/{app}")[0]
    base = f"{root}/{owner}/{app}/requests/{job.id}"
    return JSONResponse(
        {
            "request_id": job.id,
            "status": "IN_QUEUE",
            "queue_position": 0,
            "status_url": f"{base}/status",
            "response_url": base,
            "cancel_url": f"{base}/cancel",
        }
    )


async def _fal_status(request: Request) -> Response:
    _state(request).record(request)
    denied = _fal_auth(request)
    if denied is not None:
        return denied
    job, state = await _jobs(request).advance(request.path_params["request_id"])
    if job is None:
        return JSONResponse({"detail": "Request not found"}, status_code=404)
    status = {"pending": "IN_PROGRESS", "done": "COMPLETED", "failed": "FAILED"}[state]
    body: dict[str, Any] = {"status": status, "request_id": job.id}
    if state == "failed":
        body["error"] = FAILURE_MESSAGE
    return JSONResponse(body, status_code=200 if state != "pending" else 202)


async def _fal_result(request: Request) -> Response:
    _state(request).record(request)
    denied = _fal_auth(request)
    if denied is not None:
        return denied
    job = _jobs(request).jobs.get(request.path_params["request_id"])
    if job is None or job.images is None:
        return JSONResponse({"detail": "Request is still in progress"}, status_code=400)
    state = _state(request)
    images = []
    for img in job.images:
        ext = job.params.output_format
        name = state.store_file(img, ext, f"image/{ext}")
        w, h = job.params.width, job.params.height
        images.append(
            {
                "url": f"{request.base_url}files/{name}",
                "width": w,
                "height": h,
                "content_type": f"image/{ext}",
            }
        )
    return JSONResponse({"images": images, "seed": 42})


def routes() -> list[Route]:
    """The async-mode routes, to add to the demo app (with `app.state.jobs = JobTable()`)."""
    out: list[Route] = []
    for prefix in ("", "/fault/{fault}"):
        out += [
            Route(
                f"{prefix}/v1/images/generations/async", _guard(_sub2api_submit), methods=["POST"]
            ),
            Route(f"{prefix}/v1/images/edits/async", _guard(_sub2api_submit), methods=["POST"]),
            Route(f"{prefix}/v1/images/tasks/{{task_id}}", _guard(_sub2api_task), methods=["GET"]),
            Route(
                f"{prefix}/tasks-api/v1/images/generations", _guard(_tasks_submit), methods=["POST"]
            ),
            Route(f"{prefix}/tasks-api/v1/images/edits", _guard(_tasks_submit), methods=["POST"]),
            Route(
                f"{prefix}/tasks-api/v1/images/tasks/{{task_id}}",
                _guard(_tasks_task),
                methods=["GET"],
            ),
            Route(
                f"{prefix}/fal/{{owner}}/{{app}}/requests/{{request_id}}/status",
                _guard(_fal_status),
                methods=["GET"],
            ),
            Route(
                f"{prefix}/fal/{{owner}}/{{app}}/requests/{{request_id}}",
                _guard(_fal_result),
                methods=["GET"],
            ),
            Route(f"{prefix}/fal/{{owner}}/{{app}}", _guard(_fal_submit), methods=["POST"]),
            Route(f"{prefix}/fal/{{owner}}/{{app}}/{{sub}}", _guard(_fal_submit), methods=["POST"]),
        ]
    return out
