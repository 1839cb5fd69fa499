"""Reading history backups: imgtui's own export zip and gpt_image_playground's backup zip.

Two formats, one result: a `Backup` of `ImportedTask` records whose images are read from
the zip only when asked (`Backup.read_image`), so a multi-GB backup is never held in memory.

- **imgtui** (`Store.export_zip`): `manifest.json` with `"format": "imgtui-history"`,
  `"version": 1`, a `tasks` list (id, prompt, revised prompt, params, profile name, API mode,
  status, starred, parent, timings, usage, error, `slots`, `files: [{slot, file, partial}]`)
  and the image files under `images/<task id>/`.
- **playground** (gpt_image_playground's "export data", `src/lib/exportZip.ts` and the
  `ExportData`/`TaskRecord` types in `src/types.ts`, read at CookSleep's v0.7.3):
  `manifest.json` with `version` (3; 2 and 4 read the same way), `exportedAt`, `tasks`
  (`TaskRecord`: `id`, `prompt`, `params` {size, quality, output_format,
  output_compression, moderation, n, transparent_output}, `apiProfileName`, `apiModel`,
  `apiMode`, `outputImages`, `transparentOriginalImages`, `inputImageIds`, `maskImageId`,
  `revisedPromptByImage`, `actualParamsByImage`, `status` running|done|error, `error`,
  `createdAt`/`finishedAt` (ms), `elapsed` (ms), `isFavorite`, `favoriteCollectionIds`),
  `favoriteCollections` [{id, name}], `imageFiles` {image id: {path}} and, when the user
  exported the configuration too, `settings` (profiles *with their API keys* and custom
  provider manifests). Large backups come as several zips sharing `backupPart.id`: pass all
  parts together.

Keys are never imported unless asked: `Backup.profiles` has every `apiKey` removed unless
`read_backups(..., include_keys=True)`.

Task ids: an imgtui task keeps its id, so importing the same export twice skips what is
already there; a playground task gets a stable id derived from its playground id
(`playground_task_id`), with the same effect.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

MAX_MANIFEST = 256 * 1024 * 1024  # the manifest of a large playground backup is big but bounded
MAX_IMAGE = 128 * 1024 * 1024  # one image file; bigger members are skipped as suspicious
_PLAYGROUND_STATUS = {"done": "done", "error": "failed", "running": "interrupted"}
_IMGTUI_STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")


class BackupError(ValueError):
    """The file is not a backup this module can read (the message says why)."""


@dataclass(frozen=True)
class ImageRef:
    """An image inside one of the backup's zips: `part` indexes `Backup.paths`."""

    part: int
    member: str
    partial: bool = False


@dataclass
class ImportedSlot:
    """One output image of an imported task. `original` is the untouched image when `image`
    is a locally keyed transparent version of it."""

    image: ImageRef | None = None
    original: ImageRef | None = None
    status: str = "done"
    revised_prompt: str | None = None
    response_id: str | None = None
    usage: dict | None = None
    meta: dict[str, str] = field(default_factory=dict)


@dataclass
class ImportedTask:
    """A task as a backup describes it, in imgtui's terms (times in epoch seconds)."""

    id: str
    prompt: str
    params: dict[str, Any]
    status: str
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    first_partial_at: float | None = None
    profile_name: str = ""
    api_mode: str = "images"
    starred: bool = False
    parent_id: str | None = None
    error_kind: str | None = None
    error_message: str | None = None
    error_hint: str | None = None
    slots: list[ImportedSlot] = field(default_factory=list)
    inputs: list[ImageRef] = field(default_factory=list)
    mask: ImageRef | None = None
    collections: list[str] = field(default_factory=list)
    source_id: str = ""


