"""Where imgtui's files live: the config file, the data folder, the default output folder.

Overrides for tests and unusual setups: `IMGTUI_CONFIG_FILE`, `IMGTUI_DATA_DIR` (the
layering posting uses in `locations.py`); otherwise the platform folders from platformdirs
(`XDG_CONFIG_HOME` / `XDG_DATA_HOME` on Linux). Nothing is created here: the callers that
write create folders privately (`imgtui.files.make_private_dir`).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from imgtui.config.model import Config, Settings

__all__ = ["APP_NAME", "config_path", "data_dir", "default_output_dir"]

APP_NAME = "imgtui"


def config_path() -> Path:
    """$IMGTUI_CONFIG_FILE, else the platform config dir (XDG_CONFIG_HOME on Linux)."""
    override = os.environ.get("IMGTUI_CONFIG_FILE")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def data_dir() -> Path:
    """$IMGTUI_DATA_DIR, else the platform data dir (XDG_DATA_HOME on Linux)."""
    override = os.environ.get("IMGTUI_DATA_DIR")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_data_path(APP_NAME)


def default_output_dir(config: Config | Settings) -> Path:
    """Where "save" puts images: the configured `output_dir`, else ~/Pictures/imgtui when
    ~/Pictures exists, else the current folder. The folder may not exist yet."""
    settings = config.settings if isinstance(config, Config) else config
    configured = settings.output_path
    if configured is not None:
        return configured
    pictures = Path.home() / "Pictures"
    return pictures / APP_NAME if pictures.is_dir() else Path.cwd()
