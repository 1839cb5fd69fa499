"""The command line's arguments, exit codes and `UsageError`.

Exit codes: 0 success, 1 a generation failed, 2 invalid arguments (nothing sent),
130 interrupted (streams closed first).
"""

from __future__ import annotations

import argparse
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
OPENAI_DEFAULT_URL = "https://api.openai.com/v1"


class UsageError(Exception):
    """Bad arguments or configuration: print the message, exit 2, send nothing."""


# -- argument parsing ------------------------------------------------------------------

# Profile fields `generate` overrides with a flag derived from the config's field table
# (`imgtui.config.cli_flags`: name, type, help and the field's own check), so a flag and
# the settings form never disagree. A field joins here once the request honours it.
PROFILE_FLAGS = ("timeout", "deadline", "mainline_model", "size_in_prompt", "omit_params")


def add_profile_flags(group: Any) -> None:
    """`--timeout SECONDS`, `--deadline SECONDS`, `--mainline-model TEXT`,
    `--[no-]size-in-prompt`, `--omit-params A,B` on `group` (an argparse parser or
    argument group), dest the field's name, default None (the profile's value). Each value is checked as it is parsed, with the field's own check:
    `--deadline nan` or `--timeout -1` is a usage error (exit 2)."""
    from imgtui.config import cli_flags

    for flag in cli_flags(PROFILE_FLAGS):
        help_text = flag.help.replace("%", "%%") + " Default: the profile's."
        if flag.is_switch:  # --size-in-prompt / --no-size-in-prompt
            group.add_argument(
                flag.flag,
                dest=flag.dest,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
            )
            continue

        def parse(text: str, flag: Any = flag) -> Any:
            try:
                return flag.parse(text)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None

        metavar = "SECONDS" if flag.dest in ("timeout", "deadline") else flag.metavar
        group.add_argument(flag.flag, dest=flag.dest, type=parse, metavar=metavar, help=help_text)


