"""The canonical encoding of an event as a Merkle leaf — version ``cev1``. Changing it needs a new version.

The leaf input of an event is, byte for byte::

    "cev1"                              4 ASCII bytes, the version tag
    len(f1) len(f2) ... len(f14)        14 lengths, each an unsigned 32-bit big-endian integer
    bytes(f1) bytes(f2) ... bytes(f14)  the field values, concatenated

for the canonical fields in ``EVENT_SCHEMA`` order: event_id, ts, channel, actor, actor_org, subject,
subject_kind, data_kind, operation, authority, outcome, records, attrs, source. A value's bytes are

- for text fields: the UTF-8 text exactly as stored (adapters normalise; the ledger does not);
- for ``ts``: microseconds since 1970-01-01T00:00:00Z, signed 64-bit big-endian;
- for ``records``: the integer, signed 64-bit big-endian;

and a null has length ``0xFFFFFFFF`` and no bytes (so null and the empty string differ). The leaf
hash is ``SHA-256(0x00 ‖ leaf input)`` (RFC 9162 §2.1.1). Putting every length up front makes the
encoding unambiguous and lets it be built for a whole batch at once from Arrow buffers (``leaf_inputs``)
instead of row by row; ``encode_event`` is the readable reference and the tests hold the two equal.
The C engine (``native.leaf_hashes``) builds the same bytes from the same buffers and hashes them in one
step; its tests hold it equal to ``encode_event`` too.
Nothing depends on JSON or Parquet details, so anyone can recompute a leaf from an exported event.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

from custodiet.events import EVENT_SCHEMA, epoch_us

VERSION = b"cev1"
NULL_LENGTH = 0xFFFFFFFF
_FIELDS = list(EVENT_SCHEMA)
NUMERIC_FIELDS = {f.name for f in _FIELDS if pa.types.is_integer(f.type) or pa.types.is_timestamp(f.type)}


def conform(table: pa.Table) -> pa.Table:
    """The batch with exactly the canonical columns, in order, with the canonical types."""
    if table.schema == EVENT_SCHEMA:
        return table  # casting would import pyarrow.compute, a tenth of a second for a small batch
    return table.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)


def _value_bytes(name: str, value: Any) -> bytes:
    if name in NUMERIC_FIELDS:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise TypeError(f"{name} must be timezone-aware, got {value!r}")
            value = epoch_us(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an integer or a datetime, got {value!r}")
        return struct.pack(">q", value)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be text, got {value!r}")
    return value.encode("utf-8")


def encode_event(event: Mapping[str, Any]) -> bytes:
    """The ``cev1`` leaf input of one event (a mapping of canonical field name -> Python value)."""
    values = [None if event[f.name] is None else _value_bytes(f.name, event[f.name]) for f in _FIELDS]
    lengths = [NULL_LENGTH if v is None else len(v) for v in values]
    return VERSION + struct.pack(f">{len(lengths)}I", *lengths) + b"".join(v for v in values if v)


def _numeric_bytes(column: pa.Array) -> pa.Array:
    """An int64 or timestamp column as 8-byte big-endian values (nulls become empty values)."""
    valid = ~np.asarray(column.is_null(), dtype=bool)
    values = np.asarray(column.cast(pa.int64()).fill_null(0), dtype=np.int64)[valid].astype(">i8")
    offsets = np.zeros(len(column) + 1, dtype=np.int32)
    np.cumsum(valid.astype(np.int32) * 8, out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(values.tobytes())]
    return pa.Array.from_buffers(pa.binary(), len(column), buffers)


def leaf_inputs(table: pa.Table, prefix: bytes = b"\x00") -> pa.Array:
    """``prefix ‖ leaf input`` of every row of a table in ``EVENT_SCHEMA``, as one Arrow binary array.

    With the default prefix (the RFC 9162 leaf marker 0x00) each value is exactly what SHA-256 hashes.
    """
    import pyarrow.compute as pc  # only the hashlib engine needs it (a tenth of a second to import)

    n = table.num_rows
    table = conform(table)
    lengths = np.empty((n, len(_FIELDS)), dtype=">u4")
    bodies: list[pa.Array] = []
    for i, field in enumerate(_FIELDS):
        column = table.column(field.name).combine_chunks()
        body = _numeric_bytes(column) if field.name in NUMERIC_FIELDS else column.cast(pa.binary())
        lens = np.asarray(pc.binary_length(body).cast(pa.int64()).fill_null(0), dtype=np.int64)
        lengths[:, i] = np.where(np.asarray(column.is_null(), dtype=bool), NULL_LENGTH, lens)
        bodies.append(body)
    head_width = len(prefix) + len(VERSION) + 4 * len(_FIELDS)
    header = np.empty((n, head_width), dtype=np.uint8)
    header[:, : len(prefix) + len(VERSION)] = np.frombuffer(prefix + VERSION, dtype=np.uint8)
    header[:, len(prefix) + len(VERSION) :] = lengths.view(np.uint8).reshape(n, 4 * len(_FIELDS))
    offsets = np.arange(0, (n + 1) * head_width, head_width, dtype=np.int32)
    headers = pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(header.tobytes())])
    joined = pc.binary_join_element_wise(headers, *bodies, pa.scalar(b"", pa.binary()),
                                         null_handling="replace", null_replacement="")
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined
