"""One cheap pass over a plain file's bytes, so that staging can leave costly per-record SQL out.

Counting bytes with numpy runs at about 1 GB/s; the regular expressions it replaces (control characters,
padded fields) cost about a second per 2M lines each. The scan is conservative: a gzip file is not
scanned and reports everything as possibly present, so its records get the full checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

_CHUNK = 1 << 24


@dataclass(frozen=True)
class ByteScan:
    """What a file may hold: carriage returns; control characters that are neither a line feed nor the
    carriage return of a CRLF line end; double quotes; spaces. ``True`` means "present or unknown"."""

    has_cr: bool = True
    has_control: bool = True
    has_quote: bool = True
    has_space: bool = True


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def scan_bytes(path: Path) -> ByteScan:
    """Count the bytes that matter in 16 MB chunks; a gzip file is not scanned (``ByteScan()``)."""
    if is_gzip(path):
        return ByteScan()
    controls = line_feeds = crs = crlfs = quotes = spaces = 0
    previous_cr = False
    with open(path, "rb", buffering=0) as fh:
        while chunk := fh.read(_CHUNK):
            data = np.frombuffer(chunk, np.uint8)
            controls += int(np.count_nonzero(data < 32)) + chunk.count(b"\x7f")
            line_feeds += chunk.count(b"\n")
            crs += chunk.count(b"\r")
            crlfs += chunk.count(b"\r\n") + (previous_cr and chunk[:1] == b"\n")
            quotes += chunk.count(b'"')
            spaces += chunk.count(b" ")
            previous_cr = chunk[-1:] == b"\r"
    stray = controls - line_feeds - crs  # neither LF nor CR
    return ByteScan(crs > 0, stray > 0 or crs != crlfs, quotes > 0, spaces > 0)
