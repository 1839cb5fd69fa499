"""Failure mapping: every way a request can fail becomes one `ApiFailure` with a kind,
a one-line message and a hint the user can act on (PROTOCOL.md §5)."""

from __future__ import annotations

import html
import json
import re
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, quote_plus

import httpx

from imgtui.api.events import Completed, Event, Failed, FailureKind, ImageMeta, Partial

HINT_STREAM_OFF = "This provider does not accept streaming: turn streaming off for the profile (settings, or --no-stream)."
HINT_MAYBE_STREAM = (
    "If this provider cannot stream images, turn streaming off for the profile (settings, or "
    "--no-stream); otherwise check the parameters this model accepts."
)
HINT_KEY = "Check the profile's API key (and that it may use this model)."
HINT_TRANSPARENT = (
    "This model cannot make a transparent background: set background to auto or opaque, "
    "or remove the background locally afterwards."
)
HINT_BASE_URL = "Check the base URL: it usually ends in /v1."
HINT_ASYNC_TASK = (
    "The provider queues images as asynchronous tasks: use a polled provider for it "
    "(sub2api async, fal.ai queue or a custom provider manifest) instead of the Images API."
)
#: Endpoint paths a user may paste into a base URL by mistake (longest first).
ENDPOINT_PATHS = (
    "/images/generations",
    "/images/variations",
    "/chat/completions",
    "/images/edits",
    "/completions",
    "/responses",
    "/models",
)
#: Statuses after which a streamed request's 4xx says nothing about streaming.
_NOT_ABOUT_STREAMING = (401, 403, 404, 408, 429)
# How relays say they cannot stream (lower case). The Go JSON decoder message is what a
# relay says when it parses the SSE stream of its upstream as one JSON document.
_STREAM_REFUSALS = (
    "stream not supported",
    "streaming not supported",
    "streaming is not supported",
    "does not support stream",
    "doesn't support stream",
    "not support streaming",
    "streaming must have non-zero partial images",
    "looking for beginning of value",
    "stream is not supported",
    "unsupported stream",
)
HINT_PROXY = (
    "A proxy in front of the API ({who}) ends requests that send nothing for too long "
    "(Cloudflare: 100 s; many gateways: 60 s). Streaming partial images keeps bytes flowing; "
    "or ask the provider to raise the limit."
)
HINT_NO_FINAL = (
    "The server closed the stream before the final image. If this happens near 60 s or 100-125 s, "
    "a proxy cut it: stream with more partial images."
)


@dataclass
class ApiFailure(Exception):
    """A failure of one request, before it is spread to the slots it served."""

    kind: FailureKind
    message: str
    hint: str = ""
    status: int | None = None
    retry_after: float | None = None
    raw: bytes | None = field(default=None, repr=False)  # image bytes that failed the check

    def __str__(self) -> str:
        return self.message

    def event(self, slot: int) -> Failed:
        return Failed(
            slot, self.kind, self.message, self.hint, self.status, self.retry_after, self.raw
        )


# -- HTTP error responses --------------------------------------------------------------

_TAG_RE = re.compile(r"<[^>]+>")
_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_H1_RE = re.compile(r"<h1[^>]*>(.*?)</h1>", re.I | re.S)


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summarize_body(body: bytes) -> str:
    """The first meaningful line of a non-JSON error body; an HTML page becomes its title."""
    text = body[:65536].decode("utf-8", "replace").strip()
    if not text:
        return ""
    if text.lstrip().startswith("<") or "<html" in text[:500].lower():
        for pattern in (_TITLE_RE, _H1_RE):
            m = pattern.search(text)
            if m:
                return _one_line(html.unescape(_TAG_RE.sub(" ", m.group(1))))
        return _one_line(html.unescape(_TAG_RE.sub(" ", text)))
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    return _one_line(first)


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare for APIs; fall back to our own backoff


def error_object(obj: object) -> dict[str, Any] | None:
    """The error dict of a JSON body or event: nested `{"error": {...}}` or flat
    `{"type": "error", ...}`, also inside a one-element list (Google's endpoints wrap
    their error body so: `[{"error": {...}}]`)."""
    if isinstance(obj, list) and obj and all(isinstance(x, dict) for x in obj):
        obj = obj[0]
    if not isinstance(obj, dict):
        return None
    err = obj.get("error")
    if isinstance(err, dict):
        return err
    if isinstance(err, str):
        return {"message": err}
    if obj.get("type") == "error":
        return obj
    return None


