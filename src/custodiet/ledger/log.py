"""The append-only log: append a batch, heal after a crash, read heads, answer proofs.

Appending one batch (caller holds ``store.writer()``):

1. the segment is written atomically (``segments.SegmentWriter``) — from here the events are kept;
2. its leaf hashes and every tree node they complete are appended to ``nodes.bin`` (fsync);
3. a manifest line records the segment's sha256, row count and first leaf (fsync);
4. a head over the new size is signed and appended to ``heads.jsonl`` (fsync) — the commit point.

Before step 1 renames the segment into place, the writer journals it (``journal``: name, size, digest,
expected tree size; fsynced), so a segment is only ever published under the writers' lock. A crash
anywhere before 4 leaves ``nodes.bin`` / the manifest ahead of the newest head. ``heal`` cuts them back to
the signed size and appends the segments the tree does not yet hold, so no event is lost or counted twice,
but only those the journal names (``recovery``): a file someone else put in the ledger folder is refused,
never signed. Heads are signed with the ledger's own key (``signing.writer_signer``), which may be kept
outside the store.

Healing is the writers' job: every append heals first, under the lock. Readers never heal and never lock:
they read one signed state (``snapshot``) and ignore anything past it.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from custodiet import atomic
from custodiet.events import canonical_json
from custodiet.ledger import journal, merkle
from custodiet.ledger.encoding import conform
from custodiet.ledger.growth import Growth, grow
from custodiet.ledger.hashing import Hasher, default_hasher, event_fingerprints, fingerprint
from custodiet.ledger.heads import HeadsFile, LedgerError, last_head, last_line
from custodiet.ledger.recovery import recovery_plan
from custodiet.ledger.segments import SegmentWriter, segment_number
from custodiet.ledger.signing import Signer, ensure_key_record, sign_head_with, writer_signer
from custodiet.ledger.snapshot import Snapshot, take
from custodiet.ledger.tree import (
    LedgerPaths,
    NodeFile,
    SegmentEntry,
    append_durably,
    file_sha256,
    manifest_gap,
    read_manifest,
    truncate_to,
    write_manifest,
)
from custodiet.store import Store

HASH = merkle.HASH_SIZE


def append_events(store: Store, table: pa.Table, hasher: Hasher | None = None) -> Path | None:
    """Append one batch of canonical events and sign a head; the caller holds ``store.writer()``.

    Returns the new segment, or None for an empty batch (which still heals an interrupted append).
    The batch is appended as a single part (``append_event_parts``): its tree nodes are computed while
    the segment is written, both outside the GIL.
    """
    return append_event_parts(store, [table], hasher)


def append_event_parts(store: Store, parts: Iterable[pa.Table], hasher: Hasher | None = None) -> Path | None:
    """Append one batch given as consecutive parts, and sign one head; the caller holds ``store.writer()``.

    The same ledger batch as ``append_events`` of the parts concatenated (one segment, one head), but
    the batch need not exist whole: each part is written as a row group of the segment while a worker
    thread hashes its leaves and grows the tree by them (both outside the GIL), and the next part may
    meanwhile be prepared by the caller's iterator. Returns the new segment, or None when there were no
    rows. Only the computing overlaps; the durable writes keep their order (segment, nodes, manifest, head).
    """
    hasher = hasher or default_hasher()
    size = heal(store, hasher)  # checks the lock is held
    paths = LedgerPaths.of(store)
    signer = writer_signer(store, last_head(paths.heads))
    tables: list[pa.Table] = []
    grown: list[Future[None]] = []
    writer: SegmentWriter | None = None
    with NodeFile(paths.nodes) as stored, ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-hash") as pool:
        batch = _BatchNodes(size, stored, hasher)
        try:
            for part in parts:
                if not part.num_rows:
                    continue
                part = conform(part)
                grown.append(pool.submit(batch.grow, part))  # one worker: parts grow the tree in order
                writer = writer or SegmentWriter(store)
                writer.write(part)
                tables.append(part)
            if writer is None:
                return None
            for done in grown:
                done.result()  # re-raises a hashing error
            record = journal.recorder(store, signer, size, sum(t.num_rows for t in tables))
            path = writer.publish(record)
        except BaseException:
            if writer is not None:
                writer.abandon()
            raise
    growth = Growth(size, batch.size, batch.added, {})
    _append_segments(store, size, [(path, pa.concat_tables(tables))], hasher, growth, signer, record.digests)
    return path


class _BatchNodes:
    """Grows a stored tree of ``size`` leaves part by part, in memory: a node older than the batch is read
    from the node file, one added by an earlier part from ``added`` (the batch's nodes in node-file order)."""

    def __init__(self, size: int, stored: NodeFile, hasher: Hasher):
        self.size, self.stored, self.hasher = size, stored, hasher
        self.base = merkle.node_count(size)
        self.added = np.empty((0, HASH), dtype=np.uint8)

    def get(self, level: int, index: int) -> bytes:
        position = merkle.node_position(level, index)
        if position < self.base:
            return self.stored.get(level, index)
        return self.added[position - self.base].tobytes()

    def grow(self, part: pa.Table) -> None:
        """Hash the part's leaves and append the nodes they complete to ``added``."""
        growth = grow(self.size, self.hasher.leaves_of_table(part), self.get, self.hasher.pairs)
        self.size = growth.new_size
        self.added = np.concatenate([self.added, growth.nodes]) if len(self.added) else growth.nodes


def heal(store: Store, hasher: Hasher | None = None) -> int:
    """Bring the tree level with the segments after a crash; returns the signed size (lock held).

    Adopts only segments the writer journaled (``recovery.recovery_plan`` checks first and raises
    ``LedgerError``, changing nothing, when the ledger holds anything else). Only under the writers' lock:
    the journal a segment is adopted by is the writers' own, and a segment may only be published under it."""
    if not store.holds_lock:
        raise RuntimeError("healing or appending to the ledger needs the writers' lock (`with store.writer():`)")
    paths = LedgerPaths.of(store)
    heads = HeadsFile.read(paths.heads)
    signer = writer_signer(store, heads.heads[-1] if heads.heads else None)
    plan = recovery_plan(store, heads, signer.public_hex)
    heads.drop_torn_tail()
    size = heads.size
    entries = read_manifest(paths.manifest)
    kept = [e for e in entries if e.end_leaf <= size]
    gap = manifest_gap(kept, size, paths.manifest.name)
    if gap is not None:
        raise LedgerError(f"{gap[0]}; run `custodiet verify`")
    if len(kept) != len(entries) or not _ends_cleanly(paths.manifest):
        write_manifest(paths.manifest, kept)
    truncate_to(paths.nodes, merkle.node_count(size) * HASH)
    if plan.pending:
        size = _append_segments(store, size, [(p, None) for p, _ in plan.pending], hasher or default_hasher(),
                                signer=signer, digests={p.name: r.sha256 for p, r in plan.pending})
    else:
        journal.clear(store)  # records of segments never renamed into place, or already signed
    return size


def _ends_cleanly(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return True
    with open(path, "rb") as fh:
        fh.seek(-1, 2)
        return fh.read(1) == b"\n"


def looks_healed(store: Store) -> bool:
    """A cheap check (file tails and sizes only) that no append was interrupted."""
    paths = LedgerPaths.of(store)
    head = last_head(paths.heads)
    size = int(head["tree_size"]) if head else 0
    line = last_line(paths.manifest)
    entry = SegmentEntry(**json.loads(line)) if line else None
    segments = store.segment_paths()
    nodes = paths.nodes.stat().st_size if paths.nodes.exists() else 0
    return (
        _ends_cleanly(paths.heads)
        and _ends_cleanly(paths.manifest)
        and (entry.end_leaf if entry else 0) == size
        and nodes == merkle.node_count(size) * HASH
        and (segment_number(segments[-1]) if segments else 0) == (segment_number(Path(entry.segment)) if entry else 0)
    )


def ensure_healed(store: Store) -> None:
    """Heal under the writers' lock if an append was interrupted (for writers; readers use a snapshot)."""
    if not looks_healed(store):
        with store.writer("heal the ledger"):
            heal(store)


def _append_segments(store: Store, size: int, segments: list[tuple[Path, pa.Table | None]],
                     hasher: Hasher, first_growth: Growth | None = None, signer: Signer | None = None,
                     digests: dict[str, str] | None = None) -> int:
    """Append the tree nodes and manifest lines of segments already written, then sign one head.

    ``first_growth``, when given, is the precomputed growth of the first segment (``append_event_parts``).
    ``digests`` are SHA-256s already taken (by the journal), by segment name. Once the head is durable the
    journal is emptied and the ledger's public key recorded.
    """
    paths = LedgerPaths.of(store)
    paths.nodes.parent.mkdir(parents=True, exist_ok=True)
    paths.nodes.touch()
    with NodeFile(paths.nodes) as nodes:
        for path, table in segments:
            if table is None:
                table = conform(pq.read_table(path))
            growth, first_growth = first_growth, None
            if growth is None:
                growth = grow(size, hasher.leaves_of_table(table), nodes.get, hasher.pairs)
            elif (growth.old_size, growth.new_size) != (size, size + table.num_rows):
                raise LedgerError(f"{path.name}: precomputed tree growth does not fit the segment")
            append_durably(paths.nodes, growth.nodes.tobytes())
            ids = table.column("event_id")
            digest = (digests or {}).get(path.name) or file_sha256(path)
            entry = SegmentEntry(path.name, digest, table.num_rows, size,
                                 ids[0].as_py() if len(ids) else None, ids[-1].as_py() if len(ids) else None)
            atomic.append_line(paths.manifest, entry.to_json())
            size += table.num_rows
        root = merkle.root(nodes.get, size)
    signer = signer or writer_signer(store, last_head(paths.heads))
    head = sign_head_with(signer, size, root)
    atomic.append_line(paths.heads, canonical_json(head))
    ensure_key_record(store, signer)
    journal.clear(store)
    return size


# -- reading ---------------------------------------------------------------------------------------

def head(store: Store) -> dict | None:
    """The newest signed tree head, or None before the first append (never waits for a writer)."""
    return take(store).head


def heads(store: Store) -> list[dict]:
    """Every signed tree head, oldest first."""
    return list(take(store, all_heads=True).heads)


def _signed(store: Store, snapshot: Snapshot | None) -> Snapshot:
    found = snapshot or take(store)
    if found.head is None:
        raise LedgerError("the ledger is empty: no signed tree head yet")
    return found


def _check_size(size: int | None, signed: int, what: str = "tree size") -> int:
    size = signed if size is None else size
    if not 0 < size <= signed:
        raise LedgerError(f"{what} {size} is outside the signed tree (1..{signed})")
    return size


def inclusion_proof_at(store: Store, leaf_index: int, tree_size: int | None = None,
                       snapshot: Snapshot | None = None) -> dict[str, Any]:
    """RFC 9162 inclusion proof of the leaf at ``leaf_index`` in the tree of ``tree_size`` leaves."""
    signed = _signed(store, snapshot)
    size = _check_size(tree_size, signed.size)
    if not 0 <= leaf_index < size:
        raise LedgerError(f"leaf index {leaf_index} is outside a tree of {size} leaves")
    with NodeFile(LedgerPaths.of(store).nodes) as nodes:
        path = merkle.inclusion_path(nodes.get, leaf_index, size)
        root = merkle.root(nodes.get, size)
        leaf = nodes.leaf(leaf_index)
    if size == signed.size and root.hex() != signed.root_hash:
        raise LedgerError("the stored tree does not match the newest signed head; run `custodiet verify`")
    return {"leaf_index": leaf_index, "tree_size": size, "leaf_hash": leaf.hex(),
            "inclusion_path": [h.hex() for h in path], "root_hash": root.hex()}


def inclusion_proof(store: Store, event_id: str, tree_size: int | None = None) -> dict[str, Any]:
    """Inclusion proof of an event by id (its earliest leaf, should an id have been appended twice)."""
    signed = _signed(store, None)
    size = _check_size(tree_size, signed.size)
    index = find_leaf(store, event_id, size, signed)
    if index is None:
        raise LedgerError(f"event {event_id!r} is not among the first {size} leaves of the ledger")
    return {"event_id": event_id, **inclusion_proof_at(store, index, size, signed)}


def consistency_proof(store: Store, first: int, second: int | None = None) -> dict[str, Any]:
    """RFC 9162 consistency proof that the tree of ``second`` leaves extends the tree of ``first``."""
    signed = _signed(store, None).size
    second = _check_size(second, signed, "--to size")
    if not 0 < first <= second:
        raise LedgerError(f"--from size {first} must be between 1 and {second}")
    with NodeFile(LedgerPaths.of(store).nodes) as nodes:
        proof = merkle.consistency_path(nodes.get, first, second)
        first_root, second_root = merkle.root(nodes.get, first), merkle.root(nodes.get, second)
    return {"first_size": first, "second_size": second, "first_root": first_root.hex(),
            "second_root": second_root.hex(), "proof": [h.hex() for h in proof]}


# -- the event id index ----------------------------------------------------------------------------

def find_leaf(store: Store, event_id: str, size: int, snapshot: Snapshot | None = None) -> int | None:
    """The first leaf below ``size`` (at most the signed size of ``snapshot``) whose event has this id, via
    the fingerprint index."""
    ids = _id_index(store, size, snapshot or take(store))
    hits = np.flatnonzero(ids == np.uint64(fingerprint(event_id)))
    return int(hits[0]) if len(hits) else None


def id_fingerprints(store: Store, snapshot: Snapshot) -> np.ndarray:
    """The id index key (``hashing.event_fingerprints``) of every leaf the snapshot signs, in leaf order (a
    read-only memory map)."""
    return _id_index(store, snapshot.size, snapshot)


def _id_index(store: Store, size: int, snapshot: Snapshot) -> np.ndarray:
    """Fingerprints of leaves ``0..size-1``, extending ``ids.bin`` from the snapshot's segments when it is
    short (under its own lock: readers extend it, and never past what a signed head covers)."""
    paths = LedgerPaths.of(store)
    have = paths.ids.stat().st_size // 8 if paths.ids.exists() else 0
    if have < size:
        with open(paths.ids, "ab") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                _extend_id_index(store, paths, size, snapshot)
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    if size == 0:
        return np.empty(0, dtype=np.uint64)
    return np.memmap(paths.ids, dtype=np.uint64, mode="r", shape=(size,))


def _extend_id_index(store: Store, paths: LedgerPaths, size: int, snapshot: Snapshot) -> None:
    have = paths.ids.stat().st_size // 8
    entries = [e for e in snapshot.entries if e.end_leaf > have and e.first_leaf < size]
    if entries and entries[0].first_leaf < have:  # a crash cut an extension short: redo that segment
        os.truncate(paths.ids, entries[0].first_leaf * 8)
    elif paths.ids.stat().st_size != have * 8:
        os.truncate(paths.ids, have * 8)
    for entry in entries:
        # ParquetFile, not read_table: that imports pyarrow.dataset and pandas (half a second)
        event_ids = pq.ParquetFile(store.segments_dir / entry.segment).read(columns=["event_id"]).column("event_id")
        if len(event_ids) != entry.rows:
            raise LedgerError(f"segment {entry.segment} has {len(event_ids)} rows, the manifest says "
                              f"{entry.rows}; run `custodiet verify`")
        append_durably(paths.ids, event_fingerprints(event_ids).astype(np.uint64).tobytes())
