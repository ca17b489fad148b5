"""X1 messages as JSON lines (one object per line, X1's own field names), plain or gzip.

``read_x1_json`` yields one item per non-blank line: the parsed object, or the reason it is not one. A
last line cut short (no line end, not a whole object) or a gzip stream that ends early is reported as the
final item with ``cut=True``: the file is incomplete and the caller says so.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from custodiet.ingest.interception.items import RAW_LIMIT, X1Item


def open_text(path: Path) -> Any:
    """A binary stream of the file's bytes, decompressed when it is gzip."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def read_x1_json(path: Path) -> Iterator[X1Item]:
    line = 0
    pending: bytes | None = None  # the previous line, held back until we know whether it is the last
    try:
        with open_text(path) as fh:
            for raw in fh:
                line += 1
                if pending is not None:
                    yield _item(line - 1, pending, last=False)
                pending = raw
    except (EOFError, OSError, zlib.error) as exc:
        if pending is not None and not pending.endswith(b"\n"):
            yield _item(line, pending, last=False, cut=True)
            return
        if pending is not None:
            yield _item(line, pending, last=False)
        yield X1Item(line + 1, None, f"compressed stream ends early: {exc}", "", cut=True)
        return
    if pending is not None:
        yield _item(line, pending, last=True)


def _item(line: int, raw: bytes, last: bool, cut: bool = False) -> X1Item:
    try:
        text = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        return X1Item(line, None, f"not UTF-8 text at byte {exc.start + 1} of the line",
                      raw.decode("utf-8", errors="replace")[:RAW_LIMIT])
    if not text.strip():
        return X1Item(line, None, None, "")  # blank: neither a message nor an error
    ended = raw.endswith(b"\n")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        if cut or (last and not ended):
            return X1Item(line, None, "file ends inside a record", text[:RAW_LIMIT], cut=True)
        return X1Item(line, None, f"not JSON: {exc.msg} (column {exc.colno})", text[:RAW_LIMIT])
    if cut:
        return X1Item(line, None, "file ends inside a record", text[:RAW_LIMIT], cut=True)
    if not isinstance(obj, dict):
        return X1Item(line, None, "not a JSON object", text[:RAW_LIMIT])
    return X1Item(line, obj, None, text[:RAW_LIMIT])