@dataclass
class Backup:
    """The readable content of one backup (one or more zip parts). Use as a context manager,
    or call `close()`: the zips stay open so images can be read on demand."""

    kind: str  # "imgtui" | "playground"
    version: int
    paths: list[Path]
    tasks: list[ImportedTask]
    collections: list[str] = field(default_factory=list)
    profiles: list[dict[str, Any]] = field(default_factory=list)
    custom_providers: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _zips: list[zipfile.ZipFile] = field(default_factory=list, repr=False)

    def read_image(self, ref: ImageRef) -> bytes:
        """The bytes of an image in the backup. Raises BackupError when it is missing or
        larger than MAX_IMAGE."""
        zf = self._zips[ref.part]
        try:
            info = zf.getinfo(ref.member)
        except KeyError:
            raise BackupError(f"{ref.member} is missing from {self.paths[ref.part].name}") from None
        if info.file_size > MAX_IMAGE:
            raise BackupError(f"{ref.member} is larger than {MAX_IMAGE // 2**20} MiB")
        try:
            return zf.read(info)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise BackupError(f"cannot read {ref.member}: {exc}") from None

    def close(self) -> None:
        for zf in self._zips:
            zf.close()
        self._zips.clear()

    def __enter__(self) -> Backup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def playground_task_id(playground_id: str) -> str:
    """The imgtui task id of a playground task: stable, 12 hex digits."""
    return hashlib.sha256(f"gpt_image_playground:{playground_id}".encode()).hexdigest()[:12]


def read_backup(path: str | Path, include_keys: bool = False) -> Backup:
    """Read one backup zip (imgtui export or playground backup). See `read_backups`."""
    return read_backups([path], include_keys=include_keys)


def read_backups(paths: Sequence[str | Path], include_keys: bool = False) -> Backup:
    """Read a backup given as one zip, or as all parts of a split playground backup.

    Raises BackupError when a file is not a zip, has no readable `manifest.json`, is of an
    unknown format, or when parts of different backups are mixed.
    """
    if not paths:
        raise BackupError("no backup file given")
    zips: list[zipfile.ZipFile] = []
    manifests: list[dict[str, Any]] = []
    resolved = [Path(p).expanduser() for p in paths]
    try:
        for path in resolved:
            zf = _open_zip(path)
            zips.append(zf)
            manifests.append(_manifest(zf, path))
        kinds = {_kind(m, p) for m, p in zip(manifests, resolved, strict=True)}
        if len(kinds) > 1:
            raise BackupError("cannot mix imgtui exports and playground backups in one import")
        kind = kinds.pop()
        if kind == "imgtui":
            if len(manifests) > 1:
                raise BackupError("an imgtui export is a single zip: import one at a time")
            backup = _read_imgtui(manifests[0], zips[0])
        else:
            backup = _read_playground(manifests, zips, include_keys)
    except BaseException:
        for zf in zips:
            zf.close()
        raise
    backup.paths = resolved
    backup._zips = zips
    return backup


# -- common -------------------------------------------------------------------------------


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise BackupError(f"no such file: {path}") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise BackupError(f"{path.name} is not a zip file ({exc})") from None


def _manifest(zf: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    try:
        info = zf.getinfo("manifest.json")
    except KeyError:
        raise BackupError(f"{path.name} has no manifest.json: not a backup") from None
    if info.file_size > MAX_MANIFEST:
        raise BackupError(f"{path.name}: manifest.json is too large")
    try:
        obj = json.loads(zf.read(info))
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, OSError) as exc:
        raise BackupError(f"{path.name}: manifest.json is unreadable ({exc})") from None
    if not isinstance(obj, dict):
        raise BackupError(f"{path.name}: manifest.json is not an object")
    return obj


def _kind(manifest: dict[str, Any], path: Path) -> str:
    if manifest.get("format") == "imgtui-history":
        if manifest.get("version") != 1:
            raise BackupError(
                f"{path.name}: imgtui export version {manifest.get('version')!r} is newer "
                "than this imgtui reads (1)"
            )
        return "imgtui"
    version = manifest.get("version")
    if isinstance(version, int) and "exportedAt" in manifest:
        if not 1 <= version <= 4:
            raise BackupError(f"{path.name}: playground backup version {version} is unknown")
        return "playground"
    raise BackupError(f"{path.name}: not an imgtui export or a gpt_image_playground backup")


