"""CSV files read by Arrow's multi-threaded CSV reader, chunk by chunk, with every record's exact line.

Any well-formed RFC 4180 file takes this path: LF or CRLF line ends, quoted fields with commas, doubled
quotes and line breaks inside, a byte-order mark, plain or gzip. A chunk is about an eighth of the text,
from ``MIN_CHUNK_BYTES`` to ``CHUNK_BYTES``,
cut between records; ``csvsplit`` finds its records and the line where each starts (numpy), Arrow splits
them into fields, and a record's line is looked up by its position among the records Arrow returns.

Only the records that are malformed leave the fast path: a wrong number of fields, a quote out of place,
a control character, an over-long record, an unterminated quote. The ``exact`` callback (the line-by-line
path's SQL, ``tabular``) splits those, so that they are judged and quarantined exactly as that path would;
the others are parsed again by Arrow, without them. Chunks bound the memory a file needs: each is checked
and stored before the next is read. Files under ``MIN_BYTES`` are not worth it (see there).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from custodiet.arrow_columns import from_numpy, string_array, trimmed_text
from custodiet.ingest.csvsplit import MAX_SPAN, Records, line_feeds, split_records, whole_record
from custodiet.ingest.guard import CUT_RECORD, GZIP_MAGIC, BadText, InputError, inflate

CHUNK_BYTES = 256 << 20  # the most text per chunk: about 2.3M portal records, 0.4 GB in Arrow
# The least: a file is cut into about eight chunks, so that storing one overlaps reading the next, but no
# smaller than this (each chunk is deduplicated against everything stored before it: more chunks, more
# of that work).
MIN_CHUNK_BYTES = 64 << 20
# Smaller files take the line-by-line path, as fast at this size: handing Arrow data to the engine imports
# pyarrow.dataset and pandas, 0.4 s, which a small file's ingest would otherwise spend on start-up.
MIN_BYTES = 8 << 20
_BLOCK_BYTES = 16 << 20  # the unit Arrow's reader parses on one thread
_READ_BYTES = 16 << 20  # bytes read from the file at a time
_TEXT = re.compile(rb"[^\r\n]")  # a byte that is not a line end

# The exact split of some records: ``(line, raw)`` in, ``c<i>`` (the wanted positions), ``ncols`` and
# ``longest`` out, one row per record in the same order.
Exact = Callable[[pa.Table], pa.Table]


class Refused(Exception):
    """The chunk starting at ``first_line`` cannot be read by this path (a record longer than a chunk)."""

    def __init__(self, first_line: int, reason: str):
        super().__init__(f"line {first_line} onwards: {reason}")
        self.first_line = first_line


@dataclass
class Chunk:
    """Records in line order: ``columns`` holds one string column per wanted header column (``c<i>``,
    1-based; empty fields null, padded ones trimmed), ``line``, ``raw`` (the text of the records split by
    the exact rules, else null), ``ncols`` and ``longest`` (the longest field of those records, else 0).
    ``blank`` lines were skipped; ``cut_line`` is a last record cut short, and ``incomplete`` says why the
    file is incomplete."""

    columns: pa.Table
    first_line: int
    blank: int = 0
    cut_line: int | None = None
    incomplete: str | None = None
    raw_of: Callable[[list[int]], list[str]] | None = None  # the texts of records, by their lines


def _texts_by_line(block: bytes | bytearray, records: Records) -> Callable[[list[int]], list[str]]:
    """The texts of some of ``records`` (of ``block``, kept alive for it), found by their lines."""
    def raw_of(lines: list[int]) -> list[str]:
        found = np.searchsorted(records.lines, np.asarray(lines, dtype=np.int64))
        return [records.text(block, int(i)) for i in found]
    return raw_of


def read_chunks(path: Path, header_bytes: int, columns: int, wanted: list[int], exact: Exact) -> Iterator[Chunk]:
    """The records after the header line (``header_bytes`` long, line end included), chunk by chunk.
    ``columns`` is the header's column count, ``wanted`` the 1-based positions to keep."""
    names = [f"c{i}" for i in range(1, columns + 1)]
    keep = [names[i - 1] for i in wanted]
    for block, feeds, line, final, truncated in _blocks(path, header_bytes):
        records = split_records(block, line, columns, feeds)
        if not len(records.starts):
            continue
        cut = _cut(block, records, columns, final, truncated)
        chunk = _read(block, records, names, keep, columns, exact)
        chunk.raw_of = _texts_by_line(block, records)
        if cut is not None:
            chunk.cut_line = int(records.lines[-1])
            chunk.incomplete = truncated or (f"{path.name}: {CUT_RECORD}: line {chunk.cut_line} is cut short "
                                             "where the file ends")
        elif truncated:
            chunk.incomplete = truncated
        yield chunk


