"""Check an evidence bundle offline, with no store: ``verify_bundle(path, public_key)``.

In this order, stopping at the first problem, which names the bundle member it is in:

1. the zip: every member is one of the layout's (``bundle``), none twice, none missing;
2. ``head.json``: a well-formed head whose Ed25519 signature verifies under its public key, and that key
   is the one given (``public_key``; without one the bundle is only self-consistent, and the result says so);
3. ``case.json``: its records chain (each ``case_prev`` is the SHA-256 of the canonical JSON of the one
   before; the first is the ``open``), and its state is the fold of those records;
4. ``findings.json``: exactly the findings the case's ``open`` record keeps;
5. every event id those findings list, in their order: ``events/`` holds that event in canonical form,
   ``proofs/`` its proof against head.json's tree size and root, and the leaf rebuilt from the event's JSON
   (``cev1``, then RFC 9162's leaf hash) folds along the proof's path to head.json's root;
6. no event or proof in the bundle that the findings do not list.

``report.html`` and ``report.pdf`` are renderings of the JSON members and are not checked.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custodiet.cases.cases import CaseError, fold_case
from custodiet.cases.journal import line_hash
from custodiet.events import canonical_json
from custodiet.evidence.bundle import (
    EVENTS_DIR,
    FIXED_MEMBERS,
    PROOF_FIELDS,
    PROOFS_DIR,
    case_event_ids,
    event_member,
    event_problem,
    leaf_hash,
    proof_member,
)
from custodiet.ledger.heads import head_problem
from custodiet.ledger.merkle import root_from_inclusion
from custodiet.ledger.signing import fingerprint

MAX_MEMBER = 512 << 20  # bytes a member may unpack to
_HEX = re.compile(r"[0-9a-f]{64}")


class BundleError(ValueError):
    """The file cannot be read as a zip at all (exit 2, not a failed check)."""


class _Bad(Exception):
    def __init__(self, item: str, message: str):
        super().__init__(f"{item}: {message}")


@dataclass
class BundleResult:
    """The outcome: ``problem`` names the first bad member and why (None when every check holds)."""

    problem: str | None = None
    case_id: str | None = None
    findings: int = 0
    events: int = 0
    history: int = 0
    tree_size: int | None = None
    root_hash: str | None = None
    key: str | None = None
    pinned: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def trust(self) -> str:
        """What the head's signature proves, given how its key was had."""
        key = fingerprint(self.key) if self.key else "?"
        if self.pinned:
            return f"the head's signature was checked against the given public key ({key})"
        return (f"no --public-key was given: the head verifies only under the key it carries ({key}), so the "
                "bundle is self-consistent but not shown to come from the ledger; compare that key with the "
                "ledger's public key as you hold it")


def verify_bundle(path: Path, public_key: str | None = None) -> BundleResult:
    """Check the bundle at ``path`` (``public_key``: the ledger's key as 64 hex digits, or None)."""
    result = BundleResult(pinned=public_key is not None)
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise BundleError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BundleError(f"{path}: a folder, not an evidence bundle") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"{path}: not a zip file ({exc})") from None
    with zf:
        try:
            _check(zf, public_key.lower() if public_key else None, result)
        except _Bad as bad:
            result.problem = str(bad)
    return result


def _check(zf: zipfile.ZipFile, pinned: str | None, result: BundleResult) -> None:
    members = _members(zf)
    head = _json(zf, "head.json")
    problem = head_problem(head)
    if problem is not None:
        raise _Bad("head.json", problem)
    result.key, result.tree_size, result.root_hash = head["public_key"], head["tree_size"], head["root_hash"]
    if pinned is not None and head["public_key"].lower() != pinned:
        raise _Bad("head.json", f"signed by key {fingerprint(head['public_key'])}, not the given public key "
                                f"{fingerprint(pinned)}")
    case = _case(zf, result)
    findings = _json(zf, "findings.json")
    if findings != case["findings"]:
        raise _Bad("findings.json", "differs from the findings the case's chain of custody records")
    result.findings = len(findings)
    ids = case_event_ids(findings)
    expected = set()
    for event_id in ids:
        _event(zf, members, event_id, head)
        expected |= {event_member(event_id), proof_member(event_id)}
    result.events = len(ids)
    for name in members:
        if name.startswith((EVENTS_DIR, PROOFS_DIR)) and name not in expected:
            raise _Bad(name, "not an event of the case's findings")


def _members(zf: zipfile.ZipFile) -> set[str]:
    seen: set[str] = set()
    for info in zf.infolist():
        name = info.filename
        if name in seen:
            raise _Bad(name, "appears twice in the zip")
        seen.add(name)
        if info.is_dir():
            continue
        if info.file_size > MAX_MEMBER:
            raise _Bad(name, f"unpacks to {info.file_size:,} bytes, more than a bundle member may")
        inside = name.startswith((EVENTS_DIR, PROOFS_DIR)) and name.endswith(".json") and name.count("/") == 1
        if name not in FIXED_MEMBERS and not inside:
            raise _Bad(name, "not part of an evidence bundle")
    for name in FIXED_MEMBERS:
        if name not in seen:
            raise _Bad(name, "missing from the bundle")
    return {n for n in seen if not n.endswith("/")}


