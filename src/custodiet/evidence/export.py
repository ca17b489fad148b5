"""Export a case as an evidence bundle (layout in ``bundle``): every event behind its findings, each with an
inclusion proof against one signed tree head, the newest.

The events are read from the very leaves the proofs are for (the leaf index, through the manifest, gives the
segment and row), and each one's leaf hash is recomputed from its exported JSON and held against the tree
before anything is written: a bundle that would not verify is never written. The zip is written to a
temporary file and renamed into place, after the PDF is printed; without Chromium nothing is written.
"""

from __future__ import annotations

import bisect
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from custodiet import atomic
from custodiet.cases import read_case
from custodiet.events import EVENT_SCHEMA
from custodiet.evidence.bundle import case_event_ids, event_json, event_member, leaf_hash, proof_member
from custodiet.evidence.report import html_to_pdf, render_html
from custodiet.ledger.log import find_leaf, inclusion_proof_at
from custodiet.ledger.snapshot import Snapshot, take
from custodiet.store import Store


class EvidenceError(RuntimeError):
    """A bundle cannot be written (empty ledger, an event not in it, a store that disagrees with its tree)."""


@dataclass(frozen=True)
class Exported:
    path: Path
    case_id: str
    findings: int
    events: int
    tree_size: int
    root_hash: str


class _Rows:
    """Reads the stored event at a leaf index of one snapshot, a row group at a time (cached)."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        self.entries = list(snapshot.entries)
        self.firsts = [e.first_leaf for e in self.entries]
        self.groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.files: dict[str, pq.ParquetFile] = {}

    def at(self, leaf: int) -> dict[str, Any]:
        entry = self.entries[bisect.bisect_right(self.firsts, leaf) - 1]
        if entry.segment not in self.files:
            self.files[entry.segment] = pq.ParquetFile(self.snapshot.store.segments_dir / entry.segment)
        parquet = self.files[entry.segment]
        row = leaf - entry.first_leaf
        for group in range(parquet.num_row_groups):
            rows = parquet.metadata.row_group(group).num_rows
            if row < rows:
                key = (entry.segment, group)
                if key not in self.groups:
                    table = parquet.read_row_group(group).select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)
                    self.groups[key] = table.to_pylist()
                return self.groups[key][row]
            row -= rows
        raise EvidenceError(f"leaf {leaf} is past the end of segment {entry.segment}; run `custodiet verify`")


def export_bundle(store: Store, case_id: str, out: Path) -> Exported:
    """Write the case's evidence bundle to ``out``."""
    case = read_case(store, case_id)
    findings = case["findings"]
    snapshot = take(store)
    head = snapshot.head
    if head is None:
        raise EvidenceError("the ledger is empty: no signed tree head to prove events against")
    size = snapshot.size
    rows = _Rows(snapshot)
    events: list[dict[str, Any]] = []
    members: dict[str, bytes] = {}
    proofs: dict[str, dict[str, Any]] = {}
    for event_id in case_event_ids(findings):
        leaf = find_leaf(store, event_id, size, snapshot)
        if leaf is None:
            raise EvidenceError(f"event {event_id!r} of {case_id}'s findings is not among the ledger's {size} events")
        proof = {"event_id": event_id, **inclusion_proof_at(store, leaf, size, snapshot)}
        text = event_json(rows.at(leaf))
        doc = json.loads(text)
        if doc["event_id"] != event_id or leaf_hash(doc).hex() != proof["leaf_hash"]:
            raise EvidenceError(f"the stored event {event_id!r} does not match leaf {leaf} of the tree; "
                                "run `custodiet verify`")
        members[event_member(event_id)] = text.encode("utf-8")
        members[proof_member(event_id)] = _pretty(proof)
        proofs[event_id] = proof
        events.append(doc)
    html = render_html(case, findings, events, proofs, head)
    pdf = html_to_pdf(html)
    fixed = {"case.json": _pretty(case), "findings.json": _pretty(findings), "head.json": _pretty(head),
             "report.html": html.encode("utf-8"), "report.pdf": pdf}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in [*fixed.items(), *members.items()]:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    atomic.write_bytes(out, buffer.getvalue())
    return Exported(out, case_id, len(findings), len(events), size, head["root_hash"])


def _pretty(doc: Any) -> bytes:
    """JSON for people to read (indented, keys sorted); the verifier parses it, so the layout carries nothing."""
    return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


__all__ = ["EvidenceError", "Exported", "export_bundle"]
