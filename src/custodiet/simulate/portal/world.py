"""Builds a whole portal world and writes it: the one entry point of the simulator.

Order matters for determinism: every component draws from its own random stream
(``default_rng([seed, component])``), people are allocated in a fixed order, and identifiers are given
out once everybody is known.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from custodiet.simulate.portal.cases import OPEN, DayIndex, build_cases, place_people
from custodiet.simulate.portal.casework import build_calendar, legit_events
from custodiet.simulate.portal.clock import Clock
from custodiet.simulate.portal.config import (
    ALLOWED,
    DATA_KINDS,
    DENIED,
    DK,
    ERROR,
    PROFILE,
    PROTECTED_CATEGORIES,
    SLOT_KIND,
    PortalConfig,
)
from custodiet.simulate.portal.frame import EventFrame
from custodiet.simulate.portal.leaks import plan_leaks
from custodiet.simulate.portal.org import Org, build_org
from custodiet.simulate.portal.output import access_table, write_csv, write_json
from custodiet.simulate.portal.planting import abuser_truth, choose_abusers, plant
from custodiet.simulate.portal.population import Population, format_identifiers, random_forms
from custodiet.simulate.portal.state import WorldState
from custodiet.simulate.portal.tables import (
    actors_table,
    case_subjects_table,
    cases_table,
    leak_table,
    protected_table,
)


def _records(rng: np.random.Generator, data_kind: np.ndarray) -> np.ndarray:
    """How many records an allowed lookup returns, by data kind."""
    draws: dict[str, Callable[[int], np.ndarray]] = {
        "identity": lambda n: np.ones(n, dtype=np.int64),
        "subscriber": lambda n: 1 + rng.binomial(2, 0.3, n),
        "cdr": lambda n: 1 + np.asarray(rng.lognormal(4.5, 0.8, n), dtype=np.int64),
        "location": lambda n: 1 + rng.poisson(3.0, n),
        "imei": lambda n: 1 + rng.binomial(3, 0.25, n),
        "travel": lambda n: rng.poisson(1.5, n),
        "criminal": lambda n: rng.poisson(0.3, n),
    }
    out = np.zeros(len(data_kind), dtype=np.int64)
    for name, draw in draws.items():
        sel = np.flatnonzero(data_kind == DK[name])
        out[sel] = draw(len(sel))
    return out


def _fill_defaults(rng: np.random.Generator, ev: EventFrame, org: Org, clock: Clock) -> np.ndarray:
    """Outcome, records and address where planted behaviour left them open; returns the typing form.

    Lookups are allowed unless the unit's role may not see the data kind (denied); otherwise about 0.8%
    are denied (quota, missing approval) and 0.6% fail (backend errors). Officers mostly use their desk,
    sometimes a laptop over the VPN."""
    n = len(ev)
    unit = org.actor_unit[ev.actor]
    forbidden = np.zeros((len(org.unit_names), len(DATA_KINDS)), dtype=bool)
    for u, kind in enumerate(org.unit_kind):
        for dk in PROFILE[kind].denied:
            forbidden[u, DK[dk]] = True
    draw = rng.random(n)
    model = np.where(forbidden[unit, ev.data_kind], DENIED,
                     np.where(draw < 0.008, DENIED, np.where(draw < 0.014, ERROR, ALLOWED)))
    open_outcome = ev.outcome < 0
    ev.outcome[open_outcome] = model[open_outcome]
    recs = np.where(ev.outcome == ALLOWED, _records(rng, ev.data_kind), 0)
    open_records = ev.records < 0
    ev.records[open_records] = recs[open_records]
    ip2 = org.ip2[ev.actor]
    usual = np.where((ip2 >= 0) & (rng.random(n) < 0.12), ip2, org.ip[ev.actor])
    # A few officers move desks during the world: a new address inside the unit's own network.
    moved = rng.random(org.n_actors) < 0.04
    moved_at = clock.day_start_ms(rng.integers(clock.days // 4, clock.days, org.n_actors))
    new_desk = org.ip - (org.ip & 255) + rng.integers(10, 250, org.n_actors)
    after = moved[ev.actor] & (ev.t >= moved_at[ev.actor]) & (usual == org.ip[ev.actor])
    usual = np.where(after, new_desk[ev.actor], usual)
    ev.ip[ev.ip < 0] = usual[ev.ip < 0]
    return np.where(rng.random(n) < 0.7, org.form_pref[ev.actor], random_forms(rng, n)).astype(np.int8)


def generate(cfg: PortalConfig, out: Path) -> dict[str, object]:
    """Write the world described by ``cfg`` into ``out``; returns the truth document."""
    cfg.validate()

    def rng(component: int) -> np.random.Generator:
        return np.random.default_rng([cfg.seed, component])

    clock = Clock.ending(cfg.end, cfg.days)
    org = build_org(rng(1), cfg)
    pop = Population()
    popular = pop.allocate(cfg.popular)
    categories = [c for c, k in PROTECTED_CATEGORIES for _ in range(k)]
    protected = pop.allocate(len(categories))
    cases = build_cases(rng(2), org, pop, clock)
    r = rng(3)
    place_people(r, cases, popular[: len(popular) // 2], per_person=2)
    protected_on_cases = r.choice(protected, 6, replace=False)
    place_people(r, cases, protected_on_cases)
    n_units = len(org.unit_names)
    open_idx = DayIndex(cases, n_units, cfg.days, cases.opened_day + 1, cases.closed_day)
    closed = np.where(cases.closed_day == OPEN, cfg.days, cases.closed_day)
    closed_idx = DayIndex(cases, n_units, cfg.days, closed + 1, closed + 11)
    cal = build_calendar(rng(4), org, clock)
    legit = legit_events(rng(5), org, cases, open_idx, closed_idx, popular, pop, clock, cal)
    world = WorldState(org, cases, open_idx, closed_idx, pop, clock, cal, popular, protected, categories,
                       protected_on_cases)
    abusers = choose_abusers(rng(6), org, cfg)
    planted = plant(cfg.seed, world, abusers, after_identifiers=False)
    pop.finalize(rng(7))
    planted += plant(cfg.seed, world, abusers, after_identifiers=True)

    ev = EventFrame.concat([legit, *planted])
    order = np.argsort(ev.t, kind="stable")
    ev = ev.take(order[ev.t[order] < clock.day_start_ms(cfg.days)])  # night shifts of the last day end later
    form = _fill_defaults(rng(8), ev, org, clock)
    slot, value = pop.resolve(ev.person, ev.slot, ev.value)
    kind = np.asarray(SLOT_KIND, dtype=np.int64)[slot]

    subject = format_identifiers(kind, value, form)
    write_csv(out / "access_log.csv", access_table(
        ev.t, org.actor_names, ev.actor, subject, kind, ev.data_kind, org.unit_names, org.actor_unit,
        cases.names, ev.case, ev.outcome, ev.records, ev.ip))
    del subject
    r = rng(9)
    write_csv(out / "actors.csv", actors_table(org))
    write_csv(out / "cases.csv", cases_table(org, cases))
    write_csv(out / "case_subjects.csv", case_subjects_table(r, cases, pop))
    write_csv(out / "protected.csv", protected_table(r, pop, protected, categories))

    leaks = plan_leaks(rng(10), abusers, clock, ev.abuser, ev.outcome, ev.person, ev.t, kind, value, popular)
    r = rng(11)
    for stale in sorted((out / "leaks").glob("leak_*.csv")):  # from an earlier world written here
        stale.unlink()
    leak_docs = []
    for i, leak in enumerate(leaks, start=1):
        name = f"leaks/leak_{i:02d}.csv"
        write_csv(out / name, leak_table(r, leak))
        leak_docs.append({"file": name, "listed_at": leak.listed_at.isoformat(),
                          "seller": org.actor_names[leak.seller], "records": len(leak.kind)})

    units: dict[str, dict[str, object]] = {
        name: {"kind": org.unit_kind[u], "actors": int(np.sum(org.actor_unit == u))}
        for u, name in enumerate(org.unit_names)
    }
    truth: dict[str, object] = {
        "world": "portal",
        "seed": cfg.seed,
        "start": Clock.iso(int(clock.day_start_ms(0))),
        "end": Clock.iso(int(clock.day_start_ms(cfg.days))),
        "events": len(ev),
        "abusers": abuser_truth(abusers, org, clock, ev.abuser, ev.t, ev.person, value, kind),
        "leaks": leak_docs,
        "units": units,
    }
    write_json(out / "truth.json", truth)
    return truth
