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

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from imgtui.api.request import ImageRequest, InputImage, RequestError
from imgtui.config import Config, Profile, demo_profile, env_profile
from imgtui.images import check_image
from imgtui.tasks import UNSTREAMED_FORMATS, ImageParams, Task
from imgtui.transparency import transparent_prompt

__all__ = [
    "QUALITIES",
    "SIZES",
    "Attachments",
    "Draft",
    "LastParams",
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


#: The image options of `Params` beyond size, quality, n and format, by their API names
#: (`ImageParams` fields): None is "not set", so nothing is sent for them.
OPTIONS: tuple[str, ...] = (
    "background",
    "output_compression",
    "moderation",
    "input_fidelity",
    "complexity",
    "frame_count",
    "frame_duration_ms",
    "svg_model",
    "svg_effort",
)


#: What `repaired` resets when a field is refused: API field -> Params defaults.
RESETS: dict[str, dict[str, Any]] = {
    "size": {"size": "auto", "size_spec": None},
    "quality": {"quality": "auto"},
    "n": {"n": 1},
    "output_format": {
        "output_format": "png",
        "frame_count": None,
        "frame_duration_ms": None,
        "svg_model": None,
        "svg_effort": None,
        "output_compression": None,
    },
    "background": {"background": "auto", "transparent": None},
    "output_compression": {"output_compression": None},
    "moderation": {"moderation": None},
    "input_fidelity": {"input_fidelity": None},
    "complexity": {"complexity": None},
    "frame_count": {"frame_count": None},
    "frame_duration_ms": {"frame_duration_ms": None},
    "svg": {"svg_model": None, "svg_effort": None},
}


@dataclass
class Params:
    """The composer's choice for the next task: one profile (with session overrides of
    model, mainline model, api_mode, stream and partial_images) and the image options.

    `size` is what is sent (`auto` or `WxH`); `size_spec` what the user picked when it was
    a ratio and tier (`16:9@2k`, `imgtui.models.sizes`), so the picker shows it again and
    a change of model snaps it anew. The options (`OPTIONS`) are None when not set."""

    profile: Profile
    size: str = "auto"
    quality: str = "auto"
    n: int = 1
    output_format: str = "png"
    transparent: str | None = None  # None, "native" or "local" (`Draft.transparency`)
    background: str = "auto"
    output_compression: int | None = None
    moderation: str | None = None
    input_fidelity: str | None = None
    complexity: str | None = None
    frame_count: int | None = None
    frame_duration_ms: int | None = None
    svg_model: str | None = None
    svg_effort: str | None = None
    size_spec: str | None = None

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
            **{name: getattr(self, name) for name in OPTIONS},
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
            **{name: getattr(params, name) for name in OPTIONS},
        )

    def check(self) -> list[str]:
        """Check the choice as a request would carry it (any prompt, no input images):
        raise RequestError naming the first bad field; return the warnings that do not
        block (an experimental size, a model shutting down...)."""
        return Draft("-", self.profile, self.image_params()).check_fields()

    # -- the last-used parameters of a profile (`LastParams`) ---------------------------

    def to_json(self) -> dict[str, Any]:
        """What is kept per profile across restarts: the models, mode, streaming and every
        image option (None-valued options left out)."""
        p = self.profile
        out: dict[str, Any] = {
            "model": p.model,
            "mainline_model": p.mainline_model,
            "api_mode": p.api_mode,
            "stream": p.stream,
            "partial_images": p.partial_images,
            "size": self.size,
            "quality": self.quality,
            "n": self.n,
            "output_format": self.output_format,
            "transparent": self.transparent,
            "size_spec": self.size_spec,
            **{name: getattr(self, name) for name in OPTIONS},
        }
        return {k: v for k, v in out.items() if v is not None}

    def with_saved(self, saved: Mapping[str, Any]) -> Params:
        """This choice (on the same profile) with `saved` (`to_json()` output) applied.
        A value of the wrong type is skipped: a damaged file never stops the app."""
        kinds: dict[str, type | tuple[type, ...]] = {
            "model": str,
            "mainline_model": str,
            "api_mode": str,
            "stream": bool,
            "partial_images": int,
            "size": str,
            "quality": str,
            "n": int,
            "output_format": str,
            "transparent": str,
            "size_spec": str,
            "background": str,
            "output_compression": int,
            "moderation": str,
            "input_fidelity": str,
            "complexity": str,
            "frame_count": int,
            "frame_duration_ms": int,
            "svg_model": str,
            "svg_effort": str,
        }
        good: dict[str, Any] = {
            k: v
            for k, v in saved.items()
            if k in kinds
            and isinstance(v, kinds[k])
            and not (isinstance(v, bool) and kinds[k] is int)
            and v != ""
        }
        profile_keys = ("model", "mainline_model", "api_mode", "stream", "partial_images")
        prof = replace(self.profile, **{k: good[k] for k in profile_keys if k in good})
        if prof.errors():
            prof = self.profile
        rest = {k: v for k, v in good.items() if k not in profile_keys}
        return replace(self, profile=prof, **rest).repaired()

    def repaired(self) -> Params:
        """This choice made valid for its model: a ratio@tier size snapped again to the
        model's rule, then each field the model refuses (`check()`) back to its default.
        A kept choice then always sends, even after the profile's model changed."""
        from imgtui.models.rules import snap_size

        params = self
        for _ in range(len(RESETS) + 1):
            if params.size_spec:
                try:
                    snapped = snap_size(
                        params.model,
                        params.size_spec,
                        output_format=params.output_format,
                        frame_count=params.frame_count,
                    )
                    params = replace(params, size=snapped.size)
                except RequestError:
                    params = replace(params, size_spec=None)
            try:
                params.check()
            except RequestError as exc:
                reset = RESETS.get(exc.field.split(".")[0])
                if reset is None:
                    return params
                params = replace(params, **reset)
            else:
                return params
        return params


class LastParams:
    """The last-used parameters of each profile, kept across restarts in one JSON file
    (`last-params.json` in the data folder): `{"profiles": {NAME: Params.to_json()}}`.
    Only state, like a cache: a file that cannot be read counts as empty."""

    FILE = "last-params.json"

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        profiles = data.get("profiles") if isinstance(data, dict) else None
        return profiles if isinstance(profiles, dict) else {}

    def get(self, profile: str) -> dict[str, Any] | None:
        entry = self._read().get(profile)
        return entry if isinstance(entry, dict) else None

    def apply(self, params: Params) -> Params:
        """`params` with its profile's saved choice applied (unchanged when none is saved).

        The saved models are used only while the profile's own model is the one it had
        when they were saved: a model changed in settings (say, off a shut-down one) wins
        over a choice made before."""
        saved = self.get(params.profile.name)
        if not saved:
            return params
        if saved.get("profile_model") != params.profile.model:
            saved = {k: v for k, v in saved.items() if k not in ("model", "mainline_model")}
        return params.with_saved(saved)

    def put(self, params: Params, profile_model: str) -> None:
        """Keep `params` as its profile's last choice; `profile_model` is the profile's own
        (configured) model now. Written to a temporary file renamed over the old one, so a
        crash leaves one or the other."""
        profiles = self._read()
        profiles[params.profile.name] = {**params.to_json(), "profile_model": profile_model}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"profiles": profiles}, indent=1), "utf-8")
        os.replace(tmp, self.path)


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

    def check_fields(self) -> list[str]:
        """Every scalar field and the model's rules, without reading files or the key:
        raise RequestError naming the first bad field; return the non-blocking warnings."""
        return self.model_warnings(self._request((), None))

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
        streams = p.stream and output_format not in UNSTREAMED_FORMATS
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
