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
from types import ModuleType

import numpy as np

from custodiet.ingest.limits import FIELD_LIMIT

_csvscan: ModuleType | None
try:
    from custodiet.ingest import _csvscan
except ImportError:  # not built: numpy flags the lines
    _csvscan = None

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

    def text(self, block: bytes | bytearray | memoryview, i: int) -> str:
        """Record ``i``'s text (line breaks inside it as ``\\n``)."""
        raw = bytes(block[int(self.starts[i]) : int(self.ends[i])]).decode("utf-8", "replace")
        return raw.replace("\r\n", "\n") if self.multiline else raw


def line_feeds(block: bytes | bytearray | memoryview) -> np.ndarray:
    """The offset of every line feed of ``block`` (int64): by memchr in C when it is built."""
    if _csvscan is not None:
        return np.frombuffer(_csvscan.line_feeds(block), np.int64)
    return np.flatnonzero(np.frombuffer(block, np.uint8) == _LF)


def split_records(block: bytes | bytearray | memoryview, first_line: int, ncols: int | None,
                  feeds: np.ndarray | None = None) -> Records:
    """The records of ``block`` (whole lines; its first on line ``first_line``; ``feeds`` its ``line_feeds``
    when known): about 0.3 s per 100 MB of text with the C line scanner, whose numpy fallback costs
    seconds on fully quoted text."""
    data = np.frombuffer(block, np.uint8)
    size = len(data)
    feeds = line_feeds(block) if feeds is None else feeds
    ends_with_feed = not size or (len(feeds) and feeds[-1] == size - 1)
    line_ends = feeds if ends_with_feed else np.append(feeds, size)  # a last line without its line end
    line_starts = np.concatenate(([0], feeds[: len(line_ends) - 1] + 1)).astype(np.int64)
    cr = np.zeros(len(line_ends), bool)
    closed = line_ends[line_ends > 0]
    cr[line_ends > 0] = data[closed - 1] == _CR
    text_ends = line_ends - cr
    raw = block if isinstance(block, bytes | bytearray) else bytes(block)  # a copy only of a memoryview
    odd, suspect = _line_flags(raw, data, line_ends, text_ends)
    keep = np.ones(len(line_ends), bool)  # a line that starts a record (not the rest of a joined one)
    ends = text_ends.copy()
    if len(odd):
        open_quote = np.zeros(len(line_ends), bool)
        open_quote[odd] = True  # suspect, unless the lines up to the quote's close join into a record

        def text(n: int) -> str | None:
            return (bytes(block[int(line_starts[n]) : int(text_ends[n])]).decode("utf-8", "replace")
                    if n < len(line_ends) else None)

        for first, last, _ in merge_spans(odd.tolist(), text, ncols):
            keep[first + 1 : last + 1] = False
            ends[first] = text_ends[last]
            open_quote[first] = open_quote[last] = False
        suspect |= open_quote
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
    return Records(starts, ends, lines, blank, suspect, not keep.all())


def _line_flags(raw: bytes | bytearray, data: np.ndarray, line_ends: np.ndarray,
                text_ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lines with an odd number of quotes, and whether each line is suspect (a misplaced quote, a control
    character): by the C scanner (``_csvscan.line_flags``) when it is built, else by numpy."""
    if _csvscan is not None:
        flags = np.frombuffer(_csvscan.line_flags(raw), np.uint8)
        return np.flatnonzero(flags & 1), (flags & 6) != 0
    suspect = _controls(raw, data, line_ends, text_ends)
    if raw.find(b'"') < 0:
        return np.empty(0, np.int64), suspect
    quotes = np.flatnonzero(data == _QUOTE)
    per_line = np.diff(np.searchsorted(quotes, line_ends), prepend=0)  # quotes before each line end
    return np.flatnonzero(per_line % 2), suspect | _misplaced_quotes(data, quotes, line_ends)


_EDGE_BEFORE = np.isin(np.arange(256), [_COMMA, _QUOTE, _LF])  # bytes after which a quote is at an edge
_EDGE_AFTER = np.isin(np.arange(256), [_COMMA, _QUOTE, _LF, _CR])  # bytes before which it is


def _misplaced_quotes(data: np.ndarray, quotes: np.ndarray, line_ends: np.ndarray) -> np.ndarray:
    """Lines with a quote that is neither at a field's edge (after a comma or a line start, before a comma
    or a line end) nor next to another quote: the two paths' parsers read those differently. Judged by the
    neighbouring bytes, looked up in a table (a fully quoted file has tens of millions of quotes)."""
    size = len(data)
    edge = _EDGE_BEFORE[data[np.maximum(quotes - 1, 0)]]
    edge |= _EDGE_AFTER[data[np.minimum(quotes + 1, size - 1)]]
    edge[quotes == 0] = True
    edge[quotes == size - 1] = True
    misplaced = quotes[~edge]
    bad = np.zeros(len(line_ends), bool)
    if len(misplaced):
        bad[np.searchsorted(line_ends, misplaced)] = True
    return bad


def _controls(raw: bytes | bytearray, data: np.ndarray, line_ends: np.ndarray, text_ends: np.ndarray) -> np.ndarray:
    """Lines holding a control character other than their line end (a line feed, or a carriage return and
    line feed)."""
    crs, crlfs = raw.count(b"\r"), raw.count(b"\r\n")
    if crs == crlfs and not raw.count(b"\x7f") and int(np.count_nonzero(data < _SPACE)) == len(line_ends) + crs - (
            len(line_ends) and line_ends[-1] == len(data)):  # only line ends (the last may lack its line feed)
        return np.zeros(len(line_ends), bool)
    low = np.flatnonzero((data < _SPACE) | (data == _DEL))
    if not len(low):
        return np.zeros(len(line_ends), bool)
    line = np.searchsorted(line_ends, low)
    terminator = (low >= text_ends[line]) & ((data[low] == _LF) | (data[low] == _CR))
    bad = np.zeros(len(line_ends), bool)
    bad[line[~terminator]] = True
    return bad
