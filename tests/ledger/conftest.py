"""Fixtures for the ledger tests."""

from __future__ import annotations

import pytest

from custodiet import ledger
from custodiet.store import Store

from .helpers import append_batches


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "home")


@pytest.fixture
def filled(store: Store) -> Store:
    """A ledger of three segments: 1 holds events 0-3, 2 holds 4-9, 3 holds 10-14."""
    append_batches(store, [4, 6, 5])
    assert ledger.verify(store).ok
    return store
