"""imgtui.spending: task cost, totals per day and profile, the daily limit."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from imgtui.spending import LimitReached, check_daily_limit, task_cost, totals
from imgtui.tasks import ImageParams, Task

USAGE = {"input_tokens": 100, "output_tokens": 1000}  # $0.0005 + $0.03 on 2.6


def task(profile="P", model="gpt-image-2.6-flare", day=(2026, 11, 30), usages=(USAGE,)):
    t = Task(
        prompt="x",
        params=ImageParams(model=model, n=len(usages)),
        profile_name=profile,
        created_at=datetime(*day, 12).timestamp(),
    )
    t.queue()
    for slot, usage in zip(t.slots, usages, strict=True):
        slot.usage = usage
    return t


def test_task_cost_sums_its_images():
    assert task_cost(task(usages=(USAGE, USAGE))) == pytest.approx(2 * 0.0305)
    assert task_cost(task(model="relay")) is None
    assert task_cost(task(model="relay"), {"relay": {"text_input": 0, "image_output": 10}}) == (
        pytest.approx(0.01)
    )


def test_totals_per_day_and_profile():
    rows = totals(
        [
            task("A"),
            task("A"),
            task("B", day=(2026, 11, 29)),
            task("A", model="relay"),
            task("A", usages=(None,)),  # nothing arrived: not counted
        ]
    )
    assert [r.to_json() for r in rows] == [
        {"day": "2026-11-30", "profile": "A", "tasks": 3, "cost_usd": 0.061, "unpriced": 1},
        {"day": "2026-11-29", "profile": "B", "tasks": 1, "cost_usd": 0.0305, "unpriced": 0},
    ]


def test_daily_limit():
    tasks = [task("A"), task("A"), task("A", day=(2026, 11, 29)), task("B")]
    today = date(2026, 11, 30)
    check_daily_limit(tasks, "A", None, today=today)
    check_daily_limit(tasks, "A", 0.07, today=today)
    with pytest.raises(LimitReached, match=r"profile 'A' is reached: \$0.06 of \$0.06 today"):
        check_daily_limit(tasks, "A", 0.061, today=today)
    check_daily_limit(tasks, "A", 0.061, today=date(2026, 12, 1))  # a new day
