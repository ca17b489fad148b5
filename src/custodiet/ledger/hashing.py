"""Batch SHA-256 for the ledger: leaf hashes of whole batches, internal nodes of whole tree levels.

Three engines compute the same bytes (the tests hold them equal, and to pymerkle); ``bench/ledger.py``
times them against each other:

- ``native`` (default when built): the C extension ``_fasthash`` over OpenSSL's libcrypto. It encodes
  and hashes a batch straight from its Arrow buffers and hashes whole tree levels, GIL released, on
  ``native.threads()`` threads (see ``native``);
- ``hashlib`` (the fallback): the ``cev1`` encoding built with Arrow/numpy (``encoding.leaf_inputs``),
  then a tight ``hashlib.sha256`` loop — Python's per-call cost dominates;
- ``duckdb``: DuckDB's vectorised ``sha256()`` over the encoded Arrow column (a comparison engine).

``BACKEND`` names the engine ``default_hasher()`` returns: ``native`` when the extension imports,
else ``hashlib`` (``CUSTODIET_LEDGER_HASH=hashlib`` forces the fallback). Hashes travel as numpy
``(n, 32)`` uint8 arrays, so the tree code never makes per-row objects.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from custodiet.events import EVENT_SCHEMA
from custodiet.ledger import native
from custodiet.ledger.encoding import leaf_inputs
from custodiet.ledger.merkle import HASH_SIZE, NODE_PREFIX

CHUNK_ROWS = 1 << 20  # rows encoded at once (keeps Arrow's 32-bit offsets far from overflowing)
SMALL = 4096  # below this many values, a DuckDB round trip costs more than it saves

_local = threading.local()


def _duckdb() -> duckdb.DuckDBPyConnection:
    con = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect(config={"preserve_insertion_order": True})
        _local.con = con
    return con


def fixed_width(column: pa.ChunkedArray | pa.Array, width: int) -> np.ndarray:
    """A binary Arrow column whose values all have ``width`` bytes, as an (n, width) uint8 array."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = []
    for chunk in chunks:
        if chunk.null_count:
            raise ValueError("unexpected null hash")
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32, count=len(chunk) + 1, offset=chunk.offset * 4)
        data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        if len(data) != width * len(chunk):
            raise ValueError(f"expected {width}-byte values")
        parts.append(data.reshape(len(chunk), width))
    if not parts:
        return np.empty((0, width), dtype=np.uint8)
    return np.concatenate(parts)


def binary_rows(rows: np.ndarray) -> pa.Array:
    """An Arrow binary array whose values are the rows of a 2-D uint8 array."""
    n, width = rows.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(rows.tobytes())])


def _hashlib_values(values: pa.Array) -> np.ndarray:
    sha = hashlib.sha256
    digests = b"".join([sha(v).digest() for v in values.to_pylist()])
    return np.frombuffer(digests, dtype=np.uint8).reshape(-1, HASH_SIZE)


def _with_node_prefix(pairs: np.ndarray) -> np.ndarray:
    msgs = np.empty((len(pairs), 1 + 2 * HASH_SIZE), dtype=np.uint8)
    msgs[:, 0] = NODE_PREFIX[0]
    msgs[:, 1:] = pairs
    return msgs


def hashlib_pairs(pairs: np.ndarray) -> np.ndarray:
    """SHA-256(0x01 ‖ left ‖ right) of every row of a (p, 64) uint8 array, with hashlib."""
    sha = hashlib.sha256
    raw = _with_node_prefix(pairs).tobytes()
    step = 1 + 2 * HASH_SIZE
    digests = b"".join([sha(raw[i : i + step]).digest() for i in range(0, len(raw), step)])
    return np.frombuffer(digests, dtype=np.uint8).reshape(-1, HASH_SIZE)


