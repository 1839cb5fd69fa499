"""Profiles and settings: typed, validated, TOML on disk under platformdirs.

The package's parts, one job each:
  model      Profile, Settings, Config and the ONE table of their fields
  secrets    `${VAR}` references: resolution and masking
  paths      where the config file, the data folder and saved images live
  toml_file  the strict reader and the atomic, private writer, derived from the table
  share      gpt_image_playground share links, to and from profiles

Everything public is re-exported here: `from imgtui.config import Profile, load, save`.
Nothing in this package touches the file system at import time, or imports Textual.
"""

from __future__ import annotations

from imgtui.config.model import (
    DEMO_URL,
    MAX_NAME,
    MAX_TIMEOUT,
    OPENAI_BASE_URL,
    PRICE_RATES,
    PROFILE_FIELDS,
    REASONING_EFFORTS,
    RENDERERS,
    SETTINGS_FIELDS,
    TRANSPARENT_METHODS,
    CliFlag,
    Config,
    FieldSpec,
    Kind,
    Profile,
    Settings,
    apply_flags,
    base_url_problem,
    cli_flags,
    demo_profile,
    env_profile,
    format_pairs,
    parse_pairs,
    profile_field,
)
from imgtui.config.paths import APP_NAME, config_path, data_dir, default_output_dir
from imgtui.config.share import (
    SHARE_URL_BASE,
    ShareImport,
    ShareUrlError,
    profile_from_share_url,
    profile_to_share_url,
    read_share_link,
    share_url_losses,
)
from imgtui.config.toml_file import ConfigError, ensure_env_profile, load, save, to_toml

__all__ = [
    "APP_NAME",
    "DEMO_URL",
    "MAX_NAME",
    "MAX_TIMEOUT",
    "OPENAI_BASE_URL",
    "PRICE_RATES",
    "PROFILE_FIELDS",
    "REASONING_EFFORTS",
    "RENDERERS",
    "SETTINGS_FIELDS",
    "SHARE_URL_BASE",
    "TRANSPARENT_METHODS",
    "CliFlag",
    "Config",
    "ConfigError",
    "FieldSpec",
    "Kind",
    "Profile",
    "Settings",
    "ShareImport",
    "ShareUrlError",
    "apply_flags",
    "base_url_problem",
    "cli_flags",
    "config_path",
    "data_dir",
    "default_output_dir",
    "demo_profile",
    "ensure_env_profile",
    "env_profile",
    "format_pairs",
    "load",
    "parse_pairs",
    "profile_field",
    "profile_from_share_url",
    "profile_to_share_url",
    "read_share_link",
    "save",
    "share_url_losses",
    "to_toml",
]
