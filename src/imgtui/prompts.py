"""Prompt history for the composer (issue 14, item 3): earlier prompts, newest first,
walked with Up/Down and searched with Ctrl+R. Core (no Textual).

The prompts come from the task history (`Store.prompts`), so they are kept across
restarts exactly as long as their tasks are; prompts sent in this session are added in
front as they are submitted. Each prompt appears once (its newest use); at most
`MAX_PROMPTS` are kept.

    history = PromptHistory()
    history.load(store.prompts())     # older prompts, newest first
    history.add("a fox")              # a prompt just sent
    history.older()                   # Up: "a fox", then the one before, ... None at the end
    history.newer()                   # Down: back towards the newest; "" past it
    history.search("fox")             # every prompt holding each word, newest first
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["MAX_PROMPTS", "PromptHistory"]

MAX_PROMPTS = 1000


class PromptHistory:
    """Earlier prompts, newest first, with a recall position (-1: none recalled)."""

    def __init__(self, prompts: Iterable[str] = (), limit: int = MAX_PROMPTS) -> None:
        self.limit = limit
        self.entries: list[str] = []
        self.position = -1
        self.load(prompts)

    @property
    def recalled(self) -> str | None:
        """The prompt Up/Down last put in the composer, or None."""
        return self.entries[self.position] if self.position >= 0 else None

    def load(self, older: Iterable[str]) -> None:
        """Add prompts older than every one held (newest first), skipping blanks and
        repeats. Prompts `add`ed while the store was being read stay in front."""
        seen = set(self.entries)
        for prompt in older:
            if len(self.entries) >= self.limit:
                break
            if prompt.strip() and prompt not in seen:
                seen.add(prompt)
                self.entries.append(prompt)

    def add(self, prompt: str) -> None:
        """A prompt just sent: it becomes the newest (once); the recall position resets."""
        self.position = -1
        if not prompt.strip():
            return
        if prompt in self.entries:
            self.entries.remove(prompt)
        self.entries.insert(0, prompt)
        del self.entries[self.limit :]

    def reset(self) -> None:
        """Forget the recall position (the user edited the text)."""
        self.position = -1

    def older(self) -> str | None:
        """The next older prompt (Up), or None when there is none."""
        if self.position + 1 >= len(self.entries):
            return None
        self.position += 1
        return self.entries[self.position]

    def newer(self) -> str | None:
        """The next newer prompt (Down); "" past the newest (an empty composer again);
        None when nothing is recalled."""
        if self.position < 0:
            return None
        self.position -= 1
        return self.entries[self.position] if self.position >= 0 else ""

    def search(self, query: str, limit: int = 200) -> list[str]:
        """Prompts holding every word of `query` (case-insensitive), newest first; all
        of them (up to `limit`) for an empty query."""
        words = query.casefold().split()
        found: list[str] = []
        for prompt in self.entries:
            text = prompt.casefold()
            if all(w in text for w in words):
                found.append(prompt)
                if len(found) >= limit:
                    break
        return found
