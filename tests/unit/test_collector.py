"""The collector policy: full collections wait while tasks stream, and come back once
(one resume however many header updates say "0 running"), with no forced full pass."""

from __future__ import annotations

import gc

from imgtui.tui.collector import Collector


def test_full_collections_wait_while_streaming_and_come_back_once():
    before = gc.get_threshold()
    queued = []
    collector = Collector(queued.append)
    try:
        collector.streaming(3)
        assert collector.deferred
        assert gc.get_threshold()[:2] == before[:2]  # the young generations run as usual
        collector.streaming(0)
        collector.streaming(0)
        collector.streaming(0)
        assert len(queued) == 1
        collections = gc.get_stats()[2]["collections"]
        queued.pop()()
        assert not collector.deferred
        assert gc.get_threshold() == before
        assert gc.get_stats()[2]["collections"] == collections  # no forced full pass
    finally:
        collector.restore()


def test_a_task_starting_before_the_resume_keeps_them_deferred():
    queued = []
    collector = Collector(queued.append)
    try:
        collector.streaming(1)
        collector.streaming(0)
        collector.streaming(2)
        queued.pop()()
        assert collector.deferred
        collector.streaming(0)
        assert len(queued) == 1
    finally:
        collector.restore()
