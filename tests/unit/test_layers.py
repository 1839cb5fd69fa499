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


#: The one module per dependency allowed to import its private parts (each guarded by a
#: check that tests run: `terminal.check_internals`, `sse.check_httpx_sse`).
PRIVATE_TOUCHES = {
    "textual": "imgtui/tui/terminal.py",
    "textual_image": "imgtui/tui/terminal.py",
    "httpx_sse": "imgtui/api/sse.py",
}


def private_imports(path: Path) -> list[str]:
    """`package._private` modules and `_names` a file imports from the guarded packages."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
            names: list[str] = []
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules = [node.module]
            names = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            package, *parts = module.split(".")
            if package not in PRIVATE_TOUCHES:
                continue
            if any(p.startswith("_") for p in parts) or any(n.startswith("_") for n in names):
                found.append(f"{package}: {module} {names}")
    return found


def test_dependency_internals_are_imported_in_one_module_each():
    root = Path(SRC)
    offenders = {}
    for path in sorted((root / "imgtui").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        for touch in private_imports(path):
            if PRIVATE_TOUCHES[touch.split(":")[0]] != rel:
                offenders.setdefault(rel, []).append(touch)
    assert offenders == {}
    # the check sees the touches that are allowed, so it would see others
    assert private_imports(root / "imgtui/tui/terminal.py")
    assert private_imports(root / "imgtui/api/sse.py")
