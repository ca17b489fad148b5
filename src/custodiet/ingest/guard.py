"""Checks every reader runs before it trusts a file: it can be opened, a gzip stream is complete, the text is
UTF-8, and the last record is not cut short.

Engines read a truncated gzip stream without complaint (DuckDB returns the lines before the cut), so the
stream is checked here, by decompressing it once, before anything is stored. Errors are ``InputError``
(nothing usable) or ``IncompleteInput`` (the file ends early: what came before the cut is usable, and the
reader decides whether to keep it); both name the file and, where known, the line and byte offset.
"""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 22
CUT_RECORD = "file ends inside a record"


class InputError(Exception):
    """Nothing could be read from an input file; the message says why and where."""


class IncompleteInput(InputError):
    """The file ends early (a truncated compressed stream, a record cut short): the records before the cut
    are whole. ``offset`` is the byte offset in the file where it ends."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.offset = offset


def check_file(path: Path) -> None:
    """``InputError`` unless ``path`` is a file this process may read."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


@dataclass(frozen=True)
class BadText:
    """Where a file's text stops being UTF-8: byte offset in the (decompressed) text, 1-based line."""

    offset: int
    line: int

    def message(self, name: str, compressed: bool = False) -> str:
        where = "of the decompressed text " if compressed else ""
        return (f"{name}: not UTF-8 text: line {self.line}, byte {self.offset} {where}"
                "(save the file as UTF-8)")


class Utf8Check:
    """Incremental UTF-8 validation of a byte stream; ``bad`` is the first invalid byte, if any. Chunks of
    plain ASCII are skipped cheaply by the caller passing ``ascii=True``."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.offset = 0
        self.lines = 0  # line feeds before ``offset``
        self.bad: BadText | None = None

    def feed(self, chunk: bytes | memoryview, ascii: bool | None = None, final: bool = False,
             line_feeds: int | None = None) -> None:
        """Check the next bytes; ``ascii`` says they are all below 0x80 (then they are not decoded), and
        ``line_feeds`` how many line feeds they hold (counted here when not given)."""
        if self.bad is None:
            pending = len(self._decoder.getstate()[0])
            if ascii is None or not ascii or pending:
                try:
                    self._decoder.decode(bytes(chunk), final)
                except UnicodeDecodeError as exc:
                    at = exc.start - pending  # position in ``chunk`` (negative: in the carried-over bytes)
                    where = self.offset + at
                    self.bad = BadText(where, self.lines + bytes(chunk[: max(at, 0)]).count(b"\n") + 1)
        if self.bad is None:
            self.lines += bytes(chunk).count(b"\n") if line_feeds is None else line_feeds
        self.offset += len(chunk)

    def finish(self) -> None:
        self.feed(b"", final=True)


@dataclass(frozen=True)
class GzipCheck:
    """A gzip file decompressed once: ``complete`` when every member ended with its trailer; ``text_bytes``
    the decompressed length (up to the cut), ``ends_with_newline`` whether that text ends in a line end,
    ``bad_text`` the first byte that is not UTF-8."""

    complete: bool
    size: int
    text_bytes: int
    ends_with_newline: bool
    bad_text: BadText | None

    def truncation(self, name: str) -> str:
        return (f"{name}: truncated gzip: the compressed stream ends at byte {self.size} before its end "
                f"marker ({self.text_bytes} bytes of text before the cut)")


def inflate(path: Path) -> Iterator[tuple[bytes, int, bool]]:
    """``(text chunk, compressed bytes consumed, every member so far complete)`` of a gzip file, member after
    member (zero padding after the last is allowed); ``InputError`` for data that is not a gzip stream."""
    consumed, buf = 0, b""
    inflater: zlib._Decompress | None = zlib.decompressobj(wbits=31)
    with open(path, "rb") as fh:
        while True:
            if not buf:
                buf = fh.read(_CHUNK)
                if not buf:
                    return
            if inflater is None:  # between members
                stripped = buf.lstrip(b"\x00")
                consumed += len(buf) - len(stripped)
                buf = stripped
                if not buf:
                    continue
                if not GZIP_MAGIC.startswith(buf[:2]):
                    raise InputError(f"{path.name}: data after the gzip stream at byte {consumed} is not gzip")
                inflater = zlib.decompressobj(wbits=31)
            try:
                text = inflater.decompress(buf)
            except zlib.error as exc:
                raise InputError(f"{path.name}: corrupt gzip data near byte {consumed}: {exc}") from None
            consumed += len(buf) - len(inflater.unused_data)
            buf = inflater.unused_data
            if inflater.eof:
                inflater = None
            yield text, consumed, inflater is None


def check_gzip(path: Path) -> GzipCheck:
    """Decompress ``path`` once (without keeping the text) and say whether it is complete and UTF-8."""
    utf8, size, last, complete, total = Utf8Check(), path.stat().st_size, b"", False, 0
    for text, _consumed, eof in inflate(path):
        if text:
            utf8.feed(text, ascii=text.isascii())
            total += len(text)
            last = text[-1:]
        complete = eof
    if complete:
        utf8.finish()
    return GzipCheck(complete, size, total, last == b"\n" or total == 0, utf8.bad)


def read_bytes(path: Path) -> bytes:
    """A whole small file's bytes, decompressed if it is gzip; ``IncompleteInput`` for a truncated stream."""
    check_file(path)
    raw = path.read_bytes()
    if not raw.startswith(GZIP_MAGIC):
        return raw
    parts, complete = [], False
    for text, _consumed, eof in inflate(path):
        parts.append(text)
        complete = eof
    data = b"".join(parts)
    if not complete:
        check = GzipCheck(False, len(raw), len(data), data.endswith(b"\n"), None)
        raise IncompleteInput(check.truncation(path.name), len(raw))
    return data


def read_text(path: Path) -> str:
    """A whole small file as text (``read_bytes``), ``InputError`` naming line and byte when not UTF-8."""
    data = read_bytes(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = BadText(exc.start, data.count(b"\n", 0, exc.start) + 1)
        raise InputError(bad.message(path.name, compressed=is_gzip(path))) from None
