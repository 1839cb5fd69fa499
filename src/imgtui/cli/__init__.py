"""Command line: `imgtui` (the app), `imgtui generate`, `imgtui demo-server`, `imgtui locate`,
`imgtui profiles ...`, `imgtui history list|import`, `imgtui import`, `imgtui providers`. A thin skin: drafts, the runner, tasks and the store do the work.

Modules: `parser` (arguments, exit codes, `UsageError`), `generate` (`imgtui generate`:
a draft from flags, run by the shared runner, state through `tasks.apply`), `manage`
(the app, demo-server, locate, profiles), `history` (history list/import, import of
recipe-carrying images, custom providers).

Exit codes: 0 success, 1 a generation failed, 2 invalid arguments (nothing sent),
130 interrupted (streams closed first).
"""

from __future__ import annotations

import sys

from imgtui.cli.parser import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    build_parser,
)

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "UsageError",
    "build_parser",
    "main",
]


def main(argv: list[str] | None = None) -> int:
    import argparse
    from collections.abc import Callable

    from imgtui.cli import generate, history, manage
    from imgtui.text import CleanWriter

    commands: dict[str | None, Callable[[argparse.Namespace], int]] = {
        "generate": generate.cmd_generate,
        "history": history.cmd_history,
        "collections": history.cmd_collections,
        "import": history.cmd_import,
        "providers": history.cmd_providers,
        "demo-server": manage.cmd_demo_server,
        "locate": manage.cmd_locate,
        "models": manage.cmd_models,
        "usage": manage.cmd_usage,
        "profiles": manage.cmd_profiles,
        None: manage.cmd_app,
    }
    args = build_parser().parse_args(argv)
    streams = sys.stdout, sys.stderr
    if args.command is not None:  # server and file text reach the terminal: no controls
        sys.stdout, sys.stderr = CleanWriter(sys.stdout), CleanWriter(sys.stderr)
    try:
        return commands[args.command](args)
    except UsageError as exc:
        print(f"imgtui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        sys.stdout, sys.stderr = streams


if __name__ == "__main__":
    sys.exit(main())
