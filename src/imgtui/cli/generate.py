"""`imgtui generate`: a draft from the flags, run by the shared runner, saved to OUTDIR.

The same pieces as the app: `imgtui.draft` turns the flags into a checked `Draft`
(nothing is sent when a field is wrong: exit 2), `imgtui.runner.Runner` streams it, and
`tasks.apply` turns every event into task state; this module only prints that state.

Paid images are never lost (issue 10.5): the output folder is checked writable before
anything is sent, final images are written atomically under names that never replace a
file, and when writing fails anyway the bytes go to a fallback folder whose path is
printed (the run then exits 1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from imgtui.cli.parser import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, PROFILE_FLAGS, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from imgtui.api.client import RetryPolicy
    from imgtui.api.events import Completed, Event
    from imgtui.batch import BatchItem
    from imgtui.config import Profile
    from imgtui.draft import Draft
    from imgtui.runner import Runner
    from imgtui.store import Store
    from imgtui.tasks import Task

__all__ = [
    "GenerateReport",
    "batch_drafts",
    "cmd_generate",
    "draft_from_args",
    "resolve_profile",
    "run_batch",
    "run_generate",
]

OPENAI_DEFAULT_URL = "https://api.openai.com/v1"


# -- flags -> draft ----------------------------------------------------------------------


def resolve_profile(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Profile:
    """The profile to send with: flags > `--profile` or the active profile > environment.

    A key from the environment is only sent to the environment's endpoint: `--base-url`
    pointing elsewhere never receives OPENAI_API_KEY (it would leak the key). Connection
    flags (`--api-key`, `--api`, `--timeout`, `-H`) override the profile's values.
    Raises UsageError.
    """
    from imgtui import config as cfg
    from imgtui.config import parse_pairs

    env = os.environ if environ is None else environ
    if args.demo:
        profile = cfg.demo_profile()
    elif args.base_url:
        base_url, url_query = split_base_url(args.base_url)
        problem = cfg.base_url_problem(base_url)
        if problem:
            raise UsageError(f"--base-url {problem}")
        key = args.api_key
        if key is None and base_url.rstrip("/") == env.get(
            "OPENAI_BASE_URL", OPENAI_DEFAULT_URL
        ).rstrip("/"):
            key = env.get("OPENAI_API_KEY")
        profile = cfg.Profile(
            name="command line", base_url=base_url.rstrip("/"), api_key=key or "", query=url_query
        )
    else:
        try:
            config = cfg.load()
        except cfg.ConfigError as exc:
            raise UsageError(str(exc)) from None
        found: cfg.Profile | None
        if args.profile:
            found = config.get(args.profile)
            if found is None:
                names = ", ".join(p.name for p in config.profiles) or "none"
                raise UsageError(f"no profile named {args.profile!r} (profiles: {names})")
        elif config.profiles:
            found = config.active()
        else:
            found = cfg.env_profile(env)
            if found is None and env.get("OPENAI_BASE_URL"):
                found = cfg.Profile(name="OPENAI_BASE_URL", base_url=env["OPENAI_BASE_URL"])
        if found is None:
            raise UsageError(
                "no provider configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for other providers), "
                "add a profile in the app's settings, pass --base-url/--api-key, or try --demo"
            )
        profile = found
        if args.api_key:
            profile = replace(profile, api_key=args.api_key)
    changes: dict[str, Any] = {}
    if args.api:
        changes["api_mode"] = args.api
    if args.header:
        headers = dict(profile.headers)
        for value in args.header:
            pairs, problem = parse_pairs(value)
            if problem or len(pairs) != 1:
                raise UsageError(f"-H/--header takes 'NAME: VALUE', got {value!r}")
            headers.update(pairs)
        changes["headers"] = headers
    if args.query:
        query = dict(profile.query)
        for value in args.query:
            name, sep, val = value.partition("=")
            if not sep or not name.strip():
                raise UsageError(f"--query takes NAME=VALUE, got {value!r}")
            query[name.strip()] = val
        changes["query"] = query
    if changes:
        profile = replace(profile, **changes)
    # --timeout, --deadline, ...: checked by argparse with the field's own check
    profile = cfg.apply_flags(profile, {name: getattr(args, name, None) for name in PROFILE_FLAGS})
    problems = profile.errors()
    if problems:
        name, why = next(iter(problems.items()))
        flag = {"timeout": "--timeout", "headers": "-H/--header", "base_url": "--base-url"}
        raise UsageError(f"{flag.get(name, name)}: {why}")
    return profile


def split_base_url(url: str) -> tuple[str, dict[str, str]]:
    """`--base-url` without its query string, and that query as parameters (Azure's
    `...?api-version=...` pasted whole). A fragment is refused. Raises UsageError."""
    from urllib.parse import parse_qsl, urlsplit, urlunsplit

    parts = urlsplit(url.strip())
    if parts.fragment:
        raise UsageError("--base-url must not contain a #fragment")
    try:
        query = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        raise UsageError(
            f"--base-url has a query string that is not NAME=VALUE pairs: {parts.query!r}; "
            "pass parameters with --query NAME=VALUE instead"
        ) from None
    return urlunsplit(parts._replace(query="", fragment="")), query


def draft_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Draft:
    """The checked `Draft` for the flags (profile values as defaults). Raises UsageError;
    nothing is sent."""
    from imgtui.api.request import RequestError
    from imgtui.draft import Draft
    from imgtui.tasks import ImageParams

    profile = resolve_profile(args, environ)
    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    model = args.model or profile.model
    size, notes = resolve_size_flag(args.size, model, args.output_format, args.frames)
    params = ImageParams(
        model=model,
        size=size,
        quality=args.quality,
        n=args.n,
        output_format=args.output_format,
        background=args.background,
        output_compression=args.compression,
        moderation=args.moderation,
        input_fidelity=args.input_fidelity,
        partial_images=profile.partial_images
        if args.partial_images is None
        else args.partial_images,
        stream=profile.stream and not args.no_stream,
        previous_response_id=args.previous_response_id,
        transparent=getattr(args, "transparent", None),
        complexity=args.complexity,
        frame_count=args.frames,
        frame_duration_ms=args.frame_ms,
        svg_model=args.svg_model,
        svg_effort=args.svg_effort,
        safety_identifier=args.safety_id,
        markup=args.markup,
    )
    draft = Draft(
        prompt.strip(),
        profile,
        params,
        tuple(Path(p) for p in args.image),
        Path(args.mask) if args.mask else None,
    )
    try:
        draft.check()
    except RequestError as exc:
        raise UsageError(str(exc)) from None
    draft.warnings = list(dict.fromkeys([*notes, *draft.warnings]))
    return draft


def resolve_size_flag(
    text: str, model: str, output_format: str, frames: int | None
) -> tuple[str, list[str]]:
    """`-s` as sent: `auto`, `WxH` or `RATIO@TIER`, snapped to the model's size rule (a
    GIF's frame-size cap included); the notes say what changed. Raises UsageError."""
    from imgtui.api.request import RequestError
    from imgtui.models.rules import snap_size

    try:
        snapped = snap_size(model, text, output_format=output_format, frame_count=frames)
    except RequestError as exc:
        raise UsageError(f"-s/--size: {exc.message}") from None
    return snapped.size, list(snapped.notices)


