"""Fixtures for the ledger tests."""

from __future__ import annotations

import pytest

from custodiet.store import Store


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "home")
