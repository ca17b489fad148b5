"""Events while the world is being built: one numpy array per field (no Python object per event).

People are referred to by index into the population and an identifier slot; the identifier text is
only produced when the files are written. ``value`` carries an explicit identifier instead, for lookups
of numbers that belong to nobody (enumeration walks). Fields left at -1 (outcome, records, form) are
filled by the world's default models at the end, so planted behaviour only sets what it means to.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

_DTYPES = {
    "t": np.int64,  # ms since the Unix epoch, UTC
    "actor": np.int32,
    "person": np.int64,  # index into the population, or -1 when ``value`` is given
    "slot": np.int8,  # identifier slot (config.SLOTS)
    "value": np.int64,  # explicit identifier digits when person == -1
    "data_kind": np.int8,
    "case": np.int32,  # index into the case table, -1 when no case id was given
    "outcome": np.int8,  # -1: decide by the default model
    "records": np.int32,  # -1: decide by the default model
    "ip": np.int64,  # IPv4 as an integer, -1: the actor's usual address
    "abuser": np.int16,  # index into the planted abusers, -1 for legitimate work
}


@dataclass
class EventFrame:
    t: np.ndarray
    actor: np.ndarray
    person: np.ndarray
    slot: np.ndarray
    value: np.ndarray
    data_kind: np.ndarray
    case: np.ndarray
    outcome: np.ndarray
    records: np.ndarray
    ip: np.ndarray
    abuser: np.ndarray

    def __len__(self) -> int:
        return len(self.t)

    @classmethod
    def build(cls, **columns: np.ndarray | int) -> EventFrame:
        """A frame from the given columns; scalars broadcast, missing columns default to -1."""
        n = max(len(v) for v in columns.values() if isinstance(v, np.ndarray))
        out = {}
        for name, dtype in _DTYPES.items():
            v = columns.pop(name, -1)
            out[name] = np.broadcast_to(np.asarray(v, dtype=dtype), (n,)).copy()
        if columns:
            raise TypeError(f"unknown event fields: {sorted(columns)}")
        return cls(**out)

    @classmethod
    def concat(cls, frames: list[EventFrame]) -> EventFrame:
        return cls(**{f.name: np.concatenate([getattr(fr, f.name) for fr in frames]) for f in fields(cls)})

    def take(self, index: np.ndarray) -> EventFrame:
        return EventFrame(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


def empty() -> EventFrame:
    return EventFrame(**{name: np.empty(0, dtype=dtype) for name, dtype in _DTYPES.items()})
