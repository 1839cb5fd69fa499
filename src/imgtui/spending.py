"""What tasks cost: per task from each image's `usage` (`imgtui.models.prices`), totals per
day and per profile, and the optional daily spending limit of a profile.

Days are local calendar days of a task's `created_at`. A task whose usage a price table
can't price (a model the table doesn't know, no usage) counts as `unpriced`, never as free.
The limit (`Profile.daily_limit_usd`) refuses new tasks once today's priced spending on
that profile reaches it; a running stream is never stopped (the check happens before a
task is sent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from imgtui.models import cost_usd
from imgtui.tasks import Task

Overrides = Mapping[str, Mapping[str, Mapping[str, object]]]  # profile -> model -> rates


def task_cost(
    task: Task, overrides: Mapping[str, Mapping[str, object]] | None = None
) -> float | None:
    """USD for the images of `task` that arrived (None when none of them is priced)."""
    costs = [
        cost_usd(task.params.model, slot.usage, overrides=overrides)
        for slot in task.slots
        if slot.usage
    ]
    priced = [c for c in costs if c is not None]
    return round(sum(priced), 6) if priced else None


@dataclass
class Totals:
    """One day on one profile."""

    day: str  # YYYY-MM-DD, local
    profile: str
    tasks: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0  # tasks with usage no price table covers

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "profile": self.profile,
            "tasks": self.tasks,
            "cost_usd": round(self.cost_usd, 6),
            "unpriced": self.unpriced,
        }


def _day(task: Task) -> str:
    return datetime.fromtimestamp(task.created_at).date().isoformat()


def totals(tasks: Iterable[Task], overrides: Overrides | None = None) -> list[Totals]:
    """Totals per (day, profile), newest day first, then by profile name. Tasks without
    any usage (failed before an image arrived) are not counted."""
    out: dict[tuple[str, str], Totals] = {}
    for task in tasks:
        if not any(slot.usage for slot in task.slots):
            continue
        key = (_day(task), task.profile_name)
        row = out.setdefault(key, Totals(*key))
        row.tasks += 1
        cost = task_cost(task, (overrides or {}).get(task.profile_name))
        if cost is None:
            row.unpriced += 1
        else:
            row.cost_usd += cost
    return sorted(out.values(), key=lambda t: (-date.fromisoformat(t.day).toordinal(), t.profile))


def spent_today(
    tasks: Iterable[Task],
    profile: str,
    overrides: Mapping[str, Mapping[str, object]] | None = None,
    today: date | None = None,
) -> float:
    """USD spent (priced) today on `profile`."""
    day = (today or date.today()).isoformat()
    return sum(
        task_cost(t, overrides) or 0.0
        for t in tasks
        if t.profile_name == profile and _day(t) == day
    )


class LimitReached(Exception):
    """A profile's daily spending limit is reached: no new task is sent."""


def check_daily_limit(
    tasks: Iterable[Task],
    profile: str,
    limit_usd: float | None,
    overrides: Mapping[str, Mapping[str, object]] | None = None,
    today: date | None = None,
) -> None:
    """Raise LimitReached when today's spending on `profile` reached `limit_usd` (None:
    no limit)."""
    if limit_usd is None:
        return
    spent = spent_today(tasks, profile, overrides, today)
    if spent >= limit_usd:
        raise LimitReached(
            f"the daily spending limit of profile {profile!r} is reached: ${spent:.2f} of "
            f"${limit_usd:.2f} today; new tasks start again tomorrow (or raise "
            "daily_limit_usd in its settings)"
        )


class _Priced(Protocol):
    name: str
    price_overrides: dict[str, dict[str, float]]


@dataclass
class PriceBook:
    """The price overrides of every profile (`Profile.price_overrides`), so a task's cost
    uses the rates of the profile it ran on: the cards, the detail view and the app's
    spending line all price through one of these."""

    overrides: dict[str, Mapping[str, Mapping[str, object]]] = field(default_factory=dict)

    @classmethod
    def of(cls, profiles: Iterable[_Priced]) -> PriceBook:
        return cls({p.name: p.price_overrides for p in profiles if p.price_overrides})

    def cost(self, task: Task) -> float | None:
        """USD for `task` at its profile's rates (`task_cost`); None when unpriced."""
        return task_cost(task, self.overrides.get(task.profile_name))


#: How the TUI prices one task (a `PriceBook.cost`, or plain `task_cost`).
CostFn = Callable[[Task], "float | None"]


def spending_line(
    tasks: Iterable[Task],
    profile: str,
    limit_usd: float | None,
    prices: PriceBook,
    today: date | None = None,
) -> str:
    """One line for the app: what `profile` spent today and its daily limit, e.g.
    `today $0.42 on Demo` or `today $5.10 of $5.00 on Demo: limit reached`; "" when
    nothing was spent and there is no limit."""
    spent = spent_today(tasks, profile, prices.overrides.get(profile), today)
    if limit_usd is None:
        return f"today ${spent:.2f} on {profile}" if spent else ""
    line = f"today ${spent:.2f} of ${limit_usd:.2f} on {profile}"
    return line + ": limit reached" if spent >= limit_usd else line