def _str(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _dict(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# -- imgtui -------------------------------------------------------------------------------


def _read_imgtui(manifest: dict[str, Any], zf: zipfile.ZipFile) -> Backup:
    names = set(zf.namelist())
    tasks: list[ImportedTask] = []
    warnings: list[str] = []
    for entry in _dicts(manifest.get("tasks")):
        task_id = _str(entry.get("id"))
        prompt = entry.get("prompt")
        if not task_id or not isinstance(prompt, str):
            warnings.append("skipped a task without an id or prompt")
            continue
        status = _str(entry.get("status"), "done")
        error = _dict(entry.get("error"))
        slots = []
        for s in _dicts(entry.get("slots")):
            meta = _dict(s.get("meta"))
            slots.append(
                ImportedSlot(
                    status=_str(s.get("status"), "done"),
                    revised_prompt=_opt_str(s.get("revised_prompt")),
                    response_id=_opt_str(s.get("response_id")),
                    usage=s.get("usage") if isinstance(s.get("usage"), dict) else None,
                    meta={k: v for k, v in meta.items() if isinstance(v, str)},
                )
            )
        for f in _dicts(entry.get("files")):
            slot, member = f.get("slot"), f.get("file")
            if not isinstance(slot, int) or not isinstance(member, str) or member not in names:
                warnings.append(f"task {task_id}: an image file listed in the manifest is missing")
                continue
            while len(slots) <= slot:
                slots.append(ImportedSlot(status="failed"))
            ref = ImageRef(0, member, partial=bool(f.get("partial")))
            if f.get("original"):
                slots[slot].original = ref
            else:
                slots[slot].image = ref
        params = _dict(entry.get("params"))
        tasks.append(
            ImportedTask(
                id=task_id,
                source_id=task_id,
                prompt=prompt,
                params=params,
                status=status if status in _IMGTUI_STATUSES else "done",
                created_at=_num(entry.get("created_at")) or 0.0,
                started_at=_num(entry.get("started_at")),
                finished_at=_num(entry.get("finished_at")),
                first_partial_at=_num(entry.get("first_partial_at")),
                profile_name=_str(entry.get("profile_name")),
                api_mode=_str(entry.get("api_mode"), "images"),
                starred=entry.get("starred") is True,
                parent_id=_opt_str(entry.get("parent_id")),
                error_kind=_opt_str(error.get("kind")),
                error_message=_opt_str(error.get("message")),
                error_hint=_opt_str(error.get("hint")),
                slots=slots,
                collections=[c for c in entry.get("collections", []) if isinstance(c, str)]
                if isinstance(entry.get("collections"), list)
                else [],
            )
        )
    collections = sorted({c for t in tasks for c in t.collections})
    return Backup(
        kind="imgtui",
        version=1,
        paths=[],
        tasks=tasks,
        collections=collections,
        warnings=warnings,
    )


# -- playground ---------------------------------------------------------------------------


def _read_playground(
    manifests: list[dict[str, Any]], zips: list[zipfile.ZipFile], include_keys: bool
) -> Backup:
    parts = [m.get("backupPart") for m in manifests]
    if len(manifests) > 1 or any(isinstance(p, dict) for p in parts):
        ids = {p.get("id") if isinstance(p, dict) else None for p in parts}
        if None in ids or len(ids) != 1:
            raise BackupError("these zips are not parts of one playground backup")
    # Image ids are content hashes shared across parts: find each one in whichever part has it.
    images: dict[str, ImageRef] = {}
    for index, (manifest, zf) in enumerate(zip(manifests, zips, strict=True)):
        names = set(zf.namelist())
        files = _dict(manifest.get("imageFiles"))
        for image_id, info in files.items():
            member = info.get("path") if isinstance(info, dict) else None
            if isinstance(member, str) and member in names:
                images.setdefault(str(image_id), ImageRef(index, member))
    collection_names: dict[str, str] = {}
    for manifest in manifests:
        for c in _dicts(manifest.get("favoriteCollections")):
            if isinstance(c.get("id"), str) and isinstance(c.get("name"), str):
                collection_names[c["id"]] = c["name"]
    warnings: list[str] = []
    tasks = []
    for manifest in manifests:
        for record in _dicts(manifest.get("tasks")):
            task = _playground_task(record, images, collection_names, warnings)
            if task is not None:
                tasks.append(task)
    settings: dict[str, Any] = next(
        (m["settings"] for m in manifests if isinstance(m.get("settings"), dict)), {}
    )
    profiles = [_playground_profile(p, include_keys) for p in _dicts(settings.get("profiles"))]
    return Backup(
        kind="playground",
        version=max(int(m.get("version", 3)) for m in manifests),
        paths=[],
        tasks=tasks,
        collections=sorted(set(collection_names.values())),
        profiles=profiles,
        custom_providers=_dicts(settings.get("customProviders")),
        warnings=warnings,
    )


def _playground_task(
    record: dict[str, Any],
    images: dict[str, ImageRef],
    collection_names: dict[str, str],
    warnings: list[str],
) -> ImportedTask | None:
    source_id, prompt = record.get("id"), record.get("prompt")
    if not isinstance(source_id, str) or not isinstance(prompt, str):
        warnings.append("skipped a playground task without an id or prompt")
        return None
    p = _dict(record.get("params"))
    params: dict[str, Any] = {"model": _str(record.get("apiModel"))}
    for name in ("size", "quality", "output_format", "moderation"):
        if isinstance(p.get(name), str):
            params[name] = p[name]
    if isinstance(p.get("output_compression"), int) and not isinstance(
        p.get("output_compression"), bool
    ):
        params["output_compression"] = p["output_compression"]
    outputs = [i for i in record.get("outputImages") or [] if isinstance(i, str)]
    n = p["n"] if isinstance(p.get("n"), int) and not isinstance(p.get("n"), bool) else 1
    params["n"] = max(1, n, len(outputs))
    transparent = record.get("transparentOutput") is True or p.get("transparent_output") is True
    if transparent:
        params["transparent"] = "local"
    created = (_num(record.get("createdAt")) or 0.0) / 1000.0
    finished_ms = _num(record.get("finishedAt"))
    finished = finished_ms / 1000.0 if finished_ms else None
    elapsed = _num(record.get("elapsed"))
    started = finished - elapsed / 1000.0 if finished is not None and elapsed else created

    revised = record.get("revisedPromptByImage")
    revised = revised if isinstance(revised, dict) else {}
    actual = record.get("actualParamsByImage")
    actual = actual if isinstance(actual, dict) else {}
    originals = [
        i if isinstance(i, str) else None for i in record.get("transparentOriginalImages") or []
    ]
    slots: list[ImportedSlot] = []
    missing = 0
    for index, image_id in enumerate(outputs):
        ref = images.get(image_id)
        if ref is None:
            missing += 1
        original_id = originals[index] if index < len(originals) else None
        meta_src = _dict(actual.get(image_id))
        slots.append(
            ImportedSlot(
                image=ref,
                original=images.get(original_id) if original_id else None,
                status="done" if ref is not None else "failed",
                revised_prompt=_opt_str(revised.get(image_id)),
                meta={
                    k: v
                    for k, v in meta_src.items()
                    if k in ("size", "quality", "output_format", "background")
                    and isinstance(v, str)
                },
            )
        )
    if missing:
        warnings.append(f"playground task {source_id}: {missing} image(s) missing from the backup")
    status = _PLAYGROUND_STATUS.get(_str(record.get("status")), "done")
    if status == "done" and not any(s.image for s in slots):
        status = "failed"
    error = _opt_str(record.get("error"))
    while len(slots) < params["n"] and status != "done":
        slots.append(ImportedSlot(status="failed"))
    collections = [
        collection_names[c]
        for c in record.get("favoriteCollectionIds") or []
        if isinstance(c, str) and c in collection_names
    ]
    inputs = [
        images[i] for i in record.get("inputImageIds") or [] if isinstance(i, str) and i in images
    ]
    mask_id = record.get("maskImageId")
    return ImportedTask(
        id=playground_task_id(source_id),
        source_id=source_id,
        prompt=prompt,
        params=params,
        status=status,
        created_at=created,
        started_at=started,
        finished_at=finished,
        profile_name=_str(record.get("apiProfileName")),
        api_mode=_str(record.get("apiMode"), "images"),
        starred=record.get("isFavorite") is True or bool(collections),
        error_kind="server" if error and status != "done" else None,
        error_message=error,
        slots=slots,
        inputs=inputs,
        mask=images.get(mask_id) if isinstance(mask_id, str) else None,
        collections=collections,
    )


def _playground_profile(profile: dict[str, Any], include_keys: bool) -> dict[str, Any]:
    out = {k: v for k, v in profile.items() if k not in ("apiKey", "providerDrafts")}
    if include_keys and isinstance(profile.get("apiKey"), str):
        out["apiKey"] = profile["apiKey"]
    return out


# -- writing into a store -----------------------------------------------------------------


class TaskSink(Protocol):
    """What `import_backup` needs from the history store."""

    def get(self, task_id: str) -> Any: ...
    def save(self, task: Any) -> None: ...
    def write_image(self, task: Any, slot: int, data: bytes) -> Path: ...
    def write_partial(self, task: Any, slot: int, data: bytes) -> Path: ...


@dataclass
class ImportReport:
    """What an import did: task ids added, ids skipped as already present, warnings."""

    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def to_task(imported: ImportedTask):
    """An imgtui `Task` for an imported record (slots with metadata, no image paths yet)."""
    from imgtui.api.events import FailureKind
    from imgtui.api.events import ImageMeta as Meta
    from imgtui.tasks import ImageParams, Slot, SlotStatus, Status, Task

    def status_of(cls, value: str, default):
        try:
            return cls(value)
        except ValueError:
            return default

    task = Task(
        prompt=imported.prompt,
        params=ImageParams.from_json(imported.params),
        profile_name=imported.profile_name,
        api_mode=imported.api_mode if imported.api_mode in ("images", "responses") else "images",
        id=imported.id,
        status=status_of(Status, imported.status, Status.DONE),
        created_at=imported.created_at,
        parent_id=imported.parent_id,
        starred=imported.starred,
    )
    task.started_at = imported.started_at
    task.first_partial_at = imported.first_partial_at
    task.finished_at = imported.finished_at
    known_kinds = {k.value for k in FailureKind}
    kind = imported.error_kind
    task.error_kind = kind if kind in known_kinds else (FailureKind.SERVER.value if kind else None)
    task.error_message = imported.error_message
    task.error_hint = imported.error_hint
    task.slots = [
        Slot(
            status=status_of(SlotStatus, s.status, SlotStatus.FAILED),
            meta=Meta(**{k: v for k, v in s.meta.items() if k in Meta.__dataclass_fields__}),
            revised_prompt=s.revised_prompt,
            usage=s.usage,
            response_id=s.response_id,
        )
        for s in imported.slots
    ]
    return task


def import_backup(
    backup: Backup, store: TaskSink, only: Iterable[str] | None = None
) -> ImportReport:
    """Write the backup's tasks and images into `store`, skipping tasks whose id it already
    has (importing the same backup twice adds nothing). `only` limits to these task ids.

    A slot's image is stored as its final image (or as its preview when the backup marks it
    partial). A task's collections (the playground's favourite collections) are filled when
    the store has `add_to_collection(name, ids)`. The untouched original of a locally keyed transparent image is stored too
    when the store has `write_original(task, slot, data)`.
    """
    from imgtui.tasks import SlotStatus

    wanted = set(only) if only is not None else None
    report = ImportReport(warnings=list(backup.warnings))
    for imported in backup.tasks:
        if wanted is not None and imported.id not in wanted:
            continue
        if store.get(imported.id) is not None:
            report.skipped.append(imported.id)
            continue
        task = to_task(imported)
        for index, slot in enumerate(imported.slots):
            if slot.image is None:
                continue
            try:
                data = backup.read_image(slot.image)
            except BackupError as exc:
                report.warnings.append(f"task {imported.id}: {exc}")
                task.slots[index].status = SlotStatus.FAILED
                continue
            if slot.image.partial:
                store.write_partial(task, index, data)
            else:
                store.write_image(task, index, data)
            if slot.original is not None:
                writer = getattr(store, "write_original", None)
                if writer is not None:
                    try:
                        writer(task, index, backup.read_image(slot.original))
                    except BackupError as exc:
                        report.warnings.append(f"task {imported.id}: {exc}")
        store.save(task)
        adder = getattr(store, "add_to_collection", None)
        if adder is not None:
            for name in imported.collections:
                adder(name, [imported.id])
        report.added.append(imported.id)
    return report