def build_parser() -> argparse.ArgumentParser:
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
    g.add_argument("prompt", nargs="?", help="the prompt (use - to read it from standard input)")
    g.add_argument(
        "--from",
        dest="from_file",
        metavar="FILE",
        help="a batch: one prompt per line, or JSON lines with per-prompt parameters; "
        "each runs through the queue as its own task in the history, then a summary",
    )
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
    add_profile_flags(conn)
    conn.add_argument(
        "--demo", action="store_true", help="use the embedded demo server (no key needed)"
    )
    p = g.add_argument_group("image parameters")
    p.add_argument(
        "-m", "--model", help="image model (default: the profile's, else gpt-image-2.6-sunburst)"
    )
    p.add_argument(
        "-s",
        "--size",
        default="auto",
        help="auto, WIDTHxHEIGHT, or RATIO@TIER such as 16:9@2k (tiers 1k, 2k, 4k); "
        "snapped to the model's limits with a note (default auto)",
    )
    p.add_argument(
        "-q", "--quality", default="auto", help="auto, low, medium, high, xhigh, max (default auto)"
    )
    p.add_argument("--complexity", choices=["low", "medium", "high"], help="planning compute (2.6)")
    p.add_argument("--background", default="auto", choices=["auto", "opaque", "transparent"])
    p.add_argument(
        "--transparent",
        choices=["native", "local"],
        help="a transparent background: native (the API's background=transparent) or local "
        "(a flat key colour is asked for and removed here; the original is saved beside it)",
    )
    p.add_argument(
        "--format",
        dest="output_format",
        default="png",
        choices=["png", "jpeg", "webp", "gif", "svg"],
        help="gif and svg never stream (2.6)",
    )
    p.add_argument("--frames", type=int, metavar="2-16", help="GIF frames (default 9)")
    p.add_argument("--frame-ms", type=int, metavar="MS", help="GIF frame duration (default 200)")
    p.add_argument("--svg-model", metavar="MODEL", help="SVG: the text model that writes it")
    p.add_argument(
        "--svg-effort",
        choices=["none", "minimal", "low", "medium", "high", "xhigh", "max"],
        help="SVG: that model's reasoning effort",
    )
    p.add_argument("--compression", type=int, metavar="0-100", help="jpeg/webp compression")
    p.add_argument("--moderation", choices=["auto", "low"], help="where the model takes it")
    p.add_argument(
        "--input-fidelity", choices=["low", "high"], help="edits, where the model takes it"
    )
    p.add_argument("--safety-id", metavar="ID", help="a stable hashed id of the end user")
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
    marks = p.add_mutually_exclusive_group()
    marks.add_argument(
        "--mask", metavar="FILE", help="PNG mask for edits (transparent = area to edit)"
    )
    marks.add_argument(
        "--markup",
        metavar="FILE",
        help="PNG overlay for edits: arrows and notes on a transparent canvas the size of "
        "the first image (2.5, 2.6)",
    )
    p.add_argument("--previous-response-id", help="Responses API: continue from this response")
    o = g.add_argument_group("output")
    o.add_argument("-o", "--outdir", default=".", help="folder for the images (default: current)")
    o.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
    o.add_argument(
        "--recipe",
        action="store_true",
        help="write the recipe (prompt, parameters, model, profile name) into the saved "
        "images' metadata, for `imgtui import` (the image data stays as sent)",
    )

    d = sub.add_parser("demo-server", help="run the embedded OpenAI-compatible demo server")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=int, default=8765)
    d.add_argument("--delay", type=float, default=3.0, help="seconds per image (default 3)")

    sub.add_parser("locate", help="print where the config file and the data live")

    md = sub.add_parser(
        "models",
        help="the provider's image (and mainline) models, with shutdown dates",
        description="List a profile's models from its GET /models (cached for a day per "
        "profile), with shutdown dates and what imgtui knows of each.",
    )
    md.add_argument("--profile", help="this profile (default: the active one)")
    md.add_argument("--refresh", action="store_true", help="fetch the list again now")
    md.add_argument("--json", action="store_true", help="one JSON object")

    us = sub.add_parser("usage", help="what the tasks in the history cost, per day and profile")
    us.add_argument("--json", action="store_true", help="one JSON object")

    h = sub.add_parser(
        "history",
        help="list tasks, or import an imgtui export or a gpt_image_playground backup",
    )
    hsub = h.add_subparsers(dest="history_command", metavar="ACTION", required=True)
    hl = hsub.add_parser("list", help="list tasks, newest first")
    hl.add_argument("--json", action="store_true", help="one JSON object per line (for scripts)")
    hl.add_argument("--limit", type=int, help="at most this many tasks")
    hl.add_argument("--search", help="only tasks whose prompt contains this text")
    hl.add_argument(
        "--status",
        choices=["queued", "running", "done", "failed", "cancelled", "interrupted"],
    )
    hl.add_argument("--starred", action="store_true", help="only starred tasks")
    hl.add_argument("--collection", metavar="NAME", help="only the tasks in this collection")

    co = sub.add_parser("collections", help="named collections of tasks (a task can be in several)")
    cosub = co.add_subparsers(dest="collections_command", metavar="ACTION", required=True)
    cosub.add_parser("list", help="collections and how many tasks each holds")
    cadd = cosub.add_parser("add", help="put tasks in a collection (made on first use)")
    cadd.add_argument("name")
    cadd.add_argument("task_ids", nargs="+", metavar="TASK_ID")
    crm = cosub.add_parser("remove", help="take tasks out of a collection, or delete it")
    crm.add_argument("name")
    crm.add_argument("task_ids", nargs="*", metavar="TASK_ID", help="none: the whole collection")
    hi = hsub.add_parser(
        "import",
        help="restore an imgtui export zip or a gpt_image_playground backup (all its parts)",
    )
    hi.add_argument("zips", nargs="+", metavar="ZIP")
    hi.add_argument(
        "--profiles",
        action="store_true",
        help="also add the backup's profiles and custom providers (without keys)",
    )
    hi.add_argument(
        "--include-keys",
        action="store_true",
        help="with --profiles: also copy their API keys into the config",
    )

    im = sub.add_parser(
        "import",
        help="recreate tasks from images that carry an imgtui recipe",
        description="Recreate history tasks from saved images (their recipe: prompt, "
        "parameters, model, profile name). An image without one is named as an edit reference.",
    )
    im.add_argument("files", nargs="+", metavar="FILE")

    pv = sub.add_parser(
        "providers", help="custom providers: gpt_image_playground provider manifests"
    )
    pvsub = pv.add_subparsers(dest="providers_command", metavar="ACTION", required=True)
    pvsub.add_parser("list", help="built-in and imported providers")
    pvi = pvsub.add_parser(
        "import", help="import a playground provider export (customProviders and profiles)"
    )
    pvi.add_argument("file")

    pr = sub.add_parser("profiles", help="list, import or export provider profiles")
    psub = pr.add_subparsers(dest="profiles_command", metavar="ACTION", required=True)
    psub.add_parser("list", help="list profiles (keys never shown)")
    imp = psub.add_parser("import", help="create a profile from a share URL")
    imp.add_argument("url")
    exp = psub.add_parser("export", help="print a share URL for a profile")
    exp.add_argument("name")
    exp.add_argument("--include-key", action="store_true", help="put the API key in the URL")
    return parser
