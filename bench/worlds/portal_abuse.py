"""Planted abusers of the independent portal world, each following the reported pattern of its kind,
and the sale listings made from the sellers' lookups."""

from __future__ import annotations

import numpy as np
from bench.worlds.portal_legit import Events
from bench.worlds.portal_org import Cases, Org
from bench.worlds.portal_people import (
    CDR,
    DAY_MS,
    IDENTITY,
    IMEI_D,
    LOCATION,
    MSISDN,
    NID,
    SUBSCRIBER,
    TRAVEL,
    VER,
    Population,
    draw_times,
    local_hours,
)

OTHER_KINDS = ("bulk_seller", "vip_snooping", "enumeration", "case_misuse", "hijacked", "ramp_up", "collusion",
               "hidden_in_verification")
SELLERS = ("bulk_seller", "quiet_seller", "hidden_in_verification", "collusion")


def choose_kinds(rng: np.random.Generator) -> list[str]:
    """Nine abusers: a quiet seller, a stalker and seven more (collusion counts twice, at most once)."""
    kinds = ["quiet_seller", "stalker"]
    while len(kinds) < 9:
        k = str(rng.choice(OTHER_KINDS))
        if k == "collusion":
            if len(kinds) <= 7 and "collusion" not in kinds:
                kinds += ["collusion", "collusion"]
        elif not (k == "hidden_in_verification" and k in kinds):
            kinds.append(k)
    return kinds


class Planter:
    """Adds one abuser's lookups at a time to the event blocks."""

    def __init__(self, rng: np.random.Generator, org: Org, cases: Cases, pop: Population, t0: int, n_days: int,
                 ev: Events, popular: np.ndarray, protected: np.ndarray, ips: list[str]) -> None:
        self.rng, self.org, self.cases, self.pop, self.t0, self.n_days, self.ev = rng, org, cases, pop, t0, n_days, ev
        self.popular, self.protected, self.ips = popular, protected, ips
        self.h = {name: local_hours(name, 0.5) for name in ("office", "offhours", "evening", "odd", "flat")}

    def window(self, lo: int, hi: int) -> tuple[int, int]:
        length = min(int(self.rng.integers(lo, hi + 1)), self.n_days - 2)
        start = int(self.rng.integers(0, self.n_days - length))
        return start, start + length

    def days(self, o: int, a: int, b: int, p_day: float = 1.0) -> np.ndarray:
        d = np.arange(a, b)
        return d[self.org.active[o, d] & (self.rng.random(d.size) < p_day)]

    def hours(self, n: int, p_off: float, off: str = "offhours") -> np.ndarray:
        return np.where((self.rng.random(n) < p_off)[:, None], self.h[off][None, :], self.h["office"][None, :])

    def emit(self, idx: int, o: int, persons: np.ndarray | None, dks: np.ndarray, t: np.ndarray, case=-1, ip=-1,
             idents: np.ndarray | None = None) -> None:
        """Abuser ``idx``'s lookups by officer ``o``: data kinds ``dks`` on ``persons`` (or on ``idents``)."""
        if idents is None:
            assert persons is not None
            idents = self.pop.ident_for(self.rng, persons, dks)
        self.ev.add(t, o, idents, dks, case, ip, idx)

    def sittings(self, persons: np.ndarray, days: np.ndarray, kinds: list[tuple[list[int], float]]):
        """Expand (person, day) into lookups: each (kind set, probability) adds those kinds."""
        rows_p, rows_d, rows_k, rows_o = [], [], [], []
        for ks, prob in kinds:
            pick = self.rng.random(persons.size) < prob
            for j, k in enumerate(ks):
                rows_p.append(persons[pick])
                rows_d.append(days[pick])
                rows_k.append(np.full(pick.sum(), k))
                rows_o.append(np.full(pick.sum(), j))
        return np.concatenate(rows_p), np.concatenate(rows_d), np.concatenate(rows_k), np.concatenate(rows_o)

    def spaced(self, days: np.ndarray, persons: np.ndarray, step: np.ndarray, hours: np.ndarray) -> np.ndarray:
        """One time per (day, person) sitting; the sitting's lookups follow each other a minute or two apart.
        ``step`` orders a sitting's lookups (the first kind asked for first)."""
        key = days.astype(np.int64) * 10**9 + persons
        order = np.lexsort((self.rng.random(key.size), step, key))
        k = key[order]
        start = np.r_[True, k[1:] != k[:-1]]
        group = np.cumsum(start) - 1
        rank = np.arange(k.size) - np.flatnonzero(start)[group]
        first = order[start]
        base = draw_times(self.rng, self.t0, days[first], hours[first])
        t = np.empty(key.size, dtype=np.int64)
        t[order] = base[group] + rank * self.rng.integers(20_000, 150_000, k.size)
        return t

    def own_case(self, o: int, a: int, b: int) -> int:
        """A case of the officer's unit live during [a, b); failing that, any live case (one the officer
        heard of in a joint operation); -1 when there is none."""
        live = (self.cases.opened <= b) & (self.cases.closed > a)
        mine = np.flatnonzero(live & (self.cases.unit == self.org.final_unit[o]))
        if mine.size == 0:
            mine = np.flatnonzero(live)
        return int(self.rng.choice(mine)) if mine.size else -1


