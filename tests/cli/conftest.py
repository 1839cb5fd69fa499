"""Fixtures of the CLI tests."""

from __future__ import annotations

import pytest

from tests.cli.helpers import clean_env


@pytest.fixture
def env(tmp_path, server):
    """A clean environment: its own config and data dirs, no OpenAI variables."""
    server.clear()
    return clean_env(tmp_path)
