"""Small file-system helpers shared by the config file and the history store."""

from __future__ import annotations

from pathlib import Path


def make_private_dir(folder: Path) -> None:
    """Create `folder` and missing parents; only the folders created here get mode 0700
    (config holds keys, history holds prompts: neither is for other users)."""
    missing: list[Path] = []
    p = folder
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            pass


MAX_PASTED = 64 * 1024  # characters: a longer paste is text, not file names


def pasted_paths(text: str) -> list[Path] | None:
    """The files named by pasted text, or None when it is anything else.

    Terminals paste a file dropped on them as its path: bare, quoted (`'...'`, `"..."`),
    with backslash-escaped spaces (macOS, iTerm2), or as a `file://` URI with %-escapes
    (file managers' `text/uri-list`); several files are separated by spaces or newlines.
    A line that names one existing file as it stands (a bare path with spaces) is that
    file. None unless every name is an existing file (a prompt that mentions `cat.png`
    stays a prompt); the paths are in paste order, without repeats, `~` expanded.
    """
    import shlex

    text = text.strip()
    if not text or len(text) > MAX_PASTED:
        return None
    found: list[Path] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):  # text/uri-list comments
            continue
        whole = _pasted_path(line)
        if whole is not None and whole.is_file():
            words = [line]
        else:
            try:
                words = shlex.split(line)
            except ValueError:  # an unbalanced quote: not file names
                return None
        for word in words:
            path = _pasted_path(word)
            if path is None or not path.is_file():
                return None
            if path not in found:
                found.append(path)
    return found or None


def _pasted_path(word: str) -> Path | None:
    from urllib.parse import urlsplit
    from urllib.request import url2pathname  # undoes the %-escapes

    if word.startswith("file:"):
        url = urlsplit(word)
        if url.netloc not in ("", "localhost"):
            return None  # a file on another host
        return Path(url2pathname(url.path))
    return Path(word).expanduser() if word else None
