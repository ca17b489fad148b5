"""Where the records of CSV text begin and end, the one rule both CSV paths follow (RFC 4180).

A record is one physical line, unless a quoted field holds line breaks: a line with an odd number of
double quotes opens a quoted field, and the lines up to the one that closes it form one record. The lines
are joined only when the joined text is a well-formed record with the header's number of fields (Python's
``csv`` in strict mode says so); otherwise each line stays a record of its own, to be judged (and, when
bad, quarantined) alone. So an unterminated quote costs one record, never the records after it. A record's
line is the physical line where it starts; line breaks inside a joined record are kept as ``\\n``.

``split_records`` does this over a block of bytes with numpy (the fast path's chunks); ``merge_spans`` is
the joining rule itself, which the line-by-line path applies to its staged lines.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from custodiet.ingest.limits import FIELD_LIMIT

MAX_SPAN = 1000  # physical lines one record may span: a longer "record" is an unterminated quote
_LF, _CR, _QUOTE, _COMMA, _SPACE, _DEL = 10, 13, 34, 44, 32, 127


def whole_record(text: str, ncols: int | None) -> bool:
    """Whether ``text`` is one well-formed CSV record (with ``ncols`` fields, when given)."""
    try:
        rows = list(csv.reader([text], strict=True)) if "\n" not in text else list(
            csv.reader(text.splitlines(keepends=True), strict=True))
    except csv.Error:
        return False
    return len(rows) == 1 and (ncols is None or len(rows[0]) == ncols)


def merge_spans(odd_lines: list[int], line_text: Callable[[int], str | None],
                ncols: int | None) -> list[tuple[int, int, str]]:
    """The records that span several lines: ``(first line, last line, text)``. ``odd_lines`` are the lines
    (in order) with an odd number of double quotes, ``line_text(n)`` a line's text without its line end
    (None past the end). A span opens at an odd line and closes at the next odd line within ``MAX_SPAN``."""
    merged: list[tuple[int, int, str]] = []
    odd = set(odd_lines)
    taken = -1  # the last line of the newest span
    for first in odd_lines:
        if first <= taken:
            continue
        closing = next((n for n in range(first + 1, first + MAX_SPAN) if n in odd), None)
        if closing is None:
            continue
        parts = [line_text(n) for n in range(first, closing + 1)]
        if any(p is None for p in parts):
            continue
        text = "\n".join(p for p in parts if p is not None)
        if whole_record(text, ncols):
            merged.append((first, closing, text))
            taken = closing
    return merged


@dataclass
class Records:
    """The records of a block of CSV bytes: byte ``starts`` and ``ends`` (the line end left out), the 1-based
    ``lines`` where they start, ``blank`` ones (empty or only spaces), and ``suspect`` ones, which the fast
    reader leaves to the line-by-line rules: a quote that is neither at a field's edge nor doubled, a control
    character, a record longer than the field limit. ``multiline``: some record holds a line break."""

    starts: np.ndarray
    ends: np.ndarray
    lines: np.ndarray
    blank: np.ndarray
    suspect: np.ndarray
    multiline: bool
    quotes: np.ndarray  # byte positions of every double quote in the block

    def text(self, block: bytes | memoryview, i: int) -> str:
        """Record ``i``'s text (line breaks inside it as ``\\n``)."""
        raw = bytes(block[int(self.starts[i]) : int(self.ends[i])]).decode("utf-8", "replace")
        return raw.replace("\r\n", "\n") if self.multiline else raw


