"""An event under construction by a source's mapper, before its subject is pseudonymised and it is stored
(``event_batch``). Pure Python: mappers that run in a forked decoder import it without Arrow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class PendingEvent:
    """An event under construction; the outcome is filled in when (if) its answer is seen."""

    event_id: str
    ts_us: int
    actor: str
    actor_org: str | None
    subject_kind: str
    subject_value: str  # normalised; pseudonymised in bulk at the end
    data_kind: str
    operation: str
    frame: int  # the frame or line it comes from
    attrs: dict[str, Any]
    outcome: str = "allowed"
    authority: str | None = None  # the case or warrant the source names
    subject_pseudonym: str | None = None  # set when the subject is known only by its pseudonym (from the store)
