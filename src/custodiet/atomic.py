"""Crash-safe file writes: temp file in the same folder, fsync, rename, fsync the folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_file(tmp: Path, path: Path) -> None:
    """Make a fully written temp file visible under its final name, durably."""
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def temp_path(path: Path) -> Path:
    return path.with_name(f".tmp-{os.getpid()}-{path.name}")


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    tmp.write_bytes(data)
    publish_file(tmp, path)


def write_parquet(path: Path, table: pa.Table, row_group_size: int = 1 << 20, **options: Any) -> None:
    """Write ``table`` as zstd Parquet atomically; ``options`` go to ``pyarrow.parquet.write_table``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    pq.write_table(table, tmp, row_group_size=row_group_size, compression="zstd", **options)
    publish_file(tmp, path)


def append_line(path: Path, line: str) -> None:
    """Append one line durably (for append-only logs such as the heads file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line.rstrip("\n") + "\n")
        fh.flush()
        os.fsync(fh.fileno())
