"""The planned world that planted behaviour draws on: org, cases, people, calendar."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from custodiet.simulate.portal.cases import Cases, DayIndex
from custodiet.simulate.portal.casework import Calendar
from custodiet.simulate.portal.clock import Clock
from custodiet.simulate.portal.config import PROFILES
from custodiet.simulate.portal.org import Org
from custodiet.simulate.portal.population import Population


@dataclass
class WorldState:
    org: Org
    cases: Cases
    open_idx: DayIndex
    closed_idx: DayIndex
    pop: Population
    clock: Clock
    cal: Calendar
    popular: np.ndarray  # people everybody looks up
    protected: np.ndarray  # people on the protected list
    protected_category: list[str]
    protected_on_cases: np.ndarray  # the protected people who are also on some case

    @property
    def days(self) -> int:
        return self.clock.days

    def work_days(self, actor: int, first: int, last: int) -> np.ndarray:
        """Days in [first, last) the actor is at work (weekdays first; all days if none)."""
        first, last = max(first, 0), min(last, self.days)
        span = np.arange(first, last)
        at_work = span[self.cal.present[actor, first:last] & ~self.cal.quiet[first:last]]
        if len(at_work):
            return at_work
        return span if len(span) else np.array([max(last - 1, 0)])

    def own_open_case(self, rng: np.random.Generator, actor: int, day: np.ndarray) -> np.ndarray:
        unit = np.full(len(day), self.org.actor_unit[actor])
        return self.open_idx.pick(rng, unit, day)

    def others_case_people(self, rng: np.random.Generator, actor: int, n: int) -> np.ndarray:
        """People on cases of other units than the actor's (somebody else has reason to look them up)."""
        foreign = np.flatnonzero(self.cases.unit != self.org.actor_unit[actor])
        return self.cases.pick_person(rng, rng.choice(foreign, n))

    def case_units(self) -> np.ndarray:
        kinds = [p.kind for p in PROFILES if p.case_based]
        return np.array([i for i, k in enumerate(self.org.unit_kind) if k in kinds])
