"""`imgtui history list|import`, `imgtui import FILE...`, `imgtui providers list|import`.

History commands work on the same store the app uses (`imgtui locate` prints where):
`history list` prints tasks for scripts (`--json`: one object per line, never a key);
`history import ZIP...` restores an imgtui export or a gpt_image_playground backup
(`imgtui.backup`), skipping tasks already there; `import FILE...` recreates tasks from
images that carry a recipe (`imgtui.importing`); `providers import FILE` reads a
playground custom-provider export (`imgtui.config.providers`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from imgtui.cli.parser import EXIT_FAILED, EXIT_OK, UsageError

if TYPE_CHECKING:
    from imgtui.backup import Backup
    from imgtui.store import Store
    from imgtui.tasks import Task

__all__ = ["cmd_collections", "cmd_history", "cmd_import", "cmd_providers", "printable"]

_CONTROL = {c: None for c in range(32) if c not in (9,)} | {127: None}


def printable(text: object) -> str:
    """Untrusted text (prompts, file names, server messages) for a terminal line: control
    characters (escape sequences, newlines) removed."""
    return str(text).translate(_CONTROL)


def _open_store() -> Store:
    from imgtui.config import data_dir
    from imgtui.store import Store, StoreError

    store = Store(data_dir())
    try:
        store.open()
    except StoreError as exc:
        raise UsageError(f"cannot open the history: {exc}") from None
    return store


def cmd_history(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    store = _open_store()
    try:
        if args.history_command == "list":
            return _list(store, args, out)
        return _import_backup(store, args, out)
    finally:
        store.close()


def _list(store: Store, args: argparse.Namespace, out: TextIO) -> int:
    from imgtui.store import TaskFilter

    where = TaskFilter(
        search=args.search,
        status=args.status,
        starred=True if args.starred else None,
        collection=args.collection,
    )
    tasks = store.load(limit=args.limit, where=where)
    for task in tasks:
        if args.json:
            row = _task_json(task, store.collections_of(task.id))
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(task.created_at))
            star = "*" if task.starred else " "
            images = f"{len(task.images)}/{task.n}"
            out.write(
                f"{task.id} {star} {when}  {task.status.value:<11} {images:>5}  "
                f"{printable(task.model):<16}  {printable(task.prompt)[:80]}\n"
            )
    return EXIT_OK


def _task_json(task: Task, collections: list[str]) -> dict[str, Any]:
    return {
        "id": task.id,
        "prompt": task.prompt,
        "revised_prompt": task.revised_prompt,
        "status": task.status.value,
        "starred": task.starred,
        "profile": task.profile_name,  # the name only: keys live in the config
        "api_mode": task.api_mode,
        "params": dict(task.params),
        "created_at": task.created_at,
        "finished_at": task.finished_at,
        "parent_id": task.parent_id,
        "images": [str(p) for p in task.images],
        "error": task.error_message,
        "collections": collections,
    }


def _import_backup(store: Store, args: argparse.Namespace, out: TextIO) -> int:
    from imgtui.backup import BackupError, import_backup, read_backups

    try:
        backup = read_backups(args.zips, include_keys=args.include_keys)
    except BackupError as exc:
        raise UsageError(str(exc)) from None
    with backup:
        report = import_backup(backup, store)
        profiles = _import_profiles(backup, args) if args.profiles else 0
    kind = "gpt_image_playground backup" if backup.kind == "playground" else "imgtui export"
    out.write(
        f"{kind}: imported {len(report.added)} task(s), "
        f"skipped {len(report.skipped)} already in history"
        + (f", {profiles} profile(s)" if args.profiles else "")
        + "\n"
    )
    for warning in report.warnings:
        sys.stderr.write(f"imgtui: {printable(warning)}\n")
    return EXIT_OK


def _import_profiles(backup: Backup, args: argparse.Namespace) -> int:
    """The backup's profiles (and the custom provider manifests they use) into the config;
    their keys only with --include-keys. Profiles whose name exists already are left."""
    from imgtui import config as cfg
    from imgtui.api.polled import ManifestError, ProviderManifest
    from imgtui.config import providers
    from imgtui.config.share import playground_profiles

    custom_ids = set()
    for raw in backup.custom_providers:
        try:
            manifest = ProviderManifest.from_json(raw)
            providers.save_custom(manifest)
        except (ManifestError, providers.ProviderError) as exc:
            sys.stderr.write(f"imgtui: skipped a custom provider: {printable(exc)}\n")
            continue
        custom_ids.add(manifest.id)
    made, notes = playground_profiles(backup.profiles, custom_ids)
    for note in notes:
        sys.stderr.write(f"imgtui: {printable(note)}\n")
    config = cfg.load()
    names = {p.name for p in config.profiles}
    added = 0
    for profile in made:  # keys are in backup.profiles only with --include-keys
        if profile.name in names:
            sys.stderr.write(f"imgtui: profile {printable(profile.name)} exists; left as it is\n")
            continue
        config.add(profile)
        names.add(profile.name)
        added += 1
    if added:
        cfg.save(config)
    return added


def cmd_import(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from imgtui.importing import import_images

    out = out or sys.stdout
    store = _open_store()
    try:
        report = import_images(args.files, store)
    finally:
        store.close()
    for task_id in report.added:
        out.write(f"imported task {task_id}\n")
    for path in report.skipped:
        out.write(f"{printable(path)}: its task is already in history\n")
    for path in report.references:
        out.write(
            f"{printable(path)}: no recipe inside; use it as an edit reference: "
            f"imgtui generate -i {printable(path)} PROMPT\n"
        )
    for path, reason in report.errors:
        sys.stderr.write(f"imgtui: {printable(path)}: {printable(reason)}\n")
    return EXIT_FAILED if report.errors else EXIT_OK


def cmd_providers(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from imgtui import config as cfg
    from imgtui.api.polled import ManifestError
    from imgtui.config import providers

    out = out or sys.stdout
    if args.providers_command == "list":
        for pid in providers.BUILTIN:
            out.write(f"{pid}  (built in)\n")
        for pid, manifest in providers.load_custom().items():
            kind = "async" if manifest.is_async else "sync"
            out.write(f"{printable(pid)}  {printable(manifest.name)}  ({kind})\n")
        return EXIT_OK
    try:
        text = Path(args.file).expanduser().read_text(encoding="utf-8")
        imported = providers.import_manifests(text)
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"cannot read {printable(args.file)}: {reason}") from None
    except ManifestError as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    config = cfg.load()
    names = {p.name for p in config.profiles}
    added = [p for p in imported.profiles if p.name not in names]
    imported.notes += [
        f"profile {p.name} exists; left as it is" for p in imported.profiles if p.name in names
    ]
    for profile in added:
        config.add(profile)
    if added:
        cfg.save(config)
    out.write(
        f"imported provider(s) {', '.join(printable(p) for p in imported.providers)}; "
        f"added {len(added)} profile(s)\n"
    )
    for note in imported.notes:
        sys.stderr.write(f"imgtui: {printable(note)}\n")
    return EXIT_OK


def cmd_collections(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """`imgtui collections list|add|remove`."""
    from imgtui.store import StoreError

    out = out or sys.stdout
    store = _open_store()
    try:
        if args.collections_command == "list":
            for name, count in store.collections().items():
                out.write(f"{count:5d}  {printable(name)}\n")
        elif args.collections_command == "add":
            missing = [t for t in args.task_ids if store.get(t) is None]
            if missing:
                raise UsageError(f"no task {printable(missing[0])} in history")
            added = store.add_to_collection(args.name, args.task_ids)
            out.write(f"{added} task(s) added to {printable(args.name.strip())}\n")
        else:
            removed = store.remove_from_collection(args.name, args.task_ids or None)
            out.write(f"{removed} entr{'y' if removed == 1 else 'ies'} removed\n")
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    finally:
        store.close()
    return EXIT_OK
