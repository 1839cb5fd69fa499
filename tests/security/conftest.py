"""The hostile server, one per session (its recordings are cleared for each test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.security.hostile import Hostile, HostileServer


@pytest.fixture(scope="session")
def hostile_server() -> Iterator[Hostile]:
    with HostileServer() as state:
        yield state


@pytest.fixture
def hostile(hostile_server: Hostile) -> Hostile:
    hostile_server.requests.clear()
    return hostile_server
