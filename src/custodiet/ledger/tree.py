"""The ledger's files beside the segments, and reading them.

    <home>/ledger/segments/NNNNNNNN.parquet   events (``segments``)
    <home>/ledger/nodes.bin                   every perfect tree node, 32 bytes each, in post-order
    <home>/ledger/manifest.jsonl              one line per segment: name, sha256, rows, first leaf, ids
    <home>/ledger/heads.jsonl                 signed tree heads, oldest first (``heads``)
    <home>/ledger/ids.bin                     id index: 8-byte fingerprint of each leaf's event_id

``nodes.bin`` and ``manifest.jsonl`` may run ahead of the newest head after a crash; everything past
the signed size is discarded and rebuilt from the segments (``ledger.heal``). ``ids.bin`` is derived
data, extended lazily by lookups, and is not part of the evidence.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from custodiet import atomic
from custodiet.events import canonical_json
from custodiet.ledger import merkle
from custodiet.ledger.heads import LedgerError
from custodiet.store import Store

HASH = merkle.HASH_SIZE


@dataclass(frozen=True)
class LedgerPaths:
    nodes: Path
    manifest: Path
    heads: Path
    ids: Path

    @classmethod
    def of(cls, store: Store) -> LedgerPaths:
        d = store.ledger_dir
        return cls(d / "nodes.bin", d / "manifest.jsonl", d / "heads.jsonl", d / "ids.bin")


@dataclass(frozen=True)
class SegmentEntry:
    """One segment as the tree saw it when it was appended."""

    segment: str
    sha256: str
    rows: int
    first_leaf: int
    first_event_id: str | None
    last_event_id: str | None

    @property
    def end_leaf(self) -> int:
        return self.first_leaf + self.rows

    def to_json(self) -> str:
        return canonical_json(asdict(self))


def file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


# path -> (the complete lines already parsed, as bytes; their entries). The manifest only grows (a heal cuts
# back only what no head signs, and a rewrite replaces the file): a read whose bytes start with the ones
# parsed before parses only the lines added since, so an append costs the same however many segments exist.
_PARSED: dict[Path, tuple[bytes, tuple[SegmentEntry, ...]]] = {}


def read_manifest(path: Path) -> list[SegmentEntry]:
    """All complete manifest lines (a last line cut short by a crash is ignored)."""
    if not path.exists():
        return []
    data = path.read_bytes()
    done, entries = _PARSED.get(path, (b"", ()))
    if not data.startswith(done):
        done, entries = b"", ()
    whole = data.rfind(b"\n") + 1
    parsed = list(entries)  # one entry per line parsed
    for number, line in enumerate(data[len(done):whole].split(b"\n")[:-1], start=len(parsed) + 1):
        try:
            parsed.append(SegmentEntry(**json.loads(line)))
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as exc:
            raise LedgerError(f"{path.name}:{number}: not a manifest entry ({exc})") from exc
    _PARSED[path] = (data[:whole], tuple(parsed))
    return parsed


def manifest_gap(entries: list[SegmentEntry], size: int, name: str) -> tuple[str, str | None] | None:
    """Why the manifest ``name`` does not cover leaves ``0..size-1`` back to back: (message, segment), or None."""
    covered = 0
    for entry in entries:
        if entry.first_leaf != covered:
            return f"{name}: {entry.segment} starts at leaf {entry.first_leaf}, expected {covered}", entry.segment
        covered = entry.end_leaf
    if covered != size:
        return f"{name} covers {covered} leaves but the newest head signs {size}", None
    return None


def write_manifest(path: Path, entries: list[SegmentEntry]) -> None:
    atomic.write_bytes(path, "".join(e.to_json() + "\n" for e in entries).encode("utf-8"))


def append_durably(path: Path, data: bytes) -> None:
    """Append bytes and fsync (the file is truncated back to the signed size if a crash follows)."""
    with open(path, "ab") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def truncate_to(path: Path, length: int) -> None:
    """Cut a file that ran ahead of the signed tree back to ``length`` bytes; refuse to grow one."""
    have = path.stat().st_size if path.exists() else 0
    if have < length:
        raise LedgerError(f"{path.name} holds {have} bytes but the signed tree needs {length}: "
                          "tree state lost; run `custodiet verify`")
    if have > length:
        os.truncate(path, length)


class NodeFile:
    """Random access to ``nodes.bin`` by (level, index), one ``pread`` per node."""

    def __init__(self, path: Path):
        self.path = path
        self._fd = os.open(path, os.O_RDONLY) if path.exists() else -1

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> NodeFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, level: int, index: int) -> bytes:
        position = merkle.node_position(level, index)
        data = os.pread(self._fd, HASH, position * HASH) if self._fd >= 0 else b""
        if len(data) != HASH:
            raise LedgerError(f"{self.path.name}: node ({level}, {index}) is missing; run `custodiet verify`")
        return data

    def leaf(self, index: int) -> bytes:
        return self.get(0, index)

    def range(self, first_node: int, count: int) -> np.ndarray:
        """Nodes ``first_node .. first_node+count-1`` in post-order, as (count, 32) uint8."""
        data = os.pread(self._fd, count * HASH, first_node * HASH) if self._fd >= 0 and count else b""
        return np.frombuffer(data, dtype=np.uint8).reshape(-1, HASH)

    def leaves(self, first: int, end: int) -> np.ndarray:
        """Leaf hashes ``first .. end-1`` as (n, 32) uint8 (vectorised gather from post-order)."""
        if end <= first:
            return np.empty((0, HASH), dtype=np.uint8)
        lo, hi = merkle.node_position(0, first), merkle.node_position(0, end - 1) + 1
        block = self.range(lo, hi - lo)
        if len(block) != hi - lo:
            raise LedgerError(f"{self.path.name}: leaves {first}..{end - 1} are missing; run `custodiet verify`")
        return block[merkle.node_positions(0, first, end - first) - lo]
