"""Planted misuse other than selling: snooping on VIPs, stalking, enumeration, cover case ids, ramp-up.

- VIP snooping: a handful of protected people (ministers, journalists, judges…) with no case behind them,
  a few lookups each, spread over weeks, in office hours;
- stalker: one person (not on any case) looked up again and again, mostly location, many of them in the
  evening;
- enumeration: walks over sequential national IDs (and once over phone numbers), a lookup every few
  seconds for an hour or two, most of them finding somebody (IDs are issued densely), the tail of long
  walks throttled by the portal (denied);
- case misuse: unrelated people looked up under a real case id — of another unit, or one of the
  officer's own unit that is already closed;
- ramp-up: the officer's volume creeps up over weeks with strangers (1x extra at first, ~2x by the end).
"""

from __future__ import annotations

import numpy as np

from custodiet.simulate.portal.clock import MINUTE_MS
from custodiet.simulate.portal.config import DENIED, DK, PROFILES, SLOT
from custodiet.simulate.portal.draw import (
    categorical,
    day_window,
    session_offsets,
    shift_times,
    slots_for,
    window_times,
)
from custodiet.simulate.portal.frame import EventFrame
from custodiet.simulate.portal.state import WorldState

KIND_ORDER = np.array([DK["identity"], DK["location"], DK["cdr"], DK["travel"], DK["subscriber"]])


def _kinds(rng: np.random.Generator, share: list[float], n: int) -> np.ndarray:
    return KIND_ORDER[categorical(rng, np.array([share]), np.zeros(n, dtype=np.int64))]


def vip_snooping(rng: np.random.Generator, world: WorldState, actor: int) -> EventFrame:
    d0, d1 = day_window(rng, world.days, int(rng.integers(20, 41)), 10)
    free = np.setdiff1d(world.protected, world.protected_on_cases)
    vips = rng.choice(free, min(int(rng.integers(6, 15)), len(free)), replace=False)
    per = 1 + rng.binomial(2, 0.4, len(vips))
    person = np.repeat(vips, per)
    day = rng.choice(world.work_days(actor, d0, d1), len(person))
    t = shift_times(rng, world.org, world.clock, np.full(len(person), actor), day)
    kind = _kinds(rng, [0.3, 0.25, 0.2, 0.15, 0.1], len(person))
    cover = np.where(rng.random(len(day)) < 0.3, world.own_open_case(rng, actor, day), -1)
    return EventFrame.build(t=t, actor=actor, person=person, slot=slots_for(rng, kind), data_kind=kind,
                            case=cover)


def stalker(rng: np.random.Generator, world: WorldState, actor: int) -> EventFrame:
    d0, d1 = day_window(rng, world.days, int(rng.integers(25, 46)), 10)
    days = np.arange(d0, d1)
    days = days[rng.random(len(days)) < 0.55]
    per = 1 + rng.binomial(2, 0.3, len(days))
    day = np.repeat(days, per)
    n = len(day)
    evening = rng.random(n) < 0.45
    t = np.where(evening, window_times(rng, world.clock, day, 19 * 60, 23.5 * 60),
                 shift_times(rng, world.org, world.clock, np.full(n, actor), day))
    kind = _kinds(rng, [0.0, 0.6, 0.25, 0.05, 0.1], n)
    slot = np.where(rng.random(n) < 0.8, SLOT["msisdn1"], SLOT["msisdn2"])
    slot = np.where(kind == DK["travel"], SLOT["nid"], slot)
    victim = world.pop.allocate(1)[0]
    cover = np.where(rng.random(n) < 0.2, world.own_open_case(rng, actor, day), -1)
    home = world.org.ip2[actor]  # evenings from home over the VPN, when the officer has a laptop
    ip = np.where(evening & (home >= 0), home, -1)
    return EventFrame.build(t=t, actor=actor, person=victim, slot=slot, data_kind=kind, case=cover, ip=ip)


