"""Share links as gpt_image_playground v0.7.6 writes and reads them (issue 12, item 5)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from imgtui import config as cfg
from imgtui.cli import main
from imgtui.config import Config, Profile, Settings, read_share_link


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


@pytest.mark.parametrize(
    ("extra", "stream", "partials"),
    [
        ("", False, 1),  # images mode: the playground streams nothing by default
        ("&apiMode=responses", True, 1),  # responses mode: on, 1 partial
        ("&streamImages=true", True, 1),
        ("&apiMode=responses&streamPartialImages=3", True, 3),
    ],
)
def test_absent_stream_settings_mean_the_playground_defaults(
    extra: str, stream: bool, partials: int
) -> None:
    p = cfg.profile_from_share_url("apiUrl=https://relay.example/v1" + extra)
    assert (p.stream, p.partial_images) == (stream, partials)


@pytest.mark.parametrize(
    ("api_url", "base_url"),
    [
        ("https://relay.example/openai/", "https://relay.example/openai/"),
        ("https://relay.example/", "https://relay.example/"),
        ("https://relay.example/v1/", "https://relay.example/v1/"),
        ("https://relay.example/v2", "https://relay.example/v2/v1"),
    ],
)
def test_a_base_url_ending_in_a_slash_is_used_as_is_and_exported_as_is(
    api_url: str, base_url: str
) -> None:
    p = cfg.profile_from_share_url("apiUrl=" + quote(api_url, safe=""))
    assert p.base_url == base_url
    assert query(cfg.profile_to_share_url(p))["apiUrl"] == [base_url]
    assert p.connection().base_url == base_url.rstrip("/")  # requests go to <base>/images/...


def test_the_new_parameters_are_read() -> None:
    p = cfg.profile_from_share_url(
        "apiUrl=https://relay.example/v1&apiMode=responses&model=gpt-5.5&reasoningEffort=high"
        "&transparentBackgroundMethod=local&codexCli=true&profileId=shared-1"
    )
    assert (p.reasoning_effort, p.transparent_method, p.size_in_prompt, p.profile_id) == (
        "high",
        "local",
        True,
        "shared-1",
    )
    assert cfg.profile_from_share_url(
        "apiUrl=https://relay.example/v1&transparentBackgroundMethod=api"
    ).transparent_method == ("native")
    unknown = read_share_link("apiUrl=https://relay.example/v1&reasoningEffort=ludicrous")
    assert unknown.profiles[0].reasoning_effort == ""
    assert any("reasoningEffort" in w for w in unknown.warnings)


def test_importing_the_same_link_twice_updates_instead_of_copying() -> None:
    link = "apiUrl=https://relay.example/v1&profileName=Relay&model=gpt-image-2"
    config = Config(path=cfg.config_path())
    read_share_link(link, config.profiles).apply(config)
    again = read_share_link(link + "&streamImages=true", config.profiles)
    assert again.replaces == ["Relay"]
    again.apply(config)
    assert config.names() == ["Relay"]
    assert config.get("Relay").stream is True


def test_a_profile_id_updates_the_saved_profile_keeping_what_the_link_leaves_out() -> None:
    saved = Profile(
        "Old name",
        "https://relay.example/v1",
        api_key="sk-mine-0123456789",
        timeout=120,
        api_mode="responses",
        profile_id="shared-1",
    )
    plan = read_share_link("profileId=shared-1&profileName=New+name&model=gpt-5.5", [saved])
    assert plan.replaces == ["Old name"]
    (p,) = plan.profiles
    assert (p.name, p.api_key, p.timeout, p.api_mode, p.mainline_model) == (
        "New name",
        "sk-mine-0123456789",
        120,
        "responses",
        "gpt-5.5",
    )


@pytest.mark.parametrize("wrapped", [False, True])
def test_settings_json_with_a_list_of_profiles(wrapped: bool) -> None:
    block = {
        "profiles": [
            {
                "id": "a",
                "name": "A",
                "provider": "openai",
                "baseUrl": "https://a.example/v1",
                "model": "gpt-image-2",
                "apiMode": "images",
                "timeout": 300,
                "streamImages": True,
                "streamPartialImages": 2,
                "codexCli": True,
            },
            {"id": "b", "name": "B", "baseUrl": "https://b.example/", "apiMode": "responses"},
            {"id": "c", "name": "C", "provider": "fal", "baseUrl": "https://queue.fal.run"},
            {"id": "d", "name": "D", "provider": "not-imported", "baseUrl": "https://d.example"},
        ]
    }
    payload = {"version": 1, "settings": block} if wrapped else block
    plan = read_share_link("settings=" + quote(json.dumps(payload)))
    a, b, c = plan.profiles
    assert (a.name, a.profile_id, a.model, a.timeout, a.stream, a.partial_images) == (
        "A",
        "a",
        "gpt-image-2",
        300,
        True,
        2,
    )
    assert a.size_in_prompt is True
    assert (b.name, b.base_url, b.api_mode, b.stream, b.partial_images) == (
        "B",
        "https://b.example/",
        "responses",
        True,
        1,
    )
    # fal's address is its own: no /v1 added
    assert (c.name, c.provider, c.base_url) == ("C", "fal", "https://queue.fal.run")
    assert len(plan.warnings) == 1 and "'D'" in plan.warnings[0]


def test_a_profile_of_another_provider_travels_as_a_settings_block() -> None:
    fal = Profile("F", "https://queue.fal.run", provider="fal", model="openai/gpt-image-2")
    link = cfg.profile_to_share_url(fal)
    assert set(query(link)) == {"settings"}
    assert json.loads(query(link)["settings"][0])["profiles"][0]["provider"] == "fal"
    back = cfg.profile_from_share_url(link)
    assert (back.name, back.provider, back.base_url, back.model) == (
        "F",
        "fal",
        "https://queue.fal.run",
        "openai/gpt-image-2",
    )


def test_exports_leave_out_what_equals_the_playground_defaults() -> None:
    plain = Profile("P", "https://relay.example/v1", stream=False, partial_images=1)
    assert set(query(cfg.profile_to_share_url(plain))) == {"apiUrl", "model", "profileName"}
    responses = Profile(
        "R", "https://relay.example/v1", api_mode="responses", stream=True, partial_images=1
    )
    assert set(query(cfg.profile_to_share_url(responses))) == {
        "apiUrl",
        "apiMode",
        "model",
        "profileName",
    }
    rich = Profile(
        "X",
        "https://relay.example/openai/",
        api_mode="responses",
        stream=False,
        partial_images=3,
        reasoning_effort="high",
        transparent_method="local",
        size_in_prompt=True,
        profile_id="x-1",
    )
    q = query(cfg.profile_to_share_url(rich))
    assert {k: v[0] for k, v in q.items()} == {
        "profileId": "x-1",
        "apiUrl": "https://relay.example/openai/",
        "apiMode": "responses",
        "model": "gpt-5",
        "profileName": "X",
        "codexCli": "true",
        "streamImages": "false",
        "streamPartialImages": "3",
        "reasoningEffort": "high",
        "transparentBackgroundMethod": "local",
    }
    back = cfg.profile_from_share_url(cfg.profile_to_share_url(rich))
    assert back == rich


def test_cli_import_twice_updates_and_export_round_trips(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg.save(Config(path=cfg.config_path(), settings=Settings()))
    link = (
        "https://gpt-image-playground.cooksleep.dev/?profileId=relay-1&apiUrl=https%3A%2F%2F"
        "relay.example%2Fopenai%2F&apiMode=responses&model=gpt-5.5&profileName=Relay"
        "&reasoningEffort=high&codexCli=true"
    )
    assert main(["profiles", "import", link]) == 0
    assert "imported profile 'Relay'" in capsys.readouterr().out
    assert main(["profiles", "import", link]) == 0
    assert "updated profile 'Relay'" in capsys.readouterr().out
    loaded = cfg.load()
    assert loaded.names() == ["Relay"]
    relay = loaded.get("Relay")
    assert (relay.base_url, relay.stream, relay.partial_images, relay.size_in_prompt) == (
        "https://relay.example/openai/",
        True,
        1,
        True,
    )
    assert main(["profiles", "export", "Relay"]) == 0
    exported = capsys.readouterr().out.strip()
    assert query(exported) == query(link)
