"""The interception world's model: its constants, the agencies, warrants and planned task events, and the
background (ordinary, covered) tasks. ``interception_plant`` adds the planted errors and agencies out of line;
``interception_world`` writes the files and checks them. See ``interception_world`` for what each part imitates.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

GRACE_S = 3600
STRETCH_FACTOR = 4
MSG_BUDGET = 19_000
H = dt.timedelta(hours=1)
MIN = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)

AGENCY_NAMES = ["NCA", "MPS", "PSNI", "POLSCOT", "HMRC", "SECSVC", "GMP", "WMP", "BTP", "NTCA", "SFO", "BORDERF",
                "KRIPOS", "PST", "TULL", "NOA", "SAPO"]
REGIMES: dict[str, dict[str, Any]] = {
    "ipa": {"levels": [("secretary_of_state", 0.8, (182, 182)), ("urgent", 0.12, (5, 5)),
                       ("scottish_ministers", 0.08, (182, 182))],
            "issuers": {"secretary_of_state": ["Home Secretary", "Foreign Secretary",
                                               "Secretary of State for Northern Ireland"],
                        "urgent": ["Senior official, Home Office", "Senior official, FCDO"],
                        "scottish_ministers": ["Cabinet Secretary for Justice, Scotland"]},
            "renew_to": "secretary_of_state"},
    "court": {"levels": [("court_order", 0.82, (28, 92)), ("prosecutor_urgent", 0.13, (2, 7)),
                         ("police_chief", 0.05, (14, 30))],
              "issuers": {"court_order": ["District Court, Criminal Division 3", "District Court, Criminal Division 7",
                                          "Court of Appeal, Investigations Chamber"],
                          "prosecutor_urgent": ["Public Prosecutor, Economic Crime", "Public Prosecutor, Region North"],
                          "police_chief": ["Chief of Police, Security Service"]},
              "renew_to": "court_order"},
}
NES = ["ne-msc-1", "ne-msc-2", "ne-ims-1", "ne-ims-2", "ne-pgw-1", "ne-smf-1", "ne-amf-1", "ne-sgsn-1"]
# international mobile prefixes and the full length of a number behind them (UK, FR, DE, IT, FI, SE)
MSISDN_PREFIXES = [("447", 12), ("447", 12), ("447", 12), ("447", 12), ("336", 11), ("4915", 13), ("4917", 12),
                   ("393", 12), ("3584", 12), ("467", 11)]
IMSI_PREFIXES = ["23410", "23415", "23420", "23430", "23433", "20801", "26201", "24201"]
TACS = ["35209900", "35391110", "35875410", "86012345", "35332811", "49015420", "01332700"]


def luhn_digit(d14: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(d14)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            n -= 9 if n > 9 else 0
        total += n
    return str((10 - total % 10) % 10)


def quarter_start(t: dt.datetime) -> dt.datetime:
    return dt.datetime(t.year, (t.month - 1) // 3 * 3 + 1, 1, tzinfo=dt.UTC)


# ---- the world's actors -------------------------------------------------------------------------------------


@dataclass
class Agency:
    name: str
    weight: float
    p_content: float
    p_location: float
    p_multi: float
    ne_weights: list[float]      # P(1, 2, 3 NEs per target group)
    p_grouped: float             # all targets in one task rather than one task per target
    p_renew: float
    p_early_stop: float
    delay_h: float               # median hours from issue to activation
    plus: float                  # share of msisdns written with '+'
    imei15: float                # share of IMEIs written with the Luhn digit
    tz: str                      # "Z", "+00:00", "local" (+01:00) or "none"
    id_style: int
    dids: list[str]
    seq: int = 0


@dataclass
class Warrant:
    wid: str
    agency: Agency
    level: str
    issuer: str
    kinds: list[str]
    vf: dt.datetime
    vt: dt.datetime
    targets: list[tuple[str, str]]   # (kind, canonical value: msisdn digits, imsi, imei 14 digits)
    named: int = 0
    frozen: bool = False             # planted stretched warrant: nothing else may name it


@dataclass
class Ev:
    ts: dt.datetime
    typ: str                          # A, M, D
    liid: str = ""
    targets: list[tuple[str, str]] = field(default_factory=list)
    delivery: str = ""
    lals: bool = False
    w: Warrant | None = None          # the warrant meant (None: made-up lIID)


@dataclass
class TaskPlan:
    xid: str
    agency: Agency
    ne: str
    chain: list[Warrant]
    evs: list[Ev] = field(default_factory=list)
    intended: str = "covered"
    how: str = ""
    near: str = ""
    mutable: bool = True


class WorldBase:
    """One world drawn from a seed: its actors, warrants and background tasks (``background()``)."""

    def __init__(self, seed: int, agencies: int | None, tasks: int | None, days: int | None,
                 spec_names: bool = False) -> None:
        self.seed = seed
        self.r = random.Random(seed)
        self.spec_names = spec_names
        r = self.r
        self.days = days or r.randint(60, 400)
        start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + DAY * r.randint(0, 540)
        # a quarter boundary at least ten days inside the period, so that two quarters have tasks
        first_qb = quarter_start(start + DAY * 10)
        first_qb = first_qb if first_qb >= start + DAY * 10 else quarter_start(first_qb + DAY * 100)
        if first_qb > start + DAY * (self.days - 10):
            start = first_qb - DAY * r.randint(10, max(10, self.days - 10))
        self.S = start
        self.E = start + DAY * self.days
        self.n_agencies = agencies or r.randint(3, 12)
        self.task_target = tasks
        self.c6_kind = r.choice(["none", "none", "growth", "uncovered", "both"])
        if self.days < 120 and self.c6_kind in ("growth", "both"):
            self.c6_kind = "uncovered" if self.c6_kind == "both" else "none"
        if self.n_agencies < 3:             # out of line means against peers: needs some
            self.c6_kind = "none"
        self.budget = MSG_BUDGET * (0.3 if self.c6_kind in ("growth", "both") else 0.8)
        self.warrant_target = 10**9 if tasks else int(math.exp(r.uniform(math.log(100), math.log(3000))))
        self.regime = r.choice(["ipa", "ipa", "court"])
        self.nes = r.sample(NES, r.randint(3, 8))
        self.admfs = [f"admf-{i}" for i in range(1, r.randint(1, 3) + 1)]
        self.ne_admf = {ne: r.choice(self.admfs) for ne in self.nes}
        self.admf_version = {a: r.choice(["v1.6.1", "v1.10.1", "v1.13.1", "v1.19.1"]) for a in self.admfs}
        self.admf_offset = {a: (dt.timedelta(hours=r.choice([1, 2])) if r.random() < 0.2 else None)
                            for a in self.admfs}
        self.people: list[dict[str, str]] = []
        self.warrants: list[Warrant] = []
        self.wids: set[str] = set()
        self.tasks: list[TaskPlan] = []
        self.out_of_line: list[str] = []
        self.class6: dict[str, Any] = {}
        self.made_up: list[str] = []

    # -- ids and identifiers --------------------------------------------------------------------------------

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.r.getrandbits(128), version=4))

    def person(self) -> dict[str, str]:
        r = self.r
        p, n = r.choice(MSISDN_PREFIXES)
        tac = r.choice(TACS)
        person = {"msisdn": p + "".join(r.choice("0123456789") for _ in range(n - len(p))),
                  "imsi": r.choice(IMSI_PREFIXES) + "".join(r.choice("0123456789") for _ in range(10)),
                  "imei": tac + "".join(r.choice("0123456789") for _ in range(6))}
        self.people.append(person)
        return person

    def new_wid(self, ag: Agency, year: int) -> str:
        while True:
            ag.seq += self.r.randint(1, 9)
            wid = [f"{ag.name}-{year}-{ag.seq:05d}", f"{ag.name}/TI/{year}/{ag.seq:04d}",
                   f"{year}{ag.name}{ag.seq:05d}"][ag.id_style]
            if wid not in self.wids:
                self.wids.add(wid)
                return wid

    def typo(self, wid: str) -> str:
        r = self.r
        for _ in range(100):
            pos = [i for i, c in enumerate(wid) if c.isdigit()]
            s = list(wid)
            if r.random() < 0.5 and len(pos) > 1:
                i = r.choice(pos[:-1])
                if s[i + 1].isdigit() and s[i] != s[i + 1]:
                    s[i], s[i + 1] = s[i + 1], s[i]
            else:
                i = r.choice(pos)
                s[i] = r.choice([d for d in "0123456789" if d != s[i]])
            cand = "".join(s)
            if cand != wid and cand not in self.wids:
                return cand
        raise RuntimeError("no typo found")

    def slip(self, kind: str, value: str) -> str:
        """One digit changed (away from the country code / MCC / TAC's first digits)."""
        s = list(value)
        i = self.r.randrange(5, len(s))
        s[i] = self.r.choice([d for d in "0123456789" if d != s[i]])
        return "".join(s)

    # -- agencies and warrants ------------------------------------------------------------------------------

    def make_agencies(self) -> None:
        r = self.r
        names = r.sample(AGENCY_NAMES, self.n_agencies)
        self.agencies = []
        for i, n in enumerate(names):
            self.agencies.append(Agency(
                name=n, weight=math.exp(r.gauss(0, 0.8)) + 0.15,
                p_content=r.uniform(0.15, 0.85), p_location=r.uniform(0.05, 0.6), p_multi=r.uniform(0.05, 0.5),
                ne_weights=[r.uniform(0.3, 1.0), r.uniform(0.0, 0.6), r.uniform(0.0, 0.3)],
                p_grouped=r.uniform(0.2, 0.9), p_renew=r.uniform(0.2, 0.7), p_early_stop=r.uniform(0.1, 0.5),
                delay_h=math.exp(r.uniform(math.log(0.5), math.log(30))), plus=r.choice([0.0, 0.0, 1.0, 0.5]),
                imei15=r.choice([0.0, 1.0, 0.5]), tz=r.choice(["Z", "Z", "+00:00", "local", "none"]),
                id_style=i % 3, dids=[self.uuid() for _ in range(r.randint(1, 2))]))

    def draw_level(self) -> tuple[str, tuple[int, int]]:
        levels = REGIMES[self.regime]["levels"]
        x = self.r.random()
        for name, p, dur in levels:
            x -= p
            if x <= 0:
                return name, dur
        return levels[0][0], levels[0][2]

    def issue(self, ag: Agency, vf: dt.datetime, level: str, dur: tuple[int, int],
              targets: list[tuple[str, str]], kinds: list[str]) -> Warrant:
        r = self.r
        days = r.randint(*dur)
        w = Warrant(self.new_wid(ag, vf.year), ag, level, r.choice(REGIMES[self.regime]["issuers"][level]),
                    kinds, vf, vf + DAY * days, targets)
        self.warrants.append(w)
        return w

    def draw_targets(self, ag: Agency) -> list[tuple[str, str]]:
        r = self.r
        n = 1 if r.random() > ag.p_multi else r.choice([2, 2, 2, 3, 3, 4])
        out: list[tuple[str, str]] = []
        p = self.person()
        while len(out) < n:
            kind = r.choices(["msisdn", "imsi", "imei"], [0.7, 0.15, 0.15])[0]
            if (kind, p[kind]) in out or r.random() < 0.25:
                p = self.person()           # a second phone, an associate
            if (kind, p[kind]) not in out:
                out.append((kind, p[kind]))
        return out

    def draw_kinds(self, ag: Agency) -> list[str]:
        r = self.r
        kinds = ["metadata"]
        if r.random() < ag.p_content:
            kinds = ["content"] if r.random() < 0.05 else ["content", "metadata"]
        if r.random() < ag.p_location:
            kinds.append("location")
        return kinds

    @staticmethod
    def delivery_for(kinds: list[str], r: random.Random) -> tuple[str, bool]:
        has_c, has_m = "content" in kinds, "metadata" in kinds
        if has_c and has_m:
            d = "X2andX3" if r.random() < 0.85 else "X2Only"
        elif has_c:
            d = "X3Only"
        else:
            d = "X2Only"
        return d, ("location" in kinds and r.random() < 0.8)

    def office_time(self, day: dt.datetime) -> dt.datetime:
        r = self.r
        d = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        return d + dt.timedelta(hours=r.randint(8, 18), minutes=r.randint(0, 59), seconds=r.randint(0, 59))

    # -- background -----------------------------------------------------------------------------------------

    def background(self) -> None:
        r = self.r
        weights = [a.weight for a in self.agencies]
        n_msgs = 0
        early = DAY * r.randint(20, 60)     # the log starts some weeks after the oldest live warrants
        span = (self.E - DAY * 3) - (self.S - early)
        while len(self.warrants) < self.warrant_target:
            if self.task_target is None and n_msgs > self.budget:
                break
            if self.task_target is not None and len(self.tasks) >= self.task_target:
                break
            ag = r.choices(self.agencies, weights)[0]
            vf = self.office_time(self.S - early + span * r.random())
            level, dur = self.draw_level()
            w0 = self.issue(ag, vf, level, dur, self.draw_targets(ag), self.draw_kinds(ag))
            chain = [w0]
            while chain[-1].vt < self.E + DAY * 20 and r.random() < ag.p_renew:
                old = chain[-1]
                boundary = r.random() < 0.1
                nvf = old.vt if boundary else self.office_time(old.vt - DAY * r.randint(1, 12))
                if nvf <= old.vf + DAY:
                    break
                lvl = REGIMES[self.regime]["renew_to"]
                dur2 = next(d for n, _, d in REGIMES[self.regime]["levels"] if n == lvl)
                targets = list(old.targets)
                if r.random() < 0.1:
                    p = self.person()
                    targets.append(("msisdn", p["msisdn"]))
                chain.append(self.issue(ag, nvf, lvl, dur2, targets, list(old.kinds)))
            if chain[-1].vt < self.S + DAY * 2:
                continue
            n_msgs += self.tasks_for_chain(ag, chain)

    def groups(self, ag: Agency, targets: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
        if len(targets) == 1 or self.r.random() < ag.p_grouped:
            return [list(targets)]
        return [[t] for t in targets]

    def tasks_for_chain(self, ag: Agency, chain: list[Warrant]) -> int:
        """Plan the background tasks of one warrant and its renewals; returns the number of messages."""
        r = self.r
        n = 0
        for group in self.groups(ag, chain[0].targets):
            k = r.choices([1, 2, 3], ag.ne_weights)[0]
            for ne in r.sample(self.nes, min(k, len(self.nes))):
                t = self.plan_task(ag, ne, chain, group)
                if t is not None:
                    n += len(t.evs)
        return n

    def plan_task(self, ag: Agency, ne: str, chain: list[Warrant], group: list[tuple[str, str]]) -> TaskPlan | None:
        r = self.r
        first = chain[0]
        delay = H * min(24 * 20, math.exp(r.gauss(math.log(ag.delay_h), 1.0)))
        if first.level in ("urgent", "prosecutor_urgent"):
            delay = MIN * r.randint(4, 90)
        near = ""
        if r.random() < 0.03:
            delay = dt.timedelta(0)
            near = "activated at the second the warrant starts"
        t0 = max(first.vf, self.S + MIN * r.randint(1, 600)) + delay
        # the warrant in force at t0 (the latest of the chain that has started)
        idx = max(i for i, w in enumerate(chain) if w.vf <= t0) if any(w.vf <= t0 for w in chain) else 0
        if t0 >= chain[idx].vt - H or t0 >= self.E - H:
            return None
        if t0 != chain[idx].vf:
            near = ""
        chain = chain[idx:]
        tp = TaskPlan(self.uuid(), ag, ne, chain, near=near)
        kinds = chain[0].kinds
        delivery, lals = self.delivery_for(kinds, r)
        targets = list(group)
        extra_listed = [t for t in chain[0].targets if t not in targets]
        # start with part of the listed targets, add one more later
        pending = [r.choice(extra_listed)] if extra_listed and r.random() < 0.3 else []
        evs = [Ev(t0, "A", chain[0].wid, list(targets), delivery, lals, chain[0])]
        targets0 = list(targets)
        # the renewals: a Modify onto each next warrant before the old one ends
        cur = t0
        for old, new in zip(chain, chain[1:], strict=False):
            lo, hi = max(new.vf, cur + H), old.vt
            if lo > hi or lo >= self.E - MIN:
                chain = chain[:chain.index(old) + 1]
                break
            if new.vf == old.vt:
                m_t = old.vt
                tp.near = "renewal exactly at the old warrant's end"
            else:
                m_t = lo + (hi - lo) * r.uniform(0.05, 0.95)
            if m_t >= self.E - MIN:
                chain = chain[:chain.index(old) + 1]
                break
            tg = list(targets)
            if r.random() < 0.5 and new.targets != old.targets:
                tg = [t for t in new.targets if t in targets or t not in old.targets]
                if tg != targets:
                    targets = tg
            evs.append(Ev(m_t, "M", new.wid, list(targets), delivery, lals, new))
            cur = m_t
        tp.chain = chain
        last_w = chain[-1]
        # when the task stops
        if r.random() < ag.p_early_stop:
            lo = cur + H * 6
            stop = lo + (last_w.vt - lo) * r.random() if last_w.vt > lo else last_w.vt - MIN * r.randint(5, 50)
        elif r.random() < 0.4:
            stop = last_w.vt + MIN * r.randint(2, 55)
            if not tp.near:
                tp.near = "deactivated within the grace after the warrant ended"
        else:
            stop = last_w.vt - MIN * r.randint(5, 2880)
        if stop <= cur + MIN * 10:
            stop = cur + MIN * r.randint(10, 50)
            if stop > last_w.vt:
                return None
        # background Modifies inside the task's life
        mods: list[Ev] = []
        if pending:
            span_w = self.span_of(evs, chain[0], stop)
            if span_w:
                t = span_w[0] + (span_w[1] - span_w[0]) * r.uniform(0.1, 0.9)
                mods.append(Ev(t, "M", chain[0].wid, targets0 + pending, delivery, lals, chain[0]))
                if not tp.near:
                    tp.near = "Modify adding a target the warrant lists"
        if r.random() < 0.12:
            w = chain[0]
            span_w = self.span_of(evs, w, stop)
            if span_w and "content" in w.kinds and "metadata" in w.kinds:
                nd = "X2andX3" if delivery == "X2Only" else "X2Only"
                t = span_w[0] + (span_w[1] - span_w[0]) * r.uniform(0.1, 0.9)
                mods.append(Ev(t, "M", w.wid, list(targets0), nd, lals, w))
        evs = self.merge_mods(evs, mods)
        if stop < self.E:
            evs.append(Ev(stop, "D"))
        # reactivation within validity
        if r.random() < 0.1:
            evs = self.add_cycle(evs, self.S, self.E)
        tp.evs = evs
        if not self.valid_plan(tp):
            return None
        for w in {id(e.w): e.w for e in evs if e.w is not None}.values():
            w.named += 1
        self.tasks.append(tp)
        return tp

    @staticmethod
    def span_of(evs: list[Ev], w: Warrant, stop: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
        """Where the task runs under warrant w: from its first event naming w to the next switch or the stop."""
        ts = [e.ts for e in evs if e.w is w]
        if not ts:
            return None
        later = [e.ts for e in evs if e.ts > ts[0] and e.w is not w]
        end = min([*later, stop, w.vt])
        if end - ts[0] < H * 2:
            return None
        return ts[0] + MIN * 20, end - MIN * 20

    @staticmethod
    def merge_mods(evs: list[Ev], mods: list[Ev]) -> list[Ev]:
        """Insert Modifies; a later event carries forward the targets a Modify added (complete details)."""
        out = sorted(evs + mods, key=lambda e: e.ts)
        cur: list[tuple[str, str]] = []
        for e in out:
            if e.typ == "D":
                continue
            for t in cur:
                if t not in e.targets and e.w is not None and t in e.w.targets:
                    e.targets.append(t)
            cur = list(e.targets)
        return out

    def add_cycle(self, evs: list[Ev], lo: dt.datetime, hi: dt.datetime, gap_max_h: float = 72) -> list[Ev]:
        """A Deactivate and a re-Activate of the same xId inside one stretch (inside the warrant's validity)."""
        r = self.r
        active_spans = []
        for a, b in zip(evs, evs[1:], strict=False):
            if a.typ in "AM" and a.w is not None:
                s, e = max(a.ts, lo) + MIN * 15, min(b.ts, hi, a.w.vt) - MIN * 15
                if e - s > H and b.typ != "A":
                    active_spans.append((a, s, e))
        if not active_spans:
            return evs
        a, s, e = r.choice(active_spans)
        t = s + (e - s) * r.uniform(0.05, 0.7)
        g = min(H * r.uniform(0.1, gap_max_h), (e - t) * 0.8)
        if g < MIN * 3:
            return evs
        back = Ev(t + g, "A", a.liid, list(a.targets), a.delivery, a.lals, a.w)
        return sorted([*evs, Ev(t, "D"), back], key=lambda x: x.ts)

    def valid_plan(self, tp: TaskPlan) -> bool:
        """Events strictly increasing, inside the input window, alternating active state sensibly."""
        active = False
        prev = None
        for e in tp.evs:
            if prev is not None and e.ts <= prev + dt.timedelta(seconds=1):
                return False
            if e.ts < self.S or e.ts > self.E:
                return False
            if e.typ == "A" and active or e.typ in "MD" and not active:
                return False
            active = e.typ != "D"
            prev = e.ts
        return True
