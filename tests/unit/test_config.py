"""Config: strict TOML, private atomic writes, secrets by reference, playground share links."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from dataclasses import fields
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from imgtui import config as cfg
from imgtui.config import (
    DEMO_URL,
    Config,
    ConfigError,
    Profile,
    Settings,
    ShareUrlError,
    config_path,
    data_dir,
    demo_profile,
    ensure_env_profile,
    env_profile,
    load,
    profile_from_share_url,
    profile_to_share_url,
    save,
)

SECRET = "sk-proj-Zq7TESTSECRETvalue0123456789abcd"

# The example link from gpt_image_playground's README (CookSleep/gpt_image_playground).
README_LINK = "https://gpt-image-playground.cooksleep.dev/?apiUrl=https%3A%2F%2Fcode0.ai%2Fv1&apiMode=images&profileName=Code0"


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def full_config(path: Path) -> Config:
    return Config(
        path=path,
        profiles=[
            Profile(
                "Azure",
                "https://example.openai.azure.com/openai",
                api_key="${AZURE_KEY}",
                api_mode="images",
                model="gpt-image-1.5",
                stream=False,
                partial_images=0,
                timeout=90.5,
                headers={"api-key": "${AZURE_KEY}", "X-Trace": "imgtui"},
                query={"api-version": "2025-04-01-preview"},
            ),
            Profile(
                "Relay",
                "https://relay.example/v1",
                api_key="literal-key-123456",
                api_mode="responses",
                mainline_model="gpt-5.5",
            ),
            demo_profile(),
        ],
        settings=Settings(
            active_profile="Relay",
            renderer="halfcell",
            output_dir="~/Pictures/imgtui",
            size="1536x1024",
            quality="high",
            n=3,
            output_format="webp",
        ),
    )


# -- round trip ----------------------------------------------------------------------------


def test_round_trip_is_lossless(tmp_path: Path) -> None:
    original = full_config(tmp_path / "config.toml")
    save(original)
    loaded = load(original.path)
    assert loaded == original
    # saving what was loaded writes the same text again
    first = original.path.read_text()
    save(loaded)
    assert original.path.read_text() == first


def test_explicit_stream_false_survives_load_and_save(tmp_path: Path) -> None:
    path = write(
        tmp_path / "config.toml",
        """
        [[profiles]]
        name = "NoStream"
        base_url = "https://relay.example/v1"
        stream = false
        """,
    )
    config = load(path)
    assert config.profiles[0].stream is False
    save(config)
    assert "stream = false" in path.read_text()
    assert load(path).profiles[0].stream is False


def test_headers_and_query_tables_in_the_documented_layout(tmp_path: Path) -> None:
    path = write(
        tmp_path / "config.toml",
        """
        [settings]
        active_profile = "OpenAI"
        renderer = "auto"

        [[profiles]]
        name = "OpenAI"
        base_url = "https://api.openai.com/v1"
        api_key = "${OPENAI_API_KEY}"
        api_mode = "images"
        model = "gpt-image-1"
        stream = true
        partial_images = 2
        timeout = 600

        [profiles.headers]
        "api-key" = "${AZURE_KEY}"

        [profiles.query]
        api-version = "2025-04-01-preview"
        """,
    )
    config = load(path)
    (p,) = config.profiles
    assert p.headers == {"api-key": "${AZURE_KEY}"}
    assert p.query == {"api-version": "2025-04-01-preview"}
    assert p.timeout == 600.0 and isinstance(p.timeout, float)
    assert config.active() is p


def test_missing_file_is_an_empty_config_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "config.toml"
    config = load(path)
    assert config.profiles == [] and config.settings == Settings() and config.path == path
    assert not path.parent.exists()


# -- strictness ----------------------------------------------------------------------------


def test_unknown_key_names_file_line_key_and_suggestion(tmp_path: Path) -> None:
    path = write(
        tmp_path / "config.toml",
        """
        [settings]
        renderer = "auto"

        [[profiles]]
        name = "A"
        base_url = "https://a.example/v1"

        [[profiles]]
        name = "B"
        base_url = "https://b.example/v1"
        timout = 30
        """,
    )
    with pytest.raises(ConfigError) as info:
        load(path)
    err = info.value
    assert err.path == path
    assert err.line == 11
    assert err.key == "profiles[1].timout"
    assert "did you mean 'timeout'" in err.message
    assert str(err) == f"{path} line 11: profiles[1].timout: unknown key; did you mean 'timeout'?"


@pytest.mark.parametrize(
    ("text", "line", "key", "suggestion"),
    [
        ('[settings]\nrenderer = "auto"\nrendrer = "sixel"\n', 3, "settings.rendrer", "renderer"),
        ('[setings]\nrenderer = "auto"\n', 1, "setings", "settings"),
        (
            '[[profiles]]\nname = "A"\nbase_url = "https://a/v1"\n\n[profiles.header]\nx = "y"\n',
            5,
            "profiles[0].header",
            "headers",
        ),
        (
            '[[profiles]]\nname = "A"\nbase_url = "https://a/v1"\napi-key = "k"\n',
            4,
            "profiles[0].api-key",
            "api_key",
        ),
    ],
)
def test_unknown_keys_anywhere(
    tmp_path: Path, text: str, line: int, key: str, suggestion: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load(path)
    assert (info.value.line, info.value.key) == (line, key)
    assert repr(suggestion) in info.value.message


def test_malformed_toml_names_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "config.toml",
        """
        [settings]
        renderer = "auto"
        n =
        """,
    )
    with pytest.raises(ConfigError) as info:
        load(path)
    assert info.value.line == 3
    assert info.value.key is None
    assert "not valid TOML" in info.value.message
    assert str(info.value).startswith(f"{path} line 3: not valid TOML")


@pytest.mark.parametrize(
    ("line_text", "key", "words"),
    [
        ('stream = "yes"', "profiles[0].stream", "true or false, not a string"),
        ("partial_images = true", "profiles[0].partial_images", "whole number, not a boolean"),
        ('timeout = "600"', "profiles[0].timeout", "a number, not a string"),
        ("name = 5", "profiles[0].name", "a string, not an integer"),
        ("headers = 3", "profiles[0].headers", "a table of strings"),
        ("headers = { api-version = 2025 }", "profiles[0].headers.api-version", "quote it"),
    ],
)
def test_wrong_types_are_errors(tmp_path: Path, line_text: str, key: str, words: str) -> None:
    body = ["[[profiles]]", 'name = "A"', 'base_url = "https://a.example/v1"']
    replaced = [ln for ln in body if not ln.startswith(line_text.split(" ")[0] + " ")]
    path = tmp_path / "config.toml"
    path.write_text("\n".join([*replaced, line_text]) + "\n")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert info.value.key == key
    assert words in info.value.message
    assert info.value.line == len(replaced) + 1


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ("partial_images = 5", "profiles[0].partial_images", "0 to 3"),
        ('api_mode = "chat"', "profiles[0].api_mode", "images, responses"),
        ("timeout = 0", "profiles[0].timeout", "more than 0"),
        ("timeout = 4000", "profiles[0].timeout", "at most 3600"),
        ('api_key = "${NOT CLOSED"', "profiles[0].api_key", "${VAR_NAME}"),
    ],
)
def test_invalid_values_are_errors_with_their_line(
    tmp_path: Path, extra: str, key: str, words: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[[profiles]]\nname = "A"\nbase_url = "https://a.example/v1"\n{extra}\n')
    with pytest.raises(ConfigError) as info:
        load(path)
    assert (info.value.key, info.value.line) == (key, 4)
    assert words in info.value.message


def test_bad_base_url_missing_key_and_duplicate_names(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[profiles]]\nname = "A"\nbase_url = "ftp://a.example"\n')
    with pytest.raises(ConfigError, match="http:// or https://") as info:
        load(path)
    assert info.value.line == 3

    path.write_text('[[profiles]]\nname = "A"\n')
    with pytest.raises(ConfigError, match="missing required key 'base_url'") as info:
        load(path)
    assert (info.value.key, info.value.line) == ("profiles[0]", 1)

    path.write_text(
        '[[profiles]]\nname = "A"\nbase_url = "https://a/v1"\n[[profiles]]\nname = "A"\nbase_url = "https://b/v1"\n'
    )
    with pytest.raises(ConfigError, match="another profile has this name") as info:
        load(path)
    assert (info.value.key, info.value.line) == ("profiles[1].name", 5)


def test_bad_header_name_points_at_the_header(tmp_path: Path) -> None:
    path = write(
        tmp_path / "config.toml",
        """
        [[profiles]]
        name = "A"
        base_url = "https://a.example/v1"
        [profiles.headers]
        "bad name" = "x"
        """,
    )
    with pytest.raises(ConfigError, match="not a valid HTTP header name") as info:
        load(path)
    assert (info.value.key, info.value.line) == ('profiles[0].headers."bad name"', 5)


def test_settings_values_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    for text, key in [
        ('renderer = "kitty"', "settings.renderer"),
        ('size = "1000x1000"', "settings.size"),
        ("n = 11", "settings.n"),
        ('output_format = "bmp"', "settings.output_format"),
    ]:
        path.write_text(f"[settings]\n{text}\n")
        with pytest.raises(ConfigError) as info:
            load(path)
        assert (info.value.key, info.value.line) == (key, 2)


# A value other than the default for every field of the table, as typed in the form or on
# the command line; a field added to the table without one here fails the next test.
NON_DEFAULT_TEXT = {
    "name": "Relay",
    "base_url": "https://relay.example/v1/",
    "api_key": "${RELAY_KEY}",
    "provider": "sub2api-async",
    "api_mode": "responses",
    "model": "gpt-image-2",
    "mainline_model": "gpt-5.5",
    "reasoning_effort": "high",
    "stream": "false",
    "partial_images": "1",
    "timeout": "120.5",
    "deadline": "1800",
    "max_concurrent": "2",
    "daily_limit_usd": "7.5",
    "transparent_method": "local",
    "size_in_prompt": "true",
    "omit_params": "size, quality",
    "price_overrides": "gpt-image-2: image_output=32, text_input=5.5",
    "headers": "api-key: ${AZURE_KEY}",
    "query": "api-version: 2025-04-01-preview",
    "profile_id": "shared-1",
}


def test_every_table_field_round_trips_through_text_and_toml(tmp_path: Path) -> None:
    # the reader, the writer and the text forms are all derived from the one table
    assert [f.name for f in cfg.PROFILE_FIELDS] == [f.name for f in fields(Profile)]
    assert set(NON_DEFAULT_TEXT) == {f.name for f in cfg.PROFILE_FIELDS}
    values = {f.name: f.kind.from_text(NON_DEFAULT_TEXT[f.name]) for f in cfg.PROFILE_FIELDS}
    profile = Profile(**values)
    assert profile.errors() == {}
    for f in cfg.PROFILE_FIELDS:
        assert getattr(profile, f.name) != f.default_value(), f.name
        assert f.kind.from_text(f.kind.to_text(getattr(profile, f.name))) == getattr(
            profile, f.name
        )
    path = tmp_path / "config.toml"
    save(Config(path=path, profiles=[profile], settings=Settings(notify=False)))
    loaded = load(path)
    assert loaded.profiles == [profile]
    assert loaded.settings.notify is False
    assert [f.name for f in cfg.SETTINGS_FIELDS] == [f.name for f in fields(Settings)]


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ('omit_params = ["Size"]', "profiles[0].omit_params", "not a request parameter name"),
        ("deadline = 0", "profiles[0].deadline", "must be more than 0"),
        ("max_concurrent = 99", "profiles[0].max_concurrent", "must be 1 to 32"),
        ("daily_limit_usd = -1", "profiles[0].daily_limit_usd", "must be more than 0"),
        ('transparent_method = "api"', "profiles[0].transparent_method", "native, local"),
        ('size_in_prompt = "yes"', "profiles[0].size_in_prompt", "true or false"),
        (
            "[profiles.price_overrides.gpt-image-2]\nimage_outptu = 30",
            "profiles[0].price_overrides.gpt-image-2",
            "unknown rate",
        ),
    ],
)
def test_new_fields_are_validated_with_file_line_and_key(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[[profiles]]\nname = "A"\nbase_url = "https://a.example/v1"\n{text}\n')
    with pytest.raises(ConfigError) as info:
        load(path)
    assert info.value.key == key
    assert info.value.line == 4
    assert message in info.value.message


def test_cli_flags_come_from_the_table() -> None:
    flags = {f.flag: f for f in cfg.cli_flags()}
    assert {"--deadline", "--max-concurrent", "--omit-params", "--size-in-prompt"} <= set(flags)
    assert "--headers" not in flags and "--name" not in flags
    assert flags["--deadline"].parse("120") == 120.0
    assert flags["--omit-params"].parse("size,quality") == ["size", "quality"]
    assert flags["--size-in-prompt"].is_switch
    with pytest.raises(ValueError, match="must be more than 0"):
        flags["--deadline"].parse("0")
    with pytest.raises(ValueError, match="native, local"):
        flags["--transparent-method"].parse("magic")
    profile = cfg.apply_flags(
        Profile("A", "https://a.example/v1"), {"deadline": 60.0, "model": None}
    )
    assert (profile.deadline, profile.model) == (60.0, Profile.model)


# -- writing -------------------------------------------------------------------------------


def test_saved_file_is_0600_and_created_dir_0700(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "config.toml"
    save(full_config(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700


def test_existing_world_readable_file_becomes_private(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("")
    path.chmod(0o644)
    save(full_config(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_file_is_never_world_readable_even_briefly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    real_replace = os.replace

    def spying_replace(src, dst):  # the temp file, just before it becomes the config
        seen.append(stat.S_IMODE(os.stat(src).st_mode))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spying_replace)
    save(full_config(tmp_path / "config.toml"))
    assert seen == [0o600]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_failed_write_keeps_the_original_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path = tmp_path / "config.toml"
    save(full_config(path))
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, boom)
    changed = full_config(path)
    changed.profiles[0].model = "something-else"
    with pytest.raises(OSError):
        save(changed)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


# -- secrets -------------------------------------------------------------------------------


def test_var_reference_never_falls_back_to_another_variable() -> None:
    p = Profile("Relay", "https://relay.example/v1", api_key="${RELAY_KEY}")
    env = {"OPENAI_API_KEY": SECRET}  # a key is around, but not the one referenced
    assert p.resolve_key(env) is None
    assert p.connection(environ=env).api_key is None
    assert p.key_status(env) == "${RELAY_KEY} → not set"
    assert p.missing_env(env) == ["RELAY_KEY"]
    assert p.resolve_key({"RELAY_KEY": ""}) is None  # empty counts as unset

    env["RELAY_KEY"] = "relay-secret-000111"
    assert p.resolve_key(env) == "relay-secret-000111"
    assert p.connection(environ=env).api_key == "relay-secret-000111"
    assert p.key_status(env) == "${RELAY_KEY} → set"
    assert p.missing_env(env) == []


def test_resolve_key_literal_and_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    assert Profile("L", "https://x/v1", api_key="literal-123").resolve_key() == "literal-123"
    assert Profile("N", "https://x/v1").resolve_key() is None
    assert Profile("N", "https://x/v1").key_status() == "none"


def test_connection_resolves_headers_and_query(monkeypatch: pytest.MonkeyPatch) -> None:
    p = Profile(
        "Azure",
        "https://example.openai.azure.com/openai/",
        api_key="${AZ}",
        api_mode="responses",
        mainline_model="gpt-5.5",
        timeout=120,
        headers={"api-key": "${AZ}", "Authorization": "Bearer ${TOKEN}", "X-Plain": "yes"},
        query={"api-version": "2025-04-01-preview"},
    )
    env = {"AZ": "az-secret-999"}
    conn = p.connection(environ=env)
    assert conn.base_url == "https://example.openai.azure.com/openai"
    assert conn.api_key == "az-secret-999"
    # a header whose variable is unset is left out, never sent half-filled
    assert conn.headers == {"api-key": "az-secret-999", "X-Plain": "yes"}
    assert conn.query == {"api-version": "2025-04-01-preview"}
    assert (conn.api_mode, conn.mainline_model, conn.timeout) == ("responses", "gpt-5.5", 120.0)
    assert p.missing_env(env) == ["TOKEN"]
    assert "az-secret-999" not in repr(conn)


def test_demo_connection_needs_the_demo_server_url() -> None:
    demo = demo_profile()
    assert (demo.name, demo.base_url, demo.partial_images) == ("Demo", DEMO_URL, 3)
    with pytest.raises(ValueError, match="demo_base_url"):
        demo.connection()
    assert demo.connection("http://127.0.0.1:8765/v1").base_url == "http://127.0.0.1:8765/v1"


def test_repr_and_masks_never_show_the_key() -> None:
    p = Profile("Literal", "https://x.example/v1", api_key=SECRET, headers={"X": "y"})
    text = repr(p) + str(p)
    for i in range(len(SECRET) - 5):
        assert SECRET[i : i + 6] not in text
    masked = p.masked_key()
    assert masked == "sk-…abcd"
    assert len(masked.replace("sk-…", "")) <= 4
    assert p.key_status() == "set (sk-…abcd)"
    short = Profile("Short", "https://x.example/v1", api_key="abc12345")
    assert short.masked_key() == "…"  # too short to show any of it
    ref = Profile("Ref", "https://x.example/v1", api_key="${MY_KEY}")
    assert ref.masked_key() == "${MY_KEY}" and "${MY_KEY}" in repr(ref)


def test_env_profile_stores_the_reference_not_the_key(tmp_path: Path) -> None:
    assert env_profile({}) is None
    p = env_profile({"OPENAI_API_KEY": SECRET})
    assert p is not None
    assert (p.name, p.base_url, p.api_key) == (
        "OpenAI",
        "https://api.openai.com/v1",
        "${OPENAI_API_KEY}",
    )
    p = env_profile({"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": "https://relay.example/v1"})
    assert p is not None and p.base_url == "https://relay.example/v1"

    config = load(tmp_path / "config.toml")
    assert ensure_env_profile(config, {"OPENAI_API_KEY": SECRET}) is True
    text = (tmp_path / "config.toml").read_text()
    assert SECRET not in text and 'api_key = "${OPENAI_API_KEY}"' in text
    # only when there is no profile yet
    assert ensure_env_profile(config, {"OPENAI_API_KEY": SECRET}) is False
    assert len(load(tmp_path / "config.toml").profiles) == 1


# -- profiles in a config ------------------------------------------------------------------


def test_active_profile_fallbacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = full_config(tmp_path / "c.toml")
    assert config.active().name == "Relay"
    config.settings.active_profile = "Gone"
    assert config.active().name == "Azure"  # the first
    config.profiles.clear()
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    assert config.active().api_key == "${OPENAI_API_KEY}"
    monkeypatch.delenv("OPENAI_API_KEY")
    assert config.active().base_url == DEMO_URL


def test_config_mutators_keep_invariants(tmp_path: Path) -> None:
    config = full_config(tmp_path / "c.toml")
    with pytest.raises(ValueError, match="already exists"):
        config.add(Profile("Relay", "https://other.example/v1"))
    with pytest.raises(ValueError, match="partial_images"):
        config.add(Profile("Bad", "https://other.example/v1", partial_images=9))
    config.add(Profile("New", "https://new.example/v1"))
    assert config.names() == ["Azure", "Relay", "Demo", "New"]

    config.move("New", -2)
    assert config.names() == ["Azure", "New", "Relay", "Demo"]
    config.move("Azure", -5)  # clamped
    assert config.names()[0] == "Azure"

    config.replace("Relay", Profile("Relay 2", "https://relay.example/v1"))
    assert config.settings.active_profile == "Relay 2"  # the active choice follows a rename
    with pytest.raises(ValueError):
        config.replace("Relay 2", Profile("Azure", "https://relay.example/v1"))

    config.set_active("Demo")
    assert config.names() == ["Azure", "New", "Relay 2", "Demo"]
    assert config.remove("Demo") == "Relay 2"  # the active one: the one above takes over
    assert config.settings.active_profile == "Relay 2" and config.get("Demo") is None
    with pytest.raises(KeyError):
        config.set_active("Nope")


def test_deleting_the_active_profile_names_its_successor(tmp_path: Path) -> None:
    """Issue 14.10: the next profile becomes active explicitly, and the caller learns which."""
    config = full_config(tmp_path / "c.toml")
    config.set_active("Azure")
    assert config.remove("Azure") == "Relay"  # the one now in its place
    assert config.settings.active_profile == "Relay"
    assert config.remove("Demo") is None  # not the active one: nothing changes
    assert config.settings.active_profile == "Relay"
    assert config.remove("Relay") is None and config.profiles == []
    assert config.settings.active_profile is None


def test_reordering_never_changes_the_active_profile(tmp_path: Path) -> None:
    config = full_config(tmp_path / "c.toml")
    config.settings.active_profile = None  # "the first one" by default
    assert config.active().name == "Azure"
    config.move("Relay", -1)
    assert config.names() == ["Relay", "Azure", "Demo"]
    assert config.active().name == "Azure" and config.settings.active_profile == "Azure"
    config.set_active("Demo")
    config.move("Demo", -2)
    config.move("Relay", 2)
    assert config.active().name == "Demo"
    # deleting another profile while the default is "the first one" pins it too
    config.settings.active_profile = None
    first = config.names()[0]
    config.remove(config.names()[1])
    assert config.settings.active_profile == first


# -- where files live ----------------------------------------------------------------------


def test_config_path_honours_override_and_xdg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMGTUI_CONFIG_FILE", str(tmp_path / "elsewhere.toml"))
    assert config_path() == tmp_path / "elsewhere.toml"
    monkeypatch.delenv("IMGTUI_CONFIG_FILE")
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
        assert config_path() == tmp_path / "xdg" / "imgtui" / "config.toml"


def test_data_dir_honours_override_and_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGTUI_DATA_DIR", str(tmp_path / "data"))
    assert data_dir() == tmp_path / "data"
    monkeypatch.delenv("IMGTUI_DATA_DIR")
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdgdata"))
        assert data_dir() == tmp_path / "xdgdata" / "imgtui"


def test_import_is_light_and_writes_nothing(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "PYTHONPATH": str(Path(cfg.__file__).parents[1]),
    }
    code = "import sys, imgtui.config, imgtui.store; assert 'textual' not in sys.modules, 'textual imported'"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []


# -- share links ---------------------------------------------------------------------------


def test_import_the_readme_link() -> None:
    p = profile_from_share_url(README_LINK)
    assert (p.name, p.base_url, p.api_key, p.api_mode) == (
        "Code0",
        "https://code0.ai/v1",
        "",
        "images",
    )
    # what the link leaves out means the playground's defaults: images mode streams nothing
    assert (p.model, p.stream, p.partial_images) == ("gpt-image-2.6-sunburst", False, 1)


def test_import_a_full_link_with_key_and_stream_settings() -> None:
    url = (
        "https://cooksleep.github.io/gpt_image_playground?apiUrl=https%3A%2F%2Frelay.example%2Fv1"
        "&apiKey=relay-key-123456&apiMode=images&model=gpt-image-2&profileName=My+Relay"
        "&codexCli=true&streamImages=false&streamPartialImages=0&somethingNew=1"
    )
    p = profile_from_share_url(url)
    assert p == Profile(
        "My Relay",
        "https://relay.example/v1",
        api_key="relay-key-123456",
        model="gpt-image-2",
        stream=False,
        partial_images=0,
        size_in_prompt=True,
    )


def test_responses_mode_model_is_the_mainline_model() -> None:
    p = profile_from_share_url(
        "apiUrl=https://relay.example/v1&apiMode=responses&model=gpt-5.5&streamImages=true&streamPartialImages=3"
    )
    assert (p.api_mode, p.mainline_model, p.model, p.partial_images) == (
        "responses",
        "gpt-5.5",
        "gpt-image-2.6-sunburst",
        3,
    )
    back = parse_qs(urlsplit(profile_to_share_url(p)).query)
    assert back["model"] == ["gpt-5.5"]


@pytest.mark.parametrize(
    ("link", "base_url"),
    [
        ("?apiUrl=https://relay.example", "https://relay.example/v1"),  # the playground adds /v1
        ("apiUrl=https://relay.example/v1/", "https://relay.example/v1/"),  # kept as written
        ("apiUrl=https://relay.example/openai/", "https://relay.example/openai/"),
        ("apiUrl=https://relay.example/api/v1/images/generations", "https://relay.example/api/v1"),
        ("apiUrl=https://relay.example/openai", "https://relay.example/openai/v1"),
        ("apiUrl=relay.example:8443/v1", "https://relay.example:8443/v1"),  # no scheme: https
        ("apiUrl=http://localhost:8080", "http://localhost:8080/v1"),
        (
            "https://host.example/#/?apiUrl=https%3A%2F%2Fhash.example%2Fv1",
            "https://hash.example/v1",
        ),
        ("https://host.example/#apiUrl=https%3A%2F%2Fhash.example%2Fv1", "https://hash.example/v1"),
        (
            "gpt-image-playground.cooksleep.dev/?apiUrl=https%3A%2F%2Fcode0.ai%2Fv1",
            "https://code0.ai/v1",
        ),
    ],
)
def test_api_url_forms(link: str, base_url: str) -> None:
    assert profile_from_share_url(link).base_url == base_url


def test_imported_name_is_made_unique_and_defaults_to_the_host() -> None:
    assert profile_from_share_url(README_LINK, existing_names=["Code0"]).name == "Code0 (2)"
    assert (
        profile_from_share_url(README_LINK, existing_names=["Code0", "Code0 (2)"]).name
        == "Code0 (3)"
    )
    assert profile_from_share_url("apiUrl=https://relay.example/v1").name == "relay.example"


@pytest.mark.parametrize(
    ("link", "words"),
    [
        ("", "empty"),
        ("https://gpt-image-playground.cooksleep.dev/", "no apiUrl"),
        ("apiMode=images", "no apiUrl"),
        ("apiUrl=", "no apiUrl"),
        ("settings=%7B%22profiles%22%3A%5B%5D%7D", "no profile of a provider imgtui has"),
        ("settings=%7Bnot+json", "not valid JSON"),
        ("apiUrl=ftp://relay.example/v1", "http:// or https://"),
        ("apiUrl=javascript:alert(1)//x", "not a valid address"),
        ("apiUrl=https://relay.example/v1&apiMode=chat", "apiMode"),
        ("apiUrl=https://relay.example/v1&streamPartialImages=4", "streamPartialImages"),
        ("apiUrl=https://relay.example/v1&streamPartialImages=-1", "streamPartialImages"),
        ("apiUrl=https://relay.example/v1&streamPartialImages=two", "streamPartialImages"),
        ("apiUrl=https://relay.example/v1&streamPartialImages=1.5", "streamPartialImages"),
        ("apiUrl=https://relay.example/v1&streamImages=yes", "streamImages"),
        ("apiUrl=https://relay.example/v1&streamImages=1", "streamImages"),
        ("apiUrl={address}&apiKey={key}&model={model}", "template"),
        ("ftp://files.example/?apiUrl=https://relay.example/v1", "not a web link"),
        ("apiUrl=https://relay.example/v1&apiKey=has%20space", "apiKey: contains whitespace"),
    ],
)
def test_bad_links_raise_share_url_error(link: str, words: str) -> None:
    with pytest.raises(ShareUrlError, match=words):
        profile_from_share_url(link)


def test_export_format_and_round_trip() -> None:
    p = Profile(
        "My Relay",
        "https://relay.example/v1",
        api_key="relay-key-123456",
        model="gpt-image-2",
        stream=False,
        partial_images=1,
    )
    url = profile_to_share_url(p)
    assert url == (
        "https://gpt-image-playground.cooksleep.dev/?apiUrl=https%3A%2F%2Frelay.example%2Fv1"
        "&model=gpt-image-2&profileName=My+Relay"
    )  # apiMode=images, no streaming and 1 partial are the playground's defaults: left out
    assert "relay-key" not in url
    back = profile_from_share_url(url)
    assert back == Profile(
        "My Relay", "https://relay.example/v1", model="gpt-image-2", stream=False, partial_images=1
    )


def test_export_with_key_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    literal = Profile("L", "https://relay.example/v1", api_key="relay-key-123456")
    assert (
        profile_from_share_url(profile_to_share_url(literal, include_key=True)).api_key
        == "relay-key-123456"
    )

    ref = Profile("R", "https://relay.example/v1", api_key="${RELAY_KEY}")
    monkeypatch.delenv("RELAY_KEY", raising=False)
    assert "apiKey" not in profile_to_share_url(ref)
    with pytest.raises(ShareUrlError, match="not set"):
        profile_to_share_url(ref, include_key=True)
    monkeypatch.setenv("RELAY_KEY", "resolved-key-7890")
    assert parse_qs(urlsplit(profile_to_share_url(ref, include_key=True)).query)["apiKey"] == [
        "resolved-key-7890"
    ]
    assert "resolved-key" not in profile_to_share_url(ref)


def test_demo_cannot_be_shared_and_losses_are_listed() -> None:
    with pytest.raises(ShareUrlError, match="demo"):
        profile_to_share_url(demo_profile())
    p = Profile(
        "A", "https://a.example/v1", headers={"api-key": "${K}"}, query={"v": "1"}, timeout=30
    )
    assert cfg.share_url_losses(p) == ["timeout (s)", "extra headers", "query params"]
    assert cfg.share_url_losses(Profile("B", "https://b.example/v1")) == []


# -- profile validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field_name"),
    [
        ({"name": "  "}, "name"),
        ({"name": "two\nlines"}, "name"),
        ({"base_url": "api.openai.com/v1"}, "base_url"),
        ({"base_url": "https://"}, "base_url"),
        ({"base_url": "https://x.example/v1?api-version=1"}, "base_url"),
        ({"api_mode": "chat"}, "api_mode"),
        ({"partial_images": 4}, "partial_images"),
        ({"partial_images": True}, "partial_images"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": 3601}, "timeout"),
        ({"headers": {"Bad Header": "x"}}, "headers"),
        ({"headers": {"X-Ok": "a\r\nInjected: 1"}}, "headers"),
        ({"model": ""}, "model"),
    ],
)
def test_profile_errors(changes: dict, field_name: str) -> None:
    values = {"name": "P", "base_url": "https://x.example/v1", **changes}
    assert field_name in Profile(**values).errors()


def test_valid_profiles_have_no_errors() -> None:
    assert Profile("P", "https://x.example/v1", headers={"api-key": "${K}"}).errors() == {}
    assert Profile("P", "http://127.0.0.1:8080/v1", timeout=3600).errors() == {}
    assert demo_profile().errors() == {}


# -- property: every field a link carries survives the round trip --------------------------

_one_line = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)


@hsettings(max_examples=150, deadline=None)
@given(
    name=_one_line,
    model=_one_line,
    api_mode=st.sampled_from(["images", "responses"]),
    stream=st.booleans(),
    partials=st.integers(0, 3),
    path=st.sampled_from(["/v1", "/api/v1", "/openai/v1"]),
)
def test_share_link_round_trip_property(
    name: str, model: str, api_mode: str, stream: bool, partials: int, path: str
) -> None:
    p = Profile(
        name,
        f"https://relay.example{path}",
        api_mode=api_mode,
        stream=stream,
        partial_images=partials,
    )
    if api_mode == "responses":
        p.mainline_model = model
    else:
        p.model = model
    assert profile_from_share_url(profile_to_share_url(p)) == p


def test_no_signature_default_can_print_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # help() and signature renderers show defaults; os.environ as a default would show every key
    import inspect

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    for name in cfg.__all__:
        obj = getattr(cfg, name)
        members = [obj, *vars(obj).values()] if inspect.isclass(obj) else [obj]
        for member in members:
            if callable(member):
                try:
                    assert SECRET not in str(inspect.signature(member)), f"{name}: {member}"
                except ValueError:
                    pass  # builtins without a signature


def test_the_profile_deadline_reaches_the_connection() -> None:
    conn = Profile("P", "https://x.example/v1", deadline=42.5).connection()
    assert conn.deadline == 42.5
    assert Profile("P", "https://x.example/v1").connection().deadline == 900.0


def test_a_deeply_nested_config_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(path)
