"""Fixtures: a clean background world and the same world with one planted abuser per detector."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from detect_world import background, plant

from custodiet.detect.run import load_findings, run_detectors
from custodiet.store import Store


def _build(root: Path, planted: bool) -> Store:
    store = Store(root)
    w = background(store)
    if planted:
        plant(w)
    w.commit()
    run_detectors(store, channel="portal")
    return store


@pytest.fixture(scope="session")
def clean_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return _build(tmp_path_factory.mktemp("clean"), planted=False)


@pytest.fixture(scope="session")
def planted_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return _build(tmp_path_factory.mktemp("planted"), planted=True)


@pytest.fixture
def flagged() -> Callable[[Store, str], set[str]]:
    def actors(store: Store, detector_id: str) -> set[str]:
        return {f["actor"] for f in load_findings(store) if f["detector"] == detector_id}
    return actors
