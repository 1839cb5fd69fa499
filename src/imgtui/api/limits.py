"""Caps on what a server may send, each failing with a clear message (issue 10).

A hostile or broken server must not exhaust memory or hang a run: every size is counted
while it streams, before anything is joined or decoded. The defaults leave room for the
largest image the APIs make (3840x2160: a PNG of up to ~33 MB, ~44 MB as base64).
Tests pass small `Limits` to `stream_images`.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Upper bounds per request. Sizes in bytes, `max_pixels` in pixels (width x height)."""

    max_event: int = 96 * MIB  # one SSE line or event, one unframed or JSON reply per image
    max_image: int = 64 * MIB  # one final image, decoded
    max_pixels: int = 50_000_000  # checked from the header, before any decode
    max_download: int = 64 * MIB  # one image URL, counted while it streams
    max_error_body: int = 256 * 1024  # what is read of an HTTP error reply
    max_revised_prompt: int = 40_000  # characters kept of a revised prompt (then cut)
    max_id: int = 256  # characters of a response id (longer ones are dropped)
    max_partials: int = 8  # partial frames kept per slot (the APIs send at most 3)


DEFAULT_LIMITS = Limits()