def _said(err: dict[str, Any]) -> str:
    """What an error object says: its message, else what it does give (type, code, status)."""
    message = err.get("message")
    if isinstance(message, str) and message.strip():
        return message.strip()
    if message not in (None, "") and not isinstance(message, (dict, list)):
        return str(message)
    parts = [
        f"{key}: {err[key]}"
        for key in ("type", "code", "status", "param")
        if isinstance(err.get(key), (str, int)) and str(err[key]).strip()
    ]
    return "no message (" + ", ".join(parts) + ")" if parts else "no message"


def _google_reasons(err: dict[str, Any]) -> set[str]:
    details = err.get("details")
    if not isinstance(details, list):
        return set()
    return {str(d.get("reason")) for d in details if isinstance(d, dict) and d.get("reason")}


def is_stream_refusal(text: str) -> bool:
    """Whether a server's words say it cannot stream (see `_STREAM_REFUSALS`)."""
    low = " ".join(text.lower().split())
    if any(phrase in low for phrase in _STREAM_REFUSALS):
        return True
    return "stream" in low and ("not support" in low or "unsupported" in low)


def from_error_object(
    err: dict[str, Any], status: int | None = None, *, streamed: bool = False
) -> ApiFailure:
    """Map an API error object (from a body or an in-stream event) to a failure.

    `streamed`: the request asked for a stream (a 4xx may then be a refusal to stream).
    Accepts OpenAI's shape, Google's (`code` int, `status`, `details[].reason`) and
    `message: null` (the message then shows the type/code the server gave).
    """
    message = _said(err)
    code = str(err.get("code") or "")
    etype = str(err.get("type") or "")
    gstatus = str(err.get("status") or "")
    param = err.get("param")
    low = message.lower()
    if code == "moderation_blocked" or "safety system" in low:
        details = err.get("moderation_details") or {}
        cats = details.get("categories") if isinstance(details, dict) else None
        stage = details.get("moderation_stage") if isinstance(details, dict) else None
        what = ", ".join(map(str, cats)) if cats else ""
        msg = (
            "Blocked by moderation"
            + (f" ({stage})" if stage else "")
            + (f": {what}" if what else "")
        )
        return ApiFailure(
            FailureKind.MODERATION,
            msg,
            "Rephrase the prompt or change the input images; 'moderation = low' is less strict.",
            status,
        )
    reasons = _google_reasons(err)
    if (
        status in (401, 403)
        or code in ("invalid_api_key", "unauthorized")
        or etype == "authentication_error"
        or gstatus in ("UNAUTHENTICATED", "PERMISSION_DENIED")
        or any(r.startswith("API_KEY_") for r in reasons)
    ):
        return ApiFailure(
            FailureKind.AUTH,
            f"Authentication failed ({status or code or gstatus}): {_one_line(message)}",
            HINT_KEY,
            status,
        )
    if status == 429 or code in ("rate_limit_exceeded", "insufficient_quota"):
        hint = (
            "Your quota is used up: check billing."
            if code == "insufficient_quota"
            else "Too many requests: wait a moment and retry."
        )
        return ApiFailure(
            FailureKind.RATE_LIMIT, f"Rate limited: {_one_line(message)}", hint, status
        )
    about_streaming = status is None or status not in _NOT_ABOUT_STREAMING
    if (is_stream_refusal(message) or param == "stream") and about_streaming:
        where = f" ({status})" if status else ""
        return ApiFailure(
            FailureKind.BAD_REQUEST,
            f"Streaming refused{where}: {_one_line(message)}",
            HINT_STREAM_OFF,
            status,
        )
    if "transparent" in low and ("not support" in low or "unsupported" in low):
        return ApiFailure(
            FailureKind.BAD_REQUEST,
            f"Request rejected ({status or code or 'in stream'}): {_one_line(message)}",
            HINT_TRANSPARENT,
            status,
        )
    if (status is not None and status >= 500) or etype == "server_error" or code == "server_error":
        return ApiFailure(
            FailureKind.SERVER,
            f"Server error{f' ({status})' if status else ''}: {_one_line(message)}",
            "The provider failed; retry in a moment.",
            status,
        )
    where = f" [{param}]" if param else ""
    if status == 404:
        return ApiFailure(
            FailureKind.BAD_REQUEST, f"Not found (404): {_one_line(message)}", HINT_BASE_URL, status
        )
    if status is None:  # an in-stream error without a recognisable class
        return ApiFailure(
            FailureKind.STREAM,
            f"The server reported an error{where}: {_one_line(message)}",
            "Retry; if it persists, try another model or fewer partial images.",
        )
    hint = (
        HINT_MAYBE_STREAM
        if streamed and 400 <= status < 500
        else "Check the parameters this model accepts."
    )
    return ApiFailure(
        FailureKind.BAD_REQUEST,
        f"Request rejected ({status}){where}: {_one_line(message)}",
        hint,
        status,
    )


