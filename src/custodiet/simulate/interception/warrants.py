"""Issuing warrants: fresh warrants per agency over the world's time, and chains of renewals.

A renewal is a new warrant number for the same agency and targets (sometimes one more, sometimes more data
kinds), valid from a little before its predecessor ends. Urgent warrants are mostly followed by a judicial
one. Every warrant starts inside the world.
"""

from __future__ import annotations

import random

from custodiet.simulate.interception.config import AUTHORITY, KIND_SETS, LEVELS, TARGET_KINDS
from custodiet.simulate.interception.habits import Habits, pick
from custodiet.simulate.interception.idents import IdentifierPool
from custodiet.simulate.interception.model import DAY, HOUR, MINUTE, Warrant, as_datetime


def _validity(rng: random.Random, level: str, start: int) -> tuple[str, int]:
    issuers, days = AUTHORITY[level]
    return rng.choice(issuers), start + days * DAY - rng.choice((0, 0, 1)) * MINUTE


def _fresh(rng: random.Random, agency: int, h: Habits, pool: IdentifierPool, start: int) -> Warrant:
    start -= start % MINUTE  # warrants are signed to the minute
    level = pick(rng, LEVELS, h.level_mix)
    issuer, valid_to = _validity(rng, level, start)
    n = 1 + min(5, int(rng.expovariate(1 / h.extra_targets))) if h.extra_targets > 0 else 1
    targets = [pool.take(pick(rng, TARGET_KINDS, h.target_mix)) for _ in range(n)]
    kinds = pick(rng, KIND_SETS, h.kind_mix)
    return Warrant(agency, level, issuer, targets, kinds, start, valid_to)


def _renewal(rng: random.Random, w: Warrant, h: Habits, pool: IdentifierPool) -> Warrant:
    level = "judicial" if w.level == "urgent" else w.level
    overlap = min(w.valid_to - w.valid_from - HOUR, int(rng.uniform(0.5, 6) * DAY))
    start = w.valid_to - overlap
    start -= start % MINUTE
    issuer, valid_to = _validity(rng, level, start)
    targets = list(w.targets)
    if rng.random() < 0.15 and len(targets) < 6:
        targets.append(pool.take(pick(rng, TARGET_KINDS, h.target_mix)))
    kinds = w.kinds
    if rng.random() < 0.1 and "metadata" in kinds and "location" not in kinds:
        kinds = tuple(sorted((*kinds, "location")))
    r = Warrant(w.agency, level, issuer, targets, kinds, start, valid_to, renews=w)
    w.renewal = r
    return r


def issue_warrants(rng: random.Random, habits: list[Habits], pool: IdentifierPool, count: int, start: int,
                   end: int) -> list[Warrant]:
    """``count`` warrants (renewals included) starting in [start, end), numbered per agency in the order
    they start: ``<code>-<year>-<serial>``."""
    out: list[Warrant] = []
    weights = tuple(h.weight for h in habits)
    agencies = tuple(range(len(habits)))
    last_start = end - DAY
    while len(out) < count:
        a = pick(rng, agencies, weights)
        h = habits[a]
        w = _fresh(rng, a, h, pool, start + int(rng.random() * (last_start - start)))
        out.append(w)
        renew = h.renew if w.level != "urgent" else 0.85
        while len(out) < count and rng.random() < renew:
            nxt = _renewal(rng, w, h, pool)
            if nxt.valid_from >= last_start:
                w.renewal = None
                break
            out.append(nxt)
            w = nxt
            renew = h.renew
    serial = [0] * len(habits)
    for w in sorted(out, key=lambda w: (w.valid_from, w.agency)):
        serial[w.agency] += 1
        year = as_datetime(w.valid_from).year
        w.warrant_id = f"{habits[w.agency].code}-{year}-{serial[w.agency]:04d}"
    return out
