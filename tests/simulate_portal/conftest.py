"""One small portal world shared by the simulator tests."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from portal_helpers import SMALL, read_csv

from custodiet.simulate.portal import generate


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("portal") / "world"
    generate(SMALL, out)
    return out


@pytest.fixture(scope="session")
def truth(world: Path) -> dict:
    return json.loads((world / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def log(world: Path) -> pa.Table:
    return read_csv(world / "access_log.csv")
