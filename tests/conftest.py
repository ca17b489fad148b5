"""Shared fixtures: a store in a temp folder, and the CLI run for real in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from custodiet.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "home")


def run_cli(*args: str, home: Path | None = None, check: bool = True, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `custodiet ARGS` as a user would; returns the completed process (stdout, stderr, returncode)."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    cmd = [sys.executable, "-m", "custodiet", *(["--home", str(home)] if home else []), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=full_env, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"custodiet {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc
