"""What the next task will be asked with: the active profile plus the composer's parameters.

Edits made in the parameter bar live here for the session; the config file is only written
when the user switches the active profile to one saved in it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from imgtui.api.request import ImageRequest, InputImage
from imgtui.config import Config, Profile, demo_profile, env_profile

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
class Params:
    """The composer's parameters: one profile (with session overrides) and the image options."""

    profile: Profile
    size: str = "auto"
    quality: str = "auto"
    n: int = 1
    output_format: str = "png"

    @classmethod
    def from_config(cls, config: Config) -> Params:
        s = config.settings
        return cls(replace(config.active()), s.size, s.quality, s.n, s.output_format)

    @property
    def model(self) -> str:
        return self.profile.model

    def task_params(self) -> dict:
        """The JSON-safe dict a Task keeps (what was asked)."""
        p = self.profile
        return {
            "model": p.model,
            "size": self.size,
            "quality": self.quality,
            "n": self.n,
            "output_format": self.output_format,
            "partial_images": p.partial_images if p.stream else 0,
            "stream": p.stream,
        }

    def with_task(
        self, params: dict, profile: Profile | None = None, api_mode: str | None = None
    ) -> Params:
        """These parameters with a past task's values (reuse)."""
        base = profile or self.profile
        prof = replace(
            base,
            model=str(params.get("model") or base.model),
            partial_images=int(params.get("partial_images", base.partial_images)),
            stream=bool(params.get("stream", base.stream)),
            api_mode=api_mode or base.api_mode,
        )
        return Params(
            prof,
            str(params.get("size") or self.size),
            str(params.get("quality") or self.quality),
            int(params.get("n") or self.n),
            str(params.get("output_format") or self.output_format),
        )


def build_request(
    prompt: str,
    params: dict,
    images: list[str] | list[Path] = (),  # type: ignore[assignment]
    mask: str | Path | None = None,
) -> ImageRequest:
    """The validated request for a task's prompt and parameters. Raises RequestError."""
    loaded = tuple(InputImage.load(p, field="image") for p in images)
    return ImageRequest(
        prompt=prompt,
        model=str(params.get("model", "gpt-image-1")),
        n=int(params.get("n", 1)),
        size=str(params.get("size", "auto")),
        quality=str(params.get("quality", "auto")),
        output_format=str(params.get("output_format", "png")),
        partial_images=int(params.get("partial_images", 0)),
        stream=bool(params.get("stream", True)),
        images=loaded,
        mask=InputImage.load(mask, field="mask") if mask else None,
        previous_response_id=params.get("previous_response_id") or None,
    ).validate()
