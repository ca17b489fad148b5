"""Writing the world: the access log, context tables, leak samples and truth.json (formats of DESIGN.md).

All text is built column-wise with Arrow compute and written with Arrow's CSV writer; files appear
atomically (temp file, fsync, rename). Identifier text comes from ``population.format_identifiers``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from custodiet.atomic import publish_file, temp_path
from custodiet.simulate.portal.clock import DAY_MS
from custodiet.simulate.portal.config import DATA_KINDS, OUTCOMES, SUBJECT_KINDS

ACCESS_COLUMNS = ("ts", "actor", "subject", "subject_kind", "data_kind", "event_id", "actor_org", "operation",
                  "case_id", "outcome", "records", "client_ip")

# The identifier each endpoint takes by default; other identifiers use a /by-<kind> variant.
PRIMARY = {"identity": "nid", "subscriber": "msisdn", "cdr": "msisdn", "location": "msisdn", "imei": "imei",
           "travel": "passport", "criminal": "nid"}
OPERATIONS = [f"/api/v2/{dk}" if PRIMARY[dk] == sk else f"/api/v2/{dk}/by-{sk}"
              for dk in DATA_KINDS for sk in SUBJECT_KINDS]


def codes(values: tuple[str, ...] | list[str], index: np.ndarray) -> pa.Array:
    """Text for code indexes; -1 gives an empty field."""
    idx = pa.array(np.asarray(index, dtype=np.int64), mask=np.asarray(index) < 0)
    return pc.take(pa.array(values, pa.string()), idx)


def _ascii_table(texts: np.ndarray, width: int) -> np.ndarray:
    return np.frombuffer(texts.astype(f"S{width}").tobytes(), np.uint8).reshape(-1, width)


def _clock_table() -> np.ndarray:
    """``HH:MM:SS`` as 8 ASCII bytes for every second of a day."""
    sec = np.arange(86_400)
    out = np.full((86_400, 8), ord(":"), dtype=np.uint8)
    for col, part in ((0, sec // 3600), (3, sec // 60 % 60), (6, sec % 60)):
        out[:, col] = 48 + part // 10
        out[:, col + 1] = 48 + part % 10
    return out


_CLOCK_TABLE = _clock_table()
_MS_TABLE = _ascii_table(np.char.zfill(np.arange(1000).astype(str), 3), 3)


def iso_ms(t: np.ndarray) -> pa.Array:
    """``2026-04-02T02:18:01.514Z`` per instant (ms since the epoch), built as fixed-width bytes
    from lookup tables (Arrow's strftime is ~10x slower)."""
    t = np.asarray(t, dtype=np.int64)
    n = len(t)
    out = np.empty((n, 24), dtype=np.uint8)
    if n:
        day = t // DAY_MS
        ms = t - day * DAY_MS
        first = int(day.min())
        dates = np.arange(first, int(day.max()) + 1).astype("datetime64[D]")
        out[:, :10] = _ascii_table(np.datetime_as_string(dates), 10)[day - first]
        out[:, 11:19] = _CLOCK_TABLE[ms // 1000]
        out[:, 20:23] = _MS_TABLE[ms % 1000]
        out[:, 10], out[:, 19], out[:, 23] = (ord(c) for c in "T.Z")
    offsets = np.arange(0, 24 * (n + 1), 24, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out)).cast(pa.string())


def ipv4_text(ip: np.ndarray) -> pa.Array:
    octets = [pa.array((ip >> s) & 255).cast(pa.string()) for s in (24, 16, 8, 0)]
    return pc.binary_join_element_wise(*octets, ".")


def request_ids(n: int) -> pa.Array:
    width = max(7, len(str(n)))
    num = pa.array(np.arange(1, n + 1)).cast(pa.string())
    return pc.binary_join_element_wise("r", pc.utf8_lpad(num, width, "0"), "")


def write_csv(path: Path, table: pa.Table) -> None:
    """CSV with a plain header line; fields are never quoted (the writer refuses text that would need it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    with open(tmp, "wb") as fh:
        fh.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none",
                                                       batch_size=1 << 16))
    publish_file(tmp, path)


def access_table(t: np.ndarray, actor_names: list[str], actor: np.ndarray, subject: pa.Array, kind: np.ndarray,
                 data_kind: np.ndarray, unit_names: list[str], unit: np.ndarray, case_names: list[str],
                 case: np.ndarray, outcome: np.ndarray, records: np.ndarray, ip: np.ndarray) -> pa.Table:
    op = data_kind.astype(np.int64) * len(SUBJECT_KINDS) + kind
    cols = [iso_ms(t), codes(actor_names, actor), subject, codes(SUBJECT_KINDS, kind),
            codes(DATA_KINDS, data_kind), request_ids(len(t)), codes(unit_names, unit[actor]),
            codes(OPERATIONS, op), codes(case_names, case), codes(OUTCOMES, outcome),
            pa.array(records.astype(np.int64)), ipv4_text(ip)]
    return pa.table(cols, names=list(ACCESS_COLUMNS))


def write_json(path: Path, doc: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    publish_file(tmp, path)
