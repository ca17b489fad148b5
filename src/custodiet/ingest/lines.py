"""A text file's physical lines as Arrow strings, block by block: the line-by-line path's reading.

A line ends at a line feed; a carriage return just before it belongs to the line end (CRLF), any other is
text (and a control character to the checks). The engine's line reader takes a lone carriage return, or
(unless told that lines end in CRLF) the CR of a CRLF, for a line end of its own, which would shift every
later line number: it reads only files whose byte scan found no lone carriage return (handing Arrow data
to the engine costs a small file 0.4 s of imports). Other files' lines are split here, by numpy, so that
they are the lines ``wc -l`` counts; a gzip file's text is read up to where its stream ends
(``guard.inflate``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from custodiet.events import sql_text
from custodiet.ingest.bytescan import ByteScan
from custodiet.ingest.guard import GZIP_MAGIC, inflate

BLOCK_BYTES = 64 << 20  # text split per step: bounds the memory beside the engine's table
# The longest line the engine will read (its default is 2 MB): a longer record is still quarantined, as
# over the field limit, rather than making the whole file unreadable.
MAX_LINE_BYTES = 64 << 20


def _texts(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        compressed = fh.read(2) == GZIP_MAGIC
    if compressed:
        for text, _consumed, _eof in inflate(path):
            yield text
        return
    with open(path, "rb") as fh:
        while piece := fh.read(BLOCK_BYTES):
            yield piece


def line_arrays(path: Path) -> Iterator[pa.Array]:
    """The file's lines, without their line ends, as string arrays of about ``BLOCK_BYTES`` each
    (``ArrowInvalid`` for text that is not UTF-8). A file ending in a line end has no empty last line."""
    pending = b""
    for piece in _texts(path):
        pending += piece
        if len(pending) < BLOCK_BYTES:
            continue
        cut = pending.rfind(b"\n") + 1
        if cut:
            yield _split(pending[:cut])
            pending = pending[cut:]
    if pending:
        yield _split(pending if pending.endswith(b"\n") else pending + b"\n")


def _split(text: bytes) -> pa.Array:
    """The lines of ``text`` (which ends with a line feed) without their line ends."""
    data = np.frombuffer(text, np.uint8)
    feeds = np.flatnonzero(data == 10)
    crs = np.zeros(len(feeds), bool)
    crs[feeds > 0] = data[feeds[feeds > 0] - 1] == 13
    starts = np.concatenate(([0], feeds[:-1] + 1))
    lengths = feeds - starts - crs
    keep = np.ones(len(data), bool)
    keep[feeds] = False
    keep[feeds[crs] - 1] = False
    offsets = np.zeros(len(feeds) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    body = pa.py_buffer(data[keep].tobytes())
    large = offsets[-1] >= 2**31
    kind = pa.large_binary() if large else pa.binary()
    width = np.int64 if large else np.int32
    binary = pa.Array.from_buffers(kind, len(feeds), [None, pa.py_buffer(offsets.astype(width)), body])
    return binary.cast(pa.large_string() if large else pa.string())


# A column separator that never occurs in text: the engine reads lines whole, without CSV interpretation.
_NO_DELIMITER = "\\x1e\\x1f"


def stage_lines(con: duckdb.DuckDBPyConnection, path: Path, table: str, scan: ByteScan | None = None) -> None:
    """Table ``table(raw)`` with one row per physical line; ``rowid + 1`` is the 1-based line number
    (rows are inserted in the file's order). ``scan`` is the plain file's byte scan, if it has one."""
    if scan is not None and not scan.has_control:  # no carriage return but in CRLF line ends
        new_line = ", new_line = '\\r\\n'" if scan.has_cr else ""
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT raw FROM read_csv({sql_text(str(path))}, "
            f"columns = {{'raw': 'VARCHAR'}}, header = false, delim = E'{_NO_DELIMITER}', quote = '', escape = '', "
            f"auto_detect = false, strict_mode = false, null_padding = true, max_line_size = {MAX_LINE_BYTES}"
            f"{new_line})")
        return
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} (raw VARCHAR)")
    try:
        for lines in line_arrays(path):
            con.register("staged_line_block", pa.table({"raw": lines}))
            con.execute(f"INSERT INTO {table} SELECT raw FROM staged_line_block")
    finally:
        con.unregister("staged_line_block")
