"""Legitimate portal lookups of the independent world: casework, standing monitoring, verification,
cyber and border checks, urgent lookups before the case file, joint operations and news-driven lookups
of popular people."""

from __future__ import annotations

import numpy as np
from bench.worlds.portal_org import Cases, Org
from bench.worlds.portal_people import (
    BOR,
    CDR,
    CYB,
    IDENTITY,
    INT,
    INV,
    LOCATION,
    SUBSCRIBER,
    UNIT_KINDS,
    VER,
    Population,
    draw_times,
    local_hours,
)


class Events:
    """Lookups collected as blocks of arrays; ``ip`` -1 means the officer's usual address that day,
    ``case`` -1 means no case id given, ``abuse`` the planted abuser's index or -1."""

    FIELDS = ("t", "actor", "ident", "dk", "case", "ip", "abuse")

    def __init__(self) -> None:
        self.blocks: list[dict[str, np.ndarray]] = []

    def add(self, t, actor, ident, dk, case=-1, ip=-1, abuse=-1) -> None:
        n = np.asarray(t).size
        block = {"t": np.asarray(t, dtype=np.int64)}
        for name, v in (("actor", actor), ("ident", ident), ("dk", dk), ("case", case), ("ip", ip),
                        ("abuse", abuse)):
            block[name] = np.broadcast_to(np.asarray(v, dtype=np.int64), (n,)).copy()
        if n:
            self.blocks.append(block)

    def concat(self) -> dict[str, np.ndarray]:
        return {f: np.concatenate([b[f] for b in self.blocks]) for f in self.FIELDS}


# weights of data kinds (identity, subscriber, cdr, location, imei, travel, criminal) per kind of task
W = np.array([
    [3, 3, 3, 2.5, 1, 0.7, 1.5],  # 0 investigation suspect: the full bundle
    [1, 2, 3, 3, 0.5, 1, 0.5],  # 1 intelligence suspect
    [1, 3, 1.5, 0.7, 3, 0.1, 0.5],  # 2 cyber suspect
    [2, 0.5, 0.5, 0.5, 0.2, 4, 2],  # 3 border suspect
    [2, 3, 2, 1, 0.3, 0.1, 0.3],  # 4 associate
    [0.5, 2, 3, 3, 0.1, 0.2, 0.1],  # 5 intelligence watch subject
    [6, 1, 0, 0, 0, 0, 0],  # 6 verification
    [0.6, 0, 0, 0, 0, 4, 0.6],  # 7 border traveller
    [0, 2, 0.2, 0, 4, 0, 0],  # 8 cyber handset check
    [3, 2, 0.3, 0.2, 0, 0, 1],  # 9 misc: complainant, witness, quick check
    [3, 2, 0.5, 1, 0, 0.5, 2],  # 10 popular person after news
    [1, 2, 1.5, 2, 0, 0, 0],  # 11 urgent lookup before the case file
], dtype=float)
SUSPECT_CLASS = {INV: 0, INT: 1, CYB: 2, BOR: 3}


