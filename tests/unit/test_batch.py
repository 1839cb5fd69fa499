"""Batch files for `generate --from` (imgtui.batch)."""

from __future__ import annotations

import pytest

from imgtui.batch import MAX_ITEMS, BatchError, BatchItem, parse_batch, read_batch


def test_lines_and_json_lines_mix(tmp_path):
    text = "\n".join(
        [
            "a red fox",
            "",
            "# a comment",
            '{"prompt": "a castle", "size": "1536x1024", "n": 2, "stream": false}',
            '{"prompt": "a cat sticker", "transparent": "local", "images": ["cat.png"]}',
            "   trailing spaces are trimmed   ",
        ]
    )
    (tmp_path / "batch.txt").write_text(text, encoding="utf-8")
    items = read_batch(tmp_path / "batch.txt")
    assert items == [
        BatchItem("a red fox", {}, 1),
        BatchItem("a castle", {"size": "1536x1024", "n": 2, "stream": False}, 4),
        BatchItem(
            "a cat sticker",
            {"transparent": "local", "images": [str(tmp_path / "cat.png")]},
            5,
        ),
        BatchItem("trailing spaces are trimmed", {}, 6),
    ]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('{"prompt": "x", "sise": "1024x1024"}', "unknown key 'sise'"),
        ('{"prompt": "x", "n": "2"}', "'n' has the wrong type"),
        ('{"prompt": "x", "n": true}', "'n' has the wrong type"),
        ('{"size": "auto"}', "missing prompt"),
        ('{"prompt": "x",', "not valid JSON"),
        ('{"prompt": "x", "transparent": "yes"}', "native or local"),
    ],
)
def test_bad_lines_are_named(line, words):
    with pytest.raises(BatchError, match=words) as info:
        parse_batch(f"fine\n{line}\n")
    assert info.value.line == 2


def test_empty_and_oversized_batches_are_refused():
    with pytest.raises(BatchError, match="no prompts"):
        parse_batch("# only a comment\n\n")
    with pytest.raises(BatchError, match=f"more than {MAX_ITEMS}"):
        parse_batch("p\n" * (MAX_ITEMS + 1))
