"""Canary subjects: fake people assigned to an account or a unit, whose lookup or sale gives it away.

Scheme. A canary is an identifier that passes every format check the portal and the black market apply,
yet belongs to nobody, because it is drawn from a block that the deployment *reserves* for the purpose.
There is no default block: any range that looks real may be a live one, and a real person drawn as a
canary would trip a critical finding against whoever looks them up lawfully. The operator agrees the block
and passes it (``prefix``; the CLI's ``--prefix``, or ``[canary.prefix]`` in the settings, see
``custodiet.config``); without one, issuing is refused.

- ``msisdn``: numbers in a block the mobile operator sets aside and never assigns (the prefix starts with
  the country calling code; the length is the country's mobile number length, and each number must pass
  ``phonenumbers`` validation);
- ``nid``: 17-digit national IDs under a prefix the registry reserved (never issued to living people);
- ``imei``: a type allocation code reserved for the purpose + random digits and the Luhn check digit, as
  a real IMEI has.

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
from custodiet.identifiers import luhn_digit, normalise
from custodiet.store import CONTEXT_SCHEMAS, Store

LENGTH = {"nid": 17, "imei": 15}
KINDS = ("msisdn", "nid", "imei")
_TRIES = 50  # draws per length before a prefix is judged not to give valid phone numbers


class NoReservedBlock(ValueError):
    """Canaries were asked for without a reserved block to draw them from."""


def reserved_prefix(store: Store, kind: str, prefix: str | None) -> str:
    """The block to draw ``kind`` canaries from: ``prefix`` if given, else the settings' ``[canary.prefix]``."""
    chosen = prefix or store.config().get("canary.prefix", kind)
    if not chosen:
        raise NoReservedBlock(
            f"no reserved block for {kind} canaries: they must come from a block the operator has set aside and "
            "never assigns, or a real person could trip a critical finding; agree one and pass --prefix DIGITS "
            f"(or set [canary.prefix] {kind} in the settings)")
    return chosen


@dataclass(frozen=True)
class IssuedCanary:
    subject_kind: str
    cleartext: str  # shown once to the operator; never stored
    subject: str  # the pseudonym, as stored
    actor: str | None
    org: str | None


def draw(kind: str, prefix: str) -> str:
    """One random identifier of ``kind`` in the reserved block ``prefix``, in the form to plant (an IMEI with
    its check digit); ``normalise`` gives the form it is pseudonymised in."""
    if kind not in KINDS:
        raise ValueError(f"canaries of kind {kind!r} are not supported (use {', '.join(KINDS)})")
    if not prefix or not prefix.isdigit():
        raise ValueError(f"prefix {prefix!r} must be digits")
    if kind == "msisdn":
        return normalise(kind, _draw_msisdn(prefix))
    free = LENGTH[kind] - len(prefix) - (1 if kind == "imei" else 0)
    if free < 4:
        raise ValueError(f"prefix {prefix!r} must be digits leaving at least 4 random digits for a {kind}")
    body = prefix + _digits(free)
    if kind == "imei":
        return body + luhn_digit(body)
    return normalise(kind, body)


def _digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


def _draw_msisdn(prefix: str) -> str:
    lengths = [n for n in _msisdn_lengths(prefix) if n - len(prefix) >= 4]
    if not lengths:
        raise ValueError(f"prefix {prefix!r} must be digits leaving at least 4 random digits for a msisdn")
    for total in lengths:
        for _ in range(_TRIES):
            body = prefix + _digits(total - len(prefix))
            if phonenumbers.is_valid_number(phonenumbers.parse("+" + body)):
                return body
    raise ValueError(f"prefix {prefix!r} does not give valid phone numbers")


def _msisdn_lengths(prefix: str) -> list[int]:
    """Possible lengths (country code included) of mobile numbers in the country ``prefix`` starts with."""
    for k in (1, 2, 3):
        cc = int(prefix[:k])
        region = phonenumbers.region_code_for_country_code(cc)
        if region == "ZZ":
            continue
        meta = (phonenumbers.PhoneMetadata.metadata_for_nongeo_region(cc) if region == "001"
                else phonenumbers.PhoneMetadata.metadata_for_region(region))
        if meta is None:
            continue
        desc = meta.mobile if meta.mobile and meta.mobile.possible_length else meta.general_desc
        return sorted({k + n for n in ((desc.possible_length if desc else None) or ())}, reverse=True)
    raise ValueError(f"prefix {prefix!r} does not start with a country calling code")


def issue(store: Store, actor: str | None = None, org: str | None = None, count: int = 1,
          kind: str = "msisdn", prefix: str | None = None) -> list[IssuedCanary]:
    """Create ``count`` canaries for an account or a unit, store their pseudonyms, return the cleartext."""
    if (actor is None) == (org is None):
        raise ValueError("give exactly one of actor or org")
    if count < 1:
        raise ValueError("count must be at least 1")
    if kind not in KINDS:
        raise ValueError(f"canaries of kind {kind!r} are not supported (use {', '.join(KINDS)})")
    prefix = reserved_prefix(store, kind, prefix)
    draw(kind, prefix)  # a bad block is refused before the store is touched
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
                subject = ps.of_normalised(kind, normalise(kind, clear))
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
