"""The objects of the interception world: warrants, task details, X1 messages and tasks.

Instants are integers, microseconds since the epoch (UTC), so ordering and arithmetic are exact.
Identifiers are kept in their canonical form (msisdn digits without ``+``, imsi 15 digits, imei 14
digits); the forms a file writes are chosen on output.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field, replace

from custodiet.events import epoch_us, from_epoch_us

SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

ACTIVATE, MODIFY, DEACTIVATE = "ActivateTaskRequest", "ModifyTaskRequest", "DeactivateTaskRequest"

Target = tuple[str, str]  # (kind, canonical value): kind is msisdn, imsi or imei


instant, as_datetime = epoch_us, from_epoch_us  # microseconds since the epoch <-> an aware datetime


def iso_us(t: int) -> str:
    """``2026-07-03T10:15:02.123456Z``."""
    return as_datetime(t).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng`` (so the same seed gives the same ids)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass
class Warrant:
    """One warrant: its targets (canonical), data kinds and validity; ``renewal`` is the warrant that
    continues it, if any."""

    agency: int
    level: str
    issuer: str
    targets: list[Target]
    kinds: tuple[str, ...]
    valid_from: int
    valid_to: int
    warrant_id: str = ""
    renewal: Warrant | None = None
    renews: Warrant | None = None


@dataclass(frozen=True)
class Details:
    """A task's details as an Activate or Modify carries them (complete, replacing the previous ones)."""

    liid: str
    targets: tuple[Target, ...]
    delivery: str  # X2Only, X3Only or X2andX3
    lals: bool
    start: int  # mediation details: recorded, bind nothing
    end: int

    def asks(self) -> set[str]:
        """The data kinds these details ask for."""
        kinds = set()
        if self.delivery in ("X2Only", "X2andX3"):
            kinds.add("metadata")
        if self.delivery in ("X3Only", "X2andX3"):
            kinds.add("content")
        if self.lals:
            kinds.add("location")
        return kinds

    def with_targets(self, targets: tuple[Target, ...]) -> Details:
        return replace(self, targets=targets)


@dataclass
class Msg:
    """One X1 request of a task; Deactivate carries no details."""

    t: int
    kind: str
    details: Details | None = None
    txid: str = ""
    copies: int = 1  # 2 when the ADMF retransmitted the identical request


@dataclass
class Task:
    """One X1 task (xId) on one network element, its messages in time order, and its planted class."""

    xid: str
    agency: int  # the agency that provisioned it (its warrant's, or the one behind an unwarranted task)
    ne: str
    admf: str
    msgs: list[Msg] = field(default_factory=list)
    cls: str = "covered"
    variant: str = ""  # how a planted error was made (kept for the tests and the summary)
    locked: bool = False  # part of a planted stretched warrant: no other error goes on it

    def liids(self) -> list[str]:
        return [m.details.liid for m in self.msgs if m.details is not None]

    def last_details(self) -> Details:
        return next(m.details for m in reversed(self.msgs) if m.details is not None)