def _cut(block: bytes | bytearray, records: Records, columns: int, final: bool, truncated: str | None) -> int | None:
    """The index of a last record cut short, when the file ends without a line end: a truncated gzip stream
    (whatever the line holds, its end is lost), or a last line that is not a whole record with the header's
    field count (a file that merely lacks its final line end is common)."""
    if not final or block.endswith(b"\n"):
        return None
    last = len(records.starts) - 1
    if records.blank[last] and not truncated:
        return None
    if truncated or not whole_record(records.text(block, last), columns):
        records.suspect[last] = True
        records.blank[last] = False
        return last
    return None


def _read(block: bytes | bytearray, records: Records, names: list[str], keep: list[str], columns: int,
          exact: Exact) -> Chunk:
    """One chunk's records: Arrow for the well-formed ones, ``exact`` for the others."""
    good = ~records.blank & ~records.suspect
    blank = int(np.count_nonzero(records.blank))
    parsed, invalid = _arrow(block, names, keep, records.multiline)
    if not records.suspect.any() and not invalid and parsed.num_rows == int(np.count_nonzero(good)):
        return Chunk(_finish(parsed, records.lines[good], records, block, columns), int(records.lines[0]), blank)
    good &= _field_counts(block, records) == columns
    others = np.flatnonzero(~records.blank & ~good)
    parsed, invalid = _arrow(_only(block, records, good), names, keep, records.multiline)
    if invalid or parsed.num_rows != int(np.count_nonzero(good)):  # never expected: judge them all exactly
        good[:] = False
        others = np.flatnonzero(~records.blank)
        parsed = parsed.slice(0, 0)
    fast = _finish(parsed, records.lines[good], records, block, columns)
    texts = string_array([records.text(block, int(i)) for i in others])
    slow = exact(pa.table({"line": from_numpy(records.lines[others]), "raw": texts}))
    slow = pa.table({**{n: slow.column(n) for n in keep}, "line": from_numpy(records.lines[others]), "raw": texts,
                     "ncols": slow.column("ncols").cast(pa.int32()),
                     "longest": slow.column("longest").cast(pa.int64())})
    both = pa.concat_tables([fast, slow.cast(fast.schema)])
    order = np.argsort(np.asarray(both.column("line")), kind="stable")
    first = int(records.lines[0]) if len(records.lines) else 0
    return Chunk(both.take(from_numpy(order)), first, blank)


def _arrow(data: bytes | bytearray, names: list[str], keep: list[str],
           multiline: bool) -> tuple[pa.Table, int]:
    """Arrow's parse of whole records (quotes honoured; line breaks inside fields only when ``multiline``):
    the wanted columns, and how many rows it found with a wrong field count (skipped)."""
    invalid = [0]

    def skip(_row: object) -> str:
        invalid[0] += 1
        return "skip"

    if not _TEXT.search(data):  # only empty lines: Arrow calls that an empty file
        return pa.table({n: pa.array([], pa.string()) for n in keep}), 0
    table = pcsv.read_csv(
        pa.BufferReader(pa.py_buffer(data)),
        pcsv.ReadOptions(column_names=names, block_size=_BLOCK_BYTES),
        pcsv.ParseOptions(quote_char='"', double_quote=True, escape_char=False, newlines_in_values=multiline,
                          ignore_empty_lines=True, invalid_row_handler=skip),
        pcsv.ConvertOptions(column_types={n: pa.string() for n in keep}, include_columns=keep, null_values=[""],
                            strings_can_be_null=True, quoted_strings_can_be_null=True,
                            check_utf8=False),  # every block was checked before (``_check_utf8``)
    )
    return table, invalid[0]


def _finish(parsed: pa.Table, lines: np.ndarray, records: Records, block: bytes | bytearray, columns: int) -> pa.Table:
    """Arrow's rows as chunk columns: padded fields trimmed, line breaks inside fields as ``\\n``."""
    spaced = block.find(b" ") >= 0
    crlf = records.multiline and block.find(b"\r") >= 0
    cols = {}
    for name in parsed.column_names:
        column = parsed.column(name)
        if crlf:
            column = pc.replace_substring(column, pattern=b"\r\n", replacement=b"\n")
        cols[name] = trimmed_text(column) if spaced else column
    n = parsed.num_rows
    return pa.table({**cols, "line": from_numpy(lines.astype(np.int64)), "raw": pa.nulls(n, pa.string()),
                     "ncols": from_numpy(np.full(n, columns, np.int32)),
                     "longest": from_numpy(np.zeros(n, np.int64))})


def _field_counts(block: bytes | bytearray, records: Records) -> np.ndarray:
    """Each record's number of fields: its commas outside quotes, plus one (exact for records whose quotes
    are in place; the others are suspect anyway)."""
    data = np.frombuffer(block, np.uint8)
    commas = np.flatnonzero(data == 44)
    record = np.searchsorted(records.starts, commas, side="right") - 1
    inside = commas < records.ends[np.maximum(record, 0)]
    quotes = np.flatnonzero(data == 34)
    if len(quotes):
        before = np.searchsorted(quotes, commas) - np.searchsorted(quotes, records.starts)[record]
        inside &= before % 2 == 0
    return np.bincount(record[inside & (record >= 0)], minlength=len(records.starts)) + 1