def suggested_base_url(base_url: str) -> str | None:
    """The base URL without an endpoint path pasted onto it, or None when it has none.

    `https://api.openai.com/v1/images/generations` -> `https://api.openai.com/v1`.
    """
    trimmed = base_url.rstrip("/")
    for path in ENDPOINT_PATHS:
        if trimmed.lower().endswith(path):
            return trimmed[: -len(path)]
    return None


def from_response(
    status: int,
    headers: httpx.Headers,
    body: bytes,
    *,
    streamed: bool = False,
    base_url: str | None = None,
) -> ApiFailure:
    """Map an HTTP error status and body (JSON, plain text or an HTML page) to a failure.

    `streamed`: the request asked for a stream, so a 4xx other than 401, 403, 404, 408 or
    429 gets the hint to turn streaming off (relays refuse streams in many words).
    `base_url`: the connection's, to name the right one when a 404 follows a base URL
    that already holds the endpoint path.
    """
    retry_after = _parse_retry_after(headers.get("retry-after"))
    try:
        obj = json.loads(body) if body.strip()[:1] in (b"{", b"[") else None
    except (ValueError, RecursionError):
        obj = None
    err = error_object(obj)
    if err is not None:
        failure = from_error_object(err, status, streamed=streamed)
    else:
        summary = summarize_body(body) or httpx.codes.get_reason_phrase(status) or "no details"
        is_html = b"<html" in body[:2000].lower() or b"<!doctype" in body[:200].lower()
        if status in (504, 522, 524) or (is_html and "timeout" in summary.lower()):
            who = (
                "Cloudflare"
                if status in (522, 524) or b"cloudflare" in body.lower()
                else "a gateway"
            )
            failure = ApiFailure(
                FailureKind.PROXY_TIMEOUT,
                f"Proxy timeout ({status}): {summary}",
                HINT_PROXY.format(who=who),
                status,
            )
        elif status in (401, 403):
            failure = ApiFailure(
                FailureKind.AUTH,
                f"Authentication failed ({status}): {summary}",
                "Check the profile's API key.",
                status,
            )
        elif status == 429:
            failure = ApiFailure(
                FailureKind.RATE_LIMIT,
                f"Rate limited (429): {summary}",
                "Too many requests: wait a moment and retry.",
                status,
            )
        elif status == 404:
            failure = ApiFailure(
                FailureKind.BAD_REQUEST, f"Not found (404): {summary}", HINT_BASE_URL, status
            )
        elif status >= 500:
            failure = ApiFailure(
                FailureKind.SERVER,
                f"Server error ({status}): {summary}",
                "The provider or a proxy in front of it failed; retry in a moment.",
                status,
            )
        elif is_stream_refusal(summary) or (
            streamed and 400 <= status < 500 and status not in _NOT_ABOUT_STREAMING
        ):
            failure = ApiFailure(
                FailureKind.BAD_REQUEST,
                f"Streaming refused ({status}): {summary}",
                HINT_STREAM_OFF,
                status,
            )
        else:
            failure = ApiFailure(
                FailureKind.BAD_REQUEST,
                f"Request rejected ({status}): {summary}",
                "Check the parameters this model accepts.",
                status,
            )
    if status == 404 and base_url and (fixed := suggested_base_url(base_url)):
        failure.hint = (
            f"The base URL ends in the endpoint path: use {fixed} as the base URL "
            "(imgtui adds the endpoint itself)."
        )
    failure.status = status
    failure.retry_after = retry_after
    return failure


# -- transport exceptions --------------------------------------------------------------


