"""For ``verify``: is every file in the ledger folder accounted for by a signed head or the writer's journal?

``check_layout`` runs before the tree is rebuilt and names, with the file and the first event concerned:

- a signed history that is gone (no heads, yet the store records that it signed some);
- a file in the ledger folder that is not the ledger's (``foreign``), including a segment no manifest line
  and no journal record accounts for: it was never signed and never will be;
- manifest lines past the newest head that no interrupted append journaled (``unsigned``: the heads
  were deleted, cut or replaced by an older copy);
- a truncated ``nodes.bin`` (``tree``: the first leaf the stored tree lost).

A segment the writer journaled before a crash is *pending*: reported in a note, left out of the check,
adopted by the writers' next append. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from custodiet.ledger import merkle
from custodiet.ledger.heads import head_problem, last_head
from custodiet.ledger.journal import file_digest as journal_file_digest
from custodiet.ledger.recovery import SegmentsView, classify_segments, foreign_ledger_files, where
from custodiet.ledger.signing import key_record_path, read_key_record
from custodiet.ledger.tree import LedgerPaths, SegmentEntry, read_manifest
from custodiet.store import Store


class LayoutProblem(Exception):
    """What ``check_layout`` found: ``kind``, message, and the event, segment and leaf concerned."""

    def __init__(self, kind: str, message: str, event_id: str | None = None, segment: str | None = None,
                 leaf_index: int | None = None):
        super().__init__(message)
        self.kind, self.message = kind, message
        self.event_id, self.segment, self.leaf_index = event_id, segment, leaf_index


def check_layout(store: Store, entries: list[SegmentEntry], size: int, heads: int, public_key: str | None,
                 note: Callable[[str], None]) -> SegmentsView:
    """Raise ``LayoutProblem`` for the first thing not accounted for; return the sorted segment files."""
    paths = LedgerPaths.of(store)
    view = classify_segments(store, entries, size, None, public_key)
    if view.foreign or view.unjournaled_entries:
        view = _with_newer_heads(store, view, size, public_key, note)
    if not heads and _has_signed(store):
        files = sorted(view.signed + [p for p, _ in view.foreign] + [p for p, _ in view.pending])
        name = entries[0].segment if entries else (files[0].name if files else None)
        first = entries[0].first_event_id if entries else (_first_event(store, files[0]) if files else None)
        raise LayoutProblem("head", f"heads.jsonl is missing or empty, but {where(store, key_record_path(store))} "
                                    "records that this ledger has signed heads: its signed history was deleted"
                            + (f"; first unsigned event {first} ({name})" if first else ""), first, name, 0)
    foreign, leftovers = foreign_ledger_files(store)
    if foreign:
        raise LayoutProblem("foreign", f"{where(store, foreign[0])} does not belong in the ledger folder: it is "
                                       "foreign and was never signed")
    if view.unjournaled_entries:
        entry = view.unjournaled_entries[0]
        raise LayoutProblem("unsigned", f"manifest.jsonl lists {entry.segment} past the newest signed head (tree "
                                        f"size {size}), and no interrupted append journaled it: from event "
                                        f"{entry.first_event_id} ({entry.segment}, leaf {entry.first_leaf}) on, no "
                                        "signed head covers the events (heads.jsonl deleted, cut or replaced?)",
                            entry.first_event_id, entry.segment, entry.first_leaf)
    if view.foreign:
        path, why = view.foreign[0]
        first = _first_event(store, path)
        raise LayoutProblem("foreign", f"{where(store, path)} is foreign ({why}): it was never signed"
                            + (f"; its first event is {first}" if first else ""), first, path.name)
    need = merkle.node_count(size) * merkle.HASH_SIZE
    have = paths.nodes.stat().st_size if paths.nodes.exists() else 0
    if have < need:
        leaf = _first_lost_leaf(have, size)
        event, segment = _event_at(store, entries, leaf)
        raise LayoutProblem("tree", f"nodes.bin is truncated ({have} of {need} bytes): the stored tree lost leaf "
                                    f"{leaf} on, first event {event or '?'} ({segment or '?'})", event, segment, leaf)
    for path, record in view.pending:
        note(f"{where(store, path)} ({record.rows} events) was journaled by an append that was cut short; it is "
             "not signed yet: the writers' next append adopts it")
    for path in view.leftovers + leftovers:
        if path.exists():
            note(f"{where(store, path)} is the temp file of a write in progress or cut short (not evidence)")
    return view


def _with_newer_heads(store: Store, view: SegmentsView, size: int, public_key: str | None,
                      note: Callable[[str], None]) -> SegmentsView:
    """Appends that finished while verify read (journal emptied, head signed) are not foreign: sort the
    files again against the newest head, when it holds under the trusted key, as often as appends keep
    finishing (a few times at most). A segment the newer head covers must still have the digest its
    manifest line recorded. ``view.signed`` stays what verify checks: the files of its own heads."""
    paths = LedgerPaths.of(store)
    meanwhile: list[Path] = []
    for _ in range(3):
        newest = last_head(paths.heads)
        if newest is None or head_problem(newest) or (public_key and newest["public_key"] != public_key):
            break
        now = int(newest["tree_size"])
        if now <= size:
            break
        entries = read_manifest(paths.manifest)
        fresh = classify_segments(store, entries, now, None, public_key)
        digests = {e.segment: e.sha256 for e in entries}
        mine = {p.name for p in view.signed}
        foreign = list(fresh.foreign)
        for path in fresh.signed:
            if path.name in mine or path in meanwhile:
                continue
            if path.exists() and journal_file_digest(path) != digests.get(path.name):
                foreign.append((path, "its SHA-256 differs from the one manifest.jsonl recorded"))
            else:
                meanwhile.append(path)
        view = SegmentsView(view.signed, fresh.pending, foreign, fresh.unjournaled_entries, fresh.leftovers)
        size = now
        if not view.foreign and not view.unjournaled_entries:
            break
    for path in meanwhile:
        note(f"{where(store, path)} was appended and signed while verify ran (up to tree size {size}); not "
             "checked this time")
    return view


def _has_signed(store: Store) -> bool:
    try:
        return read_key_record(store) is not None
    except Exception:  # noqa: BLE001  (an unreadable record still says a key was recorded)
        return key_record_path(store).exists()


def _first_lost_leaf(have_bytes: int, size: int) -> int:
    """The smallest leaf whose node lies past ``have_bytes`` of ``nodes.bin`` (post-order is monotone)."""
    lo, hi = 0, size - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if (merkle.node_position(0, mid) + 1) * merkle.HASH_SIZE > have_bytes:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _first_event(store: Store, path: Path) -> str | None:
    try:
        ids = pq.read_table(path, columns=["event_id"]).column("event_id")
        return str(ids[0].as_py()) if len(ids) else None
    except Exception:  # noqa: BLE001  (a foreign file need not be Parquet at all)
        return None


def _event_at(store: Store, entries: list[SegmentEntry], leaf: int) -> tuple[str | None, str | None]:
    entry = next((e for e in entries if e.first_leaf <= leaf < e.end_leaf), None)
    if entry is None:
        return None, None
    try:
        ids = pq.read_table(store.segments_dir / entry.segment, columns=["event_id"]).column("event_id")
        return str(ids[leaf - entry.first_leaf].as_py()), entry.segment
    except Exception:  # noqa: BLE001
        return (entry.first_event_id if leaf == entry.first_leaf else None), entry.segment
