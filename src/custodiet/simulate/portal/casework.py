"""Legitimate work: what every officer looks up, day by day, all vectorised.

Per officer and day: present or not (leave, weekends — Friday and Saturday — and a public holiday are
quiet; watch units keep a weekend roster), then a Poisson number of queries at the officer's pace. A
query is one person looked up with one to four data kinds in a burst. Case-working units mostly look up
people on their unit's open cases (citing the case id most of the time), sometimes contacts of those
people, a recently closed case's subject, a person everybody is looking up, or a stranger (a walk-in
complaint, a witness). A few officers have a surge week on a big new case. Verification and border
units look up strangers all day, each about once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from custodiet.simulate.portal.cases import Cases, DayIndex
from custodiet.simulate.portal.clock import Clock
from custodiet.simulate.portal.config import PROFILES
from custodiet.simulate.portal.draw import categorical, session_offsets, shift_times, slots_for
from custodiet.simulate.portal.frame import EventFrame
from custodiet.simulate.portal.org import SHIFT_NIGHT, Org
from custodiet.simulate.portal.population import Population

# Query purposes.
CASE, CONTACT, FOLLOWUP, POPULAR, STRANGER, REPEAT = range(6)
CASE_UNIT_PURPOSE = np.array([0.84, 0.055, 0.015, 0.02, 0.07, 0.0])
STRANGER_UNIT_PURPOSE = np.array([0.0, 0.0, 0.0, 0.01, 0.975, 0.015])
CITE_BY_PURPOSE = {CONTACT: 0.4, FOLLOWUP: 0.6}


@dataclass
class Calendar:
    """Who works when: expected queries per (actor, day)."""

    present: np.ndarray  # bool (actors, days)
    quiet: np.ndarray  # bool (days,): weekend or holiday


def build_calendar(rng: np.random.Generator, org: Org, clock: Clock) -> Calendar:
    n, days = org.n_actors, clock.days
    quiet = clock.weekend().copy()
    holiday = int(rng.integers(min(10, days - 3), days - 3))
    quiet[holiday:holiday + 3] = True
    watch_unit = np.array([PROFILES[k].watch_share > 0 for k in org.unit_kind_of_actor()])
    p_weekday = np.where(org.shift == SHIFT_NIGHT, 0.8, 0.93)
    p_quiet = np.where(org.shift == SHIFT_NIGHT, 0.7, np.where(watch_unit, 0.4, 0.08))
    present = rng.random((n, days)) < np.where(quiet[None, :], p_quiet[:, None], p_weekday[:, None])
    on_leave = rng.random(n) < 0.5
    leave_start = rng.integers(0, days, n)
    leave_len = rng.integers(3, 11, n)
    day = np.arange(days)[None, :]
    present &= ~(on_leave[:, None] & (day >= leave_start[:, None]) & (day < (leave_start + leave_len)[:, None]))
    return Calendar(present, quiet)


def _surges(rng: np.random.Generator, case_unit: np.ndarray, days: int) -> np.ndarray:
    """Pace multipliers (actors, days): a few case officers get a big new case and work it flat out for
    a week or so (legitimate, explained volume that a volume-only detector would flag)."""
    n = len(case_unit)
    surge = np.ones((n, days))
    who = np.flatnonzero(case_unit & (rng.random(n) < 0.04))
    start = rng.integers(0, max(days - 10, 1), len(who))
    length = rng.integers(5, 11, len(who))
    for a, s, k in zip(who.tolist(), start.tolist(), length.tolist(), strict=True):
        surge[a, s:s + k] = 2.2
    return surge


def legit_events(rng: np.random.Generator, org: Org, cases: Cases, open_idx: DayIndex, closed_idx: DayIndex,
                 popular: np.ndarray, pop: Population, clock: Clock, cal: Calendar) -> EventFrame:
    kind_of_actor = org.unit_kind_of_actor()
    case_unit = np.array([p.case_based for p in PROFILES])[kind_of_actor]

    pace = org.rate[:, None] * rng.gamma(4.0, 0.25, cal.present.shape) * np.where(cal.quiet, 0.6, 1.0)[None, :]
    pace *= _surges(rng, case_unit, clock.days)
    n_q = rng.poisson(pace * cal.present)
    q_actor = np.repeat(np.repeat(np.arange(org.n_actors), clock.days), n_q.ravel())
    q_day = np.repeat(np.tile(np.arange(clock.days), org.n_actors), n_q.ravel())
    nq = len(q_actor)
    q_time = shift_times(rng, org, clock, q_actor, q_day)
    q_unit = org.actor_unit[q_actor]

    purpose = categorical(rng, np.stack([STRANGER_UNIT_PURPOSE, CASE_UNIT_PURPOSE]), case_unit[q_actor].astype(int))
    q_case = np.full(nq, -1, dtype=np.int64)
    needs_open = (purpose == CASE) | (purpose == CONTACT)
    q_case[needs_open] = open_idx.pick(rng, q_unit[needs_open], q_day[needs_open])
    fol = purpose == FOLLOWUP
    q_case[fol] = closed_idx.pick(rng, q_unit[fol], q_day[fol])
    purpose[(purpose <= FOLLOWUP) & (q_case < 0)] = STRANGER  # no case to work on that day

    person = np.full(nq, -1, dtype=np.int64)
    on_case = (purpose == CASE) | (purpose == FOLLOWUP)
    person[on_case] = cases.pick_person(rng, q_case[on_case])
    con = purpose == CONTACT
    person[con] = cases.pick_contact(rng, q_case[con])
    pp = purpose == POPULAR
    person[pp] = popular[rng.integers(0, len(popular), int(pp.sum()))]
    st = purpose == STRANGER
    strangers = pop.allocate(int(st.sum()))
    person[st] = strangers
    rep = purpose == REPEAT
    person[rep] = strangers[rng.integers(0, max(len(strangers), 1), int(rep.sum()))] if len(strangers) else \
        popular[0]

    cite_p = np.where(purpose == CASE, org.cite_rate[q_actor], 0.0)
    for p, share in CITE_BY_PURPOSE.items():
        cite_p[purpose == p] = share
    q_cited = np.where(rng.random(nq) < cite_p, q_case, -1)

    size = np.where(case_unit[q_actor], 1 + rng.binomial(3, 0.35, nq), 1 + rng.binomial(1, 0.3, nq))
    ev_q = np.repeat(np.arange(nq), size)
    t = q_time[ev_q] + session_offsets(rng, size, 35_000.0)
    mix = np.array([p.mix for p in PROFILES])
    mix = mix / mix.sum(axis=1, keepdims=True)
    data_kind = categorical(rng, mix, kind_of_actor[q_actor[ev_q]])
    return EventFrame.build(t=t, actor=q_actor[ev_q], person=person[ev_q], slot=slots_for(rng, data_kind),
                            data_kind=data_kind, case=q_cited[ev_q])
