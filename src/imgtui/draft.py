"""What the user is about to send: a prompt, a profile, typed image parameters and
attachments; and the one place that turns them into an `ImageRequest`.

The TUI composer and `imgtui generate` both build a `Draft` and call `check()` (every
field, before anything is sent: a bad one raises `RequestError` naming it) and
`task()`; the runner (`imgtui.runner`) calls `request()` in a thread when the task starts,
which reads the input images.

Composer state that lives for a session (`Choice`: a profile with session overrides plus
size, quality, n and format) is here too, so the app and the CLI agree on the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from imgtui.api.request import ImageRequest, InputImage, RequestError
from imgtui.config import Config, Profile, demo_profile, env_profile
from imgtui.images import check_image
from imgtui.tasks import ImageParams, Task
from imgtui.transparency import transparent_prompt

__all__ = [
    "QUALITIES",
    "SIZES",
    "Attachments",
    "Draft",
    "Params",
    "available_profiles",
    "find_profile",
]

SIZES = ("auto", "1024x1024", "1536x1024", "1024x1536")
QUALITIES = ("auto", "low", "medium", "high")


def available_profiles(config: Config) -> list[Profile]:
    """Saved profiles, then the $OPENAI_API_KEY one (if set and not saved), then the demo."""
    out = list(config.profiles)
    names = {p.name for p in out}
    env = env_profile()
    if env is not None and env.name not in names:
        out.append(env)
        names.add(env.name)
    demo = demo_profile()
    if demo.name not in names:
        out.append(demo)
    return out


def find_profile(config: Config, name: str) -> Profile | None:
    return next((p for p in available_profiles(config) if p.name == name), None)


@dataclass
class Attachments:
    """What the next task takes besides the prompt: input images (an edit), a mask, and
    what a refine continues (the parent task; in Responses mode its response id)."""

    images: list[Path] = field(default_factory=list)
    mask: Path | None = None
    parent_id: str | None = None  # refine: the task this one continues
    previous_response_id: str | None = None  # refine in Responses mode

    def __bool__(self) -> bool:
        return bool(self.images or self.mask or self.parent_id)


@dataclass
class Params:
    """The composer's choice for the next task: one profile (with session overrides of
    model, api_mode, stream and partial_images) and the image options."""

    profile: Profile
    size: str = "auto"
    quality: str = "auto"
    n: int = 1
    output_format: str = "png"
    transparent: str | None = None  # None, "native" or "local" (`Draft.transparency`)

    @classmethod
    def from_config(cls, config: Config) -> Params:
        s = config.settings
        return cls(replace(config.active()), s.size, s.quality, s.n, s.output_format)

    @property
    def model(self) -> str:
        return self.profile.model

    def image_params(self) -> ImageParams:
        """The typed parameters a task made from this choice is asked with."""
        p = self.profile
        return ImageParams(
            model=p.model,
            size=self.size,
            quality=self.quality,
            n=self.n,
            output_format=self.output_format,
            partial_images=p.partial_images if p.stream else 0,
            stream=p.stream,
            transparent=self.transparent,
        )

    def with_task(
        self, params: ImageParams, profile: Profile | None = None, api_mode: str | None = None
    ) -> Params:
        """This choice with a past task's values (reuse, retry)."""
        base = profile or self.profile
        prof = replace(
            base,
            model=params.model or base.model,
            partial_images=params.partial_images,
            stream=params.stream,
            api_mode=api_mode or base.api_mode,
        )
        return Params(
            prof,
            params.size or self.size,
            params.quality or self.quality,
            params.n or self.n,
            params.output_format or self.output_format,
            params.transparent,
        )


