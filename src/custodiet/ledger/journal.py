"""The writer's journal: what an append is about to make visible, so that recovery adopts only that.

Before a new segment is renamed into ``segments/`` the writer appends one record to
``<ledger>/journal.jsonl`` and fsyncs it: the segment's name, size in bytes, SHA-256, row count, the tree
size it starts at (``first_leaf``) and the tree size it will make (``tree_size``), signed with the
ledger's key over the canonical JSON of the rest (with ``purpose`` = ``custodiet journal v1``, so a
record can never pass for a head). The journal is emptied once the head over the segment is signed.

After a crash, a segment file the signed tree does not hold is adopted only when a journal record names
it with its exact size and digest, starts where the signed tree ends, and verifies under the ledger's
key. Any other file is not the writer's: recovery refuses to sign it and ``verify`` reports it as
foreign, by name.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from custodiet import atomic
from custodiet.events import canonical_json
from custodiet.ledger.signing import Signer
from custodiet.store import Store

JOURNAL_NAME = "journal.jsonl"
PURPOSE = "custodiet journal v1"


@dataclass(frozen=True)
class JournalRecord:
    """One segment an append was about to publish."""

    segment: str
    file_size: int
    sha256: str
    rows: int
    first_leaf: int
    tree_size: int
    signature: str = ""

    def body(self) -> bytes:
        fields = {k: v for k, v in asdict(self).items() if k != "signature"}
        return canonical_json({**fields, "purpose": PURPOSE}).encode("utf-8")

    def signed_by(self, public_key_hex: str | None) -> bool:
        if public_key_hex is None:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex)).verify(
                bytes.fromhex(self.signature), self.body())
        except (InvalidSignature, ValueError):
            return False
        return True

    def mismatch(self, path: Path, first_leaf: int, public_key_hex: str | None) -> str | None:
        """Why the file at ``path`` is not the segment this record announced, or None when it is."""
        if path.name != self.segment:
            return f"the journal names {self.segment}, not {path.name}"
        if first_leaf != self.first_leaf:
            return f"the journal has it start at leaf {self.first_leaf}, the signed tree ends at {first_leaf}"
        if self.tree_size != self.first_leaf + self.rows:
            return "the journal record's sizes do not add up"
        if not self.signed_by(public_key_hex):
            return "the journal record is not signed by the ledger's key"
        size = path.stat().st_size
        if size != self.file_size:
            return f"it has {size} bytes, the journal recorded {self.file_size}"
        if file_digest(path) != self.sha256:
            return "its SHA-256 differs from the one the journal recorded"
        return None


def journal_path(store: Store) -> Path:
    return store.ledger_dir / JOURNAL_NAME


def file_digest(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def read_journal(store: Store) -> list[JournalRecord]:
    """The complete records (a last line torn by a crash is not one: its segment was never renamed)."""
    path = journal_path(store)
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").split("\n")[:-1]:
        try:
            records.append(JournalRecord(**json.loads(line)))
        except (ValueError, TypeError):
            continue  # not a record the writer made: it names nothing that can be adopted
    return records


class recorder:  # noqa: N801  (used like a function: ``writer.publish(journal.recorder(...))``)
    """The hook a ``SegmentWriter`` calls between closing its temp file and renaming it into place: appends
    the signed record (fsync). ``digests`` then maps the segment's name to its SHA-256, for the manifest."""

    def __init__(self, store: Store, signer: Signer, first_leaf: int, rows: int):
        self.store, self.signer, self.first_leaf, self.rows = store, signer, first_leaf, rows
        self.digests: dict[str, str] = {}

    def __call__(self, tmp: Path, final: Path) -> None:
        entry = JournalRecord(final.name, tmp.stat().st_size, file_digest(tmp), self.rows, self.first_leaf,
                              self.first_leaf + self.rows)
        signed = JournalRecord(**{**asdict(entry), "signature": self.signer.sign(entry.body()).hex()})
        atomic.append_line(journal_path(self.store), canonical_json(asdict(signed)))
        self.digests[final.name] = entry.sha256


def clear(store: Store) -> None:
    """Empty the journal (after the head over every journaled segment is signed). Not fsynced: a record
    that outlives a crash names a segment the signed tree already holds, which recovery never adopts."""
    path = journal_path(store)
    if path.exists() and path.stat().st_size:
        os.truncate(path, 0)
