"""Image files in the data folder and names for exported ones.

`atomic_write` is the only way imgtui writes an image file: a temporary file in the same
folder (named `.<name>.<random>.tmp`), optionally fsynced, then renamed over the target,
so a reader or a crash sees the old file or the new one, never half of one. Leftover
temporary files from a killed process are removed by `sweep_tmp` at start-up.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import unicodedata
from pathlib import Path

from imgtui.api.request import image_extension
from imgtui.files import make_private_dir
from imgtui.store.errors import StoreError

__all__ = [
    "IMAGES",
    "THUMBS",
    "atomic_write",
    "check_id",
    "copy_unique",
    "ext_for",
    "keep_bytes",
    "remove_siblings",
    "rescue_dirs",
    "slugify",
    "sweep_tmp",
    "unique_path",
    "write_unique",
]

IMAGES = "images"
THUMBS = "thumbs"
IMAGE_EXTS = (".png", ".jpg", ".webp", ".gif", ".bin")
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # task ids become folder names: nothing else
TMP_SUFFIX = ".tmp"


def slugify(prompt: str, max_len: int = 40) -> str:
    """A file-name-safe slug of the prompt's first words: accents dropped, any script's
    letters and digits kept, joined by "-", cut at a word boundary. "image" if nothing is left."""
    text = unicodedata.normalize("NFKD", prompt)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    slug = ""
    for word in re.findall(r"[^\W_]+", text):
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_len:
            slug = slug or word[:max_len]
            break
        slug = candidate
    return slug or "image"


def unique_path(folder: Path, stem: str, ext: str) -> Path:
    """`folder/stem.ext`, or `stem-2.ext`, `stem-3.ext`… : the first that does not exist.

    `ext` may be given with or without its dot. To avoid a race between two writers,
    create the file with mode "xb" and try again on FileExistsError (see `copy_unique`).
    """
    suffix = ext if not ext or ext.startswith(".") else "." + ext
    candidate = Path(folder) / f"{stem}{suffix}"
    n = 2
    while candidate.exists():
        candidate = Path(folder) / f"{stem}-{n}{suffix}"
        n += 1
    return candidate


def copy_unique(source: Path, folder: Path, stem: str, ext: str) -> Path:
    while True:
        dest = unique_path(folder, stem, ext)
        try:
            with open(source, "rb") as src, open(dest, "xb") as dst:
                shutil.copyfileobj(src, dst)
            return dest
        except FileExistsError:
            continue  # another writer took the name between the check and the open
        except OSError as exc:
            raise StoreError(f"cannot copy {source} to {dest}: {exc.strerror or exc}") from None


def ext_for(data: bytes) -> str:
    if not data:
        raise StoreError("refusing to store an empty image")
    # Unknown bytes are kept as .bin rather than lose a paid-for image.
    return "." + image_extension(data, default="bin")


def remove_siblings(folder: Path, stem: str, keep: Path | None) -> None:
    """Remove `<stem>.<ext>` files of the other image types (a re-run may change format)."""
    for ext in IMAGE_EXTS:
        p = folder / f"{stem}{ext}"
        if p != keep:
            p.unlink(missing_ok=True)


def atomic_write(dest: Path, data: bytes, durable: bool = True) -> None:
    """Write `data` to `dest` atomically (replacing it); `durable` fsyncs before the rename.
    Raises StoreError naming the file (disk full, read-only folder...)."""
    fd, tmp_name = _temp_beside(dest)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp_name, dest)
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise StoreError(f"cannot write {dest}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def write_unique(folder: Path, stem: str, ext: str, data: bytes) -> Path:
    """Write `data` atomically to a new file `folder/stem.ext` (or `stem-2.ext`...), never
    replacing an existing file, even one another writer creates meanwhile. Returns its path;
    raises StoreError naming the folder."""
    folder = Path(folder)
    fd, tmp_name = _temp_beside(folder / f"{stem}.{ext.lstrip('.')}")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        while True:
            dest = unique_path(folder, stem, ext)
            try:
                os.link(tmp_name, dest)  # fails if the name is taken: never overwrites
            except FileExistsError:
                continue
            except OSError:  # no hard links on this file system: claim the name, then rename
                try:
                    open(dest, "xb").close()
                except FileExistsError:
                    continue
                os.replace(tmp_name, dest)
                return dest
            Path(tmp_name).unlink(missing_ok=True)
            return dest
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise StoreError(f"cannot write to {folder}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _temp_beside(dest: Path) -> tuple[int, str]:
    try:
        return tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=TMP_SUFFIX)
    except OSError as exc:
        raise StoreError(f"cannot write {dest}: {exc.strerror or exc}") from None


def sweep_tmp(root: Path, older_than: float = 60.0) -> int:
    """Remove temporary files (`.*.tmp`) that a killed writer left under `root` and that
    are at least `older_than` seconds old (a live writer's file is younger). Returns the
    count removed; errors are ignored (the next start tries again)."""
    removed = 0
    cutoff = time.time() - older_than
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if not (name.startswith(".") and name.endswith(TMP_SUFFIX)):
                continue
            path = Path(dirpath) / name
            try:
                if path.stat().st_mtime <= cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                pass
    return removed


def rescue_dirs(data_root: Path | None = None) -> list[Path]:
    """Where a final image goes when its own place cannot take it (issue 10.5): the data
    folder's `rescued/` (when given), then `imgtui-rescued` in the system's temporary folder."""
    out = [Path(data_root) / "rescued"] if data_root is not None else []
    return [*out, Path(tempfile.gettempdir()) / "imgtui-rescued"]


def keep_bytes(data: bytes, stem: str, ext: str, folders: list[Path]) -> Path | None:
    """Write `data` to a new file in the first of `folders` that takes it (see
    `write_unique`); None when none does."""
    for folder in folders:
        try:
            make_private_dir(Path(folder))
            return write_unique(Path(folder), stem, ext, data)
        except (OSError, StoreError):
            continue
    return None


def check_id(task_id: str) -> None:
    if not isinstance(task_id, str) or not ID_RE.match(task_id):
        raise StoreError(f"invalid task id {task_id!r}")
