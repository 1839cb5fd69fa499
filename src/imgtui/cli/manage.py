"""`imgtui` (the app), `imgtui demo-server`, `imgtui locate`, `imgtui profiles list|import|export`."""

from __future__ import annotations

import argparse
import sys

from imgtui.cli.parser import EXIT_OK, UsageError

__all__ = ["cmd_app", "cmd_demo_server", "cmd_locate", "cmd_profiles"]


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
    chosen = config.get(args.name)
    if chosen is None:
        raise UsageError(f"no profile named {args.name!r}")
    print(cfg.profile_to_share_url(chosen, include_key=args.include_key))
    return EXIT_OK


def cmd_app(args: argparse.Namespace) -> int:
    from imgtui.tui import run_app  # probes the terminal while the app modules import

    return run_app(renderer=args.renderer, profile=args.profile) or EXIT_OK
