"""The layers below the TUI never import Textual, and importing them writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

SRC = str(Path(__file__).parents[2] / "src")
CORE = [
    "imgtui.api",
    "imgtui.api.client",
    "imgtui.demo",
    "imgtui.config",
    "imgtui.store",
    "imgtui.store.history",
    "imgtui.tasks",
    "imgtui.draft",
    "imgtui.runner",
    "imgtui.images",
    "imgtui.desktop",
    "imgtui.cli",
    "imgtui.api.polled",
    "imgtui.backup",
    "imgtui.recipe",
    "imgtui.transparency",
    "imgtui.importing",
    "imgtui.batch",
    "imgtui.config.providers",
    "imgtui.models",
    "imgtui.models.listing",
    "imgtui.spending",
    "imgtui.cli.generate",
]


@pytest.mark.parametrize("module", CORE)
def test_core_does_not_import_textual(module, tmp_path):
    env = os.environ | {
        "PYTHONPATH": SRC,
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "c"),
        "XDG_DATA_HOME": str(tmp_path / "d"),
    }
    env.pop("IMGTUI_CONFIG_FILE", None)
    env.pop("IMGTUI_DATA_DIR", None)
    code = (
        f"import sys, {module}; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'textual_image')); "
        "print(','.join(bad))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "", f"{module} imports {r.stdout.strip()}"
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "importing wrote files"


def test_every_module_is_placed_in_the_import_contracts():
    """A new top-level module must be put in a layer of pyproject.toml's import contracts
    (`lint-imports` only checks the modules named there), and the core's ones also in the
    no-Textual contract."""
    root = Path(SRC) / "imgtui"
    modules = {
        f"imgtui.{p.stem}" if p.is_file() else f"imgtui.{p.name}"
        for p in root.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    config = tomllib.loads((Path(SRC).parent / "pyproject.toml").read_text("utf-8"))
    contracts = {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}
    layers_contract = contracts["api -> core -> tui -> cli, never back"]
    textual_contract = contracts["the core never imports Textual"]
    in_layers = {
        name.strip()
        for layer in layers_contract["layers"]
        for name in layer.replace("|", ":").split(":")
    }
    assert modules == in_layers
    skins = {"imgtui.__main__", "imgtui.cli", "imgtui.tui"}
    assert set(textual_contract["source_modules"]) == modules - skins
