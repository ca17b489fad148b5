"""JSON-lines logs: the lines found by one scan, and the records read by the engine's JSON reader.

A file whose every line that is not blank is a JSON object is read by DuckDB's ``read_json`` in columns
(``jsonl_read``), after a scan (``scan_json_lines``) that finds each line, the blank ones and, from the C
scanner, the objects' keys; anything else is staged line by line (``tabular.stage``) and read out in
chunks with every key extracted by one parse of the line (``jsonl_chunks``).
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custodiet.arrow_columns import from_numpy, string_array, trimmed_text
from custodiet.events import sql_text
from custodiet.ingest.bytescan import is_gzip
from custodiet.ingest.chunks import CONTROLS, chunk_staged, named_select, raw_by_line, rows_per_chunk
from custodiet.ingest.csvsplit import _csvscan
from custodiet.ingest.limits import FIELD_LIMIT
from custodiet.ingest.tabular import Staged, ident, named_columns

_SCAN_BYTES = 64 << 20  # JSON-lines text looked at per step


def jsonl_chunks(con: duckdb.DuckDBPyConnection, staged: Staged) -> Iterator[Staged]:
    """The staged JSON lines (``tabular.stage``: ``<name>_objects(line, raw, j)``) read out in chunks, every
    key extracted by one parse of the line (``json_extract_string`` with a list of paths)."""
    name, objects = staged.name, f"{staged.name}_objects"
    keys = named_columns(staged.path, staged.keys, staged.fields, [])
    positions = {n: i + 1 for i, n in enumerate(keys)}
    paths = "[" + ", ".join(sql_text("$." + ident(keys[n])) for n in positions) + "]"
    cols, control = named_select(staged.fields, positions, {n: f"f[{positions[n]}]" for n in positions})
    blank = "(raw IS NULL OR trim(raw) = '')"
    last = con.execute(f"SELECT coalesce(max(line), 0) FROM {objects}").fetchall()[0][0]
    per_chunk = rows_per_chunk(last)
    for first in range(1, last + 1, per_chunk):
        window = f"line BETWEEN {first} AND {first + per_chunk - 1}"
        blanks = con.execute(f"SELECT count(*) FROM {objects} WHERE {window} AND {blank}").fetchall()[0][0]
        # A value can hold a control character only when its line escapes one (a backslash) or holds a DEL,
        # and a field can pass the limit only on a line that does: the costly checks run on those lines.
        table = con.execute(
            f"SELECT line, {cols}, CASE WHEN j IS NULL THEN -1 END AS ncols, longest, "
            f"CASE WHEN j IS NULL OR longest > {FIELD_LIMIT} OR ((contains(raw, '\\') OR contains(raw, chr(127))) "
            f"AND {control}) THEN raw END AS raw "
            f"FROM (SELECT line, raw, j, f, CASE WHEN length(raw) > {FIELD_LIMIT} "
            f"THEN list_max(list_transform(f, x -> coalesce(length(x), 0))) ELSE 0 END AS longest "
            f"FROM (SELECT line, raw, j, json_extract_string(j, {paths}) AS f FROM {objects} "
            f"WHERE {window} AND NOT {blank}))"  # the table's order is the file's: no sort
        ).to_arrow_table()
        if not table.num_rows and not blanks:
            continue
        yield chunk_staged(staged.path, name, "jsonl", table, staged.fields, staged.extra_columns, positions,
                            None, cut_line=staged.cut_line, incomplete=staged.incomplete,
                            raw_of=raw_by_line(con, f"SELECT line, raw FROM {objects}"), blank_lines=blanks)


@dataclass
class JsonLines:
    """A plain JSON-lines file's lines, found by one streamed pass: where each starts and ends (its line end
    left out), the 1-based lines that are not blank (empty, or spaces only), how many are blank, and
    whether any line escapes a character or holds a DEL (only then can a value hold a control character).
    The C scanner also gives the objects' keys, when every line that is not blank is one object whose keys
    escape nothing."""

    path: Path
    starts: np.ndarray
    ends: np.ndarray
    lines: np.ndarray
    blank: int
    escapes: bool
    keys: list[str] | None = None  # the top-level keys, when the scan could tell them (the C scanner)

    def raw_of(self, wanted: list[int]) -> list[str]:
        """The text of some lines (1-based), read back from the file."""
        with open(self.path, "rb") as fh:
            texts = []
            for n in wanted:
                fh.seek(int(self.starts[n - 1]))
                texts.append(fh.read(int(self.ends[n - 1] - self.starts[n - 1])).decode("utf-8").rstrip("\r"))
            return texts


def scan_json_lines(path: Path) -> JsonLines | None:
    """The lines of a JSON-lines file; None when the text is not UTF-8 (the line-by-line staging names
    where). The C scanner reads the mapped file in windows of whole lines, two at a time (one per core),
    each window's pages let go once it is read, so the memory it holds stays small; numpy streams the file
    in blocks when the scanner is not built."""
    if _csvscan is None or not path.stat().st_size:
        return _stream_json_lines(path)
    scan = _csvscan.json_lines
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as text:
        cuts = [0]
        while cuts[-1] < len(text):
            cuts.append(text.find(b"\n", cuts[-1] + _SCAN_BYTES) + 1 or len(text))

        def window(i: int) -> tuple[bytes, bytes, bytes, bool, list[bytes] | None, int]:
            with memoryview(text) as view, view[cuts[i] : cuts[i + 1]] as part:
                found = scan(part)
            first_page = cuts[i] - cuts[i] % mmap.PAGESIZE
            text.madvise(mmap.MADV_DONTNEED, first_page, cuts[i + 1] - first_page)
            return found

        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="json-scan") as pool:
            parts = list(pool.map(window, range(len(cuts) - 1)))
    if any(part[5] >= 0 for part in parts):
        return None
    starts = np.concatenate([np.frombuffer(p[0], np.int64) + at for p, at in zip(parts, cuts, strict=False)])
    ends = np.concatenate([np.frombuffer(p[1], np.int64) + at for p, at in zip(parts, cuts, strict=False)])
    empty = np.frombuffer(b"".join(p[2] for p in parts), np.bool_)
    keys = None if any(p[4] is None for p in parts) else sorted({k.decode("utf-8") for p in parts for k in p[4] or []})
    return JsonLines(path, starts, ends, np.flatnonzero(~empty).astype(np.int64) + 1, int(np.count_nonzero(empty)),
                      any(p[3] for p in parts), keys)


def _stream_json_lines(path: Path) -> JsonLines | None:
    """``_scan_json_lines`` by numpy, the file streamed in blocks (memory stays bounded)."""
    starts, ends, blank_at = [], [], []
    offset, escapes, pending = 0, False, b""
    with open(path, "rb") as fh:
        while True:
            piece = fh.read(_SCAN_BYTES)
            block = pending + piece
            cut = len(block) if not piece else block.rfind(b"\n") + 1
            block, pending = block[:cut], block[cut:]
            if block:
                if not block.isascii():
                    try:
                        block.decode("utf-8")
                    except UnicodeDecodeError:
                        return None
                escapes = escapes or block.find(b"\\") >= 0 or block.find(b"\x7f") >= 0
                view = np.frombuffer(block, np.uint8)
                feeds = np.flatnonzero(view == 10)
                line_ends = feeds if block.endswith(b"\n") else np.append(feeds, len(block))
                line_starts = np.concatenate(([0], feeds[: len(line_ends) - 1] + 1))
                empty = line_ends == line_starts
                for i in np.flatnonzero(~empty & (view[np.minimum(line_starts, len(view) - 1)] != ord("{"))):
                    empty[i] = not block[int(line_starts[i]) : int(line_ends[i])].removesuffix(b"\r").strip(b" ")
                starts.append(line_starts + offset)
                ends.append(line_ends + offset)
                blank_at.append(empty)
                offset += len(block)
            if not piece:
                break
    if not starts:
        return JsonLines(path, np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64), 0, False)
    blank = np.concatenate(blank_at)
    return JsonLines(path, np.concatenate(starts), np.concatenate(ends),
                      np.flatnonzero(~blank).astype(np.int64) + 1, int(np.count_nonzero(blank)), escapes)


def jsonl_plan(con: duckdb.DuckDBPyConnection, path: Path, fields: list[str],
                required: list[str]) -> tuple[dict[str, str], JsonLines] | None:
    """For a plain JSON-lines file whose every non-blank line is a JSON object (the engine's JSON reader can
    then read it whole, in columns): the columns to read (``tabular.named_columns``) and its lines. None for
    anything else, which the line-by-line staging reads and judges line by line."""
    if is_gzip(path):
        return None
    source = f"read_ndjson_objects({sql_text(str(path))})"
    with con.cursor() as cursor, ThreadPoolExecutor(max_workers=1, thread_name_prefix="json-check") as pool:
        counted = pool.submit(_json_values, cursor, source)  # the engine checks it is JSON meanwhile
        found = scan_json_lines(path)
        objects = counted.result()
    if found is None or objects is None:
        return None
    if found.keys is not None:  # the scan saw the objects and their keys
        keys = found.keys
    else:
        try:
            others = con.execute(f"SELECT count(*) FROM {source} WHERE json_type(json) <> 'OBJECT'").fetchall()[0][0]
            if others:
                return None
            keys = [k for (k,) in con.execute(
                f"SELECT DISTINCT unnest(json_keys(json)) AS k FROM {source} ORDER BY k").fetchall()]
        except duckdb.Error:
            return None
    if not objects or len(found.lines) != objects or len({k.lower() for k in keys}) != len(keys):
        return None  # not UTF-8, lines the engine counts otherwise, or keys differing only in case
    return named_columns(path, keys, fields, required), found


def _json_values(cursor: duckdb.DuckDBPyConnection, source: str) -> int | None:
    """How many JSON values the engine reads in the file; None when one of them is not JSON."""
    try:
        return int(cursor.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0])
    except duckdb.Error:
        return None


def jsonl_read(con: duckdb.DuckDBPyConnection, path: Path, name: str, fields: list[str], keys: dict[str, str],
                found: JsonLines) -> Iterator[Staged]:
    """The records of a JSON-lines file read by the engine's JSON reader, in chunks (``rows_per_chunk``):
    every key as text, the n-th record on the n-th non-blank line. A record whose line escapes a character
    (a value may then hold a control character) or is longer than the field limit is checked for both, as
    the line-by-line path checks every record."""
    present = [f for f in fields if f in keys]
    extras = [k for k in keys if k not in present]
    positions = {n: i + 1 for i, n in enumerate(keys)}
    columns = "{" + ", ".join(f"{sql_text(keys[n])}: 'VARCHAR'" for n in keys) + "}"
    # On a cursor of its own: the caller's connection runs other queries between two chunks.
    cursor = con.cursor()
    reader = cursor.execute(
        f"SELECT * FROM read_json({sql_text(str(path))}, format = 'newline_delimited', columns = {columns})"
    ).to_arrow_reader(rows_per_chunk(len(found.lines)))
    lines, raw_of = found.lines, found.raw_of
    lengths = (found.ends - found.starts)[lines - 1]
    done = 0
    for batch in reader:
        n = batch.num_rows
        given = {n_: batch.column(keys[n_]) for n_ in keys}
        here = lines[done : done + n]
        suspect = lengths[done : done + n] > FIELD_LIMIT
        longest = np.zeros(n, np.int64)
        if suspect.any():
            longest = np.max([np.asarray(pc.fill_null(pc.utf8_length(c), 0)) for c in given.values()], axis=0)
        if found.escapes:
            for f in present:
                suspect |= np.asarray(pc.fill_null(pc.match_substring_regex(given[f], CONTROLS), False), bool)
        raw = pa.nulls(n, pa.string())
        if suspect.any():
            texts = dict(zip(here[suspect].tolist(), raw_of(here[suspect].tolist()), strict=True))
            raw = string_array([texts.get(int(line)) for line in here])
        chunk = pa.table({**{f"c{positions[k]}": trimmed_text(c) for k, c in given.items()}, "line": from_numpy(here),
                          "raw": raw, "ncols": pa.nulls(n, pa.int32()), "longest": from_numpy(longest)})
        yield chunk_staged(path, name, "jsonl", chunk, present, extras, positions, None, raw_of=raw_of,
                            blank_lines=found.blank if not done else 0)
        done += n
    cursor.close()
