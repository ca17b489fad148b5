"""Agencies, units, officers and their calendars, and cases, for the independent portal world.

Everything here is drawn from the world's seed: how many officers, how they split over unit kinds, who
works night shifts, who is on leave, who moves desk, joins, leaves or inherits an account, which days are
weekends, holidays and operation surges, and the cases each unit works on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from bench.worlds.portal_people import BOR, CYB, INT, INV, UNIT_KINDS, VER

AGENCIES = ("NPD", "SBR", "CIU", "NTA", "IMD", "DSA", "MPU", "RBX")
KIND_CODE = {INV: "INV", INT: "INT", VER: "VER", CYB: "CYB", BOR: "BOR"}
REGIONS = ("Dhaka", "Chattogram", "Khulna", "Rajshahi", "Sylhet", "Barishal", "Rangpur", "Mymensingh")
ROLES = {
    INV: ("inspector", "sub_inspector", "sub_inspector", "analyst"),
    INT: ("analyst", "analyst", "field_officer", "supervisor"),
    VER: ("operator", "operator", "operator", "supervisor"),
    CYB: ("analyst", "forensic_examiner", "inspector"),
    BOR: ("immigration_officer", "immigration_officer", "inspector"),
}
# median lookups-tasks per working day of one officer, by unit kind (tasks expand to 1..n lookups)
TASK_RATE = {INV: (3.0, 8.0), INT: (5.0, 12.0), VER: (30.0, 90.0), CYB: (4.0, 10.0), BOR: (10.0, 30.0)}


@dataclass
class Org:
    """Units, officers and who worked where, how much and from which address on each day."""

    unit_name: list[str]
    unit_kind: np.ndarray
    unit_region: list[str]
    unit_night: np.ndarray  # the unit runs a night shift
    officer: list[str]
    role: list[str]
    final_unit: np.ndarray
    unit_by_day: np.ndarray  # [officer, day] unit index, -1 when not employed
    active: np.ndarray  # [officer, day] employed and not on leave
    volume: np.ndarray  # [officer, day] personal task rate multiplier (changes when an account is inherited)
    night: np.ndarray  # [officer, day] on a night shift
    hour_shift: np.ndarray  # [officer, day] early/late habit in hours
    ip_by_day: np.ndarray  # [officer, day] index into ips
    ip2: np.ndarray  # [officer] a second workstation, or -1
    ips: list[str]
    day_factor: np.ndarray  # [unit, day] weekday/weekend/holiday/surge multiplier
    weekend: np.ndarray  # [day] bool
    holiday: np.ndarray  # [day] bool
    surges: list[dict] = field(default_factory=list)
    changes: dict = field(default_factory=dict)  # desk moves, joiners, leavers, inherited accounts

    def officers_of(self, unit: int, day: int | None = None) -> np.ndarray:
        if day is None:
            return np.flatnonzero(self.final_unit == unit)
        return np.flatnonzero((self.unit_by_day[:, day] == unit) & self.active[:, day])


def build_org(rng: np.random.Generator, n_officers: int, n_days: int, start_weekday: int, p: dict) -> Org:
    """Units and officers with their calendars; ``p`` receives the randomised parameters drawn here."""
    # unit mix: shares of officers per unit kind, every kind present (verification always, for cells)
    share = rng.dirichlet(np.array([3.0, 2.0, 1.6, 1.0, 1.0]) * rng.uniform(1.5, 4))
    share = np.maximum(share, 0.04)
    share /= share.sum()
    p["unit_mix"] = {UNIT_KINDS[k]: round(float(share[k]), 3) for k in range(5)}
    agencies = list(rng.choice(AGENCIES, size=int(rng.integers(2, 6)), replace=False))
    counts = np.maximum(np.round(share * n_officers).astype(int), 4)
    unit_name: list[str] = []
    unit_kind, unit_region, unit_size = [], [], []
    seq = {a: 0 for a in agencies}
    for k in range(5):
        left = counts[k]
        while left > 0:
            size = min(left, int(rng.integers(5, 40 if k == VER else 28)))
            if left - size < 4:
                size = left
            agency = agencies[int(rng.integers(len(agencies)))]
            seq[agency] += 1
            unit_name.append(f"{agency}-{KIND_CODE[k]}{seq[agency]:02d}")
            unit_kind.append(k)
            unit_region.append(REGIONS[int(rng.integers(len(REGIONS)))] if rng.random() < 0.6 else "Dhaka")
            unit_size.append(size)
            left -= size
    n_units = len(unit_name)
    kinds = np.array(unit_kind)
    night_p = np.array([0.1, 0.45, 0.0, 0.3, 0.5])[kinds] * rng.uniform(0.3, 1.5)  # verification: office hours
    unit_night = rng.random(n_units) < night_p
    home = np.repeat(np.arange(n_units), unit_size)
    n_off = home.size
    p["officers"], p["units"] = int(n_off), int(n_units)
    p["night_shift_units"] = int(unit_night.sum())

    # calendar: weekend days (local), holidays, a festival block
    weekday = (start_weekday + np.arange(n_days)) % 7  # 0 = Monday
    weekend_style = rng.choice(["fri-sat", "fri", "sat-sun"], p=[0.7, 0.15, 0.15])
    weekend = {"fri-sat": (weekday == 4) | (weekday == 5), "fri": weekday == 4,
               "sat-sun": weekday >= 5}[str(weekend_style)]
    holiday = np.zeros(n_days, bool)
    holiday[rng.choice(n_days, size=int(rng.integers(1, 5)), replace=False)] = True
    if rng.random() < 0.6:
        f0 = int(rng.integers(0, n_days - 5))
        holiday[f0:f0 + int(rng.integers(3, 7))] = True
    off_day = weekend | holiday
    we_level = rng.uniform(0.03, 0.25) * np.where(unit_night, rng.uniform(2, 4), 1.0)
    we_level = np.where(kinds == INT, we_level * 1.8, we_level)
    day_factor = np.where(off_day[None, :], np.minimum(we_level, 0.8)[:, None], 1.0)
    day_factor = day_factor * rng.gamma(20, 1 / 20, size=(n_units, n_days))  # day-to-day swing
    p.update(weekend=str(weekend_style), holidays=int(holiday.sum()), weekend_level=round(float(we_level.mean()), 3))

    # operation surges: a whole unit works harder for a few days
    surges = []
    for _ in range(int(rng.integers(1, 3 + n_units // 6))):
        u = int(rng.choice(np.flatnonzero(kinds != VER)))
        d0, length = int(rng.integers(0, n_days - 2)), int(rng.integers(2, 8))
        mult = float(rng.uniform(1.8, 4.5))
        day_factor[u, d0:d0 + length] = np.maximum(day_factor[u, d0:d0 + length], 0.6) * mult
        surges.append({"unit": u, "start": d0, "days": length, "factor": round(mult, 2)})
    p["surges"] = len(surges)

    # officers: heavy-tailed personal volume within the unit
    sigma = float(rng.uniform(0.6, 1.3))
    p["volume_sigma"] = round(sigma, 2)
    lo_hi = np.array([TASK_RATE[int(k)] for k in kinds])
    unit_rate = rng.uniform(lo_hi[:, 0], lo_hi[:, 1])
    personal = unit_rate[home] * rng.lognormal(-sigma**2 / 2, sigma, n_off)
    volume = np.repeat(personal[:, None], n_days, axis=1)
    unit_by_day = np.repeat(home[:, None], n_days, axis=1)
    employed = np.ones((n_off, n_days), bool)
    hour_shift = np.repeat(rng.choice([-1, 0, 0, 0, 1], n_off)[:, None], n_days, axis=1)

    # addresses: one subnet per unit, one workstation per officer, some with a second one
    ips: list[str] = []
    subnet = [(int(rng.integers(16, 31)), int(rng.integers(0, 256))) for _ in range(n_units)]

    def new_ip(unit: int) -> int:
        a, b = subnet[unit]
        ips.append(f"10.{a}.{b}.{int(rng.integers(2, 255))}")
        return len(ips) - 1

    ip0 = np.array([new_ip(int(u)) for u in home])
    ip_by_day = np.repeat(ip0[:, None], n_days, axis=1)
    ip2 = np.array([new_ip(int(u)) if rng.random() < 0.2 else -1 for u in home])

    # people change: desk moves, joiners, leavers, inherited accounts
    rates = rng.uniform(0.01, 0.06, size=4)
    p.update(desk_move_rate=round(float(rates[0]), 3), join_rate=round(float(rates[1]), 3),
             leave_rate=round(float(rates[2]), 3), inherit_rate=round(float(rates[3]), 3))
    changes: dict[str, list] = {"moved": [], "joined": [], "left": [], "inherited": []}
    which = rng.random((n_off, 4)) < rates
    mid = rng.integers(max(3, n_days // 8), n_days - 3, size=(n_off, 4))
    for o in np.flatnonzero(which.any(axis=1)):
        if which[o, 0]:
            to = int(rng.integers(n_units))
            if to != home[o]:
                d = int(mid[o, 0])
                unit_by_day[o, d:] = to
                ip_by_day[o, d:] = new_ip(to)
                volume[o, d:] = unit_rate[to] * rng.lognormal(-sigma**2 / 2, sigma)
                changes["moved"].append(int(o))
        if which[o, 1]:
            employed[o, :mid[o, 1]] = False
            changes["joined"].append(int(o))
        elif which[o, 2]:
            employed[o, mid[o, 2]:] = False
            changes["left"].append(int(o))
        elif which[o, 3]:  # the account passes to a colleague with other habits and another desk
            d = int(mid[o, 3])
            volume[o, d:] *= rng.lognormal(0, 0.7)
            hour_shift[o, d:] = rng.choice([-1, 0, 1])
            ip_by_day[o, d:] = new_ip(int(unit_by_day[o, d]))
            changes["inherited"].append(int(o))
    unit_by_day = np.where(employed, unit_by_day, -1)
    final_unit = np.array([row[row >= 0][-1] if (row >= 0).any() else home[i] for i, row in enumerate(unit_by_day)])

    # leave and sickness
    active = employed.copy()
    leave_rate = float(rng.uniform(0.2, 1.2))
    sick = float(rng.uniform(0.005, 0.03))
    p.update(leave_blocks_per_60d=round(leave_rate, 2), sick_rate=round(sick, 3))
    blocks = rng.poisson(leave_rate * n_days / 60, n_off)
    for o in np.flatnonzero(blocks):
        for _ in range(blocks[o]):
            d0 = int(rng.integers(0, n_days))
            active[o, d0:d0 + int(rng.integers(2, 15))] = False
    active &= rng.random((n_off, n_days)) >= sick

    # night shifts rotate by week inside night-shift units
    weeks = np.arange(n_days) // 7
    rota = rng.random((n_off, int(weeks.max()) + 1)) < rng.uniform(0.25, 0.5)
    night = rota[:, weeks] & unit_night[np.maximum(unit_by_day, 0)]

    regions = [unit_region[u] for u in final_unit]
    agency_of = [unit_name[u].split("-")[0].lower() for u in final_unit]
    badges = rng.choice(np.arange(10_000, 99_999), size=n_off, replace=False)
    officer = [f"{a}.{b}" for a, b in zip(agency_of, badges, strict=True)]
    role = [str(rng.choice(ROLES[int(kinds[u])])) for u in final_unit]
    del regions
    return Org(unit_name, kinds, unit_region, unit_night, officer, role, final_unit, unit_by_day, active, volume,
               night, hour_shift, ip_by_day, ip2, ips, day_factor, weekend, holiday, surges, changes)


@dataclass
class Cases:
    """Cases of every unit: dates (days from the world's start; closed may lie beyond it) and persons."""

    case_id: list[str]
    unit: np.ndarray
    opened: np.ndarray
    closed: np.ndarray  # exclusive last active day + 1
    gap: np.ndarray  # [case, 2] closed-then-reopened gap (start, end) or (-1, -1)
    weight: np.ndarray
    offsets: np.ndarray  # persons of case c are persons[offsets[c]:offsets[c+1]]
    persons: np.ndarray
    added: np.ndarray  # day each person joined the case's work
    listed: np.ndarray  # on the case's subject list
    suspect: np.ndarray

    def active_mask(self, day: int) -> np.ndarray:
        inside = (self.opened <= day) & (day < self.closed)
        return inside & ~((self.gap[:, 0] <= day) & (day < self.gap[:, 1]))


def case_number(rng: np.random.Generator, agency: str, style: int, year: int, n: int) -> str:
    if style == 0:
        return f"{agency}/{year}/{n:04d}"
    if style == 1:
        return f"{agency}-{year % 100:02d}-{n:05d}"
    return f"{agency}{year}{n:05d}"


def build_cases(rng: np.random.Generator, org: Org, pop_take, n_days: int, year: int, p: dict) -> Cases:
    """Cases per non-verification unit, with suspects, associates found over time, reopenings and the
    big case behind each operation surge. ``pop_take(n)`` hands out fresh people."""
    rate = float(rng.uniform(0.3, 1.0))  # cases per officer per month
    p_reopen = float(rng.uniform(0.03, 0.12))
    p["cases_per_officer_month"], p["reopen_rate"] = round(rate, 2), round(p_reopen, 3)
    styles = {a: int(rng.integers(0, 3)) for a in AGENCIES}
    serial = {a: int(rng.integers(10, 900)) for a in AGENCIES}
    rows = []  # (unit, opened, closed, weight, n_suspects, n_associates)
    kind_rate = {INV: 1.0, INT: 0.4, VER: 0.0, CYB: 0.6, BOR: 0.35}
    for u, k in enumerate(org.unit_kind):
        n_off = int((org.final_unit == u).sum())
        n = rng.poisson(n_off * rate * kind_rate[int(k)] * (n_days + 90) / 30)
        for _ in range(n):
            op = int(rng.integers(-90, n_days - 2))
            dur = int(rng.lognormal(np.log(rng.uniform(20, 70)), 0.8)) + 3
            rows.append((u, op, op + dur, rng.lognormal(0, 1), 1 + rng.geometric(0.6) - 1, rng.poisson(2.5)))
    for s in org.surges:  # an operation works one big case
        op = s["start"] - int(rng.integers(0, 3))
        rows.append((s["unit"], op, op + s["days"] + int(rng.integers(5, 40)), 40.0, int(rng.integers(4, 16)),
                     int(rng.integers(3, 12))))
    n_cases = len(rows)
    unit = np.array([r[0] for r in rows])
    opened = np.array([r[1] for r in rows])
    closed = np.array([r[2] for r in rows])
    gap = np.full((n_cases, 2), -1)
    reopen = (rng.random(n_cases) < p_reopen) & (closed < n_days - 10)
    for r in np.flatnonzero(reopen):
        g = int(rng.integers(7, 40))
        gap[r] = (closed[r], closed[r] + g)
        closed[r] = closed[r] + g + int(rng.integers(5, 40))
    case_id = []
    for c in range(n_cases):
        agency = org.unit_name[unit[c]].split("-")[0]
        serial[agency] += int(rng.integers(1, 4))
        case_id.append(case_number(rng, agency, styles[agency], year - (1 if opened[c] < -60 else 0), serial[agency]))
    n_sus = np.array([r[4] for r in rows])
    n_ass = np.array([r[5] for r in rows])
    sizes = n_sus + n_ass
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    total = int(offsets[-1])
    persons = pop_take(total)
    suspect = np.zeros(total, bool)
    within = np.arange(total) - np.repeat(offsets[:-1], sizes)
    suspect[within < np.repeat(n_sus, sizes)] = True
    start = np.repeat(opened, sizes)
    late = rng.exponential(rng.uniform(4, 12), total).astype(int)
    added = np.where(suspect & (rng.random(total) < 0.8), start, start + late)
    listed = np.where(suspect, True, rng.random(total) < rng.uniform(0.1, 0.35))
    p["cases"] = n_cases
    return Cases(case_id, unit, opened, closed, gap, np.array([r[3] for r in rows]), offsets, persons, added,
                 listed, suspect)


def mistype(rng: np.random.Generator, case_id: str) -> str:
    """A case id as a hurried officer types it: a digit changed or dropped, two swapped, lower case."""
    digits = [i for i, ch in enumerate(case_id) if ch.isdigit()]
    how = int(rng.integers(0, 4))
    if how == 0 and digits:
        i = digits[int(rng.integers(len(digits)))]
        return case_id[:i] + str((int(case_id[i]) + int(rng.integers(1, 10))) % 10) + case_id[i + 1:]
    if how == 1 and len(digits) > 1:
        i = digits[-2]
        return case_id[:i] + case_id[i + 1] + case_id[i] + case_id[i + 2:]
    if how == 2 and digits:
        i = digits[-1]
        return case_id[:i] + case_id[i + 1:]
    return case_id.lower().replace("/", "-") if case_id.lower() != case_id else case_id + "0"