def _proxy_mark(elapsed: float | None) -> str | None:
    """Who probably cut a connection that died after `elapsed` seconds."""
    if elapsed is None:
        return None
    if 55 <= elapsed <= 70:
        return "nginx's default 60 s"
    if 95 <= elapsed <= 130:
        return "Cloudflare's ~100-125 s"
    return None


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it was raised from (httpx wraps the OS error twice)."""
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in chain and len(chain) < 10:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    return chain


def from_exception(
    exc: BaseException, *, timeout: float, elapsed: float | None = None, streaming: bool = False
) -> ApiFailure:
    """Map an httpx/transport exception to a failure."""
    text = _one_line(str(exc) or type(exc).__name__)
    if isinstance(exc, httpx.ConnectTimeout):
        return ApiFailure(
            FailureKind.CONNECTION,
            "Connection timed out before the server answered",
            "Check the base URL and your network.",
        )
    if isinstance(exc, httpx.ConnectError):
        low = text.lower()
        causes = _causes(exc)
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return ApiFailure(
                FailureKind.CONNECTION,
                "Connection refused",
                "Nothing listens at the base URL: check the host and port.",
            )
        if any(isinstance(c, socket.gaierror) for c in causes):
            return ApiFailure(
                FailureKind.CONNECTION,
                f"Cannot resolve the host: {text}",
                "Check the base URL's host name and your network.",
            )
        if any(isinstance(c, ssl.SSLError) for c in causes) or "ssl" in low or "certificate" in low:
            return ApiFailure(
                FailureKind.CONNECTION,
                f"TLS error: {text}",
                "Check the base URL's scheme (http vs https) and the server's certificate.",
            )
        if (
            "name or service" in low
            or "nodename" in low
            or "getaddrinfo" in low
            or "name resolution" in low
        ):
            return ApiFailure(
                FailureKind.CONNECTION,
                f"Cannot resolve the host: {text}",
                "Check the base URL's host name and your network.",
            )
        if "refused" in low:
            return ApiFailure(
                FailureKind.CONNECTION,
                "Connection refused",
                "Nothing listens at the base URL: check the host and port.",
            )
        return ApiFailure(
            FailureKind.CONNECTION,
            f"Cannot connect: {text}",
            "Check the base URL and your network.",
        )
    if isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout)):
        return ApiFailure(
            FailureKind.TIMEOUT,
            f"No data from the server for {timeout:g} s",
            "Raise the profile's timeout, or stream with partial images to see progress.",
        )
    mark = _proxy_mark(elapsed)
    after = f" after {elapsed:.0f} s" if elapsed is not None else ""
    if mark:
        return ApiFailure(
            FailureKind.PROXY_TIMEOUT, f"Connection dropped{after}", HINT_PROXY.format(who=mark)
        )
    if isinstance(
        exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.NetworkError)
    ):
        where = "mid-stream" if streaming else "before the reply"
        return ApiFailure(
            FailureKind.STREAM,
            f"Connection dropped {where}{after}",
            "The server or a proxy closed the connection; retry.",
        )
    if isinstance(exc, httpx.HTTPError):
        return ApiFailure(
            FailureKind.CONNECTION, f"HTTP error: {text}", "Check the base URL and your network."
        )
    return ApiFailure(
        FailureKind.STREAM, f"Unexpected error: {text}", "Retry; if it persists, report it."
    )


def scrub(text: str, secrets: str | Iterable[str | None] | None) -> str:
    """`text` with every secret (the key, configured header and query values) masked.

    Each value becomes `***`, as it is and URL-encoded (a relay echoing the query), the
    longest first. Values shorter than 4 characters are left alone (they would mask
    ordinary words). Issue 10: every configured header and query value is a secret.
    """
    if secrets is None:
        return text
    values = [secrets] if isinstance(secrets, str) else [v for v in secrets if v]
    forms = sorted(
        {f for s in values if len(s) >= 4 for f in (s, quote(s, safe=""), quote_plus(s))},
        key=len,
        reverse=True,
    )
    for form in forms:
        if form in text:
            text = text.replace(form, "***")
    if text.endswith("…"):  # a message cut short may end in the start of a secret
        head = text[:-1]
        for form in forms:
            for size in range(len(form) - 1, 3, -1):
                if head.endswith(form[:size]):
                    return head[:-size] + "***…"
    return text


def scrub_event(event: Event, secrets: Iterable[str | None]) -> Event:
    """`event` with every secret masked (see `scrub`) in each text the server chose: a
    failure's message; a frame's or final image's reported size, quality, background and
    format; a final's revised prompt and the strings in its usage. A response id that
    held a secret is dropped (it is sent back as previous_response_id). Issue 10.3: a
    relay echoing a header into any of these must not put it on screen or in history."""
    values = [v for v in secrets if v]
    if not values:
        return event
    if isinstance(event, Failed):
        return replace(event, message=scrub(event.message, values))
    if not isinstance(event, (Partial, Completed)):
        return event
    m = event.meta
    fields = (m.size, m.quality, m.background, m.output_format)
    meta = ImageMeta(*(None if f is None else scrub(f, values) for f in fields))
    if isinstance(event, Partial):
        event.meta = meta
        return event
    revised = event.revised_prompt
    response_id = event.response_id
    if response_id is not None and scrub(response_id, values) != response_id:
        response_id = None
    return replace(
        event,
        meta=meta,
        revised_prompt=None if revised is None else scrub(revised, values),
        response_id=response_id,
        usage=_scrub_json(event.usage, values),
    )


def _scrub_json(value: Any, secrets: list[str]) -> Any:
    """A parsed JSON value with its strings (keys too) scrubbed; depth is bounded by the
    parser that made it."""
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, dict):
        return {scrub(str(k), secrets): _scrub_json(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_json(v, secrets) for v in value]
    return value