def enumeration(rng: np.random.Generator, world: WorldState, actor: int) -> EventFrame:
    """Needs the population's identifiers (call after ``Population.finalize``)."""
    ids = world.pop.ids
    first = int(rng.integers(max(8, world.days // 5), world.days - 14))
    n_sessions = int(rng.integers(2, 5))
    days = first + np.sort(rng.choice(12, n_sessions, replace=False))
    frames = []
    for i, day in enumerate(days.tolist()):
        by_phone = i == 1 and n_sessions >= 3
        values = ids["msisdn1"] if by_phone else ids["nid"]
        pool = np.flatnonzero(values < 10**10) if not by_phone else np.arange(len(values))
        order = np.argsort(values)
        steps = int(rng.integers(80, 301))
        walk = values[int(rng.choice(pool))] + np.arange(steps)
        at = np.clip(np.searchsorted(values, walk, sorter=order), 0, len(values) - 1)
        hit = values[order[at]] == walk
        person = np.where(hit, order[at], -1)
        evening = rng.random() < 0.55
        start = world.clock.day_start_ms(day) + int(rng.integers(18 * 60, 22 * 60) if evening else
                                                    world.org.shift_start[actor] + 60) * MINUTE_MS
        t = start + np.cumsum(rng.integers(6_000, 20_000, steps))
        throttled = (np.arange(steps) >= 150) & (rng.random(steps) < 0.7)
        frames.append(EventFrame.build(
            t=t, actor=actor, person=person, value=walk,
            slot=SLOT["msisdn1"] if by_phone else SLOT["nid"],
            data_kind=DK["subscriber"] if by_phone else DK["identity"],
            outcome=np.where(throttled, DENIED, 0), records=np.where(hit & ~throttled, 1, 0)))
    return EventFrame.concat(frames)


def case_misuse(rng: np.random.Generator, world: WorldState, actor: int) -> EventFrame:
    d0, d1 = day_window(rng, world.days, int(rng.integers(20, 41)), 10)
    n = int(rng.integers(15, 36))
    day = np.sort(rng.choice(world.work_days(actor, d0, d1), n))
    cases = world.cases
    own = world.org.actor_unit[actor]
    others = np.setdiff1d(world.case_units(), [own])
    cited = np.full(n, -1, dtype=np.int64)
    use_closed = rng.random(n) < 0.5
    for i, d in enumerate(day.tolist()):
        if use_closed[i]:
            closed = np.flatnonzero((cases.unit == own) & (cases.closed_day < d))
            if len(closed):
                cited[i] = closed[np.argsort(cases.closed_day[closed])][-10:][rng.integers(min(10, len(closed)))]
                continue
        if len(others):
            cited[i] = world.open_idx.pick(rng, np.array([rng.choice(others)]), np.array([d]))[0]
    per = 1 + rng.binomial(2, 0.4, n)
    victim = np.repeat(np.arange(n), per)
    t = shift_times(rng, world.org, world.clock, np.full(n, actor), day)[victim] + session_offsets(rng, per, 40_000)
    kind = _kinds(rng, [0.3, 0.2, 0.25, 0.0, 0.25], len(victim))
    return EventFrame.build(t=t, actor=actor, person=world.pop.allocate(n)[victim], slot=slots_for(rng, kind),
                            data_kind=kind, case=cited[victim])


def ramp_up(rng: np.random.Generator, world: WorldState, actor: int) -> EventFrame:
    start = int(world.days * rng.uniform(0.3, 0.45))
    days = world.work_days(actor, start, world.days)
    progress = (days - start + 1) / (world.days - start)
    extra = rng.poisson(world.org.rate[actor] * 1.9 * progress**1.3)
    day = np.repeat(days, extra)
    n = len(day)
    per = 1 + rng.binomial(2, 0.3, n)
    q = np.repeat(np.arange(n), per)
    t = shift_times(rng, world.org, world.clock, np.full(n, actor), day)[q] + session_offsets(rng, per, 35_000)
    kind_of_unit = world.org.unit_kind_of_actor()[actor]
    mix = np.array([PROFILES[kind_of_unit].mix])
    kind = categorical(rng, mix / mix.sum(), np.zeros(len(q), dtype=np.int64))
    cover = np.where(rng.random(n) < 0.25, world.own_open_case(rng, actor, day), -1)
    return EventFrame.build(t=t, actor=actor, person=world.pop.allocate(n)[q], slot=slots_for(rng, kind),
                            data_kind=kind, case=cover[q])