def _read(zf: zipfile.ZipFile, name: str) -> bytes:
    try:
        return zf.read(name)
    except KeyError:
        raise _Bad(name, "missing from the bundle") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise _Bad(name, f"cannot be unpacked ({exc})") from None


def _json(zf: zipfile.ZipFile, name: str) -> Any:
    try:
        return json.loads(_read(zf, name).decode("utf-8"))
    except UnicodeDecodeError:
        raise _Bad(name, "not UTF-8 text") from None
    except ValueError as exc:
        raise _Bad(name, f"not valid JSON ({exc})") from None


def _case(zf: zipfile.ZipFile, result: BundleResult) -> dict[str, Any]:
    case = _json(zf, "case.json")
    if not isinstance(case, dict) or not isinstance(case.get("history"), list) or not case["history"]:
        raise _Bad("case.json", "not a case with its history")
    history = case["history"]
    previous: dict[str, Any] | None = None
    for number, record in enumerate(history, start=1):
        if not isinstance(record, dict):
            raise _Bad("case.json", f"history record {number} is not a JSON object")
        expected = None if previous is None else line_hash(canonical_json(previous))
        if record.get("case_prev") != expected:
            what = "must open the chain (case_prev null)" if previous is None else (
                "does not chain to the record before it: a record was changed, removed or inserted")
            raise _Bad("case.json", f"history record {number} (seq {record.get('seq')!r}) {what}")
        if record.get("case_id") != case.get("case_id") or (previous is None) != (record.get("action") == "open"):
            raise _Bad("case.json", f"history record {number} is not a record of this case's chain")
        previous = record
    try:
        folded = fold_case(str(case.get("case_id")), history)
    except (CaseError, KeyError, TypeError, ValueError) as exc:
        raise _Bad("case.json", f"its history cannot be read ({type(exc).__name__}: {exc})") from None
    if folded != case:
        raise _Bad("case.json", "its state does not follow from its history")
    result.case_id, result.history = case["case_id"], len(history)
    if not isinstance(case["findings"], list) or not all(isinstance(f, dict) and isinstance(f.get("event_ids"), list)
                                                         for f in case["findings"]):
        raise _Bad("case.json", "its findings are not finding records")
    return case


def _event(zf: zipfile.ZipFile, members: set[str], event_id: Any, head: dict[str, Any]) -> None:
    if not isinstance(event_id, str):
        raise _Bad("findings.json", f"event id {event_id!r} is not text")
    event_name, proof_name = event_member(event_id), proof_member(event_id)
    for name in (event_name, proof_name):
        if name not in members:
            raise _Bad(name, f"missing (event {event_id} of the case's findings)")
    doc = _json(zf, event_name)
    problem = event_problem(doc)
    if problem is not None:
        raise _Bad(event_name, problem)
    if doc["event_id"] != event_id:
        raise _Bad(event_name, f"holds event {doc['event_id']!r}, not {event_id!r}")
    proof = _json(zf, proof_name)
    if not isinstance(proof, dict) or set(proof) != set(PROOF_FIELDS):
        raise _Bad(proof_name, f"a proof must have exactly the fields {', '.join(PROOF_FIELDS)}")
    if proof["event_id"] != event_id:
        raise _Bad(proof_name, f"is the proof of event {proof['event_id']!r}, not {event_id!r}")
    if proof["tree_size"] != head["tree_size"] or proof["root_hash"] != head["root_hash"]:
        raise _Bad(proof_name, f"is against tree size {proof['tree_size']!r}, root {str(proof['root_hash'])[:16]}…, "
                               f"not head.json's ({head['tree_size']}, {head['root_hash'][:16]}…)")
    index, path = proof["leaf_index"], proof["inclusion_path"]
    if (isinstance(index, bool) or not isinstance(index, int) or not isinstance(path, list)
            or not all(isinstance(h, str) and _HEX.fullmatch(h) for h in [*path, proof["leaf_hash"]])):
        raise _Bad(proof_name, "leaf_index must be an integer, leaf_hash and inclusion_path 32-byte hex")
    root = bytes.fromhex(head["root_hash"])
    hashes = [bytes.fromhex(h) for h in path]
    leaf = leaf_hash(doc)
    if root_from_inclusion(index, head["tree_size"], leaf, hashes) == root:
        if proof["leaf_hash"] != leaf.hex():
            raise _Bad(proof_name, "its leaf_hash is not the event's leaf hash")
        return
    if root_from_inclusion(index, head["tree_size"], bytes.fromhex(proof["leaf_hash"]), hashes) == root:
        raise _Bad(event_name, "leaf hash does not match its proof: the event is not the one the ledger holds")
    raise _Bad(proof_name, "does not lead to head.json's root")
