"""Write SVG screenshots of the app to screenshots/ (halfcell pictures, demo provider).

    PYTHONPATH=src python3 scripts/screenshots.py [--out screenshots] [--size 160x48]

Runs the real app headless against the embedded demo server in a temporary data dir:
a few finished tasks, one failed, one still streaming; the main screen at --size (the list
beside the preview of the streaming task) and at 80x24 (the list alone), the grid view
(F8), then the detail modal, the parameters and the settings screen.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from imgtui.demo import DemoServer  # noqa: E402
from imgtui.draft import Params  # noqa: E402
from imgtui.store import Store  # noqa: E402
from imgtui.tasks import Status  # noqa: E402
from imgtui.tui import testing  # noqa: E402
from imgtui.tui.app import ImgtuiApp  # noqa: E402
from imgtui.tui.screens.detail import DetailScreen  # noqa: E402


async def wait_for(pilot, predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("screenshot scene did not settle")
        await pilot.pause(0.05)


async def scene(out: Path, size: tuple[int, int]) -> list[Path]:
    server = DemoServer(delay=0.05)
    server.start()
    written: list[Path] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            config = testing.demo_config(root, partial_images=3)
            app = ImgtuiApp(
                config=config,
                store=Store(root / "data"),
                demo_base_url=server.base_url,
                renderer="halfcell",
            )
            async with app.run_test(size=size) as pilot:
                await app.history_loaded.wait()
                for area in app.query("TextArea"):
                    area.cursor_blink = False

                async def run(
                    prompt: str,
                    n: int = 1,
                    size_: str = "1536x1024",
                    model: str = "gpt-image-2",
                    headers: dict | None = None,
                    wait: bool = True,
                ):
                    testing.with_model(app, model, headers=headers or {})
                    app.set_params(Params(app.params.profile, size=size_, quality="high", n=n))
                    task = app.submit(prompt)
                    if wait:
                        await wait_for(pilot, lambda: task.status.ended)
                    return task

                await run("a lighthouse at dusk, oil painting, warm light on the waves")
                three = await run(
                    "three variations of a paper-cut fox in a snowy forest", n=3, size_="1024x1024"
                )
                await run("a photo of a famous person", model="fault-moderation")
                await run("isometric city block at night, neon signs, rain", size_="1024x1536")
                live = await run(
                    "a hot air balloon over a misty valley at sunrise",
                    headers={"x-demo-delay": "30"},
                    wait=False,
                )
                await wait_for(pilot, lambda: live.first_partial_at is not None)
                await pilot.pause(0.5)
                testing.with_model(app, "gpt-image-2", headers={})
                app.set_params(Params(app.params.profile, size="1536x1024", quality="high", n=1))
                app.composer.set_text("a koi pond seen from above, ink and watercolour")
                await pilot.pause(0.3)
                written.append(Path(app.save_screenshot("main.svg", str(out))))

                await pilot.resize_terminal(80, 24)
                await pilot.pause(0.5)
                written.append(Path(app.save_screenshot("main-80x24.svg", str(out))))
                await pilot.resize_terminal(*size)
                await pilot.pause(0.3)

                await pilot.press("f8")  # the grid view
                await pilot.pause(0.5)
                written.append(Path(app.save_screenshot("grid.svg", str(out))))
                await pilot.press("f8")
                await pilot.pause(0.3)

                app.open_detail(three.id)
                await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
                await pilot.pause(1.0)  # the large picture decodes in a thread
                written.append(Path(app.save_screenshot("detail.svg", str(out))))
                await pilot.press("escape")

                app.open_detail(live.id)
                await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
                await pilot.pause(0.5)
                written.append(Path(app.save_screenshot("detail-live.svg", str(out))))
                await pilot.press("escape")

                await pilot.press("f2")
                await pilot.pause(0.3)
                written.append(Path(app.save_screenshot("params.svg", str(out))))
                await pilot.press("escape")

                # Settings, with a profile imported from a web-app share link (the key stays masked).
                await pilot.press("f3")
                await pilot.pause(0.3)
                await pilot.press("ctrl+l")
                await pilot.pause(0.3)
                app.screen.query_one("Input").value = (
                    "https://gpt-image-playground.cooksleep.dev/?apiUrl=https%3A%2F%2Frelay.example.com%2Fv1"
                    "&apiKey=sk-example-0000000000004f2a&apiMode=responses&model=gpt-5"
                    "&profileName=Relay&streamImages=true&streamPartialImages=2"
                )
                await pilot.press("enter")
                await pilot.pause(0.5)
                written.append(Path(app.save_screenshot("settings.svg", str(out))))
                await pilot.press("escape")
                await pilot.pause(0.3)
                app.cancel_task(live.id)
                assert live.status is Status.CANCELLED, (live.status, live.error_message)
    finally:
        server.stop()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "screenshots"))
    parser.add_argument("--size", default="160x48", help="COLSxROWS")
    args = parser.parse_args()
    cols, rows = (int(x) for x in args.size.lower().split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(scene(out, (cols, rows))):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
