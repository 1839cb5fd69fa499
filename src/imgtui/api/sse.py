"""SSE framing: response bytes -> the data of each event (PROTOCOL.md §4).

Accepts `event:` lines or data-only events, comments and pings, CRLF, LF or CR, any
chunking, and `data: [DONE]`. Relays also write JSON without any framing (a quota error,
or a whole non-streaming reply under `text/event-stream`): such a document comes out as
`Unframed`, and any other line that is neither SSE nor JSON as `Stray`, so the parser can
read each for what it is (issue 12).

Multi-megabyte lines: bytes are split into lines with `bytes.find` (no text decoding); a
`data:` line longer than `BIG_LINE` is never decoded as text: its bytes go to the parser
as they are, and httpx-sse's field parser sees a short stand-in. Event-loop time per line
stays small whatever its size (issue 16: at most 30 ms of loop lag with 8 streams of 4K
frames): a line is never copied or scanned as a whole on the loop but for `find`s, and a
line longer than `JOIN_OFF_LOOP` that arrived in pieces is joined in a thread
(`bytes.join` releases the GIL while it copies: ~30-50 ms for a 4K frame's 32 MB).

Memory: a 4K frame's line is ~32 MB; nothing here keeps it once its event is out (the
loop's names are cleared before the stream waits for the next event, seconds later).

This is the ONE module that touches httpx-sse's private `_decoders` (its field parser).
`check_httpx_sse()` guards it: the version must be in the tested range and the parser must
still behave as the SSE spec says; tests/unit fail loudly otherwise.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.metadata
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, NamedTuple

from imgtui.api.errors import ApiFailure
from imgtui.api.events import FailureKind

if TYPE_CHECKING:
    from httpx_sse._decoders import SSEDecoder  # the private parser this module guards

#: The httpx-sse versions this module was tested with: [low, high).
HTTPX_SSE_TESTED = ((0, 4, 3), (0, 5, 0))

# A `data:` line longer than this skips the text decoding and reaches the parser as bytes.
BIG_LINE = 64 * 1024
# A line longer than this that arrived in several chunks is joined in a thread.
JOIN_OFF_LOOP = 1024 * 1024
_BIG_MARK = "\x00imgtui-big-line"  # stands in for a big line inside the SSE field parser
_FIELDS = (b"data", b"event", b"id", b"retry")
_NAME_MAX = max(len(name) for name in _FIELDS)
_SPACE = re.compile(rb"[ \t\n\r\x0b\x0c]*")  # what bytes.strip() strips
STRAY_SHOWN = 300  # characters of a stray line kept


class SSEData(NamedTuple):
    """The data of one event: text, or the bytes of a big line whose value starts at `start`."""

    data: str | bytes
    start: int = 0


class Unframed(NamedTuple):
    """Lines that began with `{` or `[` outside any SSE field: a JSON document a relay wrote as is."""

    data: bytes


class Stray(NamedTuple):
    """A line that is neither an SSE field nor JSON (plain text from a relay), cut to 300 chars."""

    text: str


DONE = "[DONE]"


def version_tuple(text: str) -> tuple[int, ...]:
    """`"0.4.3"` -> (0, 4, 3); non-digits in a part are dropped (`"1rc2"` -> 12)."""
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


@functools.cache
def check_httpx_sse() -> str:
    """The installed httpx-sse version, after checking the private parser still works as used.

    Raises RuntimeError naming the version when `httpx_sse._decoders.SSEDecoder` is gone or
    no longer parses fields as the SSE spec says (tests call this; so does the first stream).
    """
    version = importlib.metadata.version("httpx-sse")
    try:
        from httpx_sse._decoders import SSEDecoder
    except ImportError as exc:  # pragma: no cover - only when httpx-sse changed
        raise RuntimeError(f"httpx-sse {version} has no _decoders.SSEDecoder: {exc}") from None
    decoder = SSEDecoder()
    lines = ["event: e", ": ping", "data: a", "data:b", "id: 1", "retry: 5", ""]
    results = [decoder.decode(line) for line in lines]
    last = results[-1]
    if (
        any(r is not None for r in results[:-1])
        or last is None
        or (last.event, last.data, last.id, last.retry) != ("e", "a\nb", "1", 5)
    ):
        raise RuntimeError(f"httpx-sse {version}: _decoders.SSEDecoder changed behaviour")
    return version


def _new_decoder() -> SSEDecoder:
    check_httpx_sse()
    from httpx_sse._decoders import SSEDecoder

    return SSEDecoder()


class Pieces(list[bytes]):
    """A line longer than `JOIN_OFF_LOOP` still in the pieces it arrived in (`ByteLines`);
    `lines()` joins it in a thread. `cr`: a CR inside it still has to split it (CR-only
    line endings, rare); a CRLF's CR at its end is already dropped."""

    cr = False

    async def lines(self) -> list[bytes]:
        """The line(s) these pieces make, joined in a thread (the GIL is released while
        `bytes.join` copies; the event loop goes on)."""
        line = await asyncio.to_thread(b"".join, self)
        self.clear()  # the pieces go now: the line holds the same bytes
        return ByteLines.split(line) if self.cr else [line]


