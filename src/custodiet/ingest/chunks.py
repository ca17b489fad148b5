"""What the readers of every form share: a chunk as a staged unit, and how many records a chunk holds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from custodiet.arrow_columns import from_numpy
from custodiet.ingest.tabular import Staged, extras_json, ident

ROWS_PER_CHUNK = 2_000_000  # the most JSON lines or Parquet records per chunk: about 0.4 GB in Arrow
MIN_ROWS_PER_CHUNK = 500_000  # the least: a file is cut into about eight chunks (see fastcsv.MIN_CHUNK_BYTES)
CONTROLS = r"[\x00-\x1f\x7f]"


def rows_per_chunk(rows: int) -> int:
    """Records per chunk for a file of ``rows`` records."""
    return min(ROWS_PER_CHUNK, max(MIN_ROWS_PER_CHUNK, rows // 8))


def chunk_staged(path: Path, name: str, fmt: str, columns: pa.Table, present: list[str], extras: list[str],
                 positions: dict[str, int], expected_ncols: int | None, **more: object) -> Staged:
    """A chunk as a staged unit: its view ``name`` over the chunk's Arrow columns (registered as
    ``<name>_arrow``) is defined on each connection that checks it (``Staged.define_view``)."""
    cols = ", ".join(f"c{positions[c]} AS {ident(c)}" for c in present)
    exact = columns.column("raw").null_count < columns.num_rows
    return Staged(name, path, fmt, present, expected_ncols, extras, clean=fmt == "csv" and not exact,
                  columns=columns, positions=positions,
                  view_sql=f"SELECT line, raw, ncols, false AS blank, {cols}, "
                           f"{extras_json([(c, f'c{positions[c]}') for c in extras])} AS extras, longest "
                           f"FROM {name}_arrow", **more)  # type: ignore[arg-type]


def named_select(staged_fields: list[str], positions: dict[str, int], values: dict[str, str]) -> tuple[str, str]:
    """SQL for the ``c<position>`` columns of named inputs (``values``: name -> SQL of its text) and for
    whether a record needs the engine's control-character check (over the expected fields, as the
    line-by-line path checks them)."""
    cols = ", ".join(f"nullif(trim({values[n]}), '') AS c{positions[n]}" for n in positions)
    text = "concat_ws('', " + ", ".join(f"nullif(trim({values[f]}), '')" for f in staged_fields) + ")"
    return cols, f"regexp_matches({text}, '{CONTROLS}')"


def raw_by_line(con: duckdb.DuckDBPyConnection, relation: str) -> Callable[[list[int]], list[str]]:
    """The raw text of some records of ``relation`` (``line``, ``raw``), by their lines."""
    def raw_of(lines: list[int]) -> list[str]:
        con.register("wanted_lines", pa.table({"line": from_numpy(np.array(lines, dtype=np.int64))}))
        try:
            found = dict(con.execute(
                f"SELECT r.line, r.raw FROM ({relation}) r SEMI JOIN wanted_lines w ON w.line = r.line").fetchall())
        finally:
            con.unregister("wanted_lines")
        return [found.get(line, "") for line in lines]
    return raw_of
