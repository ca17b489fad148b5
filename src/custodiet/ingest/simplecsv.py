"""Simple CSV files, read by Arrow's multi-threaded CSV reader in chunks of about ``CHUNK_BYTES``.

A CSV chunk is *simple* when the byte scan (``bytescan``) finds no quote, control character, carriage return
or empty line in its records, and no record line longer than the field limit. Then every line is one record
and a comma always separates two fields, so Arrow's reader, with quoting turned off, splits each record
exactly as the line-by-line path (``tabular``) would, and a record's line is its row index in the chunk
plus the chunk's first line. Arrow parses about three times faster than the engine's CSV reader and hands
the fields over as Arrow columns, which the events reuse as they are.

A chunk that is not simple, or that Arrow refuses (a record with the wrong number of fields, text that is
not UTF-8), raises ``Refused``: the caller stages the file from that chunk's first line line by line
instead, where every such record is quarantined with its reason. Chunks bound the memory a file needs:
each is checked and stored before the next is read. Files under ``MIN_BYTES`` are not worth it (see there).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from custodiet.arrow_columns import string_array
from custodiet.ingest.bytescan import ByteScan, scan_records
from custodiet.ingest.limits import FIELD_LIMIT

CHUNK_BYTES = 256 << 20  # bytes of text per chunk: about 2.3M portal records, 0.4 GB in Arrow
# Smaller files take the line-by-line path, as fast at this size: handing Arrow data to the engine imports
# pyarrow.dataset and pandas, 0.4 s, which a small file's ingest would otherwise spend on start-up.
MIN_BYTES = 8 << 20
PEEK_BYTES = 1 << 20  # the records looked at before a file is read in chunks
_BLOCK_BYTES = 16 << 20  # the unit Arrow's reader parses on one thread
# Scalars built from buffers: a Python str argument makes pyarrow import pandas (half a second).
_EMPTY, _NULL = string_array([""])[0], string_array([None])[0]


class Refused(Exception):
    """Arrow refused a record of the chunk starting at ``first_line`` (wrong field count, not UTF-8)."""

    def __init__(self, first_line: int, reason: str):
        super().__init__(f"line {first_line} onwards: {reason}")
        self.first_line = first_line


def is_simple(scan: ByteScan) -> bool:
    """A CSV whose records Arrow's reader splits exactly as the line-by-line split would."""
    return (not (scan.has_cr or scan.has_control or scan.has_quote or scan.has_blank)
            and scan.longest_record is not None and scan.longest_record <= FIELD_LIMIT)


@dataclass
class Chunk:
    """Records, one per row, the first on line ``first_line``: one string column per wanted header column
    (named by its position, ``c<i>``, 1-based), empty fields null, padded ones trimmed."""

    columns: pa.Table
    first_line: int


def read_chunks(path: Path, header_bytes: int, columns: int, wanted: list[int]) -> Iterator[Chunk]:
    """The records after the header line (``header_bytes`` long, line end included), chunk by chunk.

    ``columns`` is the header's column count, ``wanted`` the 1-based positions to keep. Each chunk's bytes
    are scanned (``scan_records``, in a worker thread) while Arrow parses them; a chunk that is not simple,
    or that Arrow cannot split, raises ``Refused``. A chunk with spaces has its fields trimmed.
    """
    names = [f"c{i}" for i in range(1, columns + 1)]
    keep = [names[i - 1] for i in wanted]
    options = (
        pcsv.ReadOptions(column_names=names, block_size=_BLOCK_BYTES),
        pcsv.ParseOptions(quote_char=False, double_quote=False, escape_char=False, newlines_in_values=False,
                          ignore_empty_lines=False),
        pcsv.ConvertOptions(column_types={n: pa.string() for n in keep}, include_columns=keep,
                            null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False),
    )
    with open(path, "rb") as fh, ThreadPoolExecutor(max_workers=1, thread_name_prefix="csv-scan") as pool:
        start, line = header_bytes, 2
        while block := _read_at(fh, start, CHUNK_BYTES):
            end = block.rfind(b"\n") + 1 if len(block) == CHUNK_BYTES else len(block)
            if end == 0:  # a record line longer than a chunk: not a simple CSV
                raise Refused(line, f"no line end within {CHUNK_BYTES} bytes")
            scanning = pool.submit(scan_records, memoryview(block)[:end])
            try:
                table, refusal = pcsv.read_csv(pa.BufferReader(pa.py_buffer(block).slice(0, end)), *options), ""
            except pa.ArrowInvalid as exc:
                refusal = str(exc).splitlines()[0]
            scan = scanning.result()
            if not is_simple(scan):
                raise Refused(line, "not a simple CSV from here on")
            if refusal:
                raise Refused(line, refusal)
            del block
            if scan.has_space:
                table = pa.table([_trimmed(table.column(n)) for n in keep], names=keep)
            yield Chunk(table, line)
            line += table.num_rows
            start += end


def starts_simple(path: Path, header_bytes: int) -> bool:
    """Whether the first records (``PEEK_BYTES`` of them) are simple: a cheap look before the first chunk."""
    with open(path, "rb") as fh:
        return is_simple(scan_records(_read_at(fh, header_bytes, PEEK_BYTES)))


def _read_at(fh: BinaryIO, offset: int, size: int) -> bytes:
    fh.seek(offset)
    return fh.read(size)


def _trimmed(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Spaces cut from both ends (as the engine's ``trim``), and a field left empty made null."""
    cut = pc.utf8_trim(column, characters=" ")
    return pc.if_else(pc.equal(cut, _EMPTY), _NULL, cut)
