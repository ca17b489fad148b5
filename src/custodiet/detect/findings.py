"""The one finding record every detector emits, and its storage under ``<home>/findings/``."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from custodiet.events import canonical_json

SEVERITIES = ("info", "low", "medium", "high", "critical")

FINDING_SCHEMA = pa.schema(
    [
        ("finding_id", pa.string()),
        ("detector", pa.string()),
        ("revision", pa.int32()),
        ("actor", pa.string()),
        ("actors", pa.list_(pa.string())),
        ("subjects", pa.list_(pa.string())),
        ("window_start", pa.timestamp("us", tz="UTC")),
        ("window_end", pa.timestamp("us", tz="UTC")),
        ("score", pa.float64()),
        ("severity", pa.string()),
        ("summary", pa.string()),
        ("event_ids", pa.list_(pa.string())),
        ("details", pa.string()),  # canonical JSON of detector-specific numbers
    ]
)


@dataclass
class Finding:
    """What a detector found: who, about whom, when, how strongly, why (one sentence), and the evidence.

    ``actor`` is the account or network; ``actors`` lists several when networks act together
    (then ``actor`` is the first of them). ``score`` is in [0, 1]: the detector's confidence.
    """

    detector: str
    revision: int
    actor: str
    subjects: list[str]
    window_start: datetime
    window_end: datetime
    score: float
    severity: str
    summary: str
    event_ids: list[str]
    actors: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    finding_id: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        if not self.actors:
            self.actors = [self.actor]
        if not self.finding_id:
            key = canonical_json([self.detector, self.revision, self.actors, self.window_start.isoformat(),
                                  self.window_end.isoformat(), sorted(self.subjects)[:50],
                                  sorted(self.event_ids)[:50]])
            self.finding_id = hashlib.sha256(key.encode()).hexdigest()[:24]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["window_start"] = self.window_start.isoformat()
        out["window_end"] = self.window_end.isoformat()
        return out


def findings_table(findings: Sequence[Finding]) -> pa.Table:
    rows = [{**asdict(f), "details": canonical_json(f.details)} for f in findings]
    return pa.Table.from_pylist(rows, schema=FINDING_SCHEMA)
