"""One line above the composer: which profile, model and options the next task uses."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from imgtui.draft import Params
from imgtui.tasks import UNSTREAMED_FORMATS
from imgtui.text import clean

DEMO_NOTICE = (
    "Demo provider — no API key needed; add a profile in settings (or set OPENAI_API_KEY)."
)


def partials_word(stream: bool, partial_images: int, output_format: str) -> str:
    """The bar's partials value: the count the next request asks for, "off" without
    streaming, "off for gif" (svg) when the format is never streamed whatever the profile
    says (OPENAI-IMAGES.md §2.2: no `partial_images` is sent for it)."""
    if not stream:
        return "off"
    if output_format in UNSTREAMED_FORMATS:
        return f"off for {output_format}"
    return str(partial_images)


class ParamBar(Vertical):
    DEFAULT_CSS = """
    ParamBar {
        height: auto;
        padding: 0 1;
        & > #params { height: 1; }
        & > #notice { height: 1; color: $warning; display: none; }
        &.-demo > #notice { display: block; }
        &:hover > #params { background: $boost; }
    }
    """

    class Clicked(Message):
        pass

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        # The children exist from the start: the app may show a choice (a task ended,
        # today's spending moved) before the bar is composed or after it is removed.
        self._notice = Static(DEMO_NOTICE, id="notice")
        self._params = Static("", id="params")
        self._shown: Content | None = None

    def compose(self) -> ComposeResult:
        yield self._notice
        yield self._params

    def show(self, params: Params, spending: str | None = None) -> None:
        """The choice for the next task; `spending`: today's spending line (the app's)."""
        p = params.profile
        name, model = clean(p.name, newlines=False), clean(p.model, newlines=False)
        sep = (" │ ", "$foreground-muted")
        parts: list = [
            (name, "bold $accent"),
            (" · ", "$foreground-muted"),
            (model, "bold"),
            sep,
            ("size ", "$foreground-muted"),
            clean(params.size, newlines=False),
            sep,
            ("quality ", "$foreground-muted"),
            clean(params.quality, newlines=False),
            sep,
            ("n ", "$foreground-muted"),
            str(params.n),
            sep,
            ("partials ", "$foreground-muted"),
            partials_word(p.stream, p.partial_images, params.output_format),
            sep,
            (f"{p.api_mode} API", ""),
        ]
        if params.output_format != "png":
            parts += [sep, params.output_format]
        if spending:
            parts += [sep, (clean(spending, newlines=False), "$foreground-muted")]
        parts += [("   F2 edit · ^o profile", "$foreground-muted italic")]
        content = Content.assemble(*parts)
        if content != self._shown:  # one line of fixed height: no layout pass
            self._shown = content
            self._params.update(content, layout=False)
        self.set_class(p.is_demo, "-demo")

    def on_click(self, event: events.Click) -> None:
        self.post_message(self.Clicked())
