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