class Hasher:
    """Leaf hashes of canonical events and parents of node pairs; the hashlib engine."""

    name = "hashlib"

    def values(self, values: pa.Array) -> np.ndarray:
        """SHA-256 of every value of a binary array, as (n, 32) uint8."""
        return _hashlib_values(values)

    def pairs(self, pairs: np.ndarray) -> np.ndarray:
        """SHA-256(0x01 ‖ left ‖ right) of every row of a (p, 64) uint8 array."""
        return hashlib_pairs(pairs)

    def leaves_of_table(self, table: pa.Table) -> np.ndarray:
        """RFC 9162 leaf hashes (n, 32) of canonical events, in row order."""
        parts = [self.values(leaf_inputs(table.slice(start, CHUNK_ROWS)))
                 for start in range(0, table.num_rows, CHUNK_ROWS)]
        return np.concatenate(parts) if parts else np.empty((0, HASH_SIZE), dtype=np.uint8)

    def leaves_of_file(self, path: Path) -> np.ndarray:
        """The same, read from a segment file one row group at a time."""
        parquet = pq.ParquetFile(path)
        parts = [self.leaves_of_table(parquet.read_row_group(i).cast(EVENT_SCHEMA))
                 for i in range(parquet.num_row_groups)]
        return np.concatenate(parts) if parts else np.empty((0, HASH_SIZE), dtype=np.uint8)


class DuckDBHasher(Hasher):
    """The same hashes computed by DuckDB's ``sha256()`` over Arrow columns (the comparison engine)."""

    name = "duckdb"

    def _sha256(self, values: pa.Array) -> np.ndarray:
        con = _duckdb()
        con.register("_values", pa.table({"v": values}))
        try:
            result = con.execute("SELECT unhex(sha256(v)) AS h FROM _values").to_arrow_table()
        finally:
            con.unregister("_values")
        return fixed_width(result.column("h"), HASH_SIZE)

    def values(self, values: pa.Array) -> np.ndarray:
        return _hashlib_values(values) if len(values) < SMALL else self._sha256(values)

    def pairs(self, pairs: np.ndarray) -> np.ndarray:
        if len(pairs) < SMALL:
            return hashlib_pairs(pairs)
        return self._sha256(binary_rows(_with_node_prefix(pairs)))


class NativeHasher(Hasher):
    """The same hashes from the C extension: encoding fused with hashing, whole levels per call."""

    name = "native"

    def values(self, values: pa.Array) -> np.ndarray:
        return native.sha256_values(values)

    def pairs(self, pairs: np.ndarray) -> np.ndarray:
        return native.node_hashes(pairs)

    def leaves_of_table(self, table: pa.Table) -> np.ndarray:
        return native.leaf_hashes(table)


ENGINES: dict[str, type[Hasher]] = {"hashlib": Hasher, "duckdb": DuckDBHasher}
if native.AVAILABLE:
    ENGINES = {"native": NativeHasher, **ENGINES}

BACKEND = os.environ.get("CUSTODIET_LEDGER_HASH", "").strip() or ("native" if native.AVAILABLE else "hashlib")
logging.getLogger(__name__).debug(
    "ledger hashing backend: %s%s", BACKEND,
    f" ({native.OPENSSL_VERSION})" if BACKEND == "native" else
    ("" if native.AVAILABLE else f" (C extension not importable: {native.IMPORT_ERROR})"))


def default_hasher() -> Hasher:
    """A hasher of the engine ``BACKEND`` names: the C extension when built, else hashlib."""
    engine = ENGINES.get(BACKEND)
    if engine is None:
        missing = "" if native.AVAILABLE else f"; the native engine is not built: {native.IMPORT_ERROR}"
        raise ValueError(f"CUSTODIET_LEDGER_HASH={BACKEND!r}: choose one of {', '.join(ENGINES)}{missing}")
    return engine()


def event_fingerprints(event_ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The id index key of each event: the first 8 bytes of SHA-256(event_id), as uint64."""
    if native.AVAILABLE and BACKEND != "hashlib":
        return np.ascontiguousarray(native.sha256_values(event_ids)[:, :8]).view(">u8").ravel().astype(np.uint64)
    sha = hashlib.sha256
    digests = b"".join([sha(e.encode("utf-8")).digest()[:8] for e in event_ids.to_pylist()])
    return np.frombuffer(digests, dtype=">u8").astype(np.uint64)


def fingerprint(event_id: str) -> int:
    return int.from_bytes(hashlib.sha256(event_id.encode("utf-8")).digest()[:8], "big")
