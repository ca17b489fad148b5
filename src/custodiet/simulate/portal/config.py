"""Settings and fixed vocabularies of the portal world.

Everything a user may want to vary is in ``PortalConfig``; the unit profiles below describe how each kind
of unit works (who is in it, what it looks up, how often). The numbers are plausible guesses for a
national citizen-data portal, not measurements of any real one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

# Codes used inside the generator; the output writes their names.
DATA_KINDS = ("identity", "subscriber", "cdr", "location", "imei", "travel", "criminal")
DK = {name: i for i, name in enumerate(DATA_KINDS)}

# Identifier slots of a person; the subject_kind written for each slot.
SLOTS = ("msisdn1", "msisdn2", "imsi", "imei", "nid", "passport")
SLOT = {name: i for i, name in enumerate(SLOTS)}
SUBJECT_KINDS = ("msisdn", "imsi", "imei", "nid", "passport")
SLOT_KIND = (0, 0, 1, 2, 3, 4)  # index into SUBJECT_KINDS, per slot

OUTCOMES = ("allowed", "denied", "error")
ALLOWED, DENIED, ERROR = 0, 1, 2

ABUSER_KINDS = (
    "bulk_seller",
    "quiet_seller",
    "vip_snooping",
    "stalker",
    "enumeration",
    "case_misuse",
    "hijacked_account",
    "ramp_up",
)

REGIONS = ("DHK", "CTG", "KHL", "RAJ", "SYL", "BSL", "RNG", "MYM")

PROTECTED_CATEGORIES = (("minister", 20), ("mp", 40), ("judge", 30), ("journalist", 45), ("activist", 25),
                        ("diplomat", 10))

LOCAL_UTC_OFFSET_H = 6  # the world works on Asia/Dhaka time (UTC+6, no daylight saving); logs are UTC
WEEKEND = (4, 5)  # Friday and Saturday, as in Bangladesh (Monday = 0)


@dataclass(frozen=True)
class UnitProfile:
    """How one kind of unit works.

    ``mix`` is the share of each data kind in its lookups; ``case_based`` units look up the subjects of
    their cases, the others look up strangers (verification of job applicants, travellers). ``denied``
    lists data kinds the unit's role may not see (its rare attempts are denied).
    """

    kind: str
    prefix: str
    roles: tuple[tuple[str, float], ...]
    mix: tuple[float, ...]  # in DATA_KINDS order
    queries_per_day: float  # per actor, on a working day
    case_based: bool
    weight: float  # share of units of this kind
    watch_share: float = 0.0  # share of actors on a night watch
    late_share: float = 0.12  # share of actors on a late shift
    denied: tuple[str, ...] = ()
    cite_rate: float = 0.85  # how often an officer gives the case id of a case lookup


PROFILES: tuple[UnitProfile, ...] = (
    UnitProfile("investigation", "INV", (("investigator", 0.8), ("analyst", 0.1), ("supervisor", 0.1)),
                (0.14, 0.16, 0.24, 0.20, 0.10, 0.06, 0.10), 14.0, True, 0.45),
    UnitProfile("intelligence", "INT", (("analyst", 0.85), ("supervisor", 0.15)),
                (0.10, 0.15, 0.30, 0.25, 0.10, 0.10, 0.00), 16.0, True, 0.15, watch_share=0.25,
                cite_rate=0.8),
    UnitProfile("cyber", "CYB", (("investigator", 0.7), ("analyst", 0.2), ("supervisor", 0.1)),
                (0.15, 0.35, 0.20, 0.10, 0.20, 0.00, 0.00), 13.0, True, 0.12, cite_rate=0.7),
    UnitProfile("verification", "VER", (("verifier", 0.9), ("supervisor", 0.1)),
                (0.58, 0.37, 0.006, 0.004, 0.0, 0.0, 0.04), 48.0, False, 0.16, late_share=0.2,
                denied=("cdr", "location", "imei", "travel")),
    UnitProfile("border", "BRD", (("border_officer", 0.9), ("supervisor", 0.1)),
                (0.30, 0.08, 0.005, 0.005, 0.0, 0.52, 0.09), 34.0, False, 0.12, watch_share=0.3,
                denied=("cdr", "location")),
)
PROFILE = {p.kind: p for p in PROFILES}

ROLE_RATE = {"supervisor": 0.35, "analyst": 1.15}  # multiplier of the unit's queries per day

# Default number of planted abusers of each kind.
DEFAULT_ABUSERS: dict[str, int] = {
    "bulk_seller": 1,
    "quiet_seller": 2,
    "vip_snooping": 1,
    "stalker": 1,
    "enumeration": 1,
    "case_misuse": 1,
    "hijacked_account": 1,
    "ramp_up": 1,
}

MIN_ACTORS = 40
MIN_DAYS = 30


@dataclass(frozen=True)
class PortalConfig:
    """What to generate. Same config (seed included) -> byte-identical files."""

    seed: int = 7
    actors: int = 300
    days: int = 90
    end: date = date(2026, 6, 30)  # last local day of the world (fixed, so default output is stable)
    abusers: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_ABUSERS))
    popular: int = 40  # people everybody looks up (wanted fugitives, people in the news)

    def validate(self) -> None:
        if self.actors < MIN_ACTORS:
            raise ValueError(f"--actors must be at least {MIN_ACTORS} (got {self.actors})")
        if self.days < MIN_DAYS:
            raise ValueError(f"--days must be at least {MIN_DAYS} (got {self.days})")
        unknown = set(self.abusers) - set(ABUSER_KINDS)
        if unknown:
            raise ValueError(f"unknown abuser kinds: {sorted(unknown)}")
        if sum(self.abusers.values()) > self.actors // 4:
            raise ValueError("too many abusers for the number of actors")
