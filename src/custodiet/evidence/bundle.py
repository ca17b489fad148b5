"""The evidence bundle's layout, and an event's JSON form and leaf hash.

A bundle is one zip file::

    case.json             the case as ``cases.read_case`` gives it, with its history (chain of custody)
    findings.json         the case's findings, full records, as the case keeps them
    events/{name}.json    every event behind those findings: canonical JSON of its 14 canonical fields
    proofs/{name}.json    its RFC 9162 inclusion proof against head.json (the shape `custodiet proof` prints)
    head.json             the signed tree head every proof leads to (its public key included)
    report.html           the readable report, self-contained
    report.pdf            the same report as PDF

``{name}`` is the event id, percent-encoded where it holds anything but letters, digits and ``-_.~``
(``member_name``). An event's JSON has exactly the fields of ``EVENT_SCHEMA``; ``ts`` is written as
``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC, six digits of microseconds), ``records`` as an integer or null, every
other field as the stored text or null. From it, ``leaf_hash`` rebuilds the ledger's leaf: the ``cev1``
encoding (``ledger.encoding``) and ``SHA-256(0x00 ‖ …)``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from urllib.parse import quote

from custodiet.events import EVENT_FIELDS, canonical_json, parse_time
from custodiet.ledger.encoding import encode_event
from custodiet.ledger.merkle import hash_leaf

FIXED_MEMBERS = ("case.json", "findings.json", "head.json", "report.html", "report.pdf")
EVENTS_DIR = "events/"
PROOFS_DIR = "proofs/"
PROOF_FIELDS = ("event_id", "leaf_index", "tree_size", "leaf_hash", "inclusion_path", "root_hash")
MAX_NAME = 200


def member_name(event_id: str) -> str:
    """The file name (without folder and ``.json``) an event's files get in a bundle."""
    name = quote(event_id, safe="")
    if len(name) > MAX_NAME or name in ("", ".", ".."):
        return "sha256-" + hashlib.sha256(event_id.encode("utf-8")).hexdigest()
    return name


def event_member(event_id: str) -> str:
    return f"{EVENTS_DIR}{member_name(event_id)}.json"


def proof_member(event_id: str) -> str:
    return f"{PROOFS_DIR}{member_name(event_id)}.json"


def case_event_ids(findings: list[dict[str, Any]]) -> list[Any]:
    """The event ids behind the findings, each once, in the order the findings list them."""
    return list(dict.fromkeys(e for f in findings for e in (f.get("event_ids") or [])))


def ts_text(value: datetime) -> str:
    """A stored timestamp as an event's JSON writes it."""
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")


def event_json(row: dict[str, Any]) -> str:
    """The canonical JSON of a stored event (a row of ``EVENT_SCHEMA``, ``ts`` a UTC datetime)."""
    return canonical_json({name: (ts_text(row[name]) if name == "ts" else row[name]) for name in EVENT_FIELDS})


def event_problem(doc: Any) -> str | None:
    """Why a parsed event JSON is not an event's canonical form, or None."""
    if not isinstance(doc, dict):
        return "not a JSON object"
    if set(doc) != set(EVENT_FIELDS):
        missing = sorted(set(EVENT_FIELDS) - set(doc))
        extra = sorted(set(doc) - set(EVENT_FIELDS))
        return "fields do not match the canonical event" + (f": missing {', '.join(missing)}" if missing else "") + (
            f": unexpected {', '.join(extra)}" if extra else "")
    ts = doc["ts"]
    try:
        if not isinstance(ts, str) or ts_text(parse_time(ts)) != ts:
            return "ts is not written as YYYY-MM-DDTHH:MM:SS.ffffffZ"
    except ValueError:
        return "ts is not written as YYYY-MM-DDTHH:MM:SS.ffffffZ"
    records = doc["records"]
    if records is not None and (isinstance(records, bool) or not isinstance(records, int)
                                or not -(2**63) <= records < 2**63):
        return "records must be a signed 64-bit integer or null"
    for name in EVENT_FIELDS:
        if name not in ("ts", "records") and doc[name] is not None and not isinstance(doc[name], str):
            return f"{name} must be text or null"
    return None


def leaf_hash(doc: dict[str, Any]) -> bytes:
    """The ledger's leaf hash of an event's JSON (checked by ``event_problem`` first)."""
    return hash_leaf(encode_event({**doc, "ts": parse_time(doc["ts"])}))
