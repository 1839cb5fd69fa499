"""json.loads for multi-megabyte events without reading their images as text.

A 1536x1024 frame arrives as one JSON object holding ~6 MB of base64. Decoding that line
to `str` and running the JSON scanner over it costs ~10 ms of event-loop time per frame
(8 tasks at once: ~80 ms in one go). Here the bytes are only searched for quotes: JSON
strings cannot contain a raw `"`, so quotes delimit every string, and each long one is
cut out and replaced by a short marker before the (now small) rest is parsed.

`loads(payload, keep)` gives the same object as `json.loads(payload)`, except that a long
string under one of the `keep` keys comes back as its raw bytes: a read-only `memoryview`
of `payload` (base64 text, which `b64decode` takes as it is), never a copy: copying a 4K
frame's 32 MB holds the GIL for ~20 ms (issue 16). Every other long string is
JSON-decoded back to text, and a kept one containing escapes (a relay writing `\\/`) is
too, so no value ever changes.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

LONG = 64 * 1024  # strings longer than this (bytes between the quotes) are cut out
_MARK = "\x00imgtui-cut:"  # NUL cannot appear unescaped in JSON text, so no real string starts so
_MARK_JSON = b'"\\u0000imgtui-cut:%d"'
_QUOTE, _BACKSLASH = ord('"'), ord("\\")


def loads(payload: bytes, keep: Collection[str] = (), start: int = 0) -> Any:
    """Parse UTF-8 JSON `payload[start:]`; long strings under a `keep` key stay bytes (a
    memoryview of `payload`, equal to the bytes between the quotes).

    (`start` spares the caller a multi-MB copy to drop a prefix such as `data: `.)
    Raises ValueError (json.JSONDecodeError) on malformed JSON, like json.loads.
    """
    if len(payload) - start <= LONG:
        return json.loads(payload[start:] if start else payload)
    pieces: list[bytes] = []
    cuts: list[tuple[int, int]] = []  # (first, end) of each long string's bytes
    copied = pos = start
    while (opening := payload.find(b'"', pos)) >= 0:
        end = _string_end(payload, opening)
        if end < 0:
            break  # unterminated: json.loads below reports it
        if end - opening - 1 > LONG and not _is_key(payload, end + 1):
            pieces.append(payload[copied:opening])
            pieces.append(_MARK_JSON % len(cuts))
            cuts.append((opening + 1, end))
            copied = end + 1
        pos = end + 1
    if not cuts:
        return json.loads(payload[start:] if start else payload)
    pieces.append(payload[copied:])
    obj = json.loads(b"".join(pieces))
    return _restore(obj, None, _Cuts(payload, cuts), frozenset(keep))


def _string_end(payload: bytes, start: int) -> int:
    """Index of the quote closing the string opened at `start`, or -1."""
    end = payload.find(b'"', start + 1)
    while end >= 0:
        slashes = 0
        k = end - 1
        while payload[k] == _BACKSLASH:
            slashes += 1
            k -= 1
        if slashes % 2 == 0:
            return end
        end = payload.find(b'"', end + 1)
    return -1


def _is_key(payload: bytes, pos: int) -> bool:
    """Whether the string that ended just before `pos` is an object key (a `:` follows)."""
    return payload[pos : pos + 64].lstrip(b" \t\r\n")[:1] == b":"


class _Cuts:
    """The long strings cut out of `payload`, as offsets into it."""

    def __init__(self, payload: bytes, spans: list[tuple[int, int]]) -> None:
        self.payload, self.spans = payload, spans
        self.view = memoryview(payload).toreadonly()

    def value(self, index: int, kept: bool) -> str | memoryview:
        first, end = self.spans[index]
        if kept and self.payload.find(b"\\", first, end) < 0:
            return self.view[first:end]
        return str(json.loads(self.payload[first - 1 : end + 1]))  # with its quotes


def _restore(node: Any, key: str | None, cuts: _Cuts, keep: frozenset[str]) -> Any:
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, (dict, list)) or (isinstance(v, str) and v.startswith(_MARK)):
                node[k] = _restore(v, k, cuts, keep)
        return node
    if isinstance(node, list):
        return [_restore(v, key, cuts, keep) for v in node]
    if isinstance(node, str) and node.startswith(_MARK):
        return cuts.value(int(node[len(_MARK) :]), key in keep)
    return node
