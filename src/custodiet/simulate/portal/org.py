"""Units (orgs) and their officers: roles, regions, shifts, workstations, working pace and habits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from custodiet.simulate.portal.config import PROFILE, PROFILES, REGIONS, ROLE_RATE, PortalConfig
from custodiet.simulate.portal.population import FORM_SHARE

SHIFT_DAY, SHIFT_LATE, SHIFT_NIGHT = 0, 1, 2


@dataclass
class Org:
    unit_names: list[str]
    unit_kind: list[str]  # profile kind of each unit
    unit_region: list[str]
    actor_names: list[str]
    actor_unit: np.ndarray  # int, index into units
    actor_role: list[str]
    rate: np.ndarray  # lookups (queries) on a working day
    shift: np.ndarray  # SHIFT_DAY / SHIFT_LATE / SHIFT_NIGHT
    shift_start: np.ndarray  # minutes after local midnight
    shift_len: np.ndarray  # minutes
    ip: np.ndarray  # usual workstation, IPv4 as int
    ip2: np.ndarray  # a second address (laptop over the VPN) or -1
    form_pref: np.ndarray  # how the officer usually types phone numbers (population.MSISDN_FORMS)
    cite_rate: np.ndarray  # how often the officer gives the case id

    @property
    def n_actors(self) -> int:
        return len(self.actor_names)

    def unit_kind_of_actor(self) -> np.ndarray:
        """Index into config.PROFILES per actor."""
        kinds = [p.kind for p in PROFILES]
        per_unit = np.array([kinds.index(k) for k in self.unit_kind])
        return per_unit[self.actor_unit]


def _ipv4(a: int, b: np.ndarray | int, c: np.ndarray | int, d: np.ndarray | int) -> np.ndarray:
    return np.asarray(((a * 256 + np.asarray(b)) * 256 + np.asarray(c)) * 256 + np.asarray(d), dtype=np.int64)


def _unit_kinds(n_units: int) -> list[str]:
    """Kinds of the units: every kind once, the rest by weight (largest remainders)."""
    weights = np.array([p.weight for p in PROFILES])
    extra = weights * (n_units - len(PROFILES))
    counts = np.floor(extra).astype(int) + 1
    for i in np.argsort(-(extra - np.floor(extra)), kind="stable")[: n_units - counts.sum()]:
        counts[i] += 1
    return [p.kind for p, c in zip(PROFILES, counts, strict=True) for _ in range(c)]


def build_org(rng: np.random.Generator, cfg: PortalConfig) -> Org:
    n_units = max(len(PROFILES), round(cfg.actors / 14))
    kinds = _unit_kinds(n_units)
    regions = [REGIONS[0] if i < len(PROFILES) else REGIONS[int(rng.integers(len(REGIONS)))]
               for i in range(n_units)]
    names: list[str] = []
    for kind, region in zip(kinds, regions, strict=True):
        stem = f"{PROFILE[kind].prefix}-{region}"
        names.append(f"{stem}-{sum(n.startswith(stem) for n in names) + 1}")
    sizes = 3 + rng.multinomial(cfg.actors - 3 * n_units, rng.dirichlet(np.full(n_units, 3.0)))
    actor_unit = np.repeat(np.arange(n_units), sizes)
    n = cfg.actors

    actor_names: list[str] = []
    roles: list[str] = []
    for u in range(n_units):
        prof = PROFILE[kinds[u]]
        role_names = [r for r, _ in prof.roles]
        picks = rng.choice(len(role_names), size=sizes[u], p=[w for _, w in prof.roles])
        picks[0] = 0  # every unit has at least one officer of its main role
        roles += [role_names[i] for i in picks]
        actor_names += [f"{names[u].lower()}.{k + 1:02d}" for k in range(sizes[u])]

    profiles = [PROFILE[kinds[u]] for u in actor_unit]
    role_mult = np.array([ROLE_RATE.get(r, 1.0) for r in roles])
    rate = np.array([p.queries_per_day for p in profiles]) * role_mult * rng.lognormal(0.0, 0.3, n)

    draw = rng.random(n)
    watch = np.array([p.watch_share for p in profiles])
    late = np.array([p.late_share for p in profiles])
    shift = np.where(draw < watch, SHIFT_NIGHT, np.where(draw < watch + late, SHIFT_LATE, SHIFT_DAY))
    base = np.choose(shift, [8 * 60, 13 * 60, 21 * 60])
    shift_start = base + rng.integers(0, 120, n)
    shift_len = np.where(shift == SHIFT_NIGHT, 9 * 60, 8 * 60) + rng.integers(-30, 30, n)

    region_idx = np.array([REGIONS.index(regions[x]) for x in actor_unit])
    host = np.empty(n, dtype=np.int64)
    for unit in range(n_units):
        members = np.flatnonzero(actor_unit == unit)
        host[members] = 10 + rng.permutation(240)[: len(members)] if len(members) <= 240 else \
            10 + rng.integers(0, 240, len(members))
    ip = _ipv4(10, 10 + region_idx, actor_unit % 250 + 1, host)
    ip2 = np.where(rng.random(n) < 0.25, _ipv4(10, 99, actor_unit % 250 + 1, host), -1)

    form_pref = rng.choice(len(FORM_SHARE), size=n, p=FORM_SHARE).astype(np.int8)
    cite = np.array([p.cite_rate for p in profiles])
    cite_rate = np.clip(cite + rng.normal(0.0, 0.07, n), 0.4, 0.99)
    return Org(names, kinds, regions, actor_names, actor_unit, roles, rate, shift, shift_start, shift_len,
               ip, ip2, form_pref, cite_rate)
