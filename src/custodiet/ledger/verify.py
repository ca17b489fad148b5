"""``verify``: rebuild the tree from the segments and hold it against every signed head.

Quick mode checks what is cheap: every head (well formed, signature, one key, growing sizes), that
the stored tree has each head's root, and that every segment still has the sha256 the manifest
recorded. Full mode also re-hashes every event from the segments, re-grows the tree in memory and
compares it node by node with ``nodes.bin`` and root by root with the heads. Once the stored tree is
shown to match the signed heads its leaf hashes are authentic, so the first recomputed leaf that
differs names the first altered, missing, reordered or inserted event and its segment file.

Verify reads one signed state: the heads as they are when it starts, then the manifest lines and segments
they cover. It is read-only: it never heals, writes, signs, locks or waits for a writer. Files no signed head
and no journal record of the writer accounts for are reported as foreign (``provenance``); a segment
journaled by an append under way or interrupted is pending (a note), so verify passes at every moment of an
ingest, yet a planted segment is always named. The heads are held against a pinned key when one is given,
else against the key the store records, and the result says which (``trust``).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from custodiet.ledger import merkle
from custodiet.ledger.growth import Frontier
from custodiet.ledger.hashing import Hasher, default_hasher
from custodiet.ledger.heads import HeadsFile, LedgerError, head_problem
from custodiet.ledger.journal import read_journal
from custodiet.ledger.provenance import LayoutProblem, check_layout
from custodiet.ledger.tree import LedgerPaths, NodeFile, SegmentEntry, file_sha256, manifest_gap, read_manifest
from custodiet.ledger.trust import ledger_trust, store_key_problem
from custodiet.store import Store


@dataclass
class Problem:
    """The first thing that does not match. ``kind``: altered, missing, reordered, inserted, head,
    signature, digest, tree, witness, foreign, unsigned, key."""

    kind: str
    message: str
    event_id: str | None = None
    segment: str | None = None
    leaf_index: int | None = None
    head_line: int | None = None


@dataclass
class VerifyResult:
    ok: bool
    quick: bool
    tree_size: int = 0
    heads: int = 0
    segments: int = 0
    events: int = 0
    problem: Problem | None = None
    notes: list[str] = field(default_factory=list)
    trust: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Found(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem


def verify(store: Store, quick: bool = False, public_key: str | None = None,
           witness: list[dict] | None = None, hasher: Hasher | None = None,
           pinned_from: str | None = None) -> VerifyResult:
    """Check the ledger, read-only; the result names the first problem (``ok`` is False) or says all is well.

    ``public_key`` (hex) is the pinned key every head must carry, ``pinned_from`` where it came from
    (``trust.pinned_key``); without one the heads are held against the key the store records."""
    result = VerifyResult(ok=False, quick=quick)
    try:
        _verify(store, result, public_key, witness or [], hasher or default_hasher(), pinned_from)
        result.ok = True
    except _Found as found:
        result.problem = found.problem
    except LedgerError as exc:
        result.problem = Problem("tree", str(exc))
    return result


def _verify(store: Store, result: VerifyResult, public_key: str | None, witness: list[dict],
            hasher: Hasher, pinned_from: str | None = None) -> None:
    paths = LedgerPaths.of(store)
    trust = ledger_trust(store, public_key, pinned_from)
    result.trust = trust.statement
    result.notes.extend(trust.notes)
    heads = _checked_heads(store, paths, trust.public_key, witness, result.notes)
    key_problem = store_key_problem(store, len(heads))
    if key_problem:
        raise _Found(Problem("key", key_problem))
    result.heads = len(heads)
    result.tree_size = heads[-1]["tree_size"] if heads else 0
    checkpoints = {h["tree_size"]: (h, n, "head") for n, h in enumerate(heads, start=1)}
    for n, h in enumerate(witness, start=1):
        checkpoints.setdefault(h["tree_size"], (h, n, "witness"))
    # Read after the heads: every line they cover is there (lines past them belong to an append under way).
    entries = read_manifest(paths.manifest)
    try:
        view = check_layout(store, entries, result.tree_size, len(heads), trust.public_key, result.notes.append)
    except LayoutProblem as found:
        raise _Found(Problem(found.kind, found.message, found.event_id, found.segment, found.leaf_index)) from None
    entries = [e for e in entries if e.end_leaf <= result.tree_size]  # past it: pending, noted above
    gap = manifest_gap(entries, result.tree_size, paths.manifest.name)
    if gap is not None:
        raise _Found(Problem("tree", gap[0], segment=gap[1]))
    files = view.signed
    result.segments = len(files)
    with NodeFile(paths.nodes) as nodes:
        stored_ok = _check_stored_roots(nodes, checkpoints, result.tree_size, result.quick)
        if result.quick:
            _check_digests(store, entries, files)
            return
        digest_changed = [e.segment for e in entries if (store.segments_dir / e.segment).exists()
                          and file_sha256(store.segments_dir / e.segment) != e.sha256]
        try:
            _rebuild(result, files, entries, nodes, checkpoints, stored_ok, hasher)
        except _Unreadable as bad:
            raise _Found(_unreadable_problem(bad, entries)) from None
    _check_digest_changed(entries, digest_changed)


def _check_digest_changed(entries: list[SegmentEntry], changed: list[str]) -> None:
    """A segment whose bytes changed after it was appended is reported even when every event in it still
    re-hashes to the signed tree (a byte outside the event data): it is not the file that was appended."""
    for entry in entries:
        if entry.segment in changed:
            raise _Found(Problem("digest", f"segment {entry.segment} changed after it was appended (its sha256 "
                                           "differs from the one manifest.jsonl recorded), though every event in it "
                                           f"still re-hashes to the signed tree: events {entry.first_event_id} .. "
                                           f"{entry.last_event_id}", entry.first_event_id, entry.segment,
                                 entry.first_leaf))


def _checked_heads(store: Store, paths: LedgerPaths, public_key: str | None, witness: list[dict],
                   notes: list[str]) -> list[dict]:
    try:
        heads = _read_heads(store, paths, notes)
    except LedgerError as exc:
        raise _Found(Problem("head", str(exc))) from exc
    for label, group in (("heads.jsonl", heads), ("witness", witness)):
        previous = 0
        for line, h in enumerate(group, start=1):
            where = f"{label}:{line}"
            problem = head_problem(h)
            if problem:
                kind = "signature" if "signature" in problem else "head"
                raise _Found(Problem(kind, f"{where}: {problem}", head_line=line))
            if public_key is None:
                public_key = h["public_key"]
            if h["public_key"] != public_key:
                raise _Found(Problem("head", f"{where}: signed by key {h['public_key']}, not the ledger's key "
                                             f"{public_key}", head_line=line))
            if label == "heads.jsonl" and h["tree_size"] <= previous:
                raise _Found(Problem("head", f"{where}: tree_size {h['tree_size']} does not grow past {previous}",
                                     head_line=line))
            previous = h["tree_size"]
    if witness and heads and max(h["tree_size"] for h in witness) > heads[-1]["tree_size"]:
        raise _Found(Problem("witness", "a witnessed head is larger than the ledger's newest head: "
                                        "events signed before are gone"))
    _check_witness_roots(heads, witness)
    return heads


def _read_heads(store: Store, paths: LedgerPaths, notes: list[str]) -> list[dict]:
    """The signed heads. A last line cut short is the writer's own only while its append is journaled (a
    note: the next append drops it); otherwise it is a problem like any other line that is not a head.

    The journal is read after the heads: a writer journals before it writes a head and empties the journal
    after, so a torn line seen with an empty journal is either one that has been finished meanwhile (the
    heads read again end cleanly, or in the next append's head, whose journal record is then there) or no
    writer's at all."""
    kept = HeadsFile.read(paths.heads)
    if kept.torn:
        for _ in range(3):
            if read_journal(store) or not HeadsFile.read(paths.heads).torn:
                break
        else:
            return HeadsFile.read(paths.heads, strict=True).heads  # raises, naming the line
        notes.append(f"heads.jsonl:{len(kept.heads) + 1} is a head being written, or cut short by an "
                     "interrupted append (journaled); checked up to the last complete head")
    return kept.heads


def _check_witness_roots(heads: list[dict], witness: list[dict]) -> None:
    """A witnessed head and a ledger head of the same size must have the same root (the rebuild checks
    each size once, against the ledger's head)."""
    roots = {h["tree_size"]: (line, h["root_hash"]) for line, h in enumerate(heads, start=1)}
    for line, h in enumerate(witness, start=1):
        if h["tree_size"] in roots and roots[h["tree_size"]][1] != h["root_hash"]:
            raise _Found(Problem("witness", f"witness:{line}: the witnessed head for tree_size {h['tree_size']} has "
                                            f"another root than heads.jsonl:{roots[h['tree_size']][0]}: history was "
                                            "rewritten and re-signed", head_line=line))


def _check_stored_roots(nodes: NodeFile, checkpoints: dict, size: int, strict: bool) -> bool:
    """Does the stored tree have every checkpoint's root? Quick mode stops at the first that differs."""
    for tree_size, (h, line, label) in sorted(checkpoints.items()):
        try:
            root = merkle.root(nodes.get, tree_size).hex()
        except LedgerError:
            root = None
        if root != h["root_hash"]:
            if strict:
                raise _Found(_root_problem(label, line, tree_size, "the stored tree"))
            return False
    return True


def _root_problem(label: str, line: int, size: int, what: str) -> Problem:
    kind = "witness" if label == "witness" else "head"
    name = "witness" if label == "witness" else "heads.jsonl"
    return Problem(kind, f"{name}:{line}: the head for tree_size {size} does not match {what}: "
                         "history was rewritten or the head was replaced", head_line=line)


def _check_digests(store: Store, entries: list[SegmentEntry], files: list[Path]) -> None:
    known = {e.segment for e in entries}
    for entry in entries:
        path = store.segments_dir / entry.segment
        if not path.exists():
            raise _Found(Problem("missing", f"segment {entry.segment} is missing: events {entry.first_event_id} .. "
                                            f"{entry.last_event_id} (leaves {entry.first_leaf}..{entry.end_leaf - 1})",
                                 entry.first_event_id, entry.segment, entry.first_leaf))
        if file_sha256(path) != entry.sha256:
            raise _Found(Problem("digest", f"segment {entry.segment} changed after it was appended (sha256 differs); "
                                           "run a full verify to name the event", segment=entry.segment,
                                 leaf_index=entry.first_leaf))
    for path in files:
        if path.name not in known:
            raise _Found(Problem("inserted", f"segment {path.name} is not in the manifest", segment=path.name))


def _rebuild(result: VerifyResult, files: list[Path], entries: list[SegmentEntry], nodes: NodeFile,
             checkpoints: dict, stored_ok: bool, hasher: Hasher) -> None:
    frontier = Frontier()
    cuts = sorted(checkpoints)
    head_mismatch: Problem | None = None
    for path, leaves in _leaves_ahead(files, hasher):
        start = frontier.size
        stored = nodes.leaves(start, min(start + len(leaves), result.tree_size))
        differs = np.flatnonzero((stored != leaves[: len(stored)]).any(axis=1))
        if len(differs) or len(stored) < len(leaves):
            first = start + (int(differs[0]) if len(differs) else len(stored))
            if stored_ok:
                raise _Found(_classify(first, files, entries, nodes, result.tree_size, hasher))
            head_mismatch = head_mismatch or Problem(
                "altered", f"{path.name}: leaf {first} differs from the stored tree, which itself does not match "
                           "the signed heads", segment=path.name, leaf_index=first)
        offset = 0
        while offset < len(leaves):
            inner = [c - start for c in cuts if start + offset < c < start + len(leaves)]
            end = min(inner) if inner else len(leaves)
            old = frontier.size
            growth = frontier.extend(leaves[offset:end], hasher.pairs)
            kept = nodes.range(merkle.node_count(old), len(growth.nodes))
            if stored_ok and not np.array_equal(kept, growth.nodes):
                raise _Found(Problem("tree", f"nodes.bin differs from the tree rebuilt from the segments after "
                                             f"leaf {old}; the events are intact", leaf_index=old))
            if frontier.size in checkpoints and frontier.root().hex() != checkpoints[frontier.size][0]["root_hash"]:
                h, line, label = checkpoints[frontier.size]
                raise _Found(head_mismatch or _root_problem(label, line, frontier.size, "the events in the segments"))
            offset = end
        result.events += len(leaves)
    if frontier.size < result.tree_size:
        raise _Found(_classify(frontier.size, files, entries, nodes, result.tree_size, hasher))


def _leaves_ahead(files: list[Path], hasher: Hasher) -> Iterator[tuple[Path, np.ndarray]]:
    """Each segment with its leaf hashes; the next segment is read and hashed in a worker thread while
    the caller checks this one (Parquet decoding and the C hasher both run outside the GIL)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-verify") as pool:
        ahead = pool.submit(hasher.leaves_of_file, files[0]) if files else None
        for i, path in enumerate(files):
            assert ahead is not None
            try:
                leaves = ahead.result()
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise _Unreadable(path, exc) from exc
            ahead = pool.submit(hasher.leaves_of_file, files[i + 1]) if i + 1 < len(files) else None
            yield path, leaves


class _Unreadable(Exception):
    def __init__(self, path: Path, cause: Exception):
        self.path, self.cause = path, cause


def _unreadable_problem(bad: _Unreadable, entries: list[SegmentEntry]) -> Problem:
    """A segment that no longer decodes: name it and the first event it held when it was appended."""
    entry = next((e for e in entries if e.segment == bad.path.name), None)
    first = entry.first_event_id if entry else None
    held = f"; it held events {first} .. {entry.last_event_id} (leaves {entry.first_leaf}.." \
           f"{entry.end_leaf - 1}), none of which can be verified now" if entry else ""
    return Problem("altered", f"segment {bad.path.name} cannot be read any more ({bad.cause}){held}", first,
                   bad.path.name, entry.first_leaf if entry else None)


def _classify(i: int, files: list[Path], entries: list[SegmentEntry], nodes: NodeFile, size: int,
              hasher: Hasher) -> Problem:
    """Name what happened at the first differing leaf ``i`` (the stored leaves are authentic here)."""
    parts = [hasher.leaves_of_file(p) for p in files]
    bounds = np.cumsum([0] + [len(p) for p in parts])
    recomputed = np.concatenate(parts) if parts else np.empty((0, merkle.HASH_SIZE), np.uint8)
    stored = nodes.leaves(0, size)

    def where(hashes: np.ndarray, value: np.ndarray) -> int | None:
        hits = np.flatnonzero((hashes == value).all(axis=1))
        return int(hits[0]) if len(hits) else None

    def locate(index: int) -> tuple[str, int, str]:
        k = int(np.searchsorted(bounds, index, side="right")) - 1
        ids = pq.read_table(files[k], columns=["event_id"]).column("event_id")
        return files[k].name, index - int(bounds[k]), ids[index - int(bounds[k])].as_py()

    entry = next((e for e in entries if e.first_leaf <= i < e.end_leaf), None)
    if i < len(recomputed):
        name, row, event_id = locate(i)
        j = where(stored, recomputed[i])
        if j is None:
            kind = "altered" if i < size else "inserted"
            text = "was altered" if i < size else "was never appended (it lies past the signed tree)"
            return Problem(kind, f"event {event_id} ({name} row {row + 1}, leaf {i}) {text}", event_id, name, i)
        if i < size and where(recomputed, stored[i]) is not None:
            return Problem("reordered", f"event {event_id} ({name} row {row + 1}) sits at leaf {i} but was "
                                        f"appended as leaf {j}: rows were reordered", event_id, name, i)
        if i >= size or j < i:
            return Problem("inserted", f"event {event_id} ({name} row {row + 1}) at leaf {i} repeats leaf {j}",
                           event_id, name, i)
    expected = entry.segment if entry else "?"
    known = None
    if entry is not None and i == entry.first_leaf:
        known = entry.first_event_id
    elif entry is not None and i == entry.end_leaf - 1:
        known = entry.last_event_id
    label = f"event {known}" if known else f"the event appended as leaf {i}"
    return Problem("missing", f"{label} (segment {expected}) is missing", known, expected, i)
