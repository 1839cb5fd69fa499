"""`imgtui history list|import`, `imgtui import`, `imgtui providers`: in-process, on real
files (the config and data dirs of the test, see conftest)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from PIL import Image

from imgtui.backup import playground_task_id
from imgtui.cli import main
from imgtui.config import data_dir
from imgtui.recipe import Recipe, embed
from imgtui.store import Store

KEY = "sk-playground-secret-4242424242"


def png(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), color).save(buf, "PNG")
    return buf.getvalue()


def playground_backup(path: Path) -> Path:
    """A version-3 backup as gpt_image_playground writes it (exportZip.ts)."""
    image = png("red")
    manifest = {
        "version": 3,
        "exportedAt": "2026-11-30T10:00:00.000Z",
        "settings": {
            "profiles": [
                {
                    "id": "p1",
                    "name": "Relay",
                    "provider": "openai",
                    "apiKey": KEY,
                    "baseUrl": "https://relay.example/v1",
                    "model": "gpt-image-2",
                    "apiMode": "images",
                }
            ],
            "customProviders": [],
        },
        "tasks": [
            {
                "id": "pg-1",
                "prompt": "a red fox sticker",
                "apiModel": "gpt-image-2",
                "params": {
                    "size": "1024x1024",
                    "quality": "high",
                    "output_format": "png",
                    "output_compression": None,
                    "moderation": "auto",
                    "n": 1,
                },
                "inputImageIds": [],
                "outputImages": ["img-1"],
                "status": "done",
                "error": None,
                "createdAt": 1_760_000_000_000,
                "finishedAt": 1_760_000_030_000,
                "elapsed": 30_000,
                "isFavorite": True,
                "favoriteCollectionIds": ["fav-1"],
            }
        ],
        "favoriteCollections": [
            {"id": "fav-1", "name": "Stickers", "createdAt": 1, "updatedAt": 1}
        ],
        "imageFiles": {"img-1": {"path": "images/task-pg-1.png"}},
    }
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("images/task-pg-1.png", image)
        zf.writestr("manifest.json", json.dumps(manifest))
    return path


def store_tasks():
    s = Store(data_dir())
    s.open()
    try:
        return s.load()
    finally:
        s.close()


def test_playground_backup_imports_and_lists(tmp_path, capsys):
    backup = playground_backup(tmp_path / "backup.zip")
    assert main(["history", "import", str(backup)]) == 0
    assert "imported 1 task(s), skipped 0" in capsys.readouterr().out
    (task,) = store_tasks()
    assert task.id == playground_task_id("pg-1") and task.starred
    assert task.images[0].read_bytes() == png("red")

    assert main(["history", "import", str(backup)]) == 0
    assert "imported 0 task(s), skipped 1" in capsys.readouterr().out

    assert main(["history", "list", "--json"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    row = json.loads(line)
    assert row["id"] == task.id and row["prompt"] == "a red fox sticker"
    assert row["status"] == "done" and row["images"] == [str(task.images[0])]
    assert main(["history", "list"]) == 0
    assert "a red fox sticker" in capsys.readouterr().out


def test_backup_profiles_come_without_keys_unless_asked(tmp_path, capsys):
    from imgtui import config as cfg

    backup = playground_backup(tmp_path / "backup.zip")
    assert main(["history", "import", "--profiles", str(backup)]) == 0
    profile = cfg.load().get("Relay")
    assert profile.base_url == "https://relay.example/v1" and profile.api_key == ""
    assert KEY not in Path(cfg.config_path()).read_text()


def test_history_list_is_safe_for_a_terminal(tmp_path, capsys):
    image = tmp_path / "evil.png"
    image.write_bytes(embed(png("blue"), Recipe(prompt="title\x1b]0;pwned\x07\nnext")))
    assert main(["import", str(image)]) == 0
    capsys.readouterr()
    assert main(["history", "list"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and len(out.splitlines()) == 1


def test_import_recreates_tasks_and_names_plain_images(tmp_path, capsys):
    carrying = tmp_path / "fox.png"
    carrying.write_bytes(
        embed(
            png("red"),
            Recipe(
                prompt="a fox",
                params={"size": "1024x1024"},
                model="gpt-image-2",
                task_id="0123456789ab",
            ),
        )
    )
    plain = tmp_path / "photo.png"
    plain.write_bytes(png("white"))
    assert main(["import", str(carrying), str(plain)]) == 0
    out = capsys.readouterr().out
    assert "imported task 0123456789ab" in out
    assert f"{plain}: no recipe inside" in out and f"generate -i {plain}" in out
    (task,) = store_tasks()
    assert task.prompt == "a fox" and task.model == "gpt-image-2"


def test_providers_import_and_list(tmp_path, capsys):
    from imgtui import config as cfg

    export = {
        "customProviders": [
            {
                "id": "custom-x",
                "name": "X relay",
                "submit": {"path": "images/generations", "taskIdPath": "data"},
                "poll": {"path": "images/tasks/{task_id}", "statusPath": "data.status"},
            }
        ],
        "profiles": [
            {
                "name": "X",
                "provider": "custom-x",
                "baseUrl": "https://x.example/v1",
                "model": "gpt-image-2",
            }
        ],
    }
    path = tmp_path / "providers.json"
    path.write_text(json.dumps(export))
    assert main(["providers", "import", str(path)]) == 0
    assert "custom-x" in capsys.readouterr().out
    assert cfg.load().get("X").provider == "custom-x"
    assert main(["providers", "list"]) == 0
    assert "custom-x  X relay  (async)" in capsys.readouterr().out


def test_collections_from_the_command_line(tmp_path, capsys):
    backup = playground_backup(tmp_path / "backup.zip")
    assert main(["history", "import", str(backup)]) == 0
    task_id = playground_task_id("pg-1")
    assert main(["collections", "add", "Best", task_id]) == 0
    assert main(["collections", "list"]) == 0
    out = capsys.readouterr().out
    assert "1  Best" in out and "1  Stickers" in out  # the playground favourite came along
    assert main(["history", "list", "--json", "--collection", "Best"]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["id"] == task_id and row["collections"] == ["Best", "Stickers"]
    assert main(["collections", "add", "Best", "nosuchtask00"]) == 2
    assert main(["collections", "remove", "Best"]) == 0
    assert main(["history", "list", "--json", "--collection", "Best"]) == 0
    assert "no task" in capsys.readouterr().err
