"""Scratch space named by process, and removing what dead processes left behind.

Everything temporary in a store carries the id of the process that made it: crash-safe writes go through
``.tmp-<pid>-<name>`` beside their target (``atomic.temp_path``), DuckDB spills into ``tmp/duckdb-<pid>-…``
and detectors keep their shared tables in ``tmp/detect-<pid>-…``. A process that is killed cannot clean
up, so every writer (``Store.writer``) and every detection run calls ``remove_dead`` first: whatever such
a name ties to a process that no longer exists is removed. Files of live processes are never touched.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
from pathlib import Path

from custodiet.store import Store

_TEMP = re.compile(r"^\.tmp-(\d+)-")
_SCRATCH = re.compile(r"^(?:detect|duckdb)-(\d+)-")
_counter = itertools.count()


def process_dir(store: Store, kind: str) -> Path:
    """A new path ``<home>/tmp/<kind>-<pid>-<n>`` for this process's scratch files (not created here)."""
    return store.tmp_dir / f"{kind}-{os.getpid()}-{next(_counter)}"


def alive(pid: int) -> bool:
    """Whether a process with this id exists (one we may not signal counts as existing)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _folders(store: Store) -> list[Path]:
    """Where crash-safe writes put their temp files."""
    home = store.home
    folders = [home, home / "ledger", store.segments_dir, store.quarantine_dir, store.context_dir, home / "index",
               home / "findings"]
    findings = home / "findings"
    if findings.is_dir():
        folders += [p for p in findings.iterdir() if p.is_dir()]
    return folders


def remove_dead(store: Store) -> list[Path]:
    """Remove temp files and scratch folders of processes that no longer run; returns what was removed."""
    removed: list[Path] = []
    for folder, pattern in [(f, _TEMP) for f in _folders(store)] + [(store.tmp_dir, _SCRATCH)]:
        try:
            names = os.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for name in names:
            match = pattern.match(name)
            if match is None or alive(int(match.group(1))):
                continue
            path = folder / name
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed
