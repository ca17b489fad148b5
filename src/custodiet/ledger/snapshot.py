"""One signed state of the ledger, for readers: a head, its tree size, the manifest prefix and the segments
it covers.

A writer appends in this order: the journal record of a segment, the segment (published under its final
name), its tree nodes, its manifest line, and last the signed head. A reader therefore reads the heads
first and the manifest after: every manifest line a head covers is already written when the head can be
read. Whatever lies past the newest complete head (a batch being appended, or one a crash interrupted) is
left out of the snapshot and never repaired here: repair is the writers' job, under their lock
(``log.heal``). A reader never waits for a writer.

What a snapshot names does not change under it: segments are immutable once published, ``nodes.bin`` and
``manifest.jsonl`` only grow past the signed size (or are cut back to it by ``heal``, the manifest by an
atomic rename), and ``heads.jsonl`` only grows (a torn last line is dropped by an atomic rename).

A snapshot names files by the manifest lines its head covers, never by listing the folder: a file someone
planted in ``segments/`` is not in any snapshot, so it reaches no query or detector. Sorting the folder's
files (signed, pending, foreign) is ``verify``'s job (``provenance``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from custodiet.ledger.heads import HeadsFile, LedgerError, last_head
from custodiet.ledger.tree import LedgerPaths, SegmentEntry, manifest_gap, read_manifest
from custodiet.store import Store


@dataclass(frozen=True)
class Snapshot:
    """The signed state a reader works from. ``heads`` holds every head up to ``head`` when the snapshot
    was taken with ``all_heads``, else only ``head`` (or nothing before the first append)."""

    store: Store
    heads: tuple[dict, ...]
    entries: tuple[SegmentEntry, ...]

    @property
    def head(self) -> dict | None:
        return self.heads[-1] if self.heads else None

    @property
    def size(self) -> int:
        """The signed tree size: how many events the snapshot holds."""
        return int(self.heads[-1]["tree_size"]) if self.heads else 0

    @property
    def root_hash(self) -> str | None:
        return self.heads[-1]["root_hash"] if self.heads else None

    @property
    def segments(self) -> list[Path]:
        """The segments the signed tree covers, in leaf order."""
        return [self.store.segments_dir / e.segment for e in self.entries]

    def describe(self) -> dict[str, object]:
        """What findings or an index record about the state they cover."""
        return {"tree_size": self.size, "root_hash": self.root_hash}


def take(store: Store, all_heads: bool = False) -> Snapshot:
    """The newest signed state of the store's ledger (see the module's docstring for why it is consistent).

    Raises ``LedgerError`` when the manifest does not cover the signed tree back to back: that is damage,
    not a race, since the manifest lines are written before the head that covers them.
    """
    paths = LedgerPaths.of(store)
    if all_heads:
        heads = tuple(HeadsFile.read(paths.heads).heads)  # a torn last line is an append under way: left out
    else:
        newest = last_head(paths.heads)
        heads = (newest,) if newest is not None else ()
    size = int(heads[-1]["tree_size"]) if heads else 0
    entries = tuple(e for e in read_manifest(paths.manifest) if e.end_leaf <= size)
    gap = manifest_gap(list(entries), size, paths.manifest.name)
    if gap is not None:
        raise LedgerError(f"{gap[0]}; run `custodiet verify`")
    return Snapshot(store, heads, entries)


def arrived_since(store: Store, tree_size: int) -> int:
    """How many events the ledger has signed past ``tree_size`` (0 when it holds no more)."""
    newest = last_head(LedgerPaths.of(store).heads)
    return max(0, (int(newest["tree_size"]) if newest else 0) - tree_size)
