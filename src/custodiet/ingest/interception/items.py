"""One X1 message as a reader yields it, whatever the form it was read from (JSON lines or XML)."""

from __future__ import annotations

from typing import Any, NamedTuple

RAW_LIMIT = 2_000  # characters of a rejected message's text kept for quarantine


class X1Item(NamedTuple):
    """One X1 message as read: the 1-based physical line where it starts (or where reading failed), the
    message in X1's JSON form or why there is none, and its text as read (kept for a rejected one)."""

    line: int
    message: dict[str, Any] | None
    error: str | None
    raw: str
    cut: bool = False  # the file ends inside this record or document
