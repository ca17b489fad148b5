"""Copies of a bundle with members changed, removed or swapped."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path


def members(bundle: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(bundle) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rewrite(bundle: Path, out: Path, change: Callable[[dict[str, bytes]], dict[str, bytes]]) -> Path:
    """Write ``out``: the bundle's members as ``change`` returns them (a dict, in its order)."""
    changed = change(members(bundle))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in changed.items():
            zf.writestr(name, data)
    return out


def flip(data: bytes, offset: int) -> bytes:
    """One byte changed (to another printable character where it was one, so the text stays UTF-8)."""
    b = data[offset]
    new = (b + 1 if b not in (0x7E, 0x22, 0x5C) else 0x41) if 0x20 <= b < 0x7F else b ^ 0x01
    if new in (0x22, 0x5C):
        new = 0x41
    return data[:offset] + bytes([new]) + data[offset + 1 :]
