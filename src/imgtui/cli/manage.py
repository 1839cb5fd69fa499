"""`imgtui` (the app), `imgtui demo-server`, `imgtui locate`, `imgtui profiles list|import|export`."""

from __future__ import annotations

import argparse
import sys

from imgtui.cli.parser import EXIT_OK, UsageError

__all__ = ["cmd_app", "cmd_demo_server", "cmd_locate", "cmd_models", "cmd_profiles", "cmd_usage"]


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


def _printable(text: str) -> str:
    """Server text for a terminal: control characters shown as `?`."""
    return "".join(c if c.isprintable() else "?" for c in text)


def cmd_models(args: argparse.Namespace) -> int:
    """`imgtui models`: the profile's image and mainline models, each with its shutdown
    date (the provider's, else imgtui's table) and the family imgtui knows it as."""
    import asyncio
    import json
    from datetime import date

    from imgtui import config as cfg
    from imgtui.api import ApiFailure
    from imgtui.draft import available_profiles
    from imgtui.models import lookup, shutdown_notice
    from imgtui.models.listing import CACHE_FILE, ModelCache, ModelList, models_for

    try:
        config = cfg.load()
    except cfg.ConfigError as exc:
        raise UsageError(str(exc)) from None
    profiles = available_profiles(config)
    name = args.profile or (config.active().name if config.profiles else profiles[0].name)
    profile = next((p for p in profiles if p.name == name), None)
    if profile is None:
        raise UsageError(
            f"no profile named {name!r} (profiles: {', '.join(p.name for p in profiles)})"
        )

    async def fetch() -> ModelList:
        if profile.is_demo:
            from imgtui.demo import embedded_server

            conn = profile.connection(demo_base_url=embedded_server().base_url)
        else:
            conn = profile.connection()
        return await models_for(
            profile.name, conn, ModelCache(cfg.data_dir() / CACHE_FILE), refresh=args.refresh
        )

    try:
        listing = asyncio.run(fetch())
    except ApiFailure as exc:
        print(f"imgtui: {profile.name}: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  hint: {exc.hint}", file=sys.stderr)
        return 1
    today = date.today()

    def entry(model_id: str) -> dict[str, object]:
        shutdown = listing.shutdown_date(model_id)
        spec = lookup(model_id)
        return {
            "id": model_id,
            "shutdown_date": shutdown.isoformat() if shutdown else None,
            "family": spec.family if spec else None,
            "warning": shutdown_notice(model_id, shutdown, today),
        }

    notice = shutdown_notice(profile.model, listing.shutdown_date(profile.model), today)
    if notice:
        print(f"imgtui: warning: this profile's model: {notice}", file=sys.stderr)
    images = [entry(m.id) for m in listing.image_models]
    mainline = [entry(m.id) for m in listing.mainline_models]
    if args.json:
        print(
            json.dumps(
                {
                    "profile": profile.name,
                    "fetched_at": listing.fetched_at.isoformat(),
                    "image_models": images,
                    "mainline_models": mainline,
                }
            )
        )
        return EXIT_OK
    print(
        f"{profile.name}: {len(listing.models)} models (fetched {listing.fetched_at:%Y-%m-%d %H:%M} UTC)"
    )
    for title, rows in (("image models", images), ("mainline models", mainline)):
        print(f"{title}:")
        for row in rows:
            mark = "*" if row["id"] == profile.model else " "
            day = row["shutdown_date"]
            verb = "shut down" if day and str(day) <= today.isoformat() else "shuts down"
            when = f"  {verb} {day}" if day else ""
            family = f"  [{row['family']}]" if row["family"] else ""
            print(f" {mark} {_printable(str(row['id']))}{family}{when}")
    return EXIT_OK


def cmd_usage(args: argparse.Namespace) -> int:
    """`imgtui usage`: the cost of the history's tasks per day and profile, and the sum."""
    import json

    from imgtui import config as cfg
    from imgtui.spending import totals
    from imgtui.store import Store, StoreError

    try:
        config = cfg.load()
    except cfg.ConfigError as exc:
        raise UsageError(str(exc)) from None
    store = Store(cfg.data_dir())
    try:
        store.open()
        tasks = store.load()
    except StoreError as exc:
        raise UsageError(f"cannot open the history: {exc}") from None
    finally:
        store.close()
    overrides = {p.name: p.price_overrides for p in config.profiles}
    rows = totals(tasks, overrides)
    total = round(sum(r.cost_usd for r in rows), 6)
    unpriced = sum(r.unpriced for r in rows)
    if args.json:
        print(
            json.dumps(
                {"days": [r.to_json() for r in rows], "total_usd": total, "unpriced": unpriced}
            )
        )
        return EXIT_OK
    if not rows:
        print("no task with usage in the history yet")
        return EXIT_OK
    for r in rows:
        extra = f"  ({r.unpriced} unpriced)" if r.unpriced else ""
        print(
            f"{r.day}  {_printable(r.profile):<24} {r.tasks:>4} tasks  ${r.cost_usd:>9.4f}{extra}"
        )
    print(f"total ${total:.4f}" + (f"; {unpriced} tasks unpriced" if unpriced else ""))
    return EXIT_OK


def cmd_app(args: argparse.Namespace) -> int:
    from imgtui.tui import run_app  # probes the terminal while the app modules import

    return run_app(renderer=args.renderer, profile=args.profile) or EXIT_OK
