"""The cost of a task on its card (from its usage, imgtui.spending)."""

from __future__ import annotations

from imgtui.tasks import ImageParams, Task
from imgtui.tui.widgets.task_card import status_line


def test_card_shows_the_cost_of_a_priced_task():
    task = Task(prompt="x", params=ImageParams(model="gpt-image-2.6-flare"))
    task.start(now=100.0)
    task.slots[0].usage = {"input_tokens": 200, "output_tokens": 1000}  # $0.031
    assert status_line(task, 101.0).plain.endswith("  $0.031")
    unpriced = Task(prompt="x", params=ImageParams(model="relay-image"))
    unpriced.start(now=100.0)
    unpriced.slots[0].usage = {"input_tokens": 100, "output_tokens": 1000}
    assert "$" not in status_line(unpriced, 101.0).plain
