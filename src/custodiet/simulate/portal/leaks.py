"""Samples of sellers' data later listed for sale.

A listing shows some of the people a seller pulled (the identifier the seller used, typed as sale posts
type it), appearing some days after the last of those lookups. Only data the portal actually returned
(outcome ``allowed``) can be sold. Bulk sellers list twice: first a large sample that also holds several
people everybody looks up (they sell best, and they make naive matching point at everyone), later a
second one. Quiet sellers and hijackers list once; the quiet ones list small samples (4 to 9 records).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from custodiet.simulate.portal.clock import Clock
from custodiet.simulate.portal.config import ALLOWED, SUBJECT_KINDS
from custodiet.simulate.portal.planting import SELLERS, Abuser


@dataclass
class Leak:
    seller: int  # actor index
    listed_at: date
    kind: np.ndarray  # subject kind codes
    value: np.ndarray  # identifier digits
    person: np.ndarray


@dataclass
class _Victims:
    person: np.ndarray
    t: np.ndarray
    kind: np.ndarray
    value: np.ndarray
    popular: np.ndarray

    def take(self, idx: np.ndarray) -> _Victims:
        return _Victims(self.person[idx], self.t[idx], self.kind[idx], self.value[idx], self.popular[idx])


def _victims(sel: np.ndarray, person: np.ndarray, t: np.ndarray, kind: np.ndarray, value: np.ndarray,
             popular: np.ndarray) -> _Victims:
    """Per person pulled: the first phone-number lookup (else the first lookup) and its identifier."""
    not_phone = kind[sel] != SUBJECT_KINDS.index("msisdn")
    order = sel[np.lexsort((t[sel], not_phone, person[sel]))]
    _, first = np.unique(person[order], return_index=True)
    pick = order[first]
    return _Victims(person[pick], t[pick], kind[pick], value[pick], np.isin(person[pick], popular))


def _sample(rng: np.random.Generator, seller: int, pool: _Victims, before: int, size: int, clock: Clock,
            stars: int = 0) -> Leak | None:
    ok = pool.t < before
    plain = np.flatnonzero(ok & ~pool.popular)
    fame = np.flatnonzero(ok & pool.popular)
    stars = min(stars, len(fame))
    size = min(size - stars, len(plain))
    if size + stars < 4:
        return None
    idx = np.concatenate([rng.choice(plain, size, replace=False), rng.choice(fame, stars, replace=False)])
    idx = rng.permutation(idx)
    v = pool.take(idx)
    listed = clock.date_of(int(v.t.max())) + timedelta(days=int(rng.integers(3, 13)))
    return Leak(seller, listed, v.kind, v.value, v.person)


def plan_leaks(rng: np.random.Generator, abusers: list[Abuser], clock: Clock, abuser: np.ndarray,
               outcome: np.ndarray, person: np.ndarray, t: np.ndarray, kind: np.ndarray, value: np.ndarray,
               popular: np.ndarray) -> list[Leak]:
    leaks: list[Leak | None] = []
    quiet_seen = 0
    for ab in abusers:
        if ab.kind not in SELLERS:
            continue
        sel = np.flatnonzero((abuser == ab.index) & (outcome == ALLOWED) & (person >= 0))
        pool = _victims(sel, person, t, kind, value, popular)
        end = int(pool.t.max()) + 1
        if ab.kind == "bulk_seller":
            cut = int(np.quantile(pool.t, 0.45))
            first = _sample(rng, ab.actor, pool, cut, int(rng.integers(20, 31)), clock, stars=int(rng.integers(4, 8)))
            leaks.append(first)
            rest = np.setdiff1d(np.arange(len(pool.person)),
                                np.flatnonzero(np.isin(pool.person, first.person if first else [])))
            leaks.append(_sample(rng, ab.actor, pool.take(rest), end, int(rng.integers(10, 19)), clock))
        elif ab.kind == "quiet_seller":
            low = 6 if quiet_seen == 0 else 4
            quiet_seen += 1
            leaks.append(_sample(rng, ab.actor, pool, end, int(rng.integers(low, 10)), clock))
        else:
            leaks.append(_sample(rng, ab.actor, pool, end, int(rng.integers(10, 17)), clock))
    found = [lk for lk in leaks if lk is not None]
    return sorted(found, key=lambda lk: (lk.listed_at, lk.seller))
