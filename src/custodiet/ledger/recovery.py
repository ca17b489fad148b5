"""Crash recovery that adopts only the writer's own interrupted append, and tells it from anything else.

``classify_segments`` sorts the files under ``segments/`` into *signed* (the manifest lists them inside
the signed tree), *pending* (an interrupted append journaled them, ``journal``) and *foreign* (anything
else: never adopted, never signed). ``recovery_plan`` is what a writer checks before it heals: the
newest head is signed by the ledger's key and matches the stored tree, the manifest runs past the signed
size only by journaled segments, and no file in the ledger folder is foreign; otherwise it raises
``LedgerError`` naming the file, and the writer stops. ``verify`` uses the same sorting to report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from custodiet.ledger import merkle
from custodiet.ledger.heads import HeadsFile, LedgerError, head_problem
from custodiet.ledger.journal import JOURNAL_NAME, JournalRecord, read_journal
from custodiet.ledger.signing import fingerprint, key_record_path, read_key_record
from custodiet.ledger.tree import LedgerPaths, NodeFile, SegmentEntry, manifest_gap, read_manifest
from custodiet.store import Store

# What belongs in <home>/ledger/ besides segments/; anything else there is foreign.
LEDGER_FILES = frozenset({"nodes.bin", "manifest.jsonl", "heads.jsonl", "ids.bin", JOURNAL_NAME})
SEGMENT_NAME = re.compile(r"\d{8,}\.parquet")
TEMP_NAME = re.compile(r"\.tmp-\d+-(.+)")  # ``atomic.temp_path``: left behind by a write that was cut short


@dataclass
class SegmentsView:
    """The files under ``segments/`` sorted by who put them there (see the module docstring)."""

    signed: list[Path] = field(default_factory=list)
    pending: list[tuple[Path, JournalRecord]] = field(default_factory=list)
    foreign: list[tuple[Path, str]] = field(default_factory=list)
    unjournaled_entries: list[SegmentEntry] = field(default_factory=list)  # manifest lines past the signed size
    leftovers: list[Path] = field(default_factory=list)  # temp files of writes cut short (never evidence)


def classify_segments(store: Store, entries: list[SegmentEntry], size: int, journal: list[JournalRecord] | None,
                      public_key_hex: str | None) -> SegmentsView:
    """Sort the segment files against the manifest (``entries``), the signed ``size`` and the journal.

    With ``journal`` None it is read after the folder is listed: a writer journals a segment before its
    name appears, so every file listed that an append under way published has its record by then."""
    view = SegmentsView()
    kept = {e.segment for e in entries if e.end_leaf <= size}
    folder = store.segments_dir
    names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    by_name = {r.segment: r for r in (read_journal(store) if journal is None else journal)}
    for entry in entries:
        record = by_name.get(entry.segment)
        if entry.end_leaf > size and (record is None or record.sha256 != entry.sha256
                                      or record.first_leaf != entry.first_leaf):
            view.unjournaled_entries.append(entry)
    running = size
    for name in names:
        path = folder / name
        if TEMP_NAME.fullmatch(name):  # a write in progress (it may be renamed away meanwhile) or cut short
            view.leftovers.append(path)
        elif name in kept:
            view.signed.append(path)
        elif not path.exists():
            continue  # listed, then gone: not the ledger's concern here (a signed one gone is named as missing)
        elif not SEGMENT_NAME.fullmatch(name) or not path.is_file():
            view.foreign.append((path, "not a segment name"))
        elif (record := by_name.get(name)) is None:
            view.foreign.append((path, "no manifest entry and no journal record of the writer"))
        elif (why := record.mismatch(path, running, public_key_hex)) is not None:
            view.foreign.append((path, why))
        else:
            view.pending.append((path, record))
            running = record.tree_size
    view.signed.sort(key=lambda p: p.name)
    return view


def foreign_ledger_files(store: Store) -> tuple[list[Path], list[Path]]:
    """Files directly in the ledger folder that are not the ledger's: (foreign, leftover temp files)."""
    foreign, leftovers = [], []
    folder = store.ledger_dir
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.name == "segments" and path.is_dir():
            continue
        temp = TEMP_NAME.fullmatch(path.name)
        if path.name in LEDGER_FILES and (path.is_file() or not path.exists()):
            continue
        if temp and temp.group(1) in LEDGER_FILES:  # an atomic rewrite in progress, or one cut short
            leftovers.append(path)
        elif path.exists():
            foreign.append(path)
    return foreign, leftovers


def where(store: Store, path: Path) -> str:
    """A path as the operator sees it in the store (``ledger/segments/00000004.parquet``)."""
    try:
        return str(path.relative_to(store.home))
    except ValueError:
        return str(path)


def recovery_plan(store: Store, heads: HeadsFile, public_key_hex: str) -> SegmentsView:
    """Check that healing would adopt only the writer's own interrupted append; returns what to adopt.

    Raises ``LedgerError`` (naming the file) when the newest head is not the ledger's, the stored tree does
    not reach it, the manifest or the segments hold anything no journal record accounts for, or a foreign
    file sits in the ledger folder. Changes nothing."""
    paths = LedgerPaths.of(store)
    hint = "; run `custodiet verify`"
    size = heads.size
    if heads.heads:
        newest = heads.heads[-1]
        problem = head_problem(newest)
        if problem is None and newest["public_key"] != public_key_hex:
            problem = (f"signed by key {fingerprint(newest['public_key'])}, not the ledger's key "
                       f"{fingerprint(public_key_hex)}")
        if problem:
            raise LedgerError(f"heads.jsonl:{len(heads.heads)}: the newest head is not the ledger's ({problem}); "
                              f"refusing to sign after it{hint}")
    elif read_key_record(store) is not None:
        raise LedgerError(f"heads.jsonl is missing or empty, but {where(store, key_record_path(store))} records "
                          f"that this ledger has signed heads: its signed history is gone; refusing to sign{hint}")
    need = merkle.node_count(size) * merkle.HASH_SIZE
    have = paths.nodes.stat().st_size if paths.nodes.exists() else 0
    if have < need:
        raise LedgerError(f"nodes.bin holds {have} bytes but the signed tree needs {need}: tree state lost{hint}")
    if size:
        with NodeFile(paths.nodes) as nodes:
            root = merkle.root(nodes.get, size).hex()
        if root != heads.heads[-1]["root_hash"]:
            raise LedgerError(f"nodes.bin does not match the newest signed head (tree size {size}){hint}")
    entries = read_manifest(paths.manifest)
    gap = manifest_gap([e for e in entries if e.end_leaf <= size], size, paths.manifest.name)
    if gap is not None:
        raise LedgerError(f"{gap[0]}{hint}")
    view = classify_segments(store, entries, size, read_journal(store), public_key_hex)
    if view.unjournaled_entries:
        entry = view.unjournaled_entries[0]
        raise LedgerError(f"manifest.jsonl lists {entry.segment} past the signed tree (leaf {entry.first_leaf}) "
                          f"and no interrupted append journaled it; refusing to sign{hint}")
    if view.foreign:
        path, why = view.foreign[0]
        raise LedgerError(f"{where(store, path)} is not the writer's ({why}): foreign, refusing to sign{hint}")
    foreign, _ = foreign_ledger_files(store)
    if foreign:
        raise LedgerError(f"{where(store, foreign[0])} does not belong in the ledger folder: foreign, "
                          f"refusing to sign{hint}")
    return view
