"""Provider ids and custom provider manifests kept beside the config (imgtui.config.providers)."""

from __future__ import annotations

import json

import pytest

from imgtui.api import polled
from imgtui.api.polled import ManifestError
from imgtui.config import providers
from imgtui.config.model import Profile

EXPORT = {
    "customProviders": [
        {
            "id": "custom-task",
            "name": "Task relay",
            "submit": {
                "path": "images/generations",
                "contentType": "json",
                "body": {"model": "$profile.model", "prompt": "$prompt"},
                "taskIdPath": "data.0.task_id",
            },
            "poll": {
                "path": "tasks/{task_id}",
                "statusPath": "data.status",
                "successValues": ["completed"],
                "failureValues": ["failed"],
                "result": {"imageUrlPaths": ["data.result.images.*.url.*"]},
            },
        }
    ],
    "profiles": [
        {
            "id": "task-profile",
            "name": "Task relay",
            "provider": "custom-task",
            "baseUrl": "https://relay.example/v1",
            "model": "gpt-image-2",
            "apiMode": "images",
            "transparentBackgroundMethod": "local",
        },
        {"name": "Elsewhere", "provider": "custom-missing", "baseUrl": "https://x.example/v1"},
        {"name": "No URL", "provider": "custom-task", "baseUrl": ""},
    ],
}


def test_a_playground_export_is_saved_and_resolved():
    result = providers.import_manifests(json.dumps(EXPORT))
    assert result.providers == ["custom-task"]
    saved = providers.providers_dir() / "custom-task.json"
    assert json.loads(saved.read_text(encoding="utf-8")) == EXPORT["customProviders"][0]
    manifest = providers.resolve("custom-task")
    assert manifest.poll.status_path == "data.status"
    profile = result.profiles[0]
    assert (profile.name, profile.base_url, profile.provider, profile.model) == (
        "Task relay",
        "https://relay.example/v1",
        "custom-task",
        "gpt-image-2",
    )
    assert profile.transparent_method == "local" and profile.profile_id == "task-profile"
    assert profile.errors() == {}
    assert [p.name for p in result.profiles] == ["Task relay"]
    assert result.notes == [
        "skipped profile 'Elsewhere': its provider 'custom-missing' is not in the file",
        "skipped profile 'No URL': it has no base URL",
    ]


def test_builtin_ids_resolve_without_files():
    assert providers.resolve("openai") is None
    assert providers.resolve("sub2api-async") is polled.SUB2API
    assert providers.resolve("fal") == polled.FAL
    with pytest.raises(providers.ProviderError, match="providers import"):
        providers.resolve("custom-nowhere")


def test_bad_files_and_ids_are_refused():
    with pytest.raises(ManifestError):
        providers.import_manifests("{}")
    bad = polled.ProviderManifest.from_json({"id": "../escape", "submit": {}})
    with pytest.raises(providers.ProviderError):
        providers.save_custom(bad)
    assert Profile(name="x", base_url="https://a.example/v1", provider="a b").errors() == {
        "provider": "must be a provider id: letters, digits, '.', '_' or '-'"
    }


def test_playground_records_map_like_a_share_link():
    """Backups and provider exports use the share link's mapping: the Responses model is
    the mainline model, stream defaults follow the playground, a ${VAR} key is refused."""
    from imgtui.config.share import playground_profiles

    made, notes = playground_profiles(
        [
            {"name": "R", "baseUrl": "https://r.example", "apiMode": "responses", "model": "gpt-5"},
            {"name": "Ref", "baseUrl": "https://r.example", "apiKey": "${HOME}"},
            {"name": "R", "baseUrl": "https://other.example", "apiKey": "sk-kept"},
            "not a profile",
        ]
    )
    assert [(p.name, p.base_url, p.api_mode) for p in made] == [
        ("R", "https://r.example/v1", "responses"),
        ("R (2)", "https://other.example/v1", "images"),
    ]
    assert made[0].mainline_model == "gpt-5" and made[1].api_key == "sk-kept"
    assert len(notes) == 2
    assert notes[0].startswith("skipped profile 'Ref': apiKey looks like an environment reference")
    assert notes[1] == "skipped a profile that is not a JSON object"