@dataclass
class Draft:
    """One task about to be sent. `images` non-empty makes it an edit."""

    prompt: str
    profile: Profile
    params: ImageParams
    images: tuple[Path, ...] = ()
    mask: Path | None = None
    parent_id: str | None = None
    job: dict[str, Any] | None = None  # a polled provider's handle: poll it, do not submit again

    @property
    def transparency(self) -> str | None:
        """How a transparent background is made: "native" (the API's
        `background: transparent`), "local" (a flat key colour asked for in the prompt and
        keyed out here, `imgtui.transparency`), or None. `params.transparent` decides; a
        plain `background=transparent` follows the profile's `transparent_method`."""
        if self.params.transparent in ("native", "local"):
            return self.params.transparent
        if self.params.background == "transparent":
            return self.profile.transparent_method
        return None

    #: What `check()` found worth saying but not blocking (`model_warnings`).
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def from_choice(cls, prompt: str, choice: Params, attachments: Attachments) -> Draft:
        """The composer's draft: the prompt, the current choice, the attachments. A refine
        in Responses mode continues `previous_response_id`; a mask needs an image."""
        params = choice.image_params()
        if attachments.previous_response_id and choice.profile.api_mode == "responses":
            params = replace(params, previous_response_id=attachments.previous_response_id)
        images = tuple(attachments.images)
        return cls(
            prompt.strip(),
            choice.profile,
            params,
            images,
            attachments.mask if images else None,
            attachments.parent_id,
        )

    @classmethod
    def from_task(cls, task: Task, profile: Profile) -> Draft:
        """Another run of a past task (retry) on `profile`."""
        return cls(
            task.prompt,
            replace(profile, api_mode=task.api_mode),
            task.params,
            tuple(Path(p) for p in task.input_images),
            Path(task.mask) if task.mask else None,
            task.parent_id,
        )

    def check(self) -> Draft:
        """Check every field before anything is sent; raise RequestError naming the first
        bad one. Input images are checked by their magic number only (not read whole);
        their paths come back resolved."""
        missing = self.profile.missing_env()
        if missing:
            raise RequestError(
                "api_key",
                f"${{{missing[0]}}} is not set in the environment (profile {self.profile.name}).",
            )
        request = self._request((), None)  # every scalar field
        if self.mask is not None and not self.images:
            raise RequestError("mask", "needs at least one input image")
        if len(self.images) > 16:
            raise RequestError("images", f"{len(self.images)} input images; at most 16")
        self.warnings = self.model_warnings(request)
        images = tuple(check_image(str(p), "image") for p in self.images)
        mask = check_image(str(self.mask), "mask") if self.mask is not None else None
        if self.params.markup:
            markup = check_image(self.params.markup, "markup")
            self.params = replace(self.params, markup=str(markup))
        self.images, self.mask = images, mask
        return self

    def model_warnings(self, request: ImageRequest) -> list[str]:
        """The model's own rules (`imgtui.models`): raise RequestError naming the field and
        the accepted values; return warnings that do not block (a model shutting down or
        shut down, an experimental size, transparency in preview). A model the table
        doesn't know gets only the API-wide checks."""
        from datetime import date

        from imgtui.api.request import image_params
        from imgtui.models import check_params

        wire: dict[str, object] = dict(image_params(request))
        if request.n != 1:
            wire["n"] = request.n
        if request.stream:
            wire["stream"] = True
            wire["partial_images"] = request.partial_images
        return check_params(
            request.model,
            wire,
            inputs=len(self.images),
            mask=self.mask is not None,
            markup=bool(self.params.markup),
            today=date.today(),
        )

    def request(self) -> ImageRequest:
        """The validated request, input images read from disk (call in a thread). Raises
        RequestError."""
        loaded = tuple(InputImage.load(p, field="image") for p in self.images)
        mask = InputImage.load(self.mask, field="mask") if self.mask else None
        markup = InputImage.load(self.params.markup, field="markup") if self.params.markup else None
        return self._request(loaded, mask, markup)

    def _request(
        self,
        images: tuple[InputImage, ...],
        mask: InputImage | None,
        markup: InputImage | None = None,
    ) -> ImageRequest:
        p = self.params
        prompt, background = self.prompt, p.background
        output_format, compression = p.output_format, p.output_compression
        method = self.transparency
        if method == "local":  # keying needs lossless pixels and no background parameter
            prompt, background = transparent_prompt(prompt), "auto"
            output_format, compression = "png", None
        elif method == "native":
            background = "transparent"  # with jpeg output, validate() names the conflict
        # GIF and SVG never stream (OPENAI-IMAGES.md §2.2): the profile's streaming preference
        # does not apply to them.
        streams = p.stream and output_format not in ("gif", "svg")
        return ImageRequest(
            prompt=prompt,
            model=p.model,
            n=p.n,
            size=p.size,
            quality=p.quality,
            background=background,
            output_format=output_format,
            output_compression=compression,
            moderation=p.moderation,
            input_fidelity=p.input_fidelity,
            partial_images=p.partial_images if streams else 0,
            stream=streams,
            images=images,
            mask=mask,
            previous_response_id=p.previous_response_id,
            complexity=p.complexity,
            frame_count=p.frame_count,
            frame_duration_ms=p.frame_duration_ms,
            svg_model=p.svg_model,
            svg_effort=p.svg_effort,
            safety_identifier=p.safety_identifier,
            markup=markup,
        ).validate()

    def task(self) -> Task:
        """A new task for this draft (status queued once the runner gets it)."""
        return Task(
            prompt=self.prompt,
            params=self.params,
            profile_name=self.profile.name,
            api_mode=self.profile.api_mode,
            input_images=[str(p) for p in self.images],
            mask=str(self.mask) if self.mask else None,
            parent_id=self.parent_id,
        )
