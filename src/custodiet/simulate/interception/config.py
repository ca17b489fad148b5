"""Settings and fixed vocabularies of the interception world.

Everything a user may want to vary is in ``InterceptionConfig``. The agencies, issuers, network elements
and authority levels are invented; the numbers are plausible guesses for an operator's lawful-interception
provisioning, not measurements of any real one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# Invented agencies (at most this many in one world) and the prefix of their warrant numbers.
AGENCIES: tuple[tuple[str, str], ...] = (
    ("Capital Police", "CPL"),
    ("National Crime Agency", "NCR"),
    ("Customs Service", "CUS"),
    ("Security Service", "SEC"),
    ("Border Force", "BDF"),
    ("Harbour Police", "HBP"),
    ("Serious Fraud Office", "SFO"),
    ("Northern Constabulary", "NTH"),
    ("Transport Police", "TRP"),
    ("Maritime Guard", "MAR"),
)

# Authority level -> (issuers, validity in days). Urgent warrants last five days and are usually followed
# by a full warrant for the same targets.
AUTHORITY: dict[str, tuple[tuple[str, ...], int]] = {
    "ministerial": (("Secretary of State (Home)", "Secretary of State (Foreign)"), 180),
    "judicial": (("Judicial Commissioner A", "Judicial Commissioner B", "Judicial Commissioner C"), 90),
    "urgent": (("Senior Officer (urgent)",), 5),
}
LEVELS = tuple(AUTHORITY)

# Data kinds a warrant may grant; location always comes with metadata (a location task is delivered as X2).
KIND_SETS: tuple[tuple[str, ...], ...] = (
    ("metadata",),
    ("location", "metadata"),
    ("content", "metadata"),
    ("content", "location", "metadata"),
    ("content",),
)
DATA_KINDS = ("content", "metadata", "location")
TARGET_KINDS = ("msisdn", "imsi", "imei")

# Network elements the ADMF provisions: core (voice/data), IMS, and location (LALS) elements.
CORE_NES = ("ne-core-1", "ne-core-2", "ne-core-3", "ne-core-4")
IMS_NES = ("ne-ims-1", "ne-ims-2")
LOC_NES = ("ne-loc-1", "ne-loc-2")
ADMFS = ("admf-1", "admf-2")

ERROR_CLASSES = ("no_warrant", "wrong_identifier", "wrong_period", "wrong_data_type", "stretched")
# Share of the planted per-task errors by class (the commissioner's 2014 proportions for the first three).
ERROR_MIX = {"no_warrant": 0.08, "wrong_identifier": 0.45, "wrong_period": 0.27, "wrong_data_type": 0.13,
             "stretched": 0.07}

MIN_AGENCIES, MAX_AGENCIES = 3, len(AGENCIES)
MIN_WARRANTS = 60
MIN_DAYS, MAX_DAYS = 30, 1500


@dataclass(frozen=True)
class InterceptionConfig:
    """What to generate. Same config (seed included) -> byte-identical files."""

    seed: int = 7
    agencies: int = 6
    warrants: int = 2000  # warrant numbers issued, renewals included (~3,000 tasks at the default size)
    days: int = 180
    end: date = date(2026, 11, 15)  # last UTC day of the world; the default crosses two quarter boundaries
    grace_seconds: int = 3600  # deactivation allowed this long after a warrant's valid_to
    stretch_factor: int = 4  # a warrant may carry up to this many tasks per listed target
    error_share: float = 0.03  # planted per-task errors (classes 1-5), as a share of the tasks
    out_of_line_chance: float = 0.8  # chance that one agency is planted out of line (class 6)
    out_of_line_errors: float = 0.12  # share of that agency's tasks given errors when its uncovered share stands out

    def validate(self) -> None:
        if not MIN_AGENCIES <= self.agencies <= MAX_AGENCIES:
            raise ValueError(f"--agencies must be between {MIN_AGENCIES} and {MAX_AGENCIES} (got {self.agencies})")
        if self.warrants < MIN_WARRANTS:
            raise ValueError(f"--warrants must be at least {MIN_WARRANTS} (got {self.warrants})")
        if not MIN_DAYS <= self.days <= MAX_DAYS:
            raise ValueError(f"--days must be between {MIN_DAYS} and {MAX_DAYS} (got {self.days})")
        if self.grace_seconds < 0:
            raise ValueError(f"grace must not be negative (got {self.grace_seconds} s)")
        if self.stretch_factor < 1:
            raise ValueError(f"stretch factor must be at least 1 (got {self.stretch_factor})")