class ByteLines:
    """Splits a byte stream into lines (LF, CRLF or CR) without decoding it as text.

    Each chunk is scanned once with `find`, and the pieces of a long line are kept in a
    list and joined once (a growing bytearray would be copied at every reallocation); a
    line longer than `JOIN_OFF_LOOP` comes out as its `Pieces`, for the caller to join
    off the event loop (`Pieces.lines`). A line growing past `max_line` bytes raises
    ApiFailure(STREAM) before it is joined.
    """

    def __init__(self, max_line: int | None = None) -> None:
        self._parts: list[bytes] = []  # the unterminated line so far
        self._pending = 0  # its length
        self._first_cr = -1  # where its first CR is (each piece is searched as it comes)
        self.max_line = max_line

    def feed(self, chunk: bytes) -> list[bytes | Pieces]:
        nl = chunk.find(b"\n")
        if nl < 0:
            self._add(chunk)
            return []
        lines: list[bytes | Pieces] = []
        if self._parts:
            self._add(chunk[:nl])
            self._take(lines)
        else:
            self._check(nl)
            lines.extend(self.split(chunk[:nl]))
        start = nl + 1
        nl = chunk.find(b"\n", start)
        while nl >= 0:
            self._check(nl - start)
            lines.extend(self.split(chunk[start:nl]))
            start = nl + 1
            nl = chunk.find(b"\n", start)
        if start < len(chunk):
            self._add(chunk[start:])
        return lines

    def flush(self) -> list[bytes | Pieces]:
        lines: list[bytes | Pieces] = []
        if self._pending:
            self._take(lines)
        return lines

    def _take(self, lines: list[bytes | Pieces]) -> None:
        """The line in `_parts` goes to `lines`: joined here when short, else as Pieces."""
        parts, size, first_cr = self._parts, self._pending, self._first_cr
        self._parts, self._pending, self._first_cr = [], 0, -1
        if size <= JOIN_OFF_LOOP:
            lines.extend(self.split(b"".join(parts)))
            return
        pieces = Pieces(part for part in parts if part)
        if first_cr == size - 1:  # CRLF: the CR goes without copying the line
            pieces[-1] = pieces[-1][:-1]
        else:
            pieces.cr = first_cr >= 0
        lines.append(pieces)

    def _add(self, piece: bytes) -> None:
        if self._first_cr < 0 and (cr := piece.find(b"\r")) >= 0:
            self._first_cr = self._pending + cr
        self._pending += len(piece)
        self._check(self._pending)
        self._parts.append(piece)

    def _check(self, size: int) -> None:
        if self.max_line is not None and size > self.max_line:
            raise too_big("A line of the server's stream", size, self.max_line)

    @staticmethod
    def split(line: bytes) -> list[bytes]:
        """`line` split at CRs (CRLF, or lone CR line endings)."""
        if line.endswith(b"\r") and line.find(b"\r", 0, len(line) - 1) < 0:
            return [line[:-1]]  # CRLF: the usual case
        if b"\r" in line:
            parts = line.split(b"\r")
            if parts[-1] == b"":
                parts.pop()
            return parts
        return [line]


def too_big(what: str, size: int, limit: int) -> ApiFailure:
    """The failure for a stream piece over a size limit (sizes in bytes)."""
    return ApiFailure(
        FailureKind.STREAM,
        f"{what} is over the {_mib(limit)} limit ({_mib(size)} so far): refused",
        "The server sent more than any image needs; it may be broken or hostile.",
    )


def _mib(n: int) -> str:
    return f"{n / 1048576:.1f} MiB" if n >= 1048576 else f"{n:,} bytes"


def _data_start(line: bytes) -> int:
    """Where the value of a `data:` line starts (one leading space is not part of it)."""
    return 6 if line.startswith(b"data: ") else 5


