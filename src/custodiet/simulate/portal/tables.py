"""Context tables and leak files of the world, as Arrow tables ready to write."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custodiet.simulate.portal.cases import Cases
from custodiet.simulate.portal.config import SLOT, SLOT_KIND, SLOTS, SUBJECT_KINDS
from custodiet.simulate.portal.leaks import Leak
from custodiet.simulate.portal.org import Org
from custodiet.simulate.portal.output import codes, iso_ms
from custodiet.simulate.portal.population import Population, format_identifiers, random_forms

# How sale posts write phone numbers: mostly the national form.
LEAK_FORM_SHARE = np.array([0.2, 0.1, 0.6, 0.05, 0.05])


def actors_table(org: Org) -> pa.Table:
    unit = org.actor_unit
    return pa.table({
        "actor": org.actor_names,
        "org": codes(org.unit_names, unit),
        "role": org.actor_role,
        "region": codes(org.unit_region, unit),
    })


def cases_table(org: Org, cases: Cases) -> pa.Table:
    closed = pc.if_else(pa.array(cases.closed_ms < 0), pa.scalar(None, pa.string()),
                        iso_ms(np.where(cases.closed_ms < 0, 0, cases.closed_ms)))
    return pa.table({
        "case_id": cases.names,
        "org": codes(org.unit_names, cases.unit),
        "opened": iso_ms(cases.opened_ms),
        "closed": closed,
    })


def _identifier_rows(pop: Population, person: np.ndarray, owner: np.ndarray,
                     listed: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(owner, kind, value) for every identifier a person has (and is listed, per ``listed``)."""
    owners, kinds, values = [], [], []
    for name in SLOTS:
        val = pop.ids[name][person]
        keep = (val >= 0) & listed.get(name, np.ones(len(person), dtype=bool))
        owners.append(owner[keep])
        kinds.append(np.full(int(keep.sum()), SLOT_KIND[SLOT[name]], dtype=np.int64))
        values.append(val[keep])
    return np.concatenate(owners), np.concatenate(kinds), np.concatenate(values)


def _first_of_each(*cols: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of every distinct row of ``cols``, in their original order."""
    order = np.lexsort(cols[::-1])
    rows = np.stack([c[order] for c in cols])
    new = np.concatenate([[True], (rows[:, 1:] != rows[:, :-1]).any(axis=0)])
    return np.sort(order[new])


def case_subjects_table(rng: np.random.Generator, cases: Cases, pop: Population) -> pa.Table:
    case_of = np.repeat(np.arange(len(cases)), cases.person_count)
    listed = {"imsi": cases.imsi_listed, "imei": cases.imei_listed}
    entry, kind, value = _identifier_rows(pop, cases.persons, np.arange(len(cases.persons)), listed)
    order = np.argsort(entry, kind="stable")  # a case's people in turn, each with all their identifiers
    case, kind, value = case_of[entry[order]], kind[order], value[order]
    keep = _first_of_each(case, kind, value)  # a person placed twice on one case is listed once
    case, kind, value = case[keep], kind[keep], value[keep]
    return pa.table({
        "case_id": codes(cases.names, case),
        "subject": format_identifiers(kind, value, random_forms(rng, len(kind))),
        "subject_kind": codes(SUBJECT_KINDS, kind),
    })


def protected_table(rng: np.random.Generator, pop: Population, protected: np.ndarray,
                    categories: list[str]) -> pa.Table:
    idx = np.arange(len(protected))
    owner, kind, value = _identifier_rows(pop, protected, idx, {})
    order = np.argsort(owner, kind="stable")
    owner, kind, value = owner[order], kind[order], value[order]
    return pa.table({
        "subject": format_identifiers(kind, value, random_forms(rng, len(kind))),
        "subject_kind": codes(SUBJECT_KINDS, kind),
        "category": codes(categories, owner),
    })


def leak_table(rng: np.random.Generator, leak: Leak) -> pa.Table:
    forms = rng.choice(len(LEAK_FORM_SHARE), size=len(leak.kind), p=LEAK_FORM_SHARE).astype(np.int8)
    return pa.table({
        "subject": format_identifiers(leak.kind, leak.value, forms),
        "subject_kind": codes(SUBJECT_KINDS, leak.kind),
    })
