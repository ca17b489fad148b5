"""Canary subjects: fake people assigned to an account or a unit, whose lookup or sale gives it away.

Scheme. A canary is an identifier that passes every format check the portal and the black market apply,
yet belongs to nobody, because it is drawn from a block that the deployment *reserves* for the purpose:

- ``msisdn``: a block of numbers the mobile operator sets aside and never assigns (default prefix
  ``8801799`` + 6 random digits: a Bangladesh mobile number that passes ``phonenumbers`` validation;
  agree the real block with the operator and pass it as ``prefix``);
- ``nid``: 17-digit national IDs under a registry-reserved prefix (default ``19009``: birth year 1900,
  region 9, never issued to living people) + random digits;
- ``imei``: a reserved type allocation code (default TAC ``35999999``, not allocated) + 6 random digits
  and the Luhn check digit, as a real IMEI has.

The random part comes from ``secrets``; a candidate already seen in the events or already issued is drawn
again. Only the keyed pseudonym is stored (context table ``canaries``, with the account or unit and the
time of issue); the cleartext is returned once, for the operator to plant in the portal's or gateway's
data (e.g. as a subject of a case that only that account or unit can see), and never kept.

Any access to a canary is a critical finding (``insider.canary``); a canary in a leak sample names the
account or unit it was issued to (:mod:`custodiet.leaks`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import phonenumbers
import pyarrow as pa
import pyarrow.parquet as pq

from custodiet.context.load import write_context_table
from custodiet.identifiers import luhn_ok, normalise
from custodiet.store import CONTEXT_SCHEMAS, Store

DEFAULT_PREFIX = {"msisdn": "8801799", "nid": "19009", "imei": "35999999"}
LENGTH = {"msisdn": 13, "nid": 17, "imei": 15}


@dataclass(frozen=True)
class IssuedCanary:
    subject_kind: str
    cleartext: str  # shown once to the operator; never stored
    subject: str  # the pseudonym, as stored
    actor: str | None
    org: str | None


def _luhn_digit(body: str) -> str:
    for d in "0123456789":
        if luhn_ok(body + d):
            return d
    raise AssertionError("unreachable: one Luhn digit always fits")


def draw(kind: str, prefix: str | None = None) -> str:
    """One random identifier of ``kind`` in the reserved block ``prefix`` (normalised form)."""
    if kind not in LENGTH:
        raise ValueError(f"canaries of kind {kind!r} are not supported (use {', '.join(LENGTH)})")
    prefix = prefix or DEFAULT_PREFIX[kind]
    free = LENGTH[kind] - len(prefix) - (1 if kind == "imei" else 0)
    if not prefix.isdigit() or free < 4:
        raise ValueError(f"prefix {prefix!r} must be digits leaving at least 4 random digits for a {kind}")
    body = prefix + "".join(secrets.choice("0123456789") for _ in range(free))
    if kind == "imei":
        body += _luhn_digit(body)
    if kind == "msisdn" and not phonenumbers.is_valid_number(phonenumbers.parse("+" + body)):
        raise ValueError(f"prefix {prefix!r} does not give valid phone numbers")
    return normalise(kind, body)


def issue(store: Store, actor: str | None = None, org: str | None = None, count: int = 1,
          kind: str = "msisdn", prefix: str | None = None) -> list[IssuedCanary]:
    """Create ``count`` canaries for an account or a unit, store their pseudonyms, return the cleartext."""
    if (actor is None) == (org is None):
        raise ValueError("give exactly one of actor or org")
    if count < 1:
        raise ValueError("count must be at least 1")
    ps = store.pseudonymiser
    with store.writer():
        path = store.context_path("canaries")
        existing = pq.read_table(path) if path.exists() else CONTEXT_SCHEMAS["canaries"].empty_table()
        taken = set(existing.column("subject").to_pylist())
        con = store.connect()
        try:
            issued: list[IssuedCanary] = []
            while len(issued) < count:
                clear = draw(kind, prefix)
                subject = ps.of_normalised(kind, clear)
                seen = con.execute("SELECT count(*) FROM events WHERE subject = ?", [subject]).fetchall()[0][0]
                if subject in taken or seen:
                    continue  # someone real (or an earlier canary): draw again
                taken.add(subject)
                issued.append(IssuedCanary(kind, clear, subject, actor, org))
        finally:
            con.close()
        now = datetime.now(UTC)
        new = pa.Table.from_pylist(
            [{"subject": c.subject, "subject_kind": kind, "actor": actor, "org": org, "issued_at": now}
             for c in issued], schema=CONTEXT_SCHEMAS["canaries"])
        write_context_table(store, "canaries", pa.concat_tables([existing.cast(CONTEXT_SCHEMAS["canaries"]), new]))
    return issued


def owners(store: Store, subjects: list[str]) -> dict[str, str]:
    """Which of ``subjects`` are canaries, and the account (or unit) each was issued to."""
    path = store.context_path("canaries")
    if not path.exists() or not subjects:
        return {}
    wanted = set(subjects)
    out = {}
    for r in pq.read_table(path).to_pylist():
        if r["subject"] in wanted:
            out[r["subject"]] = r["actor"] or f"unit {r['org']}"
    return out
