"""One cheap pass over a plain file's bytes, so that staging can leave costly per-record SQL out.

Counting bytes with numpy runs at about 1 GB/s; the regular expressions it replaces (control characters,
padded fields) cost about a second per 2M lines each. What it finds decides how the line-by-line path
reads lines (``lines``) and which checks it writes. It also measures the record lines (every line after
the first): whether one is empty and how long the longest is. The scan is conservative: a gzip
file is not scanned and reports everything as possibly present, so its records get the full checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from custodiet.ingest.guard import BadText, Utf8Check

_CHUNK = 1 << 24
_LF, _SPACE, _FIRST_PLAIN, _DEL = 10, 32, 35, 127  # 35 is "#", the first byte after space, "!" and '"'


@dataclass(frozen=True)
class ByteScan:
    """What a file may hold: carriage returns; control characters that are neither a line feed nor the
    carriage return of a CRLF line end; double quotes and spaces in the records (the lines after the
    first); an empty record line. ``True`` means "present or unknown". ``longest_record`` is the byte
    length of the longest record line without its line end (None: unknown).

    Not compared: ``ends_with_newline`` (the last byte is a line feed, or the file is empty; None:
    unknown), ``size`` (bytes scanned) and ``bad_text`` (the first byte that is not UTF-8)."""

    has_cr: bool = True
    has_control: bool = True
    has_quote: bool = True
    has_space: bool = True
    has_blank: bool = True
    longest_record: int | None = None
    ends_with_newline: bool | None = field(default=None, compare=False)
    size: int | None = field(default=None, compare=False)
    bad_text: BadText | None = field(default=None, compare=False)


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"  # as guard.GZIP_MAGIC


class _Counter:
    """Running counts over a stream of chunks. Most chunks are settled by two numpy passes: when the bytes
    below ``"#"`` (controls, space, ``!``, ``"``) are exactly the line feeds and no byte is DEL, there is
    nothing else to count; only other chunks pay for the per-character counts."""

    def __init__(self) -> None:
        self.controls = self.line_feeds = self.crs = self.crlfs = self.quotes = self.spaces = 0
        self.previous_cr = False

    def add(self, chunk: bytes | memoryview, data: np.ndarray, line_feeds: int) -> None:
        self.line_feeds += line_feeds
        self.crlfs += self.previous_cr and bool(len(data)) and int(data[0]) == _LF  # a CRLF across chunks
        low = int(np.count_nonzero(data < _FIRST_PLAIN))
        if low == line_feeds and (not len(data) or int(data.max()) < _DEL):
            self.controls += line_feeds
            self.previous_cr = False
            return
        chunk = bytes(chunk)  # bytes count single bytes fastest
        self.controls += int(np.count_nonzero(data < _SPACE)) + chunk.count(b"\x7f")
        self.crs += chunk.count(b"\r")
        self.crlfs += chunk.count(b"\r\n")
        self.quotes += chunk.count(b'"')
        self.spaces += chunk.count(b" ")
        self.previous_cr = chunk[-1:] == b"\r"


def scan_bytes(path: Path) -> ByteScan:
    """Count the bytes that matter in 16 MB chunks; a gzip file is not scanned (``ByteScan()``)."""
    if is_gzip(path):
        return ByteScan()
    with open(path, "rb") as fh:
        header = fh.readline()
        return _scan(header, iter(lambda: fh.read(_CHUNK), b""))


def _scan(header: bytes, chunks: Iterator[bytes | memoryview]) -> ByteScan:
    counter, records, utf8 = _Counter(), _Counter(), Utf8Check()
    counter.add(header, np.frombuffer(header, np.uint8), header.count(b"\n"))
    utf8.feed(header, ascii=header.isascii())
    last = header[-1:]
    longest, blank = 0, False
    offset, last_lf = 0, -1  # within the records: bytes seen, position of the newest line feed
    for chunk in chunks:
        data = np.frombuffer(chunk, np.uint8)
        feeds = np.flatnonzero(data == _LF) + offset
        records.add(chunk, data, len(feeds))
        utf8.feed(chunk, ascii=not len(data) or int(data.max()) < 0x80, line_feeds=len(feeds))
        last = bytes(chunk[-1:]) if len(chunk) else last
        if len(feeds):
            lengths = np.diff(feeds, prepend=last_lf) - 1
            longest = max(longest, int(lengths.max()))
            blank = blank or bool(np.any(lengths == 0))
            last_lf = int(feeds[-1])
        offset += len(chunk)
    if offset > last_lf + 1:  # a last line without a line end
        longest = max(longest, offset - last_lf - 1)
    # ``readline`` ends the header at its line feed, so no CRLF straddles the header and the records.
    crs, crlfs = counter.crs + records.crs, counter.crlfs + records.crlfs
    stray = counter.controls + records.controls - counter.line_feeds - records.line_feeds - crs  # neither LF nor CR
    utf8.finish()
    return ByteScan(crs > 0, stray > 0 or crs != crlfs, records.quotes > 0, records.spaces > 0, blank, longest,
                    ends_with_newline=last in (b"\n", b""), size=len(header) + offset, bad_text=utf8.bad)
