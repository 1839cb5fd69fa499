"""Command line: `imgtui` (the app), `imgtui generate`, `imgtui demo-server`, `imgtui locate`,
`imgtui profiles ...`. Thin: everything real lives in the core modules.

Exit codes: 0 success, 1 a generation failed, 2 invalid arguments (nothing sent),
130 interrupted (streams closed first).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TextIO

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
OPENAI_DEFAULT_URL = "https://api.openai.com/v1"


class UsageError(Exception):
    """Bad arguments or configuration: print the message, exit 2, send nothing."""


# -- argument parsing ------------------------------------------------------------------


def _build_parser() -> argparse.ArgumentParser:
    from imgtui import __version__

    parser = argparse.ArgumentParser(
        prog="imgtui",
        description="Generate images through OpenAI-compatible APIs and watch them form. "
        "With no command, opens the terminal app.",
    )
    parser.add_argument("--version", action="version", version=f"imgtui {__version__}")
    parser.add_argument(
        "--renderer",
        choices=["auto", "halfcell", "unicode", "sixel", "tgp"],
        help="how the app draws images (default: settings, else auto)",
    )
    parser.add_argument("--profile", help="the app starts with this profile active")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    g = sub.add_parser(
        "generate",
        help="generate images headlessly (scripts, CI)",
        description="Generate (or, with -i, edit) images and save them to OUTDIR.",
    )
    g.add_argument("prompt", help="the prompt (use - to read it from standard input)")
    conn = g.add_argument_group(
        "connection (default: the active profile, else OPENAI_BASE_URL/OPENAI_API_KEY)"
    )
    conn.add_argument("--profile", help="use this profile from the config file")
    conn.add_argument("--base-url", help="API base URL, e.g. https://api.openai.com/v1")
    conn.add_argument(
        "--api-key", help="API key (prefer OPENAI_API_KEY or a profile: flags show in `ps`)"
    )
    conn.add_argument("--api", choices=["images", "responses"], help="Images API or Responses API")
    conn.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="extra HTTP header, e.g. 'api-key: ...' for Azure-style endpoints (repeatable)",
    )
    conn.add_argument(
        "--query",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra query parameter on every request, e.g. api-version=2024-10-21 (repeatable)",
    )
    conn.add_argument("--timeout", type=float, metavar="SECONDS", help="read timeout (default 600)")
    conn.add_argument(
        "--demo", action="store_true", help="use the embedded demo server (no key needed)"
    )
    p = g.add_argument_group("image parameters")
    p.add_argument("-m", "--model", help="image model (default: the profile's, else gpt-image-1)")
    p.add_argument("-s", "--size", default="auto", help="auto or WIDTHxHEIGHT (default auto)")
    p.add_argument(
        "-q", "--quality", default="auto", help="auto, low, medium, high, ... (default auto)"
    )
    p.add_argument("--background", default="auto", choices=["auto", "opaque", "transparent"])
    p.add_argument("--format", dest="output_format", default="png", choices=["png", "jpeg", "webp"])
    p.add_argument("--compression", type=int, metavar="0-100", help="jpeg/webp compression")
    p.add_argument("--moderation", choices=["auto", "low"])
    p.add_argument("--input-fidelity", choices=["low", "high"], help="edits only")
    p.add_argument("-n", type=int, default=1, help="number of images, 1-10 (default 1)")
    p.add_argument(
        "--partial-images",
        type=int,
        metavar="0-3",
        help="partial frames to stream (default: profile's)",
    )
    p.add_argument(
        "--no-stream", action="store_true", help="wait for the final image without streaming"
    )
    p.add_argument(
        "-i",
        "--image",
        action="append",
        default=[],
        metavar="IMAGE",
        help="input image: makes it an edit (repeatable)",
    )
    p.add_argument("--mask", metavar="FILE", help="PNG mask for edits (transparent = area to edit)")
    p.add_argument("--previous-response-id", help="Responses API: continue from this response")
    o = g.add_argument_group("output")
    o.add_argument("-o", "--outdir", default=".", help="folder for the images (default: current)")
    o.add_argument("--json", action="store_true", help="one JSON object per line on stdout")

    d = sub.add_parser("demo-server", help="run the embedded OpenAI-compatible demo server")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=int, default=8765)
    d.add_argument("--delay", type=float, default=3.0, help="seconds per image (default 3)")

    sub.add_parser("locate", help="print where the config file and the data live")

    pr = sub.add_parser("profiles", help="list, import or export provider profiles")
    psub = pr.add_subparsers(dest="profiles_command", metavar="ACTION", required=True)
    psub.add_parser("list", help="list profiles (keys never shown)")
    imp = psub.add_parser("import", help="create a profile from a share URL")
    imp.add_argument("url")
    exp = psub.add_parser("export", help="print a share URL for a profile")
    exp.add_argument("name")
    exp.add_argument("--include-key", action="store_true", help="put the API key in the URL")
    return parser


# -- connection resolution -------------------------------------------------------------


def resolve_connection(args: argparse.Namespace, environ: dict[str, str] | None = None):
    """(Connection, profile name, profile-or-None) from flags > profile > environment.

    A key from the environment is only sent to the environment's endpoint: `--base-url`
    pointing elsewhere never receives OPENAI_API_KEY (it would leak the key).
    """
    from imgtui import config as cfg
    from imgtui.api.request import Connection

    env = os.environ if environ is None else environ
    profile = None
    if args.demo:
        from imgtui.demo import embedded_server

        server = embedded_server()
        profile = cfg.demo_profile()
        conn = profile.connection(demo_base_url=server.base_url)
    elif args.base_url:
        base_url, url_query = _split_base_url(args.base_url)
        problem = cfg.base_url_problem(base_url)
        if problem:
            raise UsageError(f"--base-url {problem}")
        key = args.api_key
        if key is None and base_url.rstrip("/") == env.get(
            "OPENAI_BASE_URL", OPENAI_DEFAULT_URL
        ).rstrip("/"):
            key = env.get("OPENAI_API_KEY")
        conn = Connection(base_url=base_url.rstrip("/"), api_key=key, query=url_query)
    else:
        try:
            config = cfg.load()
        except cfg.ConfigError as exc:
            raise UsageError(str(exc)) from None
        if args.profile:
            profile = config.get(args.profile)
            if profile is None:
                names = ", ".join(p.name for p in config.profiles) or "none"
                raise UsageError(f"no profile named {args.profile!r} (profiles: {names})")
        elif config.profiles:
            profile = config.active()
        else:
            profile = cfg.env_profile(env)
            if profile is None and env.get("OPENAI_BASE_URL"):
                profile = cfg.Profile(name="OPENAI_BASE_URL", base_url=env["OPENAI_BASE_URL"])
        if profile is None:
            raise UsageError(
                "no provider configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for other providers), "
                "add a profile in the app's settings, pass --base-url/--api-key, or try --demo"
            )
        if profile.base_url == cfg.DEMO_URL:
            from imgtui.demo import embedded_server

            conn = profile.connection(demo_base_url=embedded_server().base_url)
        else:
            conn = profile.connection()
        if args.api_key:
            conn = replace(conn, api_key=args.api_key)
    name = profile.name if profile is not None else "command line"
    changes = {}
    if args.api:
        changes["api_mode"] = args.api
    if args.timeout is not None:
        if args.timeout <= 0:
            raise UsageError("--timeout must be positive")
        changes["timeout"] = args.timeout
    if args.header:
        changes["headers"] = {**conn.headers, **_parse_headers(args.header)}
    if args.query:
        changes["query"] = {**conn.query, **_parse_query(args.query)}
    if changes:
        conn = replace(conn, **changes)
    return conn, name, profile


def _split_base_url(url: str) -> tuple[str, dict[str, str]]:
    """`--base-url` without its query string, and that query as parameters (Azure's
    `...?api-version=...` pasted whole). A fragment is refused."""
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


def _parse_query(values: list[str]) -> dict[str, str]:
    query = {}
    for value in values:
        name, sep, val = value.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--query takes NAME=VALUE, got {value!r}")
        query[name.strip()] = val
    return query


def _parse_headers(values: list[str]) -> dict[str, str]:
    headers = {}
    for value in values:
        name, sep, val = value.partition(":")
        if not sep or not name.strip():
            raise UsageError(f"-H/--header takes 'NAME: VALUE', got {value!r}")
        headers[name.strip()] = val.strip()
    return headers


def build_request(args: argparse.Namespace, profile) -> object:
    """The validated ImageRequest from flags (profile values as defaults). Raises UsageError."""
    from imgtui.api.request import ImageRequest, InputImage, RequestError

    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    try:
        images = tuple(InputImage.load(path, "-i/--image") for path in args.image)
        mask = InputImage.load(args.mask, "--mask") if args.mask else None
        partials = args.partial_images
        if partials is None:
            partials = profile.partial_images if profile is not None else 2
        stream = not args.no_stream and (profile.stream if profile is not None else True)
        req = ImageRequest(
            prompt=prompt.strip(),
            model=args.model or (profile.model if profile is not None else "gpt-image-1"),
            n=args.n,
            size=args.size,
            quality=args.quality,
            background=args.background,
            output_format=args.output_format,
            output_compression=args.compression,
            moderation=args.moderation,
            input_fidelity=args.input_fidelity,
            partial_images=partials,
            stream=stream,
            images=images,
            mask=mask,
            previous_response_id=args.previous_response_id,
        )
        return req.validate()
    except RequestError as exc:
        raise UsageError(str(exc)) from None


# -- generate --------------------------------------------------------------------------


@dataclass
class _SlotView:
    state: str = "waiting"
    partial: int | None = None
    bytes: int = 0
    path: str | None = None
    error: str | None = None


@dataclass
class GenerateReport:
    paths: list[Path] = field(default_factory=list)
    failures: int = 0


def _human_bytes(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


async def run_generate(
    conn, req, outdir: Path, *, as_json: bool, out: TextIO, err: TextIO, live: bool
) -> GenerateReport:
    """Stream one request to the end, saving final images byte-for-byte into `outdir`."""
    from imgtui.api import Completed, Failed, Partial, Progress, Started, stream_images
    from imgtui.api.request import image_extension
    from imgtui.store import slugify, unique_path

    report = GenerateReport()
    views = [_SlotView() for _ in range(req.n)]
    started = time.monotonic()
    stem = f"{slugify(req.prompt)}-{datetime.now():%Y%m%d-%H%M%S}"
    frames = req.partial_images if req.stream else 0

    def emit(obj: dict) -> None:
        if as_json:
            out.write(json.dumps(obj) + "\n")
            out.flush()

    display = _LiveDisplay(err, views, frames, started) if live and not as_json else None
    try:
        async with contextlib.aclosing(stream_images(conn, req)) as events:
            async for ev in events:
                view = views[ev.slot]
                if isinstance(ev, Started):
                    view.state = "running"
                    emit({"event": "started", "slot": ev.slot})
                elif isinstance(ev, Progress):
                    view.bytes = ev.bytes_received
                elif isinstance(ev, Partial):
                    view.state, view.partial, view.bytes = "partial", ev.index, ev.bytes_received
                    emit(
                        {
                            "event": "partial",
                            "slot": ev.slot,
                            "index": ev.index,
                            "bytes": ev.bytes_received,
                        }
                    )
                elif isinstance(ev, Completed):
                    suffix = f"-{ev.slot + 1}" if req.n > 1 else ""
                    path = unique_path(outdir, stem + suffix, image_extension(ev.image))
                    path.write_bytes(ev.image)  # as received: never re-encoded
                    report.paths.append(path)
                    view.state, view.path, view.bytes = (
                        "done",
                        str(path),
                        ev.bytes_received or view.bytes,
                    )
                    emit(
                        {
                            "event": "completed",
                            "slot": ev.slot,
                            "path": str(path),
                            "usage": ev.usage,
                            "revised_prompt": ev.revised_prompt,
                            "response_id": ev.response_id,
                            "size": ev.meta.size,
                            "quality": ev.meta.quality,
                            "format": ev.meta.output_format,
                            "bytes": len(ev.image),
                        }
                    )
                    if not as_json:
                        if display:
                            display.clear()
                        out.write(f"{path}\n")
                        out.flush()
                elif isinstance(ev, Failed):
                    report.failures += 1
                    view.state, view.error = "failed", ev.message
                    kept = None
                    if ev.raw:  # bytes that arrived but are no image: kept for inspection
                        suffix = f"-{ev.slot + 1}" if req.n > 1 else ""
                        kept = unique_path(outdir, stem + suffix, "broken")
                        kept.write_bytes(ev.raw)
                    emit(
                        {
                            "event": "failed",
                            "slot": ev.slot,
                            "kind": ev.kind.value,
                            "message": ev.message,
                            "hint": ev.hint,
                            "status": ev.status,
                            "raw_path": str(kept) if kept else None,
                        }
                    )
                    if not as_json:
                        if display:
                            display.clear()
                        label = f"image {ev.slot + 1}: " if req.n > 1 else ""
                        err.write(f"imgtui: {label}{ev.message}\n")
                        if ev.hint:
                            err.write(f"  hint: {ev.hint}\n")
                        if kept:
                            err.write(f"  raw bytes kept in {kept}\n")
                        err.flush()
                if display:
                    display.draw()
    finally:
        if display:
            display.clear()
    return report


class _LiveDisplay:
    """One status line on a terminal: slot, partial k/N, elapsed, bytes received."""

    def __init__(self, stream: TextIO, views: list[_SlotView], frames: int, started: float) -> None:
        self.stream, self.views, self.frames, self.started = stream, views, frames, started
        self._last = 0.0

    def draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        parts = []
        for i, v in enumerate(self.views):
            label = f"#{i + 1} " if len(self.views) > 1 else ""
            state = (
                f"partial {v.partial + 1}/{self.frames}"
                if v.state == "partial" and v.partial is not None
                else v.state
            )
            parts.append(f"{label}{state} {_human_bytes(v.bytes)}")
        line = f"{now - self.started:5.1f}s  " + "  |  ".join(parts)
        width = 200
        with contextlib.suppress(OSError):
            width = os.get_terminal_size(self.stream.fileno()).columns
        self.stream.write("\r\x1b[2K" + line[: max(10, width - 1)])
        self.stream.flush()

    def clear(self) -> None:
        self.stream.write("\r\x1b[2K")
        self.stream.flush()


def cmd_generate(args: argparse.Namespace) -> int:
    conn, _name, profile = resolve_connection(args)
    req = build_request(args, profile)
    outdir = Path(args.outdir).expanduser()
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the output folder {outdir}: {exc.strerror}") from None
    live = sys.stderr.isatty()
    try:
        report = asyncio.run(
            run_generate(
                conn, req, outdir, as_json=args.json, out=sys.stdout, err=sys.stderr, live=live
            )
        )
    except KeyboardInterrupt:
        # asyncio.run cancelled the main task first: every stream is closed by now.
        if args.json:
            print(json.dumps({"event": "cancelled"}), flush=True)
        print("imgtui: interrupted; streams closed", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_FAILED if report.failures else EXIT_OK


# -- other commands --------------------------------------------------------------------


def cmd_demo_server(args: argparse.Namespace) -> int:
    from imgtui.demo import serve

    try:
        serve(args.host, args.port, args.delay)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    return EXIT_OK


def cmd_locate(_args: argparse.Namespace) -> int:
    from imgtui import config as cfg

    print(f"config: {cfg.config_path()}")
    print(f"data:   {cfg.data_dir()}")
    return EXIT_OK


def cmd_profiles(args: argparse.Namespace) -> int:
    from imgtui import config as cfg

    try:
        config = cfg.load()
    except cfg.ConfigError as exc:
        raise UsageError(str(exc)) from None
    if args.profiles_command == "list":
        active = config.active().name if config.profiles else None
        if not config.profiles:
            env = cfg.env_profile()
            print(
                "no profiles saved"
                + (
                    f"; using {env.name} from OPENAI_API_KEY"
                    if env
                    else "; the app uses the demo provider"
                )
            )
            return EXIT_OK
        for p in config.profiles:
            mark = "*" if p.name == active else " "
            print(
                f"{mark} {p.name}  {p.base_url}  {p.api_mode}  {p.model}  "
                f"stream={'on' if p.stream else 'off'} partials={p.partial_images}  key: {p.key_status()}"
            )
        return EXIT_OK
    if args.profiles_command == "import":
        try:
            plan = cfg.read_share_link(args.url, config.profiles)
            plan.apply(config)
        except ValueError as exc:
            raise UsageError(f"cannot import: {exc}") from None
        cfg.save(config)
        for warning in plan.warnings:
            print(f"imgtui: warning: {warning}", file=sys.stderr)
        for profile, old in zip(plan.profiles, plan.replaces, strict=True):
            verb = "updated" if old is not None else "imported"
            print(
                f"{verb} profile {profile.name!r} ({profile.base_url}, {profile.api_mode}, {profile.model})"
            )
        if config.settings.active_profile not in [p.name for p in plan.profiles]:
            print("the active profile is unchanged; use --profile NAME to use an imported one")
        return EXIT_OK
    profile = config.get(args.name)
    if profile is None:
        raise UsageError(f"no profile named {args.name!r}")
    print(cfg.profile_to_share_url(profile, include_key=args.include_key))
    return EXIT_OK


def cmd_app(args: argparse.Namespace) -> int:
    from imgtui.tui import run_app  # probes the terminal while the app modules import

    return run_app(renderer=args.renderer, profile=args.profile) or EXIT_OK


COMMANDS = {
    "generate": cmd_generate,
    "demo-server": cmd_demo_server,
    "locate": cmd_locate,
    "profiles": cmd_profiles,
    None: cmd_app,
}


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"imgtui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
