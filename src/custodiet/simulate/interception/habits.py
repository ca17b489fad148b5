"""How each agency works: its volume, what it asks for, how it provisions, renews and ends tasks.

Habits are drawn per agency from the seed, so agencies differ from each other and from seed to seed,
within ranges that keep every agency's ordinary work covered by its warrants.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TypeVar

from custodiet.simulate.interception.config import AGENCIES

T = TypeVar("T")


@dataclass(frozen=True)
class Habits:
    name: str
    code: str
    weight: float  # share of the fresh warrants
    kind_mix: tuple[float, ...]  # over config.KIND_SETS
    level_mix: tuple[float, ...]  # over config.LEVELS
    target_mix: tuple[float, ...]  # over config.TARGET_KINDS
    extra_targets: float  # mean number of targets beyond the first
    bundled: float  # chance that one task carries all of a warrant's targets (else one task per target)
    separate_location: float  # chance that location goes to a location element as a task of its own
    second_ne: float  # chance that a task is also provisioned on a second core/IMS element
    delay_minutes: float  # median delay from a warrant's start to its tasks' activation
    early_end: float  # chance that a task ends well before its warrant does
    late_end: float  # chance that a task is deactivated minutes after its warrant ended (within grace)
    renew: float  # chance that a warrant is renewed
    reactivate: float  # chance that a task is paused and activated again within its warrant
    change_delivery: float  # chance of a Modify changing the delivery
    plus: float  # chance that warrants.csv writes an msisdn with +
    imei15: float  # chance that warrants.csv writes an imei with its check digit
    zone: str  # how warrants.csv writes times: "Z", "+00:00", "" (UTC without a zone) or "+01:00"


def _mix(rng: random.Random, weights: tuple[float, ...]) -> tuple[float, ...]:
    """A random mix around ``weights`` (each scaled by a factor in [0.3, 1.7]), normalised."""
    raw = [w * rng.uniform(0.3, 1.7) for w in weights]
    total = sum(raw)
    return tuple(w / total for w in raw)


def draw_habits(rng: random.Random, n: int) -> list[Habits]:
    out = []
    for name, code in AGENCIES[:n]:
        out.append(Habits(
            name=name,
            code=code,
            weight=rng.lognormvariate(0, 0.6),
            kind_mix=_mix(rng, (0.25, 0.2, 0.3, 0.2, 0.05)),
            level_mix=_mix(rng, (0.25, 0.65, 0.1)),
            target_mix=_mix(rng, (0.6, 0.2, 0.2)),
            extra_targets=rng.uniform(0.2, 1.4),
            bundled=rng.choice((0.05, 0.3, 0.7)),
            separate_location=rng.uniform(0.2, 0.9),
            second_ne=rng.uniform(0.05, 0.4),
            delay_minutes=rng.choice((15.0, 60.0, 240.0, 900.0)),
            early_end=rng.uniform(0.15, 0.5),
            late_end=rng.uniform(0.03, 0.35),
            renew=rng.uniform(0.3, 0.7),
            reactivate=rng.uniform(0.02, 0.1),
            change_delivery=rng.uniform(0.03, 0.15),
            plus=rng.choice((0.05, 0.5, 0.95)),
            imei15=rng.choice((0.05, 0.5, 0.95)),
            zone=rng.choice(("Z", "Z", "+00:00", "", "+01:00")),
        ))
    total = sum(h.weight for h in out)
    return [Habits(**{**h.__dict__, "weight": h.weight / total}) for h in out]


def pick(rng: random.Random, options: tuple[T, ...], weights: tuple[float, ...]) -> T:
    """One of ``options`` with the given weights."""
    return rng.choices(options, weights)[0]