def check_spending_limit(drafts: list[Draft]) -> None:
    """Refuse (UsageError, nothing sent) when a draft's profile has a daily spending limit
    that today's tasks in the history already reached (`imgtui.spending`)."""
    from imgtui.config import data_dir
    from imgtui.spending import LimitReached, check_daily_limit
    from imgtui.store import Store, StoreError

    limited = {d.profile.name: d.profile for d in drafts if d.profile.daily_limit_usd is not None}
    if not limited:
        return
    store = Store(data_dir())
    try:
        store.open()
        tasks = store.load()
    except StoreError as exc:
        raise UsageError(f"cannot open the history to check the spending limit: {exc}") from None
    finally:
        store.close()
    for profile in limited.values():
        try:
            check_daily_limit(tasks, profile.name, profile.daily_limit_usd, profile.price_overrides)
        except LimitReached as exc:
            raise UsageError(str(exc)) from None


def check_writable(outdir: Path) -> None:
    """Create `outdir` and prove a file can be written there, before anything is sent (a
    paid image must not arrive with nowhere to go). Raises UsageError."""
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the output folder {outdir}: {exc.strerror}") from None
    try:
        fd, probe = tempfile.mkstemp(dir=outdir, prefix=".imgtui-probe.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"cannot write to the output folder {outdir}: {exc.strerror}") from None


# -- running -----------------------------------------------------------------------------


@dataclass
class GenerateReport:
    paths: list[Path] = field(default_factory=list)
    failures: int = 0
    rescued: list[Path] = field(default_factory=list)  # written to a fallback folder instead
    task: Any = None  # the task as it ended


def _human_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def fallback_dirs() -> list[Path]:
    """Where a final image goes when OUTDIR cannot take it: the data folder's `rescued/`,
    then the system's temporary folder."""
    from imgtui.config import data_dir

    return [data_dir() / "rescued", Path(tempfile.gettempdir()) / "imgtui-rescued"]


async def run_generate(
    draft: Draft,
    outdir: Path,
    *,
    as_json: bool,
    out: TextIO,
    err: TextIO,
    live: bool,
    runner: Runner | None = None,
    retry: RetryPolicy | None = None,
    fallbacks: list[Path] | None = None,
    history: Store | None = None,
    recipe: bool = False,
    label: dict[str, Any] | None = None,
) -> GenerateReport:
    """Run one draft to the end with the shared runner, saving final images
    byte-for-byte into `outdir`. Events become task state through `tasks.apply` only.

    With local transparency the keyed PNG is saved and, beside it, the server's image as
    `…-original`. `recipe`: the saved files carry the task's recipe (`imgtui.recipe`: the
    image data stays as sent, metadata is added). `history`: a `Store` the task and its
    images are saved to (batch runs). `label`: extra fields for every JSON line. Without
    `runner`, one is made (with `retry`; None: the api's default policy) and closed after."""
    from imgtui.api.events import Completed, Failed, Partial, Started
    from imgtui.api.request import image_extension
    from imgtui.models import cost_usd
    from imgtui.runner import Runner
    from imgtui.store import StoreError, slugify, write_unique
    from imgtui.tasks import apply

    report = GenerateReport()
    task = draft.task()
    task.queue()
    n = task.n
    stem = f"{slugify(task.prompt)}-{datetime.now():%Y%m%d-%H%M%S}"
    display = _LiveDisplay(err, task) if live and not as_json else None

    def emit_json(obj: dict[str, Any]) -> None:
        if as_json:
            out.write(json.dumps({**(label or {}), **obj}) + "\n")
            out.flush()

    def with_recipe(data: bytes, slot: int) -> bytes:
        if not recipe:
            return data
        from imgtui.recipe import Recipe, RecipeError, embed

        try:
            return embed(data, Recipe.from_task(task, slot))
        except RecipeError:
            return data  # a GIF, or not an image: saved as it came

    def say(line: str) -> None:
        if display:
            display.clear()
        err.write(line + "\n")
        err.flush()

    def save(
        event: Completed, image: bytes | None = None, tag: str = ""
    ) -> tuple[Path | None, str | None]:
        """Write the final image (or `image`, named with `tag`); on failure, to a fallback
        folder. (path, problem)."""
        data = with_recipe(event.image if image is None else image, event.slot)
        suffix = (f"-{event.slot + 1}" if n > 1 else "") + tag
        ext = image_extension(data, default="bin")
        try:
            return write_unique(outdir, stem + suffix, ext, data), None
        except StoreError as exc:
            problem = str(exc)
        for folder in fallbacks if fallbacks is not None else fallback_dirs():
            try:
                folder.mkdir(parents=True, exist_ok=True)
                return write_unique(folder, stem + suffix, ext, data), problem
            except (OSError, StoreError):
                continue
        return None, problem

    def keep_raw(event: Failed) -> Path | None:
        if event.raw is None:
            return None
        suffix = f"-{event.slot + 1}" if n > 1 else ""
        for folder in [outdir, *(fallbacks if fallbacks is not None else fallback_dirs())]:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                return write_unique(folder, stem + suffix, "broken", event.raw)
            except (OSError, StoreError):
                continue
        return None

    def on_event(event: Event, _picture: Any) -> None:
        if not apply(task, event):
            return
        if isinstance(event, Started):
            emit_json({"event": "started", "slot": event.slot})
        elif isinstance(event, Partial):
            emit_json(
                {
                    "event": "partial",
                    "slot": event.slot,
                    "index": event.index,
                    "bytes": event.bytes_received,
                }
            )
        elif isinstance(event, Completed):
            slot = task.slots[event.slot]
            if history is not None:
                _keep_in_history(history, task, event, say)
            path, problem = save(event)
            original = None
            if event.original is not None:
                original, _ = save(event, event.original, "-original")
            if path is not None:
                if history is None:  # else the history's own copy stays the slot's file
                    slot.image_path = path
                slot.image = None
            if problem is not None:
                report.failures += 1
                where = (
                    f"it was kept at {path}"
                    if path is not None
                    else "no fallback folder was writable either"
                )
                say(f"imgtui: the image could not be written ({problem}); {where}")
                if path is not None:
                    report.rescued.append(path)
            if path is not None and problem is None:
                report.paths.append(path)
            emit_json(
                {
                    "event": "completed",
                    "slot": event.slot,
                    "path": str(path) if path is not None else None,
                    "rescued": problem is not None,
                    "usage": slot.usage,
                    "revised_prompt": slot.revised_prompt,
                    "response_id": slot.response_id,
                    "size": slot.meta.size,
                    "quality": slot.meta.quality,
                    "format": slot.meta.output_format,
                    "bytes": len(event.image),
                    "original_path": str(original) if original is not None else None,
                    "cost_usd": cost_usd(
                        task.params.model,
                        slot.usage,
                        overrides=draft.profile.price_overrides,
                    ),
                }
            )
            if not as_json and path is not None and problem is None:
                if display:
                    display.clear()
                out.write(f"{path}\n")
                out.flush()
        elif isinstance(event, Failed):
            report.failures += 1
            kept = keep_raw(event) if event.raw else None  # not an image: kept for inspection
            emit_json(
                {
                    "event": "failed",
                    "slot": event.slot,
                    "kind": event.kind.value,
                    "message": event.message,
                    "hint": event.hint,
                    "status": event.status,
                    "raw_path": str(kept) if kept else None,
                }
            )
            if not as_json:
                label = f"image {event.slot + 1}: " if n > 1 else ""
                say(
                    f"imgtui: {label}{event.message}"
                    + (f"\n  hint: {event.hint}" if event.hint else "")
                    + (f"\n  raw bytes kept in {kept}" if kept else "")
                )
        if display:
            display.draw()

    own = runner is None
    runner = runner or Runner(retry=retry)
    if history is not None:
        _save_row(history, task, say)
    try:
        await runner.run(draft, on_event)
    finally:
        if display:
            display.clear()
        if own:
            await runner.aclose()
        if history is not None:
            _save_row(history, task, say)
    report.task = task
    return report


def _keep_in_history(
    history: Store, task: Task, event: Completed, say: Callable[[str], None]
) -> None:
    """A final image (and its original) into the history store, beside the saved file."""
    from imgtui.store import StoreError

    try:
        history.write_image(task, event.slot, event.image)
        if event.original is not None:
            history.write_original(task, event.slot, event.original)
    except StoreError as exc:
        say(f"imgtui: not kept in history: {exc}")


def _save_row(history: Store, task: Task, say: Callable[[str], None]) -> None:
    from imgtui.store import StoreError

    try:
        history.save(task)
    except StoreError as exc:
        say(f"imgtui: not kept in history: {exc}")


class _LiveDisplay:
    """One status line on a terminal: image k, frame k of N, elapsed, bytes received."""

    def __init__(self, stream: TextIO, task: Task) -> None:
        self.stream, self.task = stream, task
        self.started = time.monotonic()
        self._last = 0.0

    def draw(self, force: bool = False) -> None:
        from imgtui.tasks import SlotStatus

        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        task = self.task
        parts = []
        for i, slot in enumerate(task.slots):
            label = f"image {i + 1}: " if len(task.slots) > 1 else ""
            if slot.status is not SlotStatus.RUNNING:
                state = slot.status.value
            elif slot.partial_index is not None and task.partial_images:
                state = f"frame {slot.partial_index + 1} of {task.partial_images}"
            else:
                state = task.status.value
            parts.append(f"{label}{state} {_human_bytes(slot.bytes_received)}")
        line = f"{now - self.started:5.1f}s  " + "  |  ".join(parts)
        width = 200
        with contextlib.suppress(OSError):
            width = os.get_terminal_size(self.stream.fileno()).columns
        raw = getattr(self.stream, "raw", self.stream)  # (a CleanWriter would drop the CSI)
        raw.write("\r\x1b[2K" + line[: max(10, width - 1)])
        raw.flush()

    def clear(self) -> None:
        raw = getattr(self.stream, "raw", self.stream)
        raw.write("\r\x1b[2K")
        raw.flush()


# -- batches (--from FILE) ---------------------------------------------------------------

_BATCH_ARGS = {  # a batch line's key -> the generate flag's attribute
    "model": "model",
    "size": "size",
    "quality": "quality",
    "n": "n",
    "output_format": "output_format",
    "background": "background",
    "output_compression": "compression",
    "moderation": "moderation",
    "input_fidelity": "input_fidelity",
    "partial_images": "partial_images",
    "transparent": "transparent",
    "profile": "profile",
    "images": "image",
    "mask": "mask",
}


def batch_drafts(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> list[tuple[BatchItem, Draft]]:
    """One checked draft per line of the `--from` file: the flags, then the line's own
    parameters. Raises UsageError naming the first bad line; nothing is sent."""
    from imgtui.batch import BatchError, read_batch

    try:
        items = read_batch(args.from_file)
    except OSError as exc:
        raise UsageError(f"cannot read {args.from_file}: {exc.strerror or exc}") from None
    except BatchError as exc:
        raise UsageError(f"{args.from_file}: {exc}") from None
    drafts = []
    for item in items:
        line_args = argparse.Namespace(**vars(args))
        line_args.prompt = item.prompt
        for key, value in item.params.items():
            if key == "stream":
                line_args.no_stream = not value
            else:
                setattr(line_args, _BATCH_ARGS[key], value)
        try:
            drafts.append((item, draft_from_args(line_args, environ)))
        except UsageError as exc:
            raise UsageError(f"{args.from_file}: line {item.line}: {exc}") from None
    return drafts


async def run_batch(
    drafts: list[tuple[BatchItem, Draft]],
    outdir: Path,
    *,
    as_json: bool,
    out: TextIO,
    err: TextIO,
    history: Store | None,
    recipe: bool,
) -> list[GenerateReport]:
    """Every draft through one runner: the runner's per-profile limit queues them, each is
    its own task in `history`. A summary line at the end (a JSON object with --json)."""
    from imgtui.runner import Runner
    from imgtui.tasks import Status

    runner = Runner()
    started = time.monotonic()
    try:
        reports = await asyncio.gather(
            *(
                run_generate(
                    draft,
                    outdir,
                    as_json=as_json,
                    out=out,
                    err=err,
                    live=False,
                    runner=runner,
                    history=history,
                    recipe=recipe,
                    label={"line": item.line, "prompt": item.prompt},
                )
                for item, draft in drafts
            )
        )
    finally:
        await runner.aclose()
    statuses = [r.task.status if r.task is not None else Status.FAILED for r in reports]
    summary = {
        "event": "summary",
        "prompts": len(reports),
        "done": sum(1 for s in statuses if s is Status.DONE),
        "failed": sum(1 for s in statuses if s is not Status.DONE),
        "images": sum(len(r.paths) for r in reports),
        "seconds": round(time.monotonic() - started, 1),
    }
    if as_json:
        out.write(json.dumps(summary) + "\n")
        out.flush()
    else:
        err.write(
            f"imgtui: {summary['prompts']} prompts: {summary['done']} done, "
            f"{summary['failed']} failed, {summary['images']} images in {outdir} "
            f"({summary['seconds']} s); each is a task in the history\n"
        )
        err.flush()
    return list(reports)


def cmd_batch(args: argparse.Namespace) -> int:
    from imgtui.config import data_dir
    from imgtui.store import Store, StoreError

    drafts = batch_drafts(args)
    check_spending_limit([d for _, d in drafts])
    outdir = Path(args.outdir).expanduser()
    check_writable(outdir)
    store = Store(data_dir())
    try:
        store.open()
    except StoreError as exc:
        raise UsageError(f"cannot open the history: {exc}") from None
    try:
        reports = asyncio.run(
            run_batch(
                drafts,
                outdir,
                as_json=args.json,
                out=sys.stdout,
                err=sys.stderr,
                history=store,
                recipe=args.recipe,
            )
        )
    except KeyboardInterrupt:
        return interrupted(args)
    finally:
        store.close()
    return EXIT_FAILED if any(r.failures for r in reports) else EXIT_OK


def interrupted(args: argparse.Namespace) -> int:
    """Ctrl-C: asyncio.run cancelled the main task first, so every stream is closed by now.
    Says so (and a `cancelled` JSON event with --json); the exit code."""
    if args.json:
        print(json.dumps({"event": "cancelled"}), flush=True)
    print("imgtui: interrupted; streams closed", file=sys.stderr)
    return EXIT_INTERRUPTED


def cmd_generate(args: argparse.Namespace, *, retry: RetryPolicy | None = None) -> int:
    """`imgtui generate`: the exit code. `retry` replaces the api's retry policy (tests
    inject one whose `sleep` does not wait)."""
    if args.from_file:
        if args.prompt is not None:
            raise UsageError("give a prompt or --from FILE, not both")
        return cmd_batch(args)
    if args.prompt is None:
        raise UsageError("a prompt is needed (or --from FILE with one prompt per line)")
    draft = draft_from_args(args)
    for warning in draft.warnings:
        print(f"imgtui: note: {warning}", file=sys.stderr)
    check_spending_limit([draft])
    outdir = Path(args.outdir).expanduser()
    check_writable(outdir)
    live = sys.stderr.isatty()
    try:
        report = asyncio.run(
            run_generate(
                draft,
                outdir,
                as_json=args.json,
                out=sys.stdout,
                err=sys.stderr,
                live=live,
                recipe=args.recipe,
                retry=retry,
            )
        )
    except KeyboardInterrupt:
        return interrupted(args)
    return EXIT_FAILED if report.failures else EXIT_OK
