"""The oversight body's side of witnessing: keep your own heads, accept a new one only if it extends them.

``add_head`` takes a head the operator published (``custodiet head --format json``), the witness's own
heads file, the ledger's public key as the witness pinned it, and a consistency proof from the store
(``custodiet consistency --from M --to N``). It accepts the head, appending it unchanged to the heads
file, only when its signature verifies under the pinned key and the proof shows that its tree extends the
newest head the witness already holds; otherwise it raises ``WitnessError`` saying why, and the file is
left as it was. The checks are the ones ``docs/witnessing.md`` spells out with nothing but hashlib.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custodiet import atomic
from custodiet.events import canonical_json
from custodiet.ledger.heads import HeadsFile, LedgerError, head_problem
from custodiet.ledger.merkle import verify_consistency
from custodiet.ledger.signing import fingerprint


class WitnessError(LedgerError):
    """A head the witness must not accept, or input it cannot read; the message says which and why."""


@dataclass(frozen=True)
class Accepted:
    head: dict
    previous: dict | None
    added: bool  # False when the witness already held this very head

    def message(self) -> str:
        size = self.head["tree_size"]
        if not self.added:
            return f"already held: the head for tree size {size}"
        if self.previous is None:
            return f"first head held: tree size {size} (nothing earlier to check it against)"
        return f"accepted: tree size {size} extends the held tree size {self.previous['tree_size']}"


def read_head(path: Path) -> dict:
    """One head from a file: a JSON object, or the last line of JSON lines."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise WitnessError(f"{path}: cannot be read ({exc})") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        try:
            doc = json.loads(text.splitlines()[-1]) if text else None
        except json.JSONDecodeError as exc:
            raise WitnessError(f"{path}: not a JSON head ({exc.msg})") from exc
    if not isinstance(doc, dict):
        raise WitnessError(f"{path}: not a JSON head")
    return doc


def read_proof(path: Path) -> dict[str, Any]:
    """A consistency proof document (``custodiet consistency --format json``) from a file."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise WitnessError(f"{path}: cannot be read ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise WitnessError(f"{path}:{exc.lineno}: not a JSON consistency proof ({exc.msg})") from exc
    if not isinstance(doc, dict) or not {"first_size", "second_size", "proof"} <= set(doc):
        raise WitnessError(f"{path}: not a consistency proof (needs first_size, second_size, proof)")
    return doc


def add_head(witness_file: Path, head: dict, public_key: str,
             consistency: Callable[[int, int], dict[str, Any]]) -> Accepted:
    """Check ``head`` against the pinned ``public_key`` and the newest held head, then keep it.

    ``consistency(m, n)`` returns the store's consistency proof document between tree sizes m and n."""
    problem = head_problem(head)
    if problem:
        raise WitnessError(f"refused: the head is not well signed ({problem})")
    if head["public_key"] != public_key:
        raise WitnessError(f"refused: the head is signed by key {fingerprint(head['public_key'])}, not the pinned "
                           f"key {fingerprint(public_key)}")
    held = HeadsFile.read(witness_file, strict=True).heads if witness_file.exists() else []
    newest = max(held, key=lambda h: h["tree_size"]) if held else None
    if newest is not None:
        m, n = newest["tree_size"], head["tree_size"]
        if n < m:
            raise WitnessError(f"refused: the head's tree size {n} is smaller than the held tree size {m}: it does "
                               "not extend the witnessed history")
        if n == m:
            if newest["root_hash"] != head["root_hash"]:
                raise WitnessError(f"refused: the head for tree size {n} has another root than the one held: the "
                                   "history was rewritten")
            return Accepted(head, newest, added=False)
        doc = consistency(m, n)
        if (doc.get("first_size"), doc.get("second_size")) != (m, n):
            raise WitnessError(f"refused: the proof is between tree sizes {doc.get('first_size')} and "
                               f"{doc.get('second_size')}; this head needs one from {m} (the newest held) to {n}")
        if not _proves(doc, newest, head):
            raise WitnessError(f"refused: the store's consistency proof does not show that tree size {n} extends "
                               f"the held tree size {m}: the witnessed history was rewritten")
    atomic.append_line(witness_file, canonical_json(head))
    return Accepted(head, newest, added=True)


def _proves(doc: dict[str, Any], old: dict, new: dict) -> bool:
    try:
        if (doc["first_size"], doc["second_size"]) != (old["tree_size"], new["tree_size"]):
            return False
        proof = [bytes.fromhex(h) for h in doc["proof"]]
        return verify_consistency(old["tree_size"], new["tree_size"], bytes.fromhex(old["root_hash"]),
                                  bytes.fromhex(new["root_hash"]), proof)
    except (KeyError, TypeError, ValueError):
        return False