def split_records(block: bytes | memoryview, first_line: int, ncols: int | None) -> Records:
    """The records of ``block`` (whole lines; its first on line ``first_line``), by numpy: about 0.3 s per
    100 MB of unquoted text, more when many fields are quoted."""
    data = np.frombuffer(block, np.uint8)
    size = len(data)
    feeds = np.flatnonzero(data == _LF)
    ends_with_feed = not size or (len(feeds) and feeds[-1] == size - 1)
    line_ends = feeds if ends_with_feed else np.append(feeds, size)  # a last line without its line end
    line_starts = np.concatenate(([0], feeds[: len(line_ends) - 1] + 1)).astype(np.int64)
    cr = np.zeros(len(line_ends), bool)
    closed = line_ends[line_ends > 0]
    cr[line_ends > 0] = data[closed - 1] == _CR
    text_ends = line_ends - cr
    quotes = np.flatnonzero(data == _QUOTE) if bytes(block).find(b'"') >= 0 else np.empty(0, np.int64)
    keep = np.ones(len(line_ends), bool)  # a line that starts a record (not the rest of a joined one)
    ends = text_ends.copy()
    suspect = _controls(data, line_ends, text_ends)  # per physical line, then per record
    if len(quotes):
        per_line = np.bincount(np.searchsorted(line_ends, quotes), minlength=len(line_ends))
        odd = np.flatnonzero(per_line % 2).tolist()
        if odd:
            suspect[odd] = True  # an open quote, unless the lines up to its close join into a record

            def text(n: int) -> str | None:
                return (bytes(block[int(line_starts[n]) : int(text_ends[n])]).decode("utf-8", "replace")
                        if n < len(line_ends) else None)

            for first, last, _ in merge_spans(odd, text, ncols):
                keep[first + 1 : last + 1] = False
                ends[first] = text_ends[last]
                suspect[first] = suspect[last] = False
        suspect |= _misplaced_quotes(data, quotes, line_ends, line_starts, text_ends)
    record = np.cumsum(keep) - 1  # each line's record
    suspect = np.bincount(record[suspect], minlength=int(keep.sum())) > 0
    starts, ends = line_starts[keep], ends[keep]
    suspect |= (ends - starts) > FIELD_LIMIT
    blank = ends == starts
    spaced: list[int] | np.ndarray = (np.flatnonzero(~blank & (data[np.minimum(starts, max(size - 1, 0))] == _SPACE))
                                      if size else [])
    for i in spaced:
        if not bytes(block[int(starts[i]) : int(ends[i])]).strip(b" "):
            blank[i] = True
    suspect &= ~blank
    lines = np.flatnonzero(keep).astype(np.int64) + first_line
    return Records(starts, ends, lines, blank, suspect, not keep.all(), quotes)


def _misplaced_quotes(data: np.ndarray, quotes: np.ndarray, line_ends: np.ndarray, line_starts: np.ndarray,
                      text_ends: np.ndarray) -> np.ndarray:
    """Lines with a quote that is neither at a field's edge (after a comma or the line start, before a comma
    or the line end) nor next to another quote: the two paths' parsers read those differently."""
    size = len(data)
    before = np.where(quotes > 0, data[np.maximum(quotes - 1, 0)], _LF)
    after = np.where(quotes < size - 1, data[np.minimum(quotes + 1, size - 1)], _LF)
    line = np.searchsorted(line_ends, quotes)
    at_start = quotes == line_starts[line]
    at_end = quotes + 1 == text_ends[line]
    edge = (at_start | (before == _COMMA) | (before == _QUOTE) | (before == _LF)
            | at_end | (after == _COMMA) | (after == _QUOTE) | (after == _LF) | (after == _CR))
    bad = np.zeros(len(line_ends), bool)
    bad[line[~edge]] = True
    return bad


def _controls(data: np.ndarray, line_ends: np.ndarray, text_ends: np.ndarray) -> np.ndarray:
    """Lines holding a control character other than their line end (a line feed, or a carriage return and
    line feed)."""
    low = np.flatnonzero((data < _SPACE) | (data == _DEL))
    if not len(low):
        return np.zeros(len(line_ends), bool)
    line = np.searchsorted(line_ends, low)
    terminator = (low >= text_ends[line]) & ((data[low] == _LF) | (data[low] == _CR))
    bad = np.zeros(len(line_ends), bool)
    bad[line[~terminator]] = True
    return bad
