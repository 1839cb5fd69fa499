"""json.loads for multi-megabyte events without reading their images as text.

A 1536x1024 frame arrives as one JSON object holding ~6 MB of base64. Decoding that line
to `str` and running the JSON scanner over it costs ~10 ms of event-loop time per frame
(8 tasks at once: ~80 ms in one go). Here the bytes are only searched for quotes: JSON
strings cannot contain a raw `"`, so quotes delimit every string, and each long one is
cut out and replaced by a short marker before the (now small) rest is parsed.

`loads(payload, keep)` gives the same object as `json.loads(payload)`, except that a long
string under one of the `keep` keys comes back as its raw `bytes` (base64 text, which
`b64decode` takes as it is). Every other long string is JSON-decoded back to text, and a
kept one containing escapes (a relay writing `\\/`) is too, so no value ever changes.
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
    """Parse UTF-8 JSON `payload[start:]`; long strings under a `keep` key stay `bytes`.

    (`start` spares the caller a multi-MB copy to drop a prefix such as `data: `.)
    Raises ValueError (json.JSONDecodeError) on malformed JSON, like json.loads.
    """
    if len(payload) - start <= LONG:
        return json.loads(payload[start:] if start else payload)
    pieces: list[bytes] = []
    cuts: list[bytes] = []
    copied = pos = start
    while (opening := payload.find(b'"', pos)) >= 0:
        end = _string_end(payload, opening)
        if end < 0:
            break  # unterminated: json.loads below reports it
        if end - opening - 1 > LONG and not _is_key(payload, end + 1):
            pieces.append(payload[copied:opening])
            pieces.append(_MARK_JSON % len(cuts))
            cuts.append(payload[opening + 1 : end])
            copied = end + 1
        pos = end + 1
    if not cuts:
        return json.loads(payload[start:] if start else payload)
    pieces.append(payload[copied:])
    obj = json.loads(b"".join(pieces))
    return _restore(obj, None, cuts, frozenset(keep))


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


def _restore(node: Any, key: str | None, cuts: list[bytes], keep: frozenset[str]) -> Any:
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, (dict, list)) or (isinstance(v, str) and v.startswith(_MARK)):
                node[k] = _restore(v, k, cuts, keep)
        return node
    if isinstance(node, list):
        return [_restore(v, key, cuts, keep) for v in node]
    if isinstance(node, str) and node.startswith(_MARK):
        raw = cuts[int(node[len(_MARK) :])]
        if key in keep and _BACKSLASH not in raw:
            return raw
        return json.loads(b'"' + raw + b'"')
    return node
