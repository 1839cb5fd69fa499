"""The Textual app. Importing this package imports nothing heavy.

`run_app()` here is the fast way in: it lets textual-image probe the terminal (which
waits on the terminal's answers) in a thread while the app's modules import, then runs
`imgtui.tui.app.run_app`.
"""

from __future__ import annotations


def run_app(renderer: str | None = None, profile: str | None = None) -> int:
    import threading

    def probe() -> None:
        try:
            import textual_image.widget  # noqa: F401  (the probe runs at import)
        except Exception:  # the app reports renderer problems itself
            pass

    thread = threading.Thread(target=probe, name="imgtui-terminal-probe", daemon=True)
    thread.start()
    from imgtui.tui import app

    thread.join()
    return app.run_app(renderer=renderer, profile=profile)
