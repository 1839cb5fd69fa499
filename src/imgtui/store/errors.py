"""The store's one error type."""

from __future__ import annotations


class StoreError(Exception):
    """The history could not be read or written; the message says what and where."""