def expand(rng: np.random.Generator, cls: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each task, ``n`` distinct data kinds drawn by its class's weights (Gumbel top-k).
    Returns (task index per lookup, data kind per lookup)."""
    keys = np.log(W[cls] + 1e-12) + rng.gumbel(size=(cls.size, W.shape[1]))
    order = np.argsort(-keys, axis=1)
    n = np.minimum(n, (W[cls] > 0).sum(axis=1))
    take = np.arange(W.shape[1])[None, :] < n[:, None]
    task = np.broadcast_to(np.arange(cls.size)[:, None], take.shape)[take]
    return task, order[take]


def sitting_times(rng: np.random.Generator, t_task: np.ndarray, task: np.ndarray, gap_s: float) -> np.ndarray:
    """Lookups of one task follow each other by tens of seconds."""
    gaps = rng.exponential(gap_s * 1000, task.size).astype(np.int64)
    first = np.r_[True, task[1:] != task[:-1]]
    gaps[first] = 0
    csum = np.cumsum(gaps)
    start_of = np.maximum.accumulate(np.where(first, np.arange(task.size), 0))
    return t_task[task] + csum - csum[start_of]


def legit_lookups(rng: np.random.Generator, org: Org, cases: Cases, pop: Population, t0: int, n_days: int,
                  p: dict, ev: Events, case_text: list[str], typo) -> dict:
    """Every officer's daily work. Returns the watch pools (people intelligence units monitor)."""
    lunch = float(rng.uniform(0.3, 0.75))
    p_nocase = float(rng.uniform(0.03, 0.18))
    p_typo = float(rng.uniform(0.005, 0.03))
    bundle = float(rng.uniform(1.0, 3.0))
    gap_s = float(rng.uniform(20, 90))
    share = {  # (case, watch, misc) share of non-stranger tasks, per unit kind
        INV: (rng.uniform(0.8, 0.95), 0.0),
        INT: (rng.uniform(0.3, 0.55), rng.uniform(0.35, 0.6)),
        CYB: (rng.uniform(0.45, 0.7), 0.0),
        BOR: (rng.uniform(0.15, 0.35), 0.0),
    }
    stranger_share = {CYB: rng.uniform(0.2, 0.4), BOR: rng.uniform(0.55, 0.8)}
    p.update(lunch_dip=round(lunch, 2), no_case_rate=round(p_nocase, 3), typo_rate=round(p_typo, 3),
             bundle_mean=round(1 + bundle, 2))
    office, night = local_hours("office", lunch), local_hours("night", lunch)
    late = local_hours("late", lunch)
    disp = float(rng.uniform(3, 12))  # day-to-day overdispersion of one officer's work
    rate = org.volume * org.day_factor[np.maximum(org.unit_by_day, 0), np.arange(n_days)[None, :]] * org.active
    counts = rng.poisson(rate * rng.gamma(disp, 1 / disp, size=rate.shape))
    off, day = np.nonzero(counts)
    reps = counts[off, day]
    off, day = np.repeat(off, reps), np.repeat(day, reps)
    unit = org.unit_by_day[off, day]
    ukind = org.unit_kind[unit]
    n_tasks = off.size
    u = rng.random(n_tasks)
    cat = np.full(n_tasks, 2)  # 0 case, 1 watch, 2 stranger/misc
    for k, (c_share, w_share) in share.items():
        m = ukind == k
        s_share = stranger_share.get(k, 0.0)
        cat[m & (u < (1 - s_share) * c_share)] = 0
        cat[m & (u >= (1 - s_share) * c_share) & (u < (1 - s_share) * (c_share + w_share))] = 1
    person = np.full(n_tasks, -1)
    case = np.full(n_tasks, -1)
    cls = np.full(n_tasks, 9)

    # casework: a case of the unit active that day, weighted; a person of that case already in its work
    per_unit = {u_: np.flatnonzero(cases.unit == u_) for u_ in np.unique(cases.unit)}

    def live_cases(idx: np.ndarray) -> np.ndarray:
        """For tasks ``idx``, a case of the task's unit live on its day (weighted), or -1."""
        out = np.full(idx.size, -1)
        key = unit[idx] * n_days + day[idx]
        order = np.argsort(key, kind="stable")
        key = key[order]
        bounds = np.flatnonzero(np.r_[True, key[1:] != key[:-1], True])
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            u_, d_ = divmod(int(key[a]), n_days)
            mine = per_unit.get(u_)
            live = mine[cases.active_mask(d_)[mine]] if mine is not None else mine
            if live is not None and live.size:
                w = cases.weight[live]
                out[order[a:b]] = rng.choice(live, size=b - a, p=w / w.sum())
        return out

    sizes = np.diff(cases.offsets)
    idx = np.flatnonzero(cat == 0)
    case[idx] = live_cases(idx)
    idx = np.flatnonzero(case >= 0)
    c = case[idx]
    slot = cases.offsets[c] + (rng.random(idx.size) ** 2 * sizes[c]).astype(int)
    slot = np.where(cases.added[slot] > day[idx], cases.offsets[c], slot)
    person[idx] = cases.persons[slot]
    sus = cases.suspect[slot]
    cls[idx] = np.where(sus, np.array([SUSPECT_CLASS.get(int(k), 0) for k in ukind[idx]]), 4)
    cat[(cat == 0) & (case < 0)] = 2  # no live case: the officer checks someone else

    # intelligence watch lists: a pool per unit, looked up again and again without a case on the list
    pools: dict[int, np.ndarray] = {}
    idx = np.flatnonzero(cat == 1)
    for u_ in np.unique(unit[idx]):
        pools[int(u_)] = pop.take(int(rng.integers(30, 250)))
    if idx.size:
        pool_of = unit[idx]
        for u_, pool in pools.items():
            m = idx[pool_of == u_]
            z = rng.zipf(1.6, m.size) - 1
            person[m] = pool[np.minimum(z, pool.size - 1)]
            cls[m] = 5
    sa_ref: dict[int, int] = {}  # half the units quote their standing authority, which is on no case list
    for u_ in pools:
        if rng.random() < 0.5:
            case_text.append(f"SA/{org.unit_name[u_]}/{2000 + int(rng.integers(18, 26))}")
            sa_ref[u_] = len(case_text) - 1
    idx = np.flatnonzero(cat == 1)
    case[idx] = np.array([sa_ref.get(int(x), -1) for x in unit[idx]], dtype=np.int64) if idx.size else case[idx]

    # strangers: verification, travellers, handset checks, quick checks
    idx = np.flatnonzero(cat == 2)
    person[idx] = pop.take(idx.size)
    k = ukind[idx]
    cls[idx] = np.select([k == VER, k == BOR, k == CYB], [6, 7, 8], 9)
    s_u = rng.random(idx.size)
    cls[idx] = np.where((k == BOR) & (s_u < 0.25), 9, np.where((k == CYB) & (s_u < 0.3), 9, cls[idx]))
    # complainants, witnesses and victims are looked up under the case they belong to, yet are not on its list
    p_witness = float(rng.uniform(0.2, 0.6))
    p["witness_with_case"] = round(p_witness, 2)
    witness = idx[(cls[idx] == 9) & np.isin(ukind[idx], [INV, CYB, BOR]) & (rng.random(idx.size) < p_witness)]
    witness_case = live_cases(witness)

    # how many kinds each task asks for
    n_k = np.ones(n_tasks, dtype=np.int64)
    n_k = np.where(cls <= 3, 1 + rng.poisson(bundle, n_tasks), n_k)
    n_k = np.where(cls == 4, 1 + rng.poisson(bundle / 3, n_tasks), n_k)
    n_k = np.where(cls == 5, 1 + rng.poisson(0.8, n_tasks), n_k)
    n_k = np.where((cls == 7) | (cls == 9), 1 + (rng.random(n_tasks) < 0.35), n_k)
    n_k = np.where(cls == 8, 1 + (rng.random(n_tasks) < 0.2), n_k)

    # case ids: left out or mistyped now and then
    given = case.copy()
    cu = rng.random(n_tasks)
    with_case = (cat == 0)
    given[with_case & (cu < p_nocase)] = -1
    bad = np.flatnonzero(with_case & (cu >= p_nocase) & (cu < p_nocase + p_typo))
    given[bad] = [typo(int(x)) for x in case[bad]]
    given[witness] = witness_case

    # urgent work runs into the evening now and then, more in some units than others
    late_share = np.array([rng.uniform(0.03, 0.12), rng.uniform(0.03, 0.1), 0.0, rng.uniform(0.02, 0.1),
                           rng.uniform(0.02, 0.08)])
    p["late_work_share"] = {UNIT_KINDS[k]: round(float(late_share[k]), 3) for k in range(5)}
    profile = np.where(org.night[off, day], 1, np.where(rng.random(n_tasks) < late_share[ukind], 2, 0))
    hours = (np.stack([office, night, late]), profile)
    t_task = draw_times(rng, t0, day, hours, org.hour_shift[off, day])
    task, dk = expand(rng, cls, n_k)
    order = np.argsort(task, kind="stable")
    task, dk = task[order], dk[order]
    t = sitting_times(rng, t_task, task, gap_s)
    ident = pop.ident_for(rng, person[task], dk)
    # a verification operator re-runs a lookup now and then
    again = np.flatnonzero((cls[task] == 6) & (rng.random(task.size) < 0.02))
    ev.add(np.r_[t, t[again] + rng.integers(5_000, 600_000, again.size)], off[np.r_[task, task[again]]],
           np.r_[ident, ident[again]], np.r_[dk, dk[again]], given[np.r_[task, task[again]]])
    p["legit_tasks"] = int(n_tasks)
    return pools


def urgent_and_joint(rng: np.random.Generator, org: Org, cases: Cases, pop: Population, t0: int, n_days: int,
                     p: dict, ev: Events) -> None:
    """Urgent lookups days before a case is opened, and joint operations that use another unit's case."""
    office = local_hours("office", 0.5)
    p_urgent = float(rng.uniform(0.15, 0.5))
    p["urgent_rate"] = round(p_urgent, 2)
    urgent = (cases.opened > 1) & (cases.opened < n_days) & (rng.random(len(cases.case_id)) < p_urgent)
    for c in np.flatnonzero(urgent).tolist():
        d = int(cases.opened[c] - rng.integers(1, 8))
        staff = org.officers_of(int(cases.unit[c]), max(d, 0))
        if d < 0 or staff.size == 0:
            continue
        n = int(rng.integers(1, 6))
        who = rng.choice(staff)
        first = cases.persons[cases.offsets[c]]
        dk = rng.choice([IDENTITY, SUBSCRIBER, CDR, LOCATION], size=n, p=[0.2, 0.3, 0.25, 0.25])
        t = draw_times(rng, t0, np.full(n, d), office)
        ev.add(t, who, pop.ident_for(rng, np.full(n, first), dk), dk)
    n_joint = int(rng.integers(1, 5))
    p["joint_operations"] = n_joint
    eligible = np.flatnonzero(np.isin(org.unit_kind, [INV, INT, CYB]))
    for _ in range(n_joint):
        a = int(rng.choice(eligible))
        other = np.flatnonzero((cases.unit != a) & (cases.opened < n_days - 5) & (cases.closed > 5))
        if other.size == 0:
            continue
        c = int(rng.choice(other))
        lo, hi = max(int(cases.opened[c]), 0), min(int(cases.closed[c]), n_days)
        if hi - lo < 2:
            continue
        d0 = int(rng.integers(lo, hi - 1))
        span = np.arange(d0, min(hi, d0 + int(rng.integers(2, 11))))
        staff = org.officers_of(a)
        staff = staff[rng.random(staff.size) < rng.uniform(0.3, 0.7)]
        members = cases.persons[cases.offsets[c]:cases.offsets[c + 1]]
        for o in staff:
            days = rng.choice(span, size=int(rng.integers(1, 5)))
            days = days[org.active[o, days]]
            n = days.size * int(rng.integers(1, 4))
            if n == 0:
                continue
            dd = np.resize(days, n)
            dk = rng.choice(7, size=n, p=W[0] / W[0].sum())
            persons = rng.choice(members, size=n)
            ev.add(draw_times(rng, t0, dd, office), o, pop.ident_for(rng, persons, dk), dk, c)


def popular_lookups(rng: np.random.Generator, org: Org, pop: Population, popular: np.ndarray, t0: int,
                    n_days: int, p: dict, ev: Events) -> list[dict]:
    """News events: many units look up the same popular people for a few days; a trickle otherwise."""
    office = local_hours("office", 0.4)
    working = np.flatnonzero(org.unit_kind[org.final_unit] != VER)
    news = []
    for _ in range(int(rng.integers(2, 7))):
        d0 = int(rng.integers(0, n_days - 1))
        who = rng.choice(popular, size=int(rng.integers(1, 3)), replace=False)
        reach = float(rng.uniform(0.05, 0.35))
        news.append({"day": d0, "people": len(who), "reach": round(reach, 2)})
        for j in range(int(rng.integers(1, 5))):
            d = d0 + j
            if d >= n_days:
                break
            staff = working[org.active[working, d] & (rng.random(working.size) < reach / (1 + j))]
            n_each = rng.integers(1, 4, staff.size)
            actor = np.repeat(staff, n_each)
            dk = rng.choice(7, size=actor.size, p=W[10] / W[10].sum())
            persons = rng.choice(who, size=actor.size)
            ev.add(draw_times(rng, t0, np.full(actor.size, d), office), actor, pop.ident_for(rng, persons, dk), dk)
    trickle = rng.poisson(rng.uniform(0.5, 3.0), n_days)
    days = np.repeat(np.arange(n_days), trickle)
    days = days[:]
    actor = rng.choice(working, size=days.size)
    keep = org.active[actor, days]
    days, actor = days[keep], actor[keep]
    dk = rng.choice(7, size=days.size, p=W[10] / W[10].sum())
    ev.add(draw_times(rng, t0, days, office), actor, pop.ident_for(rng, rng.choice(popular, days.size), dk), dk)
    p["news_events"] = len(news)
    return news

