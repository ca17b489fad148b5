"""Planted data sellers: officers (or an intruder in an officer's account) who pull the data that sells.

What sells is the bundle: a person's phone location, call records, device (IMEI) history and foreign
travel, pulled together in a few minutes. Sellers do it on top of their normal casework, from their
usual workstation, sometimes citing one of their own unit's open cases that has nothing to do with the
person, so the lookups look like work.

Most of the people sold are strangers to the portal; about one in seven is on another unit's case (a
suspect's associates pay for what the police know), so a few other officers look them up too.

- bulk seller: a dozen people a day for a few weeks, and a few people everybody looks up (they sell
  well), early in the window;
- quiet seller: two or three people a week for most of the world;
- hijacked account: someone else, in a legitimate officer's account, at night, from an address the
  account never used, harvesting dozens of people per night on two or three nights.
"""

from __future__ import annotations

import numpy as np

from custodiet.simulate.portal.clock import MINUTE_MS
from custodiet.simulate.portal.config import DK, SLOT, SLOTS
from custodiet.simulate.portal.draw import categorical, day_window, session_offsets, shift_times
from custodiet.simulate.portal.frame import EventFrame
from custodiet.simulate.portal.state import WorldState

BUNDLE_KINDS = np.array([DK["location"], DK["cdr"], DK["imei"], DK["travel"], DK["identity"]])
BUNDLE_SHARE = np.array([1.0, 0.92, 0.78, 0.66, 0.3])


def _seller_slots() -> np.ndarray:
    table = np.zeros((len(DK), len(SLOTS)))
    table[:, SLOT["nid"]] = 1.0
    for kind in ("location", "cdr", "subscriber"):
        table[DK[kind]] = 0
        table[DK[kind], SLOT["msisdn1"]] = 0.85
        table[DK[kind], SLOT["msisdn2"]] = 0.15
    table[DK["imei"]] = 0
    table[DK["imei"], [SLOT["imei"], SLOT["msisdn1"]]] = [0.6, 0.4]
    table[DK["travel"]] = 0
    table[DK["travel"], [SLOT["passport"], SLOT["nid"]]] = [0.65, 0.35]
    return table


SELLER_SLOTS = _seller_slots()


def bundles(rng: np.random.Generator, actor: int, persons: np.ndarray, t0: np.ndarray,
            cited: np.ndarray | None = None, ip: np.ndarray | None = None) -> EventFrame:
    """One data bundle per person, starting at ``t0``; ``cited`` (case per person, -1 none)."""
    n = len(persons)
    take = rng.random((n, len(BUNDLE_KINDS))) < BUNDLE_SHARE[None, :]
    take[:, :2] |= (take.sum(axis=1) < 3)[:, None]  # at least location, cdr and one more
    counts = take.sum(axis=1)
    victim = np.repeat(np.arange(n), counts)
    data_kind = np.broadcast_to(BUNDLE_KINDS, take.shape)[take]
    t = t0[victim] + session_offsets(rng, counts, 25_000.0)
    slot = categorical(rng, SELLER_SLOTS, data_kind)
    return EventFrame.build(
        t=t, actor=actor, person=persons[victim], slot=slot, data_kind=data_kind,
        case=-1 if cited is None else cited[victim], ip=-1 if ip is None else ip[victim],
    )


def _cover(rng: np.random.Generator, world: WorldState, actor: int, day: np.ndarray, share: float) -> np.ndarray:
    """An own-unit open case cited as cover for ``share`` of the lookups (it never covers the person)."""
    case = world.own_open_case(rng, actor, day)
    return np.where(rng.random(len(day)) < share, case, -1)


def _victims(rng: np.random.Generator, world: WorldState, actor: int, n: int) -> np.ndarray:
    people = world.pop.allocate(n)
    on_cases = rng.random(n) < 0.15
    people[on_cases] = world.others_case_people(rng, actor, int(on_cases.sum()))
    return people


def bulk_seller(rng: np.random.Generator, world: WorldState, actor: int) -> EventFrame:
    d0, d1 = day_window(rng, world.days, int(rng.integers(18, 31)), max(12, world.days // 4))
    days = world.work_days(actor, d0, d1)
    per_day = rng.poisson(11.0, len(days)) + 3
    day = np.repeat(days, per_day)
    people = _victims(rng, world, actor, len(day))
    early = days[: max(1, int(len(days) * 0.4))]
    n_pop = min(int(rng.integers(6, 11)), len(world.popular))
    stars = rng.choice(world.popular, n_pop, replace=False)
    day = np.concatenate([day, rng.choice(early, n_pop)])
    people = np.concatenate([people, stars])
    t0 = shift_times(rng, world.org, world.clock, np.full(len(day), actor), day)
    return bundles(rng, actor, people, t0, _cover(rng, world, actor, day, 0.35))


def quiet_seller(rng: np.random.Generator, world: WorldState, actor: int) -> EventFrame:
    length = int(world.days * rng.uniform(0.6, 0.8))
    d0, d1 = day_window(rng, world.days, length, 5)
    days = world.work_days(actor, d0, d1)
    n = max(4, int(rng.poisson(3.0 * (d1 - d0) / 7)))
    day = np.sort(rng.choice(days, n))
    t0 = shift_times(rng, world.org, world.clock, np.full(n, actor), day)
    return bundles(rng, actor, _victims(rng, world, actor, n), t0, _cover(rng, world, actor, day, 0.35))


def _new_address(rng: np.random.Generator) -> int:
    """An address from the documentation ranges (TEST-NET-2/3), never one of the org's own."""
    net = (198 << 24) | (51 << 16) | (100 << 8) if rng.random() < 0.5 else (203 << 24) | (0 << 16) | (113 << 8)
    return int(net | int(rng.integers(2, 254)))


def hijacked_account(rng: np.random.Generator, world: WorldState, actor: int) -> EventFrame:
    first = int(rng.integers(max(10, int(world.days * 0.3)), world.days - 8))
    nights = first + np.sort(rng.choice(6, int(rng.integers(2, 4)), replace=False))
    frames = []
    for night in nights.tolist():
        n = int(rng.integers(35, 81))
        start = world.clock.day_start_ms(night) + int(rng.integers(60, 150)) * MINUTE_MS
        t0 = start + np.sort(rng.integers(0, 150 * MINUTE_MS, n))
        ip = np.full(n, _new_address(rng))
        frames.append(bundles(rng, actor, world.pop.allocate(n), t0, ip=ip))
    return EventFrame.concat(frames)
