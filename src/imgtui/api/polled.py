"""Providers that answer with a task id to poll instead of an image.

Three kinds, one runner (`run_polled`), one resumable handle:

- **Manifest providers**: gpt_image_playground's custom HTTP provider JSON (its
  `CustomProviderDefinition`, `src/types.ts`, executed by `openaiCompatibleImageApi.ts`):
  `submit` / `editSubmit` requests (path, method, json or multipart, query, a templated
  `body`, multipart `files`, `taskIdPath`, or a `result` mapping for synchronous replies)
  and a `poll` request (path with `{task_id}`, `intervalSeconds`, `statusPath`,
  `successValues`, `failureValues`, `errorPath`, `result`). Body templates: a string
  `"$a.b"` is replaced by that value of the context (`$profile.model`, `$prompt`,
  `$params.size|quality|output_format|output_compression|moderation|n|background`,
  `$inputImages.dataUrls|base64|urls`, `$mask.dataUrl`); a key whose value is missing is
  dropped. Result paths are dot paths where `*` expands every element of a list.
  `parse_manifests()` imports the JSON as the playground exports it
  (`{"customProviders": [...], "profiles": [...]}`, a list, or one provider).
- **sub2api async** (`SUB2API`): a built-in manifest for sub2api's asynchronous image
  tasks (its docs, "Asynchronous Image Tasks"): `POST images/generations/async` or
  `images/edits/async` -> `202 {"task_id", "status": "processing"}`; `GET
  images/tasks/{task_id}` -> `status` processing|completed|failed, `result` (the
  synchronous Images API body), `error.message`.
- **fal.ai queue** (`FAL`; fal's "Queue" docs): `POST {base}/{model}` (`/edit` for edits)
  with `Authorization: Key <key>` -> `{request_id, status_url, response_url}`; `GET
  status_url` -> `status` IN_QUEUE|IN_PROGRESS|COMPLETED (|FAILED); `GET response_url` ->
  `{images: [{url | b64_json}]}`.

Paths are joined to the profile's base URL as imgtui joins every path (`base/` + path);
there is no automatic `/v1`. A submitted task is described by a JSON-safe `handle`
(`on_submitted(handle)` is called once it exists) so a restarted process can resume
polling with `run_polled(..., resume=handle)` instead of submitting again.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin

from imgtui.api.events import Completed, Event, Failed, FailureKind, ImageMeta, Started
from imgtui.api.request import Connection, ImageRequest, sniff_mime

if TYPE_CHECKING:
    import httpx

FAL = "fal"
DEFAULT_INTERVAL = 5.0
MAX_TRANSIENT = 10  # consecutive poll errors (timeouts, 5xx, 429) before giving up
RETRYABLE = (408, 425, 429, 500, 502, 503, 504)
DEFAULT_DEADLINE = 30 * 60.0  # sub2api runs a task for at most 30 minutes


class ManifestError(ValueError):
    """A provider manifest that cannot be used (the message names the field)."""


# -- manifests ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultMapping:
    """Where the images are in a reply: dot paths, `*` expanding lists."""

    image_url_paths: tuple[str, ...] = ("data.*.url",)
    b64_json_paths: tuple[str, ...] = ("data.*.b64_json",)


@dataclass(frozen=True)
class FileMapping:
    field: str
    source: str  # "inputImages" | "mask"
    array: bool = False


@dataclass(frozen=True)
class SubmitMapping:
    path: str
    method: str = "POST"
    content_type: str = "json"  # "json" | "multipart"
    query: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] = field(default_factory=dict)
    files: tuple[FileMapping, ...] = ()
    task_id_path: str | None = None
    result: ResultMapping = ResultMapping()


@dataclass(frozen=True)
class PollMapping:
    path: str
    status_path: str
    method: str = "GET"
    query: Mapping[str, str] = field(default_factory=dict)
    interval: float = DEFAULT_INTERVAL
    success_values: tuple[str, ...] = ("SUCCESS", "succeeded", "completed", "COMPLETED")
    failure_values: tuple[str, ...] = ("FAILURE", "failed", "error", "FAILED", "cancelled")
    error_path: str | None = None
    result: ResultMapping = ResultMapping()


@dataclass(frozen=True)
class ProviderManifest:
    """One custom HTTP provider, as the playground describes it."""

    id: str
    name: str
    submit: SubmitMapping
    edit_submit: SubmitMapping | None = None
    poll: PollMapping | None = None
    source: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_async(self) -> bool:
        return self.poll is not None

    @classmethod
    def from_json(cls, obj: Any) -> ProviderManifest:
        """Read one `customProviders` element. Raises ManifestError naming the bad field.

        Defaults follow the playground's `normalizeCustomProviderDefinition`: POST, json,
        the OpenAI body template, results at `data.*.url` / `data.*.b64_json`; a poll
        request needs a `statusPath`.
        """
        if not isinstance(obj, dict):
            raise ManifestError("a provider must be a JSON object")
        if not isinstance(obj.get("submit"), dict):
            raise ManifestError("provider has no 'submit' request")
        name = _text(obj.get("name")) or "Custom provider"
        pid = _text(obj.get("id")) or "custom-" + "-".join(name.lower().split())
        submit = _submit(obj["submit"], "submit", "images/generations", multipart=False)
        edit = (
            _submit(obj["editSubmit"], "editSubmit", "images/edits", multipart=True)
            if isinstance(obj.get("editSubmit"), dict)
            else None
        )
        poll = _poll(obj["poll"]) if isinstance(obj.get("poll"), dict) else None
        for mapping in (submit, edit):
            if mapping is not None and mapping.task_id_path and poll is None:
                raise ManifestError(f"provider {pid}: a taskIdPath needs a 'poll' request")
        return cls(id=pid, name=name, submit=submit, edit_submit=edit, poll=poll, source=obj)


_DEFAULT_BODY = {
    "model": "$profile.model",
    "prompt": "$prompt",
    "size": "$params.size",
    "quality": "$params.quality",
    "output_format": "$params.output_format",
    "moderation": "$params.moderation",
    "output_compression": "$params.output_compression",
    "n": "$params.n",
    "background": "$params.background",
}
_DEFAULT_FILES = (FileMapping("image[]", "inputImages", True), FileMapping("mask", "mask"))


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _strings(value: Any, default: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(value, list):
        return default
    out = tuple(v.strip() for v in value if isinstance(v, str) and v.strip())
    return out or default


def _query(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ManifestError(f"{where}.query must be an object")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def _result(value: Any) -> ResultMapping:
    if not isinstance(value, dict):
        return ResultMapping()
    return ResultMapping(
        image_url_paths=_strings(value.get("imageUrlPaths"), ()),
        b64_json_paths=_strings(value.get("b64JsonPaths"), ()),
    )


def _method(value: Any, default: str, where: str) -> str:
    method = _text(value).upper() or default
    if method not in ("GET", "POST"):
        raise ManifestError(f"{where}.method must be GET or POST")
    return method


def _submit(obj: dict[str, Any], where: str, path: str, multipart: bool) -> SubmitMapping:
    content_type = _text(obj.get("contentType")) or ("multipart" if multipart else "json")
    if content_type not in ("json", "multipart"):
        raise ManifestError(f"{where}.contentType must be json or multipart")
    body = obj.get("body", _DEFAULT_BODY)
    if not isinstance(body, dict):
        raise ManifestError(f"{where}.body must be an object")
    files: tuple[FileMapping, ...] = ()
    if content_type == "multipart":
        raw = obj.get("files")
        files = (
            tuple(
                FileMapping(_text(f.get("field")), f["source"], bool(f.get("array")))
                for f in raw
                if isinstance(f, dict)
                and _text(f.get("field"))
                and f.get("source") in ("inputImages", "mask")
            )
            if isinstance(raw, list)
            else ()
        ) or _DEFAULT_FILES
    return SubmitMapping(
        path=_text(obj.get("path")).lstrip("/") or path,
        method=_method(obj.get("method"), "POST", where),
        content_type=content_type,
        query=_query(obj.get("query"), where),
        body=body,
        files=files,
        task_id_path=_text(obj.get("taskIdPath")) or None,
        result=_result(obj["result"]) if "result" in obj else ResultMapping(),
    )


def _poll(obj: dict[str, Any]) -> PollMapping:
    status_path = _text(obj.get("statusPath"))
    if not status_path:
        raise ManifestError("poll.statusPath is required")
    interval = obj.get("intervalSeconds")
    seconds = DEFAULT_INTERVAL
    if isinstance(interval, (int, float)) and not isinstance(interval, bool):
        seconds = max(1.0, float(interval))
    return PollMapping(
        path=_text(obj.get("path")).lstrip("/") or "images/tasks/{task_id}",
        status_path=status_path,
        method=_method(obj.get("method"), "GET", "poll"),
        query=_query(obj.get("query"), "poll"),
        interval=seconds,
        success_values=_strings(obj.get("successValues"), PollMapping.success_values),
        failure_values=_strings(obj.get("failureValues"), PollMapping.failure_values),
        error_path=_text(obj.get("errorPath")) or None,
        result=_result(obj["result"]) if "result" in obj else ResultMapping(),
    )


def parse_manifests(text: str | bytes) -> tuple[list[ProviderManifest], list[dict[str, Any]]]:
    """Providers and profiles from the playground's export JSON.

    Accepts `{"customProviders": [...], "profiles": [...]}` (what the playground's "copy to
    LLM" prompt asks for and its settings export), a list of providers, or one provider.
    Profiles are returned as given minus any `apiKey` (keys are entered in imgtui).
    Raises ManifestError for invalid JSON or an invalid provider.
    """
    try:
        obj = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestError(f"not JSON: {exc}") from None
    profiles: list[dict[str, Any]] = []
    if isinstance(obj, dict) and "customProviders" in obj:
        raw = obj["customProviders"]
        profiles = [p for p in obj.get("profiles") or [] if isinstance(p, dict)]
    elif isinstance(obj, list):
        raw = obj
    else:
        raw = [obj]
    if not isinstance(raw, list) or not raw:
        raise ManifestError("no providers in the file")
    providers = [ProviderManifest.from_json(p) for p in raw]
    clean = [{k: v for k, v in p.items() if k != "apiKey"} for p in profiles]
    return providers, clean


SUB2API = ProviderManifest.from_json(
    {
        "id": "sub2api-async",
        "name": "sub2api async image tasks",
        "submit": {
            "path": "images/generations/async",
            "contentType": "json",
            "body": _DEFAULT_BODY,
            "taskIdPath": "task_id",
        },
        "editSubmit": {
            "path": "images/edits/async",
            "contentType": "multipart",
            "body": _DEFAULT_BODY,
            "taskIdPath": "task_id",
        },
        "poll": {
            "path": "images/tasks/{task_id}",
            "intervalSeconds": 3,  # sub2api answers with Retry-After: 3
            "statusPath": "status",
            "successValues": ["completed"],
            "failureValues": ["failed"],
            "errorPath": "error.message",
            "result": {
                "imageUrlPaths": ["result.data.*.url"],
                "b64JsonPaths": ["result.data.*.b64_json"],
            },
        },
    }
)


# -- paths and templates ------------------------------------------------------------------


def get_path(obj: Any, path: str | None) -> Any:
    """The value at a dot path (`data.0.task_id`), or None."""
    if not path:
        return obj
    current = obj
    for key in (k for k in path.split(".") if k):
        if isinstance(current, list) and key.isdigit():
            index = int(key)
            current = current[index] if index < len(current) else None
        elif isinstance(current, dict):
            current = current.get(key)
        else:
            return None
        if current is None:
            return None
    return current


def get_all(obj: Any, path: str) -> list[Any]:
    """Every value at a dot path where `*` expands a list (or an object's values)."""
    current: list[Any] = [obj]
    for key in (k for k in path.split(".") if k):
        nxt: list[Any] = []
        for item in current:
            if key == "*":
                if isinstance(item, list):
                    nxt.extend(item)
                elif isinstance(item, dict):
                    nxt.extend(item.values())
            elif isinstance(item, list) and key.isdigit():
                if int(key) < len(item):
                    nxt.append(item[int(key)])
            elif isinstance(item, dict):
                nxt.append(item.get(key))
        current = [v for v in nxt if v is not None]
    out: list[Any] = []
    for v in current:
        out.extend(v if isinstance(v, list) else [v])
    return out


def render(template: Any, context: Mapping[str, Any]) -> Any:
    """Fill a body template: `"$a.b"` becomes that context value; missing keys are dropped."""
    if isinstance(template, str) and template.startswith("$"):
        return get_path(context, template[1:])
    if isinstance(template, list):
        return [v for v in (render(t, context) for t in template) if v is not None]
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            filled = render(value, context)
            if filled is None or (isinstance(filled, list) and not filled):
                continue
            out[key] = filled
        return out
    return template


def template_context(conn: Connection, req: ImageRequest, model: str) -> dict[str, Any]:
    """The values a body template can name (see the module docstring)."""
    params: dict[str, Any] = {
        "size": req.size,
        "quality": req.quality,
        "output_format": req.output_format,
        "output_compression": req.output_compression,
        "moderation": req.moderation,
        "n": req.n,
        "background": "transparent" if req.background == "transparent" else None,
    }
    urls = [_data_url(i.data, i.mime) for i in req.images]
    return {
        "profile": {"model": model},
        "prompt": req.prompt,
        "params": params,
        "inputImages": {
            "dataUrls": urls or None,
            "base64": [base64.b64encode(i.data).decode() for i in req.images] or None,
            "urls": None,  # imgtui's inputs are local files, never links
            "count": len(req.images),
        },
        "mask": {"dataUrl": _data_url(req.mask.data, req.mask.mime) if req.mask else None},
    }


def _data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


# -- running ------------------------------------------------------------------------------


class _Fail(Exception):
    def __init__(self, kind: FailureKind, message: str, hint: str = "", status: int | None = None):
        super().__init__(message)
        self.kind, self.message, self.hint, self.status = kind, message, hint, status


@dataclass
class _Poller:
    conn: Connection
    http: httpx.AsyncClient
    sleep: Callable[[float], Awaitable[Any]]
    interval: float | None

    def url(self, path: str, query: Mapping[str, str] | None = None) -> str:
        if path.startswith(("http://", "https://")):
            base = path
        elif path.startswith("/"):  # an absolute path from the server (sub2api poll_url)
            base = urljoin(self.conn.base_url, path)
        else:
            base = self.conn.base_url.rstrip("/") + "/" + path
        from imgtui.api.transport import origin

        own = origin(base) == origin(self.conn.base_url)
        # The configured query may hold secrets: only the API's own origin gets it.
        params = {**(self.conn.query if own else {}), **(query or {})}
        if params:
            from urllib.parse import urlencode

            base += ("&" if "?" in base else "?") + urlencode(params)
        return base

    def headers(self, scheme: str = "Bearer") -> dict[str, str]:
        h = {"User-Agent": "imgtui"}
        if self.conn.api_key:
            h["Authorization"] = f"{scheme} {self.conn.api_key}"
        h.update(self.conn.headers)
        return h

    async def request(self, method: str, url: str, scheme: str = "Bearer", **kw: Any) -> Any:
        """Send one request; the JSON reply, or _Fail (HTTP errors mapped like streams).

        Credentials go only to the base URL's origin (a task URL elsewhere gets a bare
        request) and redirects are followed only within the origin (`transport.open_api`);
        the reply is capped; every configured secret is scrubbed from messages."""
        import httpx

        from imgtui.api.errors import ApiFailure, from_exception, from_response, scrub
        from imgtui.api.limits import DEFAULT_LIMITS
        from imgtui.api.transport import Deadline, open_api, origin, read_body, read_prefix

        own = origin(url) == origin(self.conn.base_url)
        headers = self.headers(scheme) if own else {"User-Agent": "imgtui"}
        deadline = Deadline(self.conn.deadline)
        try:
            request = self.http.build_request(method, url, headers=headers, **kw)
            async with open_api(self.http, request, deadline) as resp:
                status = resp.status_code
                if status >= 400:
                    body = await read_prefix(resp, deadline, 65536)
                    f = from_response(status, resp.headers, body, base_url=self.conn.base_url)
                    raise _Fail(f.kind, scrub(f.message, self.conn.secrets()), f.hint, status)
                body = await read_body(resp, deadline, DEFAULT_LIMITS.max_event)
        except ApiFailure as failure:
            raise _Fail(
                failure.kind,
                scrub(failure.message, self.conn.secrets()),
                failure.hint,
                failure.status,
            ) from None
        except httpx.HTTPError as exc:
            f = from_exception(exc, timeout=self.conn.timeout)
            raise _Fail(f.kind, scrub(f.message, self.conn.secrets()), f.hint) from None
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise _Fail(
                FailureKind.SERVER, "the provider's reply is not JSON", status=status
            ) from None

    async def poll(
        self,
        method: str,
        url: str,
        interval: float,
        check: Callable[[Any], Any],
        scheme: str = "Bearer",
        deadline: float = DEFAULT_DEADLINE,
    ) -> Any:
        """Poll until `check(reply)` returns something other than None; transient errors
        (timeouts, connection drops, 408/429/5xx) are retried up to MAX_TRANSIENT times."""
        wait = self.interval if self.interval is not None else interval
        end = time.monotonic() + deadline
        errors = 0
        first = True
        while True:
            if not first:
                await self.sleep(wait)
            first = False
            try:
                reply = await self.request(method, url, scheme)
            except _Fail as exc:
                transient = exc.status in RETRYABLE or exc.kind in (
                    FailureKind.CONNECTION,
                    FailureKind.TIMEOUT,
                )
                errors += 1
                if not transient or errors >= MAX_TRANSIENT or time.monotonic() > end:
                    raise
                continue
            errors = 0
            outcome = check(reply)
            if outcome is not None:
                return outcome
            if time.monotonic() > end:
                raise _Fail(
                    FailureKind.TIMEOUT,
                    f"the provider's task did not finish within {deadline / 60:.0f} minutes",
                )

    async def images(self, payload: Any, mapping: ResultMapping) -> list[bytes]:
        """Decode every image a result mapping finds (base64 first, then URLs)."""
        out: list[bytes] = []
        for path in mapping.b64_json_paths:
            values = get_all(payload, path)
            out.extend(_decode_b64(v) for v in values if isinstance(v, str) and v.strip())
        for path in mapping.image_url_paths:
            for value in get_all(payload, path):
                if isinstance(value, str) and value.startswith("data:"):
                    out.append(_decode_b64(value))
                elif isinstance(value, str) and value.strip():
                    out.append(await self.download(value))
        return out

    async def download(self, url: str) -> bytes:
        """An image URL's bytes: credentials only on the API's exact origin (also across
        redirects), the size capped while it streams (`transport.download`)."""
        import httpx

        from imgtui.api.errors import ApiFailure, from_exception, from_response
        from imgtui.api.limits import DEFAULT_LIMITS
        from imgtui.api.transport import Deadline, download, origin

        full = self.url(url) if not url.startswith(("http://", "https://")) else url
        credentials = self.headers()
        credentials.pop("User-Agent", None)
        try:
            status, headers, body = await download(
                self.http,
                full,
                api_origin=origin(self.conn.base_url),
                credentials=credentials,
                params=None,
                deadline=Deadline(self.conn.deadline),
                cap=DEFAULT_LIMITS.max_download,
            )
        except ApiFailure as failure:
            raise _Fail(
                failure.kind, f"downloading the image failed: {failure.message}", failure.hint
            ) from None
        except httpx.HTTPError as exc:
            f = from_exception(exc, timeout=self.conn.timeout)
            raise _Fail(f.kind, f"downloading the image failed: {f.message}", f.hint) from None
        if status >= 400:
            f = from_response(status, headers, body[:4096])
            raise _Fail(f.kind, f"downloading the image failed: {f.message}", f.hint)
        if sniff_mime(body) is None:
            raise _Fail(FailureKind.SERVER, "the image URL did not return an image")
        return body


def _decode_b64(value: str) -> bytes:
    text = value.split(",", 1)[1] if value.startswith("data:") else value
    try:
        data = base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        raise _Fail(FailureKind.SERVER, "the provider sent an image that is not base64") from None
    if sniff_mime(data) is None:
        raise _Fail(FailureKind.SERVER, "the provider sent base64 that is not an image")
    return data


def _multipart(
    mapping: SubmitMapping, body: dict[str, Any], req: ImageRequest
) -> tuple[dict[str, str | list[str]], list[tuple[str, tuple[str, bytes, str]]]]:
    """Form fields (a list value repeats its field) and file parts of a multipart submit."""

    def text(v: Any) -> str:
        return v if isinstance(v, str) else json.dumps(v)

    data: dict[str, str | list[str]] = {
        k: [text(x) for x in v] if isinstance(v, list) else text(v) for k, v in body.items()
    }
    files: list[tuple[str, tuple[str, bytes, str]]] = []
    for f in mapping.files:
        if f.source == "inputImages":
            for i, image in enumerate(req.images):
                files.append(
                    (f.field, (image.name or f"input-{i + 1}.png", image.data, image.mime))
                )
        elif f.source == "mask" and req.mask is not None:
            files.append((f.field, ("mask.png", req.mask.data, req.mask.mime)))
    return data, files


async def _submit_manifest(p: _Poller, provider: ProviderManifest, req: ImageRequest) -> Any:
    mapping = provider.edit_submit if req.is_edit and provider.edit_submit else provider.submit
    context = template_context(p.conn, req, req.model)
    query = {k: str(v) for k, v in render(dict(mapping.query), context).items()}
    url = p.url(mapping.path, query)
    body = render(dict(mapping.body), context)
    if mapping.method == "GET":
        return mapping, await p.request("GET", url)
    if mapping.content_type == "multipart":
        data, files = _multipart(mapping, body, req)
        return mapping, await p.request("POST", url, data=data, files=files or None)
    return mapping, await p.request("POST", url, json=body)


async def _run_manifest(
    p: _Poller,
    provider: ProviderManifest,
    req: ImageRequest,
    resume: dict[str, Any] | None,
    on_submitted: Callable[[dict[str, Any]], Any] | None,
) -> list[bytes]:
    if resume is None:
        mapping, reply = await _submit_manifest(p, provider, req)
        if not mapping.task_id_path:
            return await p.images(reply, mapping.result)  # a synchronous custom provider
        raw = get_path(reply, mapping.task_id_path)
        task_id = str(raw).strip() if isinstance(raw, (str, int)) else ""
        if not task_id:
            raise _Fail(
                FailureKind.SERVER,
                f"no task id at '{mapping.task_id_path}' in the provider's reply",
                "Check the provider's taskIdPath against its API documentation.",
            )
        handle = {"kind": "manifest", "provider": provider.id, "task_id": task_id}
        if on_submitted is not None:
            on_submitted(handle)
    else:
        task_id = str(resume["task_id"])
    poll = provider.poll
    if poll is None:
        raise _Fail(FailureKind.BAD_REQUEST, f"provider {provider.id} has no poll request")
    path = poll.path.replace("{task_id}", quote(task_id, safe="")).replace(
        "{taskId}", quote(task_id, safe="")
    )

    def check(reply: Any) -> Any:
        status = get_path(reply, poll.status_path)
        text = "" if status is None else str(status)
        if text in poll.success_values:
            return ("ok", reply)
        if text in poll.failure_values:
            message = next(
                (
                    m
                    for m in (
                        get_path(reply, poll.error_path),
                        get_path(reply, "error.message"),
                        get_path(reply, "message"),
                        get_path(reply, "error"),
                    )
                    if isinstance(m, str) and m.strip()
                ),
                "the provider's task failed",
            )
            return ("failed", message)
        return None

    outcome, value = await p.poll(poll.method, p.url(path, dict(poll.query)), poll.interval, check)
    if outcome == "failed":
        raise _Fail(FailureKind.SERVER, str(value))
    return await p.images(value, poll.result)


def _fal_app(model: str) -> str:
    """fal's status and result paths use the app id (owner/app), without the sub-path."""
    parts = [s for s in model.strip("/").split("/") if s]
    return "/".join(parts[:2])


async def _run_fal(
    p: _Poller,
    req: ImageRequest,
    resume: dict[str, Any] | None,
    on_submitted: Callable[[dict[str, Any]], Any] | None,
) -> list[bytes]:
    model = req.model.strip("/") or "openai/gpt-image-2"
    if resume is None:
        endpoint = model + "/edit" if req.is_edit and not model.endswith("/edit") else model
        from imgtui.api.request import parse_size

        dims = parse_size(req.size)
        body: dict[str, Any] = {
            "prompt": req.prompt,
            "image_size": {"width": dims[0], "height": dims[1]} if dims else "auto",
            "quality": req.quality if req.quality in ("low", "medium", "high") else "high",
            "num_images": max(1, min(4, req.n)),
            "output_format": req.output_format,
        }
        if req.background == "transparent":
            body["background"] = "transparent"
        if req.is_edit:
            body["image_urls"] = [_data_url(i.data, i.mime) for i in req.images]
        if req.mask is not None:
            body["mask_url"] = _data_url(req.mask.data, req.mask.mime)
        reply = await p.request("POST", p.url(endpoint), scheme="Key", json=body)
        request_id = reply.get("request_id") if isinstance(reply, dict) else None
        if not isinstance(request_id, str) or not request_id:
            raise _Fail(FailureKind.SERVER, "fal.ai did not return a request_id")
        app = _fal_app(model)
        handle = {
            "kind": FAL,
            "task_id": request_id,
            "status_url": reply.get("status_url") or p.url(f"{app}/requests/{request_id}/status"),
            "response_url": reply.get("response_url") or p.url(f"{app}/requests/{request_id}"),
        }
        if on_submitted is not None:
            on_submitted(handle)
    else:
        handle = resume

    def check(reply: Any) -> Any:
        status = get_path(reply, "status")
        if status == "COMPLETED":
            return ("ok", reply)
        if status in ("FAILED", "ERROR", "CANCELLED", "CANCELED"):
            return ("failed", get_path(reply, "error") or "fal.ai reports the request failed")
        return None

    outcome, value = await p.poll("GET", str(handle["status_url"]), 1.0, check, scheme="Key")
    if outcome == "failed":
        raise _Fail(FailureKind.SERVER, str(value))
    result = await p.request("GET", str(handle["response_url"]), scheme="Key")
    mapping = ResultMapping(
        image_url_paths=("images.*.url", "image.url", "url"),
        b64_json_paths=("images.*.b64_json", "images.*.base64", "image.b64_json"),
    )
    return await p.images(result, mapping)


async def run_polled(
    conn: Connection,
    req: ImageRequest,
    provider: ProviderManifest | str,
    *,
    resume: dict[str, Any] | None = None,
    on_submitted: Callable[[dict[str, Any]], Any] | None = None,
    client: httpx.AsyncClient | None = None,
    poll_interval: float | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> AsyncIterator[Event]:
    """Run one request against a polled provider and yield its events.

    `provider` is a `ProviderManifest` (a custom provider, or `SUB2API`) or `FAL`.
    Yields `Started` for every slot, then `Completed` for each image returned (the first
    `req.n`) and `Failed` for every slot left without one. `on_submitted(handle)` is
    called once the provider accepted the task: persist the handle and pass it back as
    `resume=` after a restart to poll the same task instead of submitting a new one.
    `poll_interval` overrides the provider's interval (tests). Raises RequestError before
    sending anything when the request is invalid; other failures arrive as `Failed`.
    """
    req.validate()
    for slot in range(req.n):
        yield Started(slot)
    own = client is None
    if client is None:
        from imgtui.api.pool import make_client

        client = await asyncio.to_thread(make_client, conn)
    p = _Poller(conn, client, sleep, poll_interval)
    meta = ImageMeta(output_format=req.output_format)
    try:
        if provider == FAL:
            images = await _run_fal(p, req, resume, on_submitted)
        elif isinstance(provider, ProviderManifest):
            images = await _run_manifest(p, provider, req, resume, on_submitted)
        else:
            raise _Fail(FailureKind.BAD_REQUEST, f"unknown polled provider {provider!r}")
    except _Fail as exc:
        for slot in range(req.n):
            yield Failed(slot, exc.kind, exc.message, exc.hint, exc.status)
        return
    finally:
        if own:
            await client.aclose()
    for slot in range(req.n):
        if slot < len(images):
            yield Completed(slot, images[slot], meta=meta, bytes_received=len(images[slot]))
        else:
            yield Failed(
                slot,
                FailureKind.SERVER,
                f"the provider returned {len(images)} of {req.n} images",
            )
