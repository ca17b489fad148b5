"""Bindings to the optional C extension ``_fasthash``: whole batches of SHA-256 with the GIL released.

The extension hashes straight from Arrow buffers, so a batch of events becomes its ``cev1`` leaf
hashes in one call (encoding and hashing fused in C, no per-row Python objects, no joined copy of the
encoded batch) and a whole tree level becomes its parents in another. It is built by ``setup.py`` from
``_fasthash.c`` against OpenSSL's libcrypto. When it is missing (no C compiler or OpenSSL headers at
install time) ``AVAILABLE`` is False, ``IMPORT_ERROR`` says why, and ``hashing`` falls back to hashlib.

Threads: ``CUSTODIET_HASH_THREADS`` (default: the CPUs this process may run on, at most 4). Results do
not depend on the thread count.
"""

from __future__ import annotations

import os
from types import ModuleType

import numpy as np
import pyarrow as pa

from custodiet.events import EVENT_SCHEMA
from custodiet.ledger.encoding import NUMERIC_FIELDS, VERSION, conform
from custodiet.ledger.merkle import HASH_SIZE, LEAF_PREFIX

_fasthash: ModuleType | None
try:
    from custodiet.ledger import _fasthash
except ImportError as exc:  # the extension was not built: the hashlib engine takes over
    _fasthash, IMPORT_ERROR = None, str(exc)
else:
    IMPORT_ERROR = ""

AVAILABLE = _fasthash is not None
OPENSSL_VERSION: str = getattr(_fasthash, "OPENSSL_VERSION", "")
_BINARY, _INT64, _TIME = 0, 1, 2
_KINDS = [_INT64 if f.name in NUMERIC_FIELDS else _BINARY for f in EVENT_SCHEMA]


def _module() -> ModuleType:
    if _fasthash is None:
        raise RuntimeError(f"the C hashing extension is not built ({IMPORT_ERROR}); "
                           "reinstall with a C compiler and OpenSSL headers (libssl-dev)")
    return _fasthash


def threads() -> int:
    """Worker threads per hashing call: ``CUSTODIET_HASH_THREADS``, else the usable CPUs (at most 4)."""
    configured = os.environ.get("CUSTODIET_HASH_THREADS", "").strip()
    if configured:
        try:
            return max(1, int(configured))
        except ValueError as exc:
            raise ValueError(f"CUSTODIET_HASH_THREADS must be a whole number, got {configured!r}") from exc
    return max(1, min(4, len(os.sched_getaffinity(0))))


def _digests(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, HASH_SIZE)


def _column(array: pa.Array, kind: int) -> tuple[int, int, pa.Buffer | None, pa.Buffer | None, pa.Buffer | None]:
    """``(kind, offset, validity, offsets, data)`` of one Arrow array, as ``record_hashes`` reads it."""
    buffers = array.buffers()
    validity = buffers[0] if array.null_count else None
    if kind in (_INT64, _TIME):
        return kind, array.offset, validity, None, buffers[1]
    return kind, array.offset, validity, buffers[1], buffers[2]


def leaf_hashes(table: pa.Table) -> np.ndarray:
    """RFC 9162 leaf hashes ``SHA-256(0x00 ‖ cev1 encoding)`` of a table of events, (n, 32) uint8.

    Byte-identical to hashing ``encoding.leaf_inputs(table)``; reads the Arrow buffers in place.
    """
    table = conform(table)
    module, workers, head = _module(), threads(), LEAF_PREFIX + VERSION
    out = np.empty((table.num_rows, HASH_SIZE), dtype=np.uint8)
    row = 0
    for batch in table.to_batches():  # zero-copy slices at every column's chunk boundary
        if batch.num_rows == 0:
            continue
        columns = [_column(batch.column(i), kind) for i, kind in enumerate(_KINDS)]
        out[row : row + batch.num_rows] = _digests(module.record_hashes(columns, batch.num_rows, head, workers))
        row += batch.num_rows
    return out


def content_hashes(table: pa.Table) -> np.ndarray:
    """SHA-256 of each row's content text (``_fasthash.c``, ``content_hashes``: every field as its length in
    characters, ':' and its text, or '-' when null, joined by '|'), as (n, 32) uint8. Every column is a
    ``string`` column, or an ``int64`` one of UTC microseconds in the years 1000 to 9999, written as the
    engine's ``strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ')``."""
    module, workers = _module(), threads()
    out = np.empty((table.num_rows, HASH_SIZE), dtype=np.uint8)
    row = 0
    for batch in table.to_batches():
        if batch.num_rows == 0:
            continue
        columns = [_column(c, _TIME if pa.types.is_int64(c.type) else _BINARY) for c in batch.columns]
        out[row : row + batch.num_rows] = _digests(module.content_hashes(columns, batch.num_rows, workers))
        row += batch.num_rows
    return out


def sha256_values(values: pa.Array | pa.ChunkedArray, prefix: bytes = b"") -> np.ndarray:
    """SHA-256(prefix ‖ value) of every value of a binary or string array, as (n, 32) uint8."""
    module, workers = _module(), threads()
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    parts = []
    for chunk in chunks:
        if len(chunk) == 0:
            continue
        if chunk.null_count:
            raise ValueError("cannot hash a null value")
        large = pa.types.is_large_binary(chunk.type) or pa.types.is_large_string(chunk.type)
        width = 8 if large else 4
        _, offsets, data = chunk.buffers()
        offsets = memoryview(offsets)[chunk.offset * width : (chunk.offset + len(chunk) + 1) * width]
        parts.append(_digests(module.sha256_values(data if data is not None else b"", offsets, prefix,
                                                   workers, width)))
    return np.concatenate(parts) if parts else np.empty((0, HASH_SIZE), dtype=np.uint8)


def node_hashes(pairs: np.ndarray) -> np.ndarray:
    """SHA-256(0x01 ‖ left ‖ right) of every row of a (p, 64) uint8 array, as (p, 32) uint8."""
    if pairs.ndim != 2 or pairs.shape[1] != 2 * HASH_SIZE:
        raise ValueError(f"expected (p, {2 * HASH_SIZE}) pairs, got shape {pairs.shape}")
    return _digests(_module().node_hashes(np.ascontiguousarray(pairs, dtype=np.uint8), threads()))