def quiet_seller(pl: Planter, idx: int, o: int) -> dict:
    """A few strangers on some days, location and call records each, often outside office hours, for weeks;
    in some worlds one or two of its people are popular subjects many accounts look up."""
    rng = pl.rng
    a, b = pl.window(21, 56)
    p_day, k, p_off = rng.uniform(1 / 3, 2 / 3), int(rng.integers(2, 5)), rng.uniform(0.45, 0.85)
    days = pl.days(o, a, b, p_day)
    persons = pl.pop.take(days.size * k)
    if rng.random() < 0.5 and persons.size > 4:
        n_pop = int(rng.integers(1, 3))
        persons[rng.choice(persons.size, n_pop, replace=False)] = rng.choice(pl.popular, n_pop, replace=False)
    pp, dd, kk, st = pl.sittings(persons, np.repeat(days, k), [([LOCATION, CDR], 0.7), ([LOCATION], 0.15),
                                                                ([CDR], 0.15), ([SUBSCRIBER], 0.2)])
    pl.emit(idx, o, pp, kk, pl.spaced(dd, pp, st, pl.hours(dd.size, p_off)))
    return {"people_per_day": k, "day_share": round(p_day, 2), "off_hours": round(p_off, 2)}


def stalker(pl: Planter, idx: int, o: int) -> dict:
    """One person (sometimes two) again and again, mostly location, mostly in the evening, no case."""
    rng = pl.rng
    a, b = pl.window(14, 28)
    targets = pl.pop.take(1 if rng.random() < 0.7 else 2)
    days = pl.days(o, a, b)
    want = int(rng.integers(8, 16))
    if days.size < want:  # an obsession does not wait for the end of a leave
        days = np.arange(a, b)
    days = np.sort(rng.choice(days, size=min(days.size, want), replace=False))
    dd = np.repeat(days, rng.integers(1, 3, days.size))
    pp = rng.choice(targets, dd.size)
    kk = rng.choice([LOCATION, CDR, SUBSCRIBER, IDENTITY], dd.size, p=[0.65, 0.15, 0.15, 0.05])
    pl.emit(idx, o, pp, kk, draw_times(rng, pl.t0, dd, pl.hours(dd.size, rng.uniform(0.6, 0.9), "evening")))
    return {"targets": int(targets.size), "evenings": int(days.size)}


def bulk_seller(pl: Planter, idx: int, o: int) -> dict:
    """Many strangers a day, with the kinds that sell; a few are people other units work on."""
    rng, cases = pl.rng, pl.cases
    a, b = pl.window(10, 35)
    rate = rng.uniform(8, 40)
    days = pl.days(o, a, b, rng.uniform(0.5, 0.9))
    dd = np.repeat(days, rng.poisson(rate, days.size))
    persons = pl.pop.take(dd.size)
    others = cases.persons[np.repeat(cases.unit, np.diff(cases.offsets)) != pl.org.final_unit[o]]
    swap = rng.random(dd.size) < rng.uniform(0, 0.1)
    persons[swap] = rng.choice(others, swap.sum())
    pp, dd, kk, st = pl.sittings(persons, dd, [([LOCATION], 0.6), ([CDR], 0.5), ([IMEI_D], 0.25), ([TRAVEL], 0.2)])
    cover = pl.own_case(o, a, b) if rng.random() < 0.5 else -1
    pl.emit(idx, o, pp, kk, pl.spaced(dd, pp, st, pl.hours(dd.size, 0.3, "flat")),
            case=np.where(rng.random(dd.size) < 0.3, cover, -1))
    return {"people_per_day": round(rate, 1)}