def _only(block: bytes | bytearray, records: Records, good: np.ndarray) -> bytes:
    """The bytes of the ``good`` records, each with its line end (runs of them copied as they are)."""
    data = np.frombuffer(block, np.uint8)
    following = np.append(records.starts[1:], len(data))  # a record's bytes run to the next one's start
    mask = np.zeros(len(data) + 1, np.int8)
    np.add.at(mask, records.starts[good], 1)
    np.add.at(mask, following[good], -1)
    picked = data[np.cumsum(mask[:-1]) > 0]
    if len(picked) and picked[-1] != 10:
        picked = np.append(picked, np.uint8(10))
    return picked.tobytes()


def _blocks(path: Path, header_bytes: int) -> Iterator[tuple[bytearray, np.ndarray, int, bool, str | None]]:
    """The text after the header in blocks of about ``_chunk_bytes``, each cut after a line end where no
    quoted field is open (when one can be found), as ``(block, its line feeds, its first line, last, why
    the file is incomplete)``. ``InputError`` for text that is not UTF-8 (the blocks before it are whole)."""
    pending, offset, line = b"", header_bytes, 2
    compressed = _is_gzip(path)
    limit = _chunk_bytes(path.stat().st_size * (8 if compressed else 1))  # gzip: about 8 bytes of text per byte
    source = _text(path, header_bytes)
    truncated: str | None = None
    exhausted = False
    while not exhausted or pending:
        text = bytearray(pending)  # a block is gathered in place: slicing bytes would copy it again
        while not exhausted and len(text) < limit:
            piece = next(source, None)
            if piece is None:
                exhausted = True
            elif isinstance(piece, str):
                truncated, exhausted = piece, True
            else:
                text += piece
        end = len(text) if exhausted and len(text) <= limit else _cut_point(text, limit)
        if end == 0:
            if not exhausted:
                raise Refused(line, f"no line end within {len(text)} bytes")
            end = len(text)
        pending = bytes(text[end:])  # the start of the next block
        del text[end:]
        block = text
        last = exhausted and not pending
        _check_utf8(path, block, offset, line, compressed, cut=last and truncated is not None)
        feeds = line_feeds(block)
        yield block, feeds, line, last, truncated if last else None
        offset += end
        line += len(feeds)


def _chunk_bytes(text_bytes: int) -> int:
    """Bytes of text per chunk for a file of about ``text_bytes``."""
    return min(CHUNK_BYTES, max(MIN_CHUNK_BYTES, text_bytes // 8))


def _cut_point(text: bytes | bytearray, limit: int) -> int:
    """Where to end a block: after the last line end within ``limit`` bytes that leaves no quoted field open,
    looking back a thousand lines at most (then after the last line end); after the first line end past
    ``limit`` when a single line is longer. 0 when ``text`` has no line end."""
    last = text.rfind(b"\n", 0, limit) + 1 or text.find(b"\n", limit) + 1
    if last == 0:
        return 0
    quotes = text.count(b'"', 0, last)
    point = last
    for _ in range(MAX_SPAN):
        if quotes % 2 == 0:
            return point
        previous = text.rfind(b"\n", 0, point - 1) + 1
        if previous == 0:
            break
        quotes -= text.count(b'"', previous, point)
        point = previous
    return last


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def _text(path: Path, skip: int) -> Iterator[bytes | str]:
    """The file's text after its first ``skip`` bytes, in pieces; a gzip file's ends with a str saying
    why, when its stream is truncated."""
    if not _is_gzip(path):
        with open(path, "rb") as fh:
            fh.seek(skip)
            while piece := fh.read(_READ_BYTES):
                yield piece
        return
    complete, seen, size = False, 0, path.stat().st_size
    for text, _consumed, eof in inflate(path):
        complete = eof
        if seen + len(text) > skip:
            yield text[max(skip - seen, 0) :]
        seen += len(text)
    if not complete:
        yield (f"{path.name}: truncated gzip: the compressed stream ends at byte {size} before its end marker "
               f"({seen} bytes of text before the cut)")


def _check_utf8(path: Path, raw: bytes | bytearray, offset: int, line: int, compressed: bool, cut: bool) -> None:
    """``InputError`` naming line and byte unless ``raw`` is UTF-8 (a character cut by the end of a
    truncated stream, ``cut``, belongs to the cut record)."""
    if raw.isascii():
        return
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if cut and exc.reason == "unexpected end of data":
            return
        bad = BadText(offset + exc.start, line + raw.count(b"\n", 0, exc.start))
        raise InputError(bad.message(path.name, compressed=compressed)) from None
