"""Cases of the case-working units, the people linked to them, and which cases are open on which day.

Cases open as a steady stream from a year before the world starts and run for weeks to months; the
ones that closed more than half a year before the start are dropped. Each case lists one to four people
(suspects, victims) with their phones, IMEIs, national IDs and passports as ``case_subjects``; a case
file does not always record every identifier (an IMSI half the time, the IMEI most of the time). Each
case also has contacts: people in the subjects' call records whom officers look up without their being
on the case file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from custodiet.simulate.portal.clock import DAY_MS, Clock
from custodiet.simulate.portal.config import PROFILE
from custodiet.simulate.portal.org import Org
from custodiet.simulate.portal.population import Population

OPEN = np.iinfo(np.int32).max  # closed_day of a case still open at the end


@dataclass
class Cases:
    unit: np.ndarray
    opened_day: np.ndarray  # day index relative to the world's first day (negative: before it)
    closed_day: np.ndarray  # OPEN when still open at the end
    opened_ms: np.ndarray
    closed_ms: np.ndarray  # -1 when open
    names: list[str]
    person_start: np.ndarray
    person_count: np.ndarray
    persons: np.ndarray  # flat
    imsi_listed: np.ndarray  # flat, per case person
    imei_listed: np.ndarray
    contact_start: np.ndarray
    contact_count: np.ndarray
    contacts: np.ndarray

    def __len__(self) -> int:
        return len(self.unit)

    def pick_person(self, rng: np.random.Generator, case: np.ndarray) -> np.ndarray:
        return self.persons[self.person_start[case] + (rng.random(len(case)) * self.person_count[case]).astype(
            np.int64)]

    def pick_contact(self, rng: np.random.Generator, case: np.ndarray) -> np.ndarray:
        return self.contacts[self.contact_start[case] + (rng.random(len(case)) * self.contact_count[case]
                                                         ).astype(np.int64)]


class DayIndex:
    """For every (unit, day) the cases in some state that day (open, or recently closed), newest first.

    ``pick`` draws one per query, favouring newer cases (they are worked hardest); -1 when none.
    """

    def __init__(self, cases: Cases, n_units: int, days: int, first: np.ndarray, last: np.ndarray) -> None:
        first = np.maximum(first, 0)
        last = np.minimum(last, days)
        length = np.clip(last - first, 0, None)
        case = np.repeat(np.arange(len(cases)), length)
        offs = np.repeat(np.cumsum(length) - length, length)
        day = first[case] + (np.arange(len(case)) - offs)
        key = cases.unit[case].astype(np.int64) * days + day
        order = np.lexsort((-cases.opened_ms[case], key))
        self.case = case[order]
        sorted_key = key[order]
        self.days = days
        cells = np.arange(n_units * days + 1)
        bounds = np.searchsorted(sorted_key, cells)
        self.start = bounds[:-1]
        self.count = np.diff(bounds)

    def pick(self, rng: np.random.Generator, unit: np.ndarray, day: np.ndarray) -> np.ndarray:
        cell = unit.astype(np.int64) * self.days + np.clip(day, 0, self.days - 1)
        cnt = self.count[cell]
        k = (rng.random(len(cell)) ** 1.6 * cnt).astype(np.int64)
        out = np.full(len(cell), -1, dtype=np.int64)
        ok = cnt > 0
        out[ok] = self.case[self.start[cell[ok]] + k[ok]]
        return out


def build_cases(rng: np.random.Generator, org: Org, pop: Population, clock: Clock) -> Cases:
    days = clock.days
    units, opened = [], []
    for u, kind in enumerate(org.unit_kind):
        if not PROFILE[kind].case_based:
            continue
        workers = int(np.sum((org.actor_unit == u) & (np.array(org.actor_role) != "supervisor")))
        rate = 5.0 * max(workers, 1) / 52.0  # ~5 open cases per officer, ~52 days on average
        n = rng.poisson(rate * (days + 365))
        opened.append(np.sort(rng.integers(-365, days, n)))
        units.append(np.full(n, u))
    unit = np.concatenate(units)
    opened_day = np.concatenate(opened)
    duration = np.clip(np.round(rng.lognormal(np.log(40.0), 0.7, len(unit))), 3, 500).astype(np.int64)
    closed_day = opened_day + duration
    keep = closed_day >= -180
    unit, opened_day, closed_day = unit[keep], opened_day[keep], closed_day[keep]
    closed_day = np.where(closed_day >= days, OPEN, closed_day)
    n = len(unit)

    day0 = clock.day_start_ms(0)
    opened_ms = day0 + opened_day * DAY_MS + clock.local_minutes_ms(rng.integers(9 * 60, 17 * 60, n))
    closed_ms = np.where(closed_day == OPEN, -1,
                         day0 + closed_day * DAY_MS + clock.local_minutes_ms(rng.integers(9 * 60, 18 * 60, n)))
    names = _case_names(org, unit, opened_day, clock.first_day)

    person_count = 1 + rng.binomial(3, 0.4, n)
    persons = pop.allocate(int(person_count.sum()))
    contact_count = 2 + rng.binomial(4, 0.5, n)
    contacts = pop.allocate(int(contact_count.sum()))
    return Cases(unit, opened_day, closed_day, opened_ms, closed_ms, names,
                 np.cumsum(person_count) - person_count, person_count, persons,
                 rng.random(len(persons)) < 0.5, rng.random(len(persons)) < 0.85,
                 np.cumsum(contact_count) - contact_count, contact_count, contacts)


def _case_names(org: Org, unit: np.ndarray, opened_day: np.ndarray, first_day: date) -> list[str]:
    """Case ids like ``INV-DHK-1/2026/0042``: per unit and year, numbered in order of opening."""
    names = []
    serial: dict[tuple[int, int], int] = {}
    for u, d in zip(unit.tolist(), opened_day.tolist(), strict=True):
        year = (first_day + timedelta(days=d)).year
        serial[(u, year)] = serial.get((u, year), 0) + 1
        names.append(f"{org.unit_names[u]}/{year}/{serial[(u, year)]:04d}")
    return names


def place_people(rng: np.random.Generator, cases: Cases, people: np.ndarray, per_person: int = 1) -> None:
    """Put each of ``people`` on ``per_person`` random cases (overwriting one listed person there)."""
    targets = rng.choice(len(cases), size=(len(people), per_person), replace=True)
    for person, row in zip(people.tolist(), targets.tolist(), strict=True):
        for c in row:
            slot = cases.person_start[c] + int(rng.integers(cases.person_count[c]))
            cases.persons[slot] = person