def vip_snooping(pl: Planter, idx: int, o: int) -> dict:
    """Protected people (ministers, judges, journalists, …) looked up with no case."""
    rng = pl.rng
    a, b = pl.window(14, 50)
    vips = rng.choice(pl.protected, size=min(pl.protected.size, int(rng.integers(3, 11))), replace=False)
    pp = np.repeat(vips, rng.integers(1, 4, vips.size))
    dd = rng.choice(pl.days(o, a, b), pp.size)
    kk = rng.choice([IDENTITY, LOCATION, CDR, TRAVEL, SUBSCRIBER], pp.size, p=[0.3, 0.25, 0.2, 0.1, 0.15])
    pl.emit(idx, o, pp, kk, draw_times(rng, pl.t0, dd, pl.hours(pp.size, 0.3, "evening")))
    return {"vips": int(vips.size)}


def enumeration(pl: Planter, idx: int, o: int) -> dict:
    """Runs of sequential national IDs or numbers, each touched once, in bursts."""
    rng, pop = pl.rng, pl.pop
    ids, dks, times = [], [], []
    for _ in range(int(rng.integers(1, 4))):
        size = int(rng.integers(60, 400))
        by_nid = bool(rng.random() < 0.6)
        first = pop.take(1)[0]
        start = pop.num[pop.nid[first]] if by_nid else pop.num[pop.msisdn[first]]
        ids.append(pop.add_loose(NID if by_nid else MSISDN, start + np.arange(size)))
        dks.append(np.full(size, IDENTITY if by_nid else SUBSCRIBER))
        d = int(rng.choice(pl.days(o, 0, pl.n_days)))
        begin = draw_times(rng, pl.t0, np.array([d]), pl.h["flat"])[0]
        times.append(begin + np.cumsum(rng.exponential(rng.uniform(3000, 25000), size)).astype(np.int64))
    pl.emit(idx, o, None, np.concatenate(dks), np.concatenate(times), idents=np.concatenate(ids))
    return {"ids": int(sum(x.size for x in ids))}


def case_misuse(pl: Planter, idx: int, o: int) -> dict:
    """A real case id given for strangers who are not on that case, in office hours."""
    rng = pl.rng
    a, b = pl.window(14, 42)
    case = pl.own_case(o, a, b)
    days = pl.days(o, a, b, rng.uniform(0.3, 0.7))
    persons = pl.pop.take(int(rng.integers(8, 41)))
    pp, dd, kk, st = pl.sittings(persons, rng.choice(days, persons.size),
                                 [([LOCATION], 0.6), ([CDR], 0.5), ([SUBSCRIBER], 0.4), ([IDENTITY], 0.3)])
    pl.emit(idx, o, pp, kk, pl.spaced(dd, pp, st, pl.hours(dd.size, 0.1)), case=case)
    return {"case": pl.cases.case_id[case] if case >= 0 else None}


