"""Vectorised draws shared by casework and planted behaviour: categories, identifier slots, times."""

from __future__ import annotations

import numpy as np

from custodiet.simulate.portal.clock import MINUTE_MS, Clock
from custodiet.simulate.portal.config import DK, SLOT, SLOTS
from custodiet.simulate.portal.org import Org


def categorical(rng: np.random.Generator, table: np.ndarray, row: np.ndarray) -> np.ndarray:
    """One draw per element of ``row`` from the distribution ``table[row]`` (rows sum to 1)."""
    cum = np.cumsum(table, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(row))
    out = np.empty(len(row), dtype=np.int8)
    for r in range(len(table)):
        sel = np.flatnonzero(row == r)
        out[sel] = np.searchsorted(cum[r], u[sel], side="right")
    return out


def _slot_mix() -> np.ndarray:
    """Which identifier an officer enters for each data kind (rows: data kinds, columns: slots)."""
    mix = {
        "identity": {"nid": 0.88, "passport": 0.12},
        "subscriber": {"msisdn1": 0.62, "msisdn2": 0.16, "imsi": 0.08, "nid": 0.14},
        "cdr": {"msisdn1": 0.75, "msisdn2": 0.20, "imsi": 0.05},
        "location": {"msisdn1": 0.72, "msisdn2": 0.18, "imsi": 0.05, "imei": 0.05},
        "imei": {"imei": 0.60, "msisdn1": 0.30, "msisdn2": 0.10},
        "travel": {"passport": 0.65, "nid": 0.35},
        "criminal": {"nid": 1.0},
    }
    table = np.zeros((len(DK), len(SLOTS)))
    for kind, row in mix.items():
        for slot, w in row.items():
            table[DK[kind], SLOT[slot]] = w
    return table


SLOT_MIX = _slot_mix()


def slots_for(rng: np.random.Generator, data_kind: np.ndarray) -> np.ndarray:
    return categorical(rng, SLOT_MIX, data_kind.astype(np.int64))


def shift_times(rng: np.random.Generator, org: Org, clock: Clock, actor: np.ndarray, day: np.ndarray,
                overtime: float = 0.03) -> np.ndarray:
    """Instants within each actor's shift on the given local days (busiest mid-shift)."""
    frac = rng.beta(1.7, 1.7, len(actor))
    minutes = org.shift_start[actor] + frac * org.shift_len[actor]
    late = rng.random(len(actor)) < overtime
    minutes = np.where(late, org.shift_start[actor] + org.shift_len[actor] + rng.random(len(actor)) * 120,
                       minutes)
    return clock.day_start_ms(day) + (minutes * MINUTE_MS).astype(np.int64) + rng.integers(0, MINUTE_MS,
                                                                                            len(actor))


def day_window(rng: np.random.Generator, days: int, length: int, earliest: int) -> tuple[int, int]:
    """A random span of days [start, start + length) within the world, starting no earlier than ``earliest``
    (the length shrinks to fit)."""
    length = min(length, days - earliest - 2)
    start = int(rng.integers(earliest, max(days - length - 1, earliest + 1)))
    return start, start + length


def window_times(rng: np.random.Generator, clock: Clock, day: np.ndarray, from_min: float,
                 to_min: float) -> np.ndarray:
    """Instants between two local times of day (minutes after midnight; may pass midnight)."""
    minutes = from_min + rng.random(len(day)) * (to_min - from_min)
    return clock.day_start_ms(day) + (minutes * MINUTE_MS).astype(np.int64)


def session_offsets(rng: np.random.Generator, counts: np.ndarray, mean_gap_ms: float) -> np.ndarray:
    """For groups of ``counts`` consecutive events: each event's delay after its group's first event."""
    n = int(counts.sum())
    gaps = rng.exponential(mean_gap_ms, n).astype(np.int64) + 1500
    first = np.cumsum(counts) - counts
    gaps[first] = 0
    total = np.cumsum(gaps)
    return total - np.repeat(total[first], counts)