def _is_field(line: bytes) -> bool:
    """An SSE line: blank, a comment, or one of the fields this client reads. Looks at
    the line's first bytes only (a 4K frame's line is ~32 MB: never copied to read a name)."""
    if not line or line[:1] == b":":
        return True
    colon = line.find(b":", 0, _NAME_MAX + 1)
    if colon >= 0:
        return line[:colon] in _FIELDS
    return len(line) <= _NAME_MAX and line in _FIELDS  # a field without a value


def _first_byte(line: bytes) -> bytes:
    """The line's first byte that is not ASCII whitespace (b"" when there is none), found
    without copying the line as `line.lstrip()` would."""
    start = _SPACE.match(line)
    end = start.end() if start is not None else 0
    return line[end : end + 1]


async def iter_sse(
    chunks: AsyncIterator[bytes], *, byte_counts: bool = False, max_event: int | None = None
) -> AsyncIterator[SSEData | Unframed | Stray | str | int]:
    """The events of an SSE byte stream: `SSEData` per event, `DONE` for `data: [DONE]`,
    `Unframed` / `Stray` for what relays write without framing, and with `byte_counts` the
    running byte count (an int) after each chunk, so progress shows during a multi-MB event.

    Raises ApiFailure(STREAM) when a line or an event grows past `max_event` bytes.
    """
    lines = ByteLines(max_event)
    decoder = _new_decoder()
    big: list[bytes] = []  # the big data lines of the event being read
    unframed: list[bytes] = []  # the lines of an unframed JSON document
    event_size = 0
    received = 0

    def event_data(data: str) -> SSEData:
        if data == _BIG_MARK:  # the usual case: the whole event is one big line
            return SSEData(big[0], _data_start(big[0]))
        # Rare: big lines mixed with others in one event. Put their text back in place.
        parts = data.split(_BIG_MARK)
        texts = [line[_data_start(line) :].decode("utf-8", "replace") for line in big]
        return SSEData("".join(part + text for part, text in zip(parts, [*texts, ""], strict=True)))

    def emit(line_list: list[bytes]) -> list[SSEData | Unframed | Stray | str]:
        nonlocal event_size
        out: list[SSEData | Unframed | Stray | str] = []
        for raw in line_list:
            field = _is_field(raw)
            if not field and (unframed or _first_byte(raw) in (b"{", b"[")):
                unframed.append(raw)  # a JSON document's line: until a blank or SSE line
                event_size += len(raw)
                if max_event is not None and event_size > max_event:
                    raise too_big("An unframed reply", event_size, max_event)
                continue
            if unframed:
                out.append(Unframed(unframed[0] if len(unframed) == 1 else b"\n".join(unframed)))
                unframed.clear()
                event_size = 0
            if not field:
                if not _first_byte(raw):
                    continue  # only whitespace
                out.append(Stray(raw[: STRAY_SHOWN * 4].decode("utf-8", "replace")[:STRAY_SHOWN]))
                continue
            if raw.startswith(b"data:"):
                event_size += len(raw)
                if max_event is not None and event_size > max_event:
                    raise too_big("An event of the server's stream", event_size, max_event)
            if len(raw) > BIG_LINE and raw.startswith(b"data:"):
                big.append(raw)
                sse = decoder.decode("data:" + _BIG_MARK)
            else:
                sse = decoder.decode(raw.decode("utf-8", "replace"))
            if sse is None:
                continue
            event_size = 0
            if big:
                out.append(event_data(sse.data))
                big.clear()
            elif not (data := sse.data.strip()):
                continue
            elif data == DONE:
                out.append(DONE)
            else:
                out.append(SSEData(data))
        return out

    async def joined(found: list[bytes | Pieces]) -> list[bytes]:
        out: list[bytes] = []
        for line in found:
            out.extend(await line.lines() if isinstance(line, Pieces) else (line,))
        return out

    async for chunk in chunks:
        received += len(chunk)
        found = lines.feed(chunk)
        if found:
            for item in emit(await joined(found)):
                yield item
            # Drop this frame's line now: the stream may wait seconds for the next event,
            # and 8 streams' last lines were ~256 MB kept for nothing at 4K.
            found = item = None  # type: ignore[assignment]
        if byte_counts:
            yield received
    # a final blank line dispatches an unterminated event (or ends an unframed document)
    for item in emit([*await joined(lines.flush()), b""]):
        yield item