def hijacked(pl: Planter, idx: int, o: int) -> dict:
    """Someone else uses the account: a new address, odd hours, a burst of lookups over a day or three."""
    rng = pl.rng
    a, b = pl.window(1, 3)
    size = int(rng.integers(40, 300))
    dd = np.repeat(np.arange(a, b), size // (b - a) + 1)[:size]
    kk = rng.choice([LOCATION, CDR, IMEI_D, IDENTITY, TRAVEL], size, p=[0.35, 0.3, 0.1, 0.15, 0.1])
    pl.ips.append(f"{rng.choice([103, 45, 185, 37])}.{rng.integers(1, 255)}.{rng.integers(0, 255)}."
                  f"{rng.integers(1, 255)}")
    start = draw_times(rng, pl.t0, np.arange(a, b), pl.h["odd"])
    gap = rng.uniform(8000, 60000)
    t = np.concatenate([start[d - a] + np.cumsum(rng.exponential(gap, int((dd == d).sum()))).astype(np.int64)
                        for d in range(a, b)])
    pl.emit(idx, o, pl.pop.take(size), kk, t, ip=len(pl.ips) - 1)
    return {"lookups": size, "ip": pl.ips[-1]}


def ramp_up(pl: Planter, idx: int, o: int) -> dict:
    """Stranger lookups that grow week by week, from about one a day to tens."""
    rng = pl.rng
    a, b = pl.window(35, 63)
    r0, r_end = rng.uniform(0.3, 1.5), rng.uniform(6, 25)  # strangers a day, first and last week
    g = (r_end / r0) ** (1 / max(1, (b - a) // 7))
    days = pl.days(o, a, b)
    dd = np.repeat(days, rng.poisson(r0 * g ** ((days - a) // 7)))
    pp, dd, kk, st = pl.sittings(pl.pop.take(dd.size), dd, [([LOCATION], 0.5), ([CDR], 0.5), ([SUBSCRIBER], 0.3),
                                                            ([IDENTITY], 0.3)])
    cover = pl.own_case(o, a, b) if rng.random() < 0.5 else -1
    pl.emit(idx, o, pp, kk, pl.spaced(dd, pp, st, pl.hours(dd.size, 0.2)),
            case=np.where(rng.random(dd.size) < 0.3, cover, -1))
    return {"start_per_day": round(r0, 2), "weekly_growth": round(g, 2)}


def collusion(pl: Planter, pair: list[tuple[int, int]]) -> list[dict]:
    """Two accounts split one order: each takes part of the people, or each takes one kind for all."""
    rng = pl.rng
    a, b = pl.window(7, 21)
    order = pl.pop.take(int(rng.integers(15, 61)))
    mode = "people" if rng.random() < 0.6 else "kinds"
    p_off = rng.uniform(0.2, 0.7)
    for j, (idx, o) in enumerate(pair):
        if mode == "people":
            half = order[: order.size // 2] if j == 0 else order[order.size // 2:]
            spec = [([LOCATION, CDR], 0.8), ([LOCATION], 0.1), ([CDR], 0.1)]
        else:
            half, spec = order, [([LOCATION if j == 0 else CDR], 1.0)]
        pp, dd, kk, st = pl.sittings(half, rng.choice(pl.days(o, a, b), half.size), spec)
        pl.emit(idx, o, pp, kk, pl.spaced(dd, pp, st, pl.hours(dd.size, p_off)))
    return [{"order": int(order.size), "split": mode}] * 2


def hidden_in_verification(pl: Planter, idx: int, o: int) -> dict:
    """A verification operator who, between ordinary identity checks, pulls location and call records."""
    rng = pl.rng
    a, b = pl.window(21, 56)
    lo = int(rng.integers(1, 4))
    hi = lo + int(rng.integers(2, 7))
    days = pl.days(o, a, b, rng.uniform(0.4, 0.8))
    dd = np.repeat(days, rng.integers(lo, hi, days.size))
    pp, dd, kk, st = pl.sittings(pl.pop.take(dd.size), dd, [([IDENTITY, LOCATION, CDR], 0.5),
                                                            ([IDENTITY, LOCATION], 0.25), ([IDENTITY, CDR], 0.25)])
    pl.emit(idx, o, pp, kk, pl.spaced(dd, pp, st, pl.hours(dd.size, 0.05)))
    return {"people_per_active_day": [lo, hi - 1]}


PLANT = {"quiet_seller": quiet_seller, "stalker": stalker, "bulk_seller": bulk_seller, "vip_snooping": vip_snooping,
         "enumeration": enumeration, "case_misuse": case_misuse, "hijacked": hijacked, "ramp_up": ramp_up,
         "hidden_in_verification": hidden_in_verification}


def plant(rng: np.random.Generator, org: Org, cases: Cases, pop: Population, popular: np.ndarray,
          protected_people: np.ndarray, t0: int, n_days: int, ev: Events, ips: list[str]) -> list[dict]:
    """Nine abusers' lookups, each by a different officer who stayed at one desk the whole period;
    returns their descriptions (actor index, kind, parameters, and for collusion the partner's index)."""
    kinds = choose_kinds(rng)
    moved = set().union(*[set(v) for v in org.changes.values()])
    stable = np.array([o for o in range(len(org.officer)) if o not in moved and org.active[o].mean() > 0.6])
    in_ver = rng.permutation(stable[org.unit_kind[org.final_unit[stable]] == VER])
    not_ver = rng.permutation(stable[org.unit_kind[org.final_unit[stable]] != VER])
    used: set[int] = set()

    def pick(ver: bool) -> int:
        for o in in_ver if ver else not_ver:
            if int(o) not in used:
                used.add(int(o))
                return int(o)
        raise ValueError("no officer left to plant an abuser")

    pl = Planter(rng, org, cases, pop, t0, n_days, ev, popular, protected_people, ips)
    actors = [pick(kind == "hidden_in_verification") for kind in kinds]
    out = [{"actor_index": o, "kind": kind, "params": {}} for o, kind in zip(actors, kinds, strict=True)]
    pair = [i for i, kind in enumerate(kinds) if kind == "collusion"]
    for idx, kind in enumerate(kinds):
        if kind != "collusion":
            out[idx]["params"] = PLANT[kind](pl, idx, actors[idx])
    if pair:
        for i, prm in zip(pair, collusion(pl, [(i, actors[i]) for i in pair]), strict=True):
            out[i]["params"] = prm
            out[i]["partner_index"] = pair[1 - pair.index(i)]
    return out


def _distinct(key: np.ndarray, rows: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """One row per record (``key``: person, or person and kind), leaving out records already ``taken``."""
    _, first = np.unique(key[rows], return_index=True)
    rows = rows[np.sort(first)]
    return rows[~np.isin(key[rows], key[taken])]


def make_leaks(rng: np.random.Generator, abusers: list[dict], E: dict[str, np.ndarray], t_end: int,
               p: dict) -> list[dict]:
    """3–6 listings from the sellers' lookups: (ident, data kind) records, the listing date, who sold them."""
    sold = np.isin(E["dk"], [LOCATION, CDR, IMEI_D, TRAVEL, SUBSCRIBER])
    has = set(np.unique(E["abuse"][sold & (E["abuse"] >= 0)]).tolist())  # sellers with something to sell
    sellers = [i for i, a in enumerate(abusers) if a["kind"] in SELLERS and i in has]
    n_leaks = int(rng.integers(3, 7))
    quiet = [i for i in sellers if abusers[i]["kind"] == "quiet_seller"]
    rest = [int(i) for i in rng.permutation([i for i in sellers if i not in quiet])]
    order = quiet[:1] + rest + quiet[1:]  # every seller lists before any lists twice, the quiet seller first
    plan = (order * n_leaks)[:n_leaks]
    leaks = []
    sizes = np.array([3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40])
    for s in plan:
        with_kind = bool(rng.random() < 0.5)  # the listing says what was sold, or only whom
        key = E["ident"] * 8 + E["dk"] if with_kind else E["ident"]


        none = np.zeros(0, dtype=np.int64)
        mine = _distinct(key, np.flatnonzero((E["abuse"] == s) & sold), none)
        avail = mine[E["t"][mine] <= np.quantile(E["t"][mine], rng.uniform(0.3, 1.0))]
        if avail.size < 3:
            avail = mine
        size = int(rng.choice(sizes, p=(1 / np.sqrt(sizes)) / (1 / np.sqrt(sizes)).sum()))
        take = rng.choice(avail, size=min(size, avail.size), replace=False)
        parts = {s: take}
        if "partner_index" in abusers[s]:  # one order split by two accounts is sold as one listing
            other = int(abusers[s]["partner_index"])
        elif len(sellers) > 1 and rng.random() < 0.15:
            other = int(rng.choice([i for i in sellers if i != s]))
        else:
            other = -1
        last = int(E["t"][take].max())
        if other >= 0:
            theirs = _distinct(key, np.flatnonzero((E["abuse"] == other) & sold & (E["t"] <= last + 7 * DAY_MS)), take)
            if theirs.size:
                k = max(1, int(take.size * rng.uniform(0.25, 0.8)))
                parts[other] = rng.choice(theirs, size=min(k, theirs.size), replace=False)
        listed_rows = np.concatenate(list(parts.values()))
        listed = max(int(E["t"][v].max()) for v in parts.values()) + int(rng.integers(2, 36)) * DAY_MS
        elsewhere = none
        if rng.random() < 0.4:
            pool = np.flatnonzero((E["abuse"] < 0) & sold & (E["t"] < listed))
            pool = pool[~np.isin(key[pool], key[listed_rows])]
            elsewhere = _distinct(key, rng.choice(pool, size=int(rng.integers(1, 4)), replace=False), none)
        counts = {k: v.size for k, v in parts.items()}
        leaks.append({"seller": max(counts, key=lambda k: counts[k]), "sellers": list(parts), "parts": parts,
                      "elsewhere": elsewhere, "listed": listed, "with_kind": with_kind})
    p["leaks"] = len(leaks)
    return leaks
