"""An independent interception-oversight world: warrants, the X1 task messages an operator's ADMF sent to its
network elements, and the oversight truth, written from the shared file contract and public descriptions of
real practice, importing nothing from ``custodiet``.

    python bench/worlds/interception_world.py --out DIR --seed N [--agencies N] [--tasks N] [--days N]
    python bench/worlds/interception_world.py --check DIR

writes ``warrants.csv``, ``x1.jsonl``, ``x1.xml`` (the same messages, in another order, as concatenated
``X1Request`` documents) and ``truth.json``. ``--check DIR`` reads the files back, recomputes every task's class
and every quarterly report with this world's own reading of the rules (``interception_judge``) and fails
unless they equal the truth. Deterministic per seed: the same seed gives byte-identical files.

What each part imitates, and where its numbers come from:

- **Messages** follow ETSI TS 103 221-1 (X1): ActivateTask/ModifyTask/DeactivateTask requests from an ADMF
  to the NE that hosts the task; a ModifyTask carries the complete task details; an xId lives on one NE.
  The XML uses the element names and order of the published schema (TS_103_221_01.xsd, as the JAXB classes
  generated from it in sipgate/li-lib-x1x2x3 and the X1 samples of public implementations show them):
  ``X1Request/x1RequestMessage[@xsi:type]`` with ``admfIdentifier, neIdentifier, messageTimestamp, version,
  x1TransactionId``, then ``taskDetails`` (``xId, targetIdentifiers, deliveryType, listOfDIDs,
  listOfMediationDetails, listOfServiceTypes``) or ``xId``. In that schema the mediation details are
  ``LIID, deliveryType (HI2Only|HI3Only|HI2andHI3), StartTime, EndTime``; ``--spec-mediation-names`` writes
  the contract's spelling (``lIID, startTime, endTime``) instead. Target identifiers are typed by
  TS 103 280 (``InternationalE164`` digits only, ``IMSI``, ``IMEI`` of 14 digits). Documents use a default
  namespace, ``ns1:`` or ``x1:`` prefixes, hold 1-40 messages each, and are concatenated in one file.
- **Warrants** follow the UK Investigatory Powers Act regime (targeted interception warrants of six months
  issued by a Secretary of State or Scottish Ministers, urgent warrants of five days) or, in other
  worlds, a court-order regime as the Telenor/Telia/Vodafone transparency reports describe it (court orders of
  one to three months, prosecutors' urgent orders of a few days). Renewals get a new warrant id; tasks move
  onto them with a ModifyTask before the old warrant ends (sometimes exactly at its end).
- **Agencies** differ in volume (log-normal weights), in their share of content and location warrants,
  several targets per warrant, several tasks per warrant on different NEs (switch, IMS core, packet core),
  how soon they activate after issue, how often they stop early, and how they write identifiers (``+`` or
  not, 14- or 15-digit IMEIs) and times (``Z``, an offset or no zone).
- **Planted errors** follow the commissioner's categories and their 2014 shares (IOCCO: wrong identifier 45%
  of reportable errors, wrong period 27%, wrong data type 13%; the rest here split between no warrant and
  stretched warrants), with a Dirichlet spread per world and an overall error rate of 0.4-6% of tasks: a
  digit slip in a number, the wrong person's number, a Modify adding an unlisted target; activation days
  before the warrant, running long after it, reactivation after expiry; content or location on a
  metadata-only warrant; an lIID typo or a made-up one; one warrant reused for many tasks.
- **Near misses** that are not errors are listed in truth (``near_misses``): deactivation late by less than
  the grace, a Modify adding a target the warrant lists, a renewal exactly at the old warrant's end, an
  activation at the very second a warrant starts.
- **Agencies out of line** (class 6) are planted in some worlds: one whose activations grow several-fold
  over the period while its warrants do not (deactivate/reactivate cycles on its running tasks, their density
  rising as t^2-t^4), or one whose share of uncovered tasks (25-50%) is many times its peers' (kept under 8%).
- **Noise**: retransmitted identical messages, files not in time order, deactivations minutes after a
  warrant ends, tasks still running at the end of the input, reactivations within validity.
- **Sizes**: 3-12 agencies, 100-3,000 warrants, 60-400 days; a default world stops at about 15k messages
  (well under 20k) and takes about a second; ``--tasks N`` scales it without that cap.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import math
import random
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.worlds import interception_judge as J  # noqa: E402

GENERATOR = "independent-interception-world/1"
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


class World:
    """Draws one world from a seed; ``build()`` plans everything, ``write(out)`` writes the files."""

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

    # -- planted errors -------------------------------------------------------------------------------------

    def candidates(self, ag: Agency | None = None, single: bool = False) -> list[TaskPlan]:
        return [t for t in self.tasks if t.mutable and t.intended == "covered" and not t.near
                and (ag is None or t.agency is ag) and (not single or len(t.chain) == 1)
                and not any(w.frozen for w in t.chain)]

    def mark(self, t: TaskPlan, klass: str, how: str) -> None:
        t.intended, t.how, t.mutable = klass, how, False

    def plant(self, klass: str, ag: Agency | None) -> bool:
        """Plant one error of `klass` on a background task (of agency `ag` if given); False if none fits."""
        r = self.r
        if klass == "no_warrant":
            if r.random() < 0.6:
                cands = self.candidates(ag, single=True)
                if not cands:
                    return False
                t = r.choice(cands)
                bad = self.typo(t.chain[0].wid)
                for e in t.evs:
                    if e.typ != "D":
                        e.liid = bad
                t.chain[0].named -= 1
                self.mark(t, klass, "lIID typo")
                return True
            return self.made_up_task(ag)
        if klass == "wrong_identifier":
            cands = self.candidates(ag)
            if not cands:
                return False
            t = r.choice(cands)
            how = r.choice(["digit slip", "wrong person's number", "Modify adding an unlisted target"])
            listed = {x for w in t.chain for x in w.targets}
            if how == "Modify adding an unlisted target":
                acts = [e for e in t.evs if e.typ in "AM"]
                span = self.span_of(t.evs, acts[-1].w, next((e.ts for e in t.evs if e.typ == "D" and
                                                             e.ts > acts[-1].ts), self.E)) if acts[-1].w else None
                if span is None:
                    how = "digit slip"
                else:
                    p = self.person()
                    bad_kind = r.choice(["msisdn", "msisdn", "imei"])
                    unlisted = (bad_kind, p[bad_kind])
                    last = acts[-1]
                    m = Ev(span[0] + (span[1] - span[0]) * r.uniform(0.1, 0.9), "M", last.liid,
                           [*last.targets, unlisted], last.delivery, last.lals, last.w)
                    t.evs = sorted([*t.evs, m], key=lambda e: e.ts)
                    after = False
                    for e in t.evs:
                        after = after or e is m
                        if after and e.typ in "AM" and unlisted not in e.targets:
                            e.targets.append(unlisted)
                    self.mark(t, klass, how)
                    return True
            kind, val = r.choice(t.evs[0].targets)
            if how == "digit slip":
                new = self.slip(kind, val)
            else:                                  # another case's number, or someone on no warrant at all
                others = [v for w in self.warrants if w.agency is t.agency for k, v in w.targets if k == kind]
                new = r.choice(others) if others and r.random() < 0.5 else self.person()[kind]
            if (kind, new) in listed:
                return False
            for e in t.evs:
                if e.typ != "D":
                    e.targets = [(kind, new) if x == (kind, val) else x for x in e.targets]
            self.mark(t, klass, how)
            return True
        if klass == "wrong_period":
            how = r.choice(["activated before the warrant", "kept running after expiry", "reactivated after expiry"])
            cands = self.candidates(ag)
            r.shuffle(cands)
            for t in cands[:200]:
                if how == "activated before the warrant":
                    w = t.evs[0].w
                    if w is None or w.vf < self.S + H * 12 or t.evs[0].ts - w.vf > DAY * 10:
                        continue
                    early = w.vf - max(H * r.uniform(2, 240), H)
                    if early < self.S + MIN:
                        continue
                    t.evs[0].ts = early
                    self.mark(t, klass, how)
                    return True
                last = t.evs[-1]
                w = t.chain[-1]
                if last.typ != "D" or t.evs[-2].w is not w:
                    continue
                room = self.E - (w.vt + dt.timedelta(seconds=GRACE_S))
                if room < DAY * 2 or last.ts > w.vt:
                    continue
                if how == "kept running after expiry":
                    late = w.vt + dt.timedelta(seconds=GRACE_S) + min(H * r.uniform(2, 24 * 30), room - DAY)
                    if r.random() < 0.3:
                        t.evs.pop()                 # never deactivated at all
                    else:
                        last.ts = late
                else:
                    back = w.vt + min(DAY * r.uniform(1, 20), room - DAY)
                    prev = t.evs[-2]
                    t.evs.append(Ev(back, "A", prev.liid, list(prev.targets), prev.delivery, prev.lals, prev.w))
                    if r.random() < 0.6:
                        t.evs.append(Ev(back + min(DAY * r.uniform(0.2, 10), (self.E - back) * 0.8), "D"))
                self.mark(t, klass, how)
                return True
            return False
        if klass == "wrong_data_type":
            cands = [t for t in self.candidates(ag) if len(t.chain) == 1
                     and ("content" not in t.chain[0].kinds or "location" not in t.chain[0].kinds)]
            if not cands:
                return False
            t = r.choice(cands)
            w = t.chain[0]
            if "content" not in w.kinds:
                how, nd, lals = "content on a metadata-only warrant", r.choice(["X2andX3", "X3Only"]), None
            else:
                how, nd, lals = "location on a warrant without location", None, True
            via_modify = r.random() < 0.3
            acts = [e for e in t.evs if e.typ != "D"]
            start = acts[len(acts) // 2] if via_modify and len(acts) > 1 else acts[0]
            on = False
            for e in t.evs:
                on = on or e is start
                if on and e.typ != "D":
                    e.delivery = nd or e.delivery
                    e.lals = lals if lals is not None else e.lals
            self.mark(t, klass, how + (" (by a Modify)" if start is not acts[0] else ""))
            return True
        raise ValueError(klass)

    def made_up_task(self, ag: Agency | None) -> bool:
        r = self.r
        ag = ag or r.choice(self.agencies)
        liid = r.choice(["PENDING", "URGENT-ORAL", f"TBC-{r.randint(1, 99)}", "TEST-0001",
                         f"{ag.name}-{self.S.year}-{r.randint(90000, 99999)}"])
        if liid in self.wids:
            return False
        self.made_up.append(liid)
        p = self.person()
        t0 = self.S + (self.E - self.S - DAY * 2) * r.random() + MIN
        tp = TaskPlan(self.uuid(), ag, r.choice(self.nes), [])
        d = r.choice(["X2Only", "X2andX3"])
        tp.evs = [Ev(t0, "A", liid, [("msisdn", p["msisdn"])], d, r.random() < 0.3, None)]
        stop = t0 + DAY * r.uniform(0.5, 60)
        if stop < self.E:
            tp.evs.append(Ev(stop, "D"))
        self.tasks.append(tp)
        self.mark(tp, "no_warrant", "made-up lIID")
        return True

    def stretch(self, m: int, ag: Agency | None = None) -> int:
        """One warrant reused for many tasks: add tasks on its listed targets until m are beyond the allowance."""
        r = self.r
        lo_t, hi_t = self.S + DAY, self.E - DAY * 2
        cands = []
        by_w: dict[int, list[TaskPlan]] = {}
        for t in self.tasks:
            for x in t.chain:
                by_w.setdefault(id(x), []).append(t)
        for w in self.warrants:
            if len(w.targets) > 2 or w.frozen or (ag is not None and w.agency is not ag):
                continue
            if min(w.vt, hi_t) - max(w.vf, lo_t) < DAY * 20:
                continue
            if all(t.chain == [w] and t.intended == "covered" for t in by_w.get(id(w), [])):
                cands.append(w)
        if not cands:
            return 0
        w = r.choice(cands)
        for t in self.tasks:
            if w in t.chain:
                t.mutable = False
        w.frozen = True
        need = STRETCH_FACTOR * len(w.targets) - w.named + m
        added = 0
        for _ in range(need * 3):
            if added >= need:
                break
            a, b = max(w.vf, lo_t), min(w.vt, hi_t)
            t0 = a + (b - a) * r.uniform(0.05, 0.8)
            tg = r.sample(w.targets, r.randint(1, len(w.targets)))
            d, lals = self.delivery_for(w.kinds, r)
            tp = TaskPlan(self.uuid(), w.agency, r.choice(self.nes), [w], mutable=False)
            tp.evs = [Ev(t0, "A", w.wid, tg, d, lals, w), Ev(t0 + (b - t0) * r.uniform(0.1, 0.9), "D")]
            if self.valid_plan(tp):
                self.tasks.append(tp)
                w.named += 1
                added += 1
        # the tasks beyond the allowance, by the first time each named the warrant
        mine = sorted((t for t in self.tasks if w in t.chain), key=lambda t: (t.evs[0].ts, t.xid))
        for t in mine[STRETCH_FACTOR * len(w.targets):]:
            self.mark(t, "stretched", f"one warrant reused for {len(mine)} tasks")
        return max(0, len(mine) - STRETCH_FACTOR * len(w.targets))

    def share(self, ag: Agency, extra: int = 0) -> float:
        mine = [t for t in self.tasks if t.agency is ag and t.intended != "no_warrant"]
        return (sum(t.intended != "covered" for t in mine) + extra) / max(1, len(mine))

    def plant_errors(self) -> None:
        r = self.r
        n_tasks = len(self.tasks)
        rate = math.exp(r.uniform(math.log(0.004), math.log(0.06)))
        shares = [r.gammavariate(a * 20, 1) for a in (0.08, 0.45, 0.27, 0.13, 0.07)]
        total = max(5, round(rate * n_tasks))
        counts = {c: max(1 if c == "stretched" else 2, round(total * s / sum(shares)))
                  for c, s in zip(J.CLASSES, shares, strict=True)}
        self.params["error_rate"] = round(rate, 4)
        self.params["planted_counts"] = dict(counts)
        weights = [sum(1 for t in self.tasks if t.agency is a) for a in self.agencies]
        big = sorted(self.agencies, key=lambda a: -weights[self.agencies.index(a)])[: max(1, len(self.agencies) // 2)]
        n_warrants = max(1, round(counts["stretched"] / 4))
        for _ in range(n_warrants):              # each stretched warrant carries 1-10 tasks beyond its allowance
            m = r.randint(1, 10)
            ag = r.choice(big)
            if ag.name not in self.out_of_line:
                m = min(m, max(1, int(0.06 * weights[self.agencies.index(ag)])))
            if self.stretch(m, ag) == 0:
                self.stretch(1)
        counts["stretched"] = sum(t.intended == "stretched" for t in self.tasks)
        weights = [w if w >= 30 else 0 for w in weights] if max(weights) >= 30 else weights
        for klass in J.CLASSES[:4]:
            for _ in range(counts[klass]):
                for _attempt in range(20):
                    ag = r.choices(self.agencies, weights)[0]
                    if ag.name not in self.out_of_line and self.share(ag) >= 0.08:
                        continue            # keep the peers' uncovered shares ordinary
                    if self.plant(klass, ag):
                        break
            for _attempt in range(200):        # every class at least once, wherever it fits
                if any(t.intended == klass for t in self.tasks) or self.plant(klass, None):
                    break

    # -- class 6 --------------------------------------------------------------------------------------------

    def plant_out_of_line(self) -> None:
        r = self.r
        kind = self.c6_kind
        self.params["out_of_line_kind"] = kind
        counts = Counter(t.agency.name for t in self.tasks)
        eligible = [a for a in self.agencies if counts[a.name] >= 40]
        r.shuffle(eligible)
        if kind in ("growth", "both") and eligible:
            eligible.sort(key=lambda a: -counts[a.name])     # a big agency: a small one's growth is noise
            g = eligible.pop(r.randint(0, min(1, len(eligible) - 1)))
            self.grow(g)
            self.out_of_line.append(g.name)
        if kind in ("uncovered", "both") and eligible:
            u = eligible.pop()
            share = r.uniform(0.25, 0.5)
            mine = [t for t in self.tasks if t.agency is u and t.intended != "no_warrant"]
            bad = sum(t.intended != "covered" for t in mine)
            tries = 0
            while bad < share * len(mine) and tries < 20 * len(mine):
                tries += 1
                if self.plant(r.choice(["wrong_identifier", "wrong_identifier", "wrong_period", "wrong_data_type"]),
                              u):
                    bad += 1
            self.class6[u.name] = {"kind": "uncovered share", "planted_share": round(bad / max(1, len(mine)), 3)}
            self.out_of_line.append(u.name)
        self.out_of_line.sort()

    def grow(self, g: Agency) -> None:
        """Activations of agency g grow several-fold over the period: deactivate/reactivate cycles whose density
        rises as a power of time, on its covered tasks, each inside one active stretch (so inside the warrant's
        validity)."""
        r = self.r
        k = r.uniform(2, 4)
        mine = [t for t in self.tasks if t.agency is g and t.intended == "covered" and t.mutable]
        base = sum(1 for t in mine for e in t.evs if e.typ == "A")
        n = int(base * r.uniform(4, 7))
        n_msgs = sum(len(t.evs) for t in self.tasks)
        if self.task_target is None:
            n = max(0, min(n, (MSG_BUDGET - n_msgs) // 2 - 200))
        span = (self.E - self.S).total_seconds()

        def cdf(x: dt.datetime) -> float:
            return min(1.0, max(0.0, (x - self.S).total_seconds() / span)) ** (k + 1)

        spans = []        # (task, event in force, start, end): where a cycle may go
        for t in mine:
            for a, b in zip(t.evs, [*t.evs[1:], None], strict=True):
                if a.typ == "D" or a.w is None:
                    continue
                s0 = a.ts + MIN * 15
                e0 = min(b.ts if b else self.E, a.w.vt, self.E) - MIN * 15
                if e0 - s0 > H:
                    spans.append((t, a, s0, e0))
        total = sum(cdf(e0) - cdf(s0) for _, _, s0, e0 in spans) or 1.0
        done = 0
        for t, a, s0, e0 in spans:
            lam = n * (cdf(e0) - cdf(s0)) / total
            c = int(lam) + (r.random() < lam - int(lam))
            if c == 0:
                continue
            lo, hi = cdf(s0), cdf(e0)
            times = sorted(self.S + dt.timedelta(seconds=span * (lo + (hi - lo) * r.random()) ** (1 / (k + 1)))
                           for _ in range(c))
            new = []
            for i, at in enumerate(times):
                nxt = times[i + 1] if i + 1 < len(times) else e0
                gap = min(H * r.uniform(0.1, 6), (nxt - at) * 0.5)
                if gap < MIN * 2 or at <= s0:
                    continue
                new += [Ev(at, "D"), Ev(at + gap, "A", a.liid, list(a.targets), a.delivery, a.lals, a.w)]
            old = t.evs
            t.evs = sorted([*t.evs, *new], key=lambda e: e.ts)
            if self.valid_plan(t):
                done += len(new) // 2
            else:
                t.evs = old
        self.class6[g.name] = {"kind": "activation growth", "ramp_power": round(k, 2), "cycles": done}

    # -- build and write ------------------------------------------------------------------------------------

    def build(self) -> None:
        self.params: dict[str, Any] = {"days": self.days, "agencies": self.n_agencies, "regime": self.regime,
                                       "nes": len(self.nes), "admfs": len(self.admfs)}
        self.make_agencies()
        self.background()
        self.plant_out_of_line()
        self.plant_errors()
        self.params.update({"warrants": len(self.warrants), "tasks": len(self.tasks)})

    def fmt_ts(self, t: dt.datetime, admf: str) -> str:
        off = self.admf_offset[admf]
        if off is None:
            return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        tz = dt.timezone(off)
        return t.astimezone(tz).isoformat(timespec="microseconds")

    def messages(self) -> list[dict[str, Any]]:
        out = []
        for t in self.tasks:        # nothing within two seconds of a quarter boundary: reports cut there
            for e in t.evs:
                q = quarter_start(e.ts + dt.timedelta(seconds=2))
                if abs((e.ts - q).total_seconds()) < 2:
                    e.ts = q + dt.timedelta(seconds=3)
            assert all(a.ts < b.ts for a, b in zip(t.evs, t.evs[1:], strict=False)), t.xid
        for t in self.tasks:
            admf = self.ne_admf[t.ne]
            for e in t.evs:
                m: dict[str, Any] = {
                    "messageType": {"A": "ActivateTaskRequest", "M": "ModifyTaskRequest",
                                    "D": "DeactivateTaskRequest"}[e.typ],
                    "messageTimestamp": self.fmt_ts(e.ts, admf), "admfIdentifier": admf, "neIdentifier": t.ne,
                    "version": self.admf_version[admf], "x1TransactionId": self.uuid(), "xId": t.xid}
                if e.typ != "D":
                    key = {"msisdn": "e164Number", "imsi": "imsi", "imei": "imei"}
                    m["targetIdentifiers"] = [{key[k]: v} for k, v in e.targets]
                    m["deliveryType"] = e.delivery
                    m["listOfDIDs"] = list(t.agency.dids)
                    if e.lals:
                        m["listOfServiceTypes"] = ["LALS"]
                    w = e.w
                    md = {"lIID": e.liid}
                    if w is not None:
                        md["startTime"] = self.fmt_ts(w.vf, admf)
                        md["endTime"] = self.fmt_ts(w.vt, admf)
                    else:
                        md["startTime"] = self.fmt_ts(e.ts, admf)
                        md["endTime"] = self.fmt_ts(e.ts + DAY * 90, admf)
                    m["listOfMediationDetails"] = [md]
                out.append((e.ts, m))
        out.sort(key=lambda p: (p[0], p[1]["xId"]))
        return [m for _, m in out]

    def disorder(self, msgs: list[dict[str, Any]], p: float) -> list[dict[str, Any]]:
        """Local disorder: some messages land up to 40 places later, as NE batches and retries interleave."""
        r = self.r
        out = list(msgs)
        for i in range(len(out) - 1):
            if r.random() < p:
                j = min(len(out) - 1, i + r.randint(1, 40))
                out[i], out[j] = out[j], out[i]
        return out

    def retransmit(self, msgs: list[dict[str, Any]], rate: float) -> list[dict[str, Any]]:
        r = self.r
        out = list(msgs)
        dups = sorted(r.sample(range(len(msgs)), max(1, int(len(msgs) * rate))))
        for k, i in enumerate(dups):
            pos = min(len(out), i + k + 1 + r.randint(0, 30))
            out.insert(pos, msgs[i])
        return out

    def warrant_rows(self) -> list[list[str]]:
        rows = []
        for w in sorted(self.warrants, key=lambda w: (w.vf, w.wid)):
            ag = w.agency

            def t(x: dt.datetime, ag: Agency = ag) -> str:
                if ag.tz == "Z":
                    return x.strftime("%Y-%m-%dT%H:%M:%SZ")
                if ag.tz == "+00:00":
                    return x.isoformat(timespec="seconds")
                if ag.tz == "local":
                    return x.astimezone(dt.timezone(H)).isoformat(timespec="seconds")
                return x.strftime("%Y-%m-%dT%H:%M:%S")
            for kind, v in w.targets:
                if kind == "msisdn" and self.r.random() < ag.plus:
                    v = "+" + v
                if kind == "imei" and self.r.random() < ag.imei15:
                    v = v + luhn_digit(v)
                rows.append([w.wid, ag.name, w.issuer, w.level, v, kind, ";".join(w.kinds), t(w.vf), t(w.vt)])
        return rows

    def xml(self, msgs: list[dict[str, Any]]) -> str:
        r = self.r
        styles = r.sample(["default", "ns1", "x1"], r.randint(1, 3))
        decl = r.choice(["always", "never", "some"])
        out = io.StringIO()
        i = 0
        while i < len(msgs):
            n = 1 if r.random() < 0.2 else r.randint(2, 40)
            chunk = msgs[i:i + n]
            i += n
            style = r.choice(styles)
            pretty = r.random() < 0.6
            if decl == "always" or decl == "some" and r.random() < 0.5:
                out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
            out.write(self.xml_doc(chunk, style, pretty))
            out.write("\n")
        return out.getvalue()

    def xml_doc(self, msgs: list[dict[str, Any]], style: str, pretty: bool) -> str:
        p = "" if style == "default" else style + ":"
        xmlns = f'xmlns="{J.X1_NS}"' if style == "default" else f'xmlns:{style}="{J.X1_NS}"'
        nl = "\n" if pretty else ""

        def ind(k: int) -> str:
            return "  " * k if pretty else ""

        def el(k: int, name: str, text: str) -> str:
            return f"{ind(k)}<{p}{name}>{escape(text)}</{p}{name}>{nl}"

        lid, st, et = ("lIID", "startTime", "endTime") if self.spec_names else ("LIID", "StartTime", "EndTime")
        hi = {"X2Only": "HI2Only", "X3Only": "HI3Only", "X2andX3": "HI2andHI3"}
        parts = [f'<{p}X1Request {xmlns} xmlns:xsi="{J.XSI_NS}">{nl}']
        for m in msgs:
            parts.append(f'{ind(1)}<{p}x1RequestMessage xsi:type="{p}{m["messageType"]}">{nl}')
            for k in ("admfIdentifier", "neIdentifier", "messageTimestamp", "version", "x1TransactionId"):
                parts.append(el(2, k, m[k]))
            if m["messageType"] == "DeactivateTaskRequest":
                parts.append(el(2, "xId", m["xId"]))
            else:
                parts.append(f"{ind(2)}<{p}taskDetails>{nl}")
                parts.append(el(3, "xId", m["xId"]))
                parts.append(f"{ind(3)}<{p}targetIdentifiers>{nl}")
                for tgt in m["targetIdentifiers"]:
                    (k, v), = tgt.items()
                    parts.append(f"{ind(4)}<{p}targetIdentifier>{nl}{el(5, k, v)}{ind(4)}</{p}targetIdentifier>{nl}")
                parts.append(f"{ind(3)}</{p}targetIdentifiers>{nl}")
                parts.append(el(3, "deliveryType", m["deliveryType"]))
                parts.append(f"{ind(3)}<{p}listOfDIDs>{nl}")
                parts.extend(el(4, "dId", d) for d in m["listOfDIDs"])
                parts.append(f"{ind(3)}</{p}listOfDIDs>{nl}")
                md = m["listOfMediationDetails"][0]
                parts.append(f"{ind(3)}<{p}listOfMediationDetails>{nl}{ind(4)}<{p}mediationDetails>{nl}")
                parts.append(el(5, lid, md["lIID"]))
                parts.append(el(5, "deliveryType", hi[m["deliveryType"]]))
                parts.append(el(5, st, md["startTime"]))
                parts.append(el(5, et, md["endTime"]))
                parts.append(f"{ind(4)}</{p}mediationDetails>{nl}{ind(3)}</{p}listOfMediationDetails>{nl}")
                if m.get("listOfServiceTypes"):
                    parts.append(f"{ind(3)}<{p}listOfServiceTypes>{nl}")
                    parts.extend(el(4, "serviceType", s) for s in m["listOfServiceTypes"])
                    parts.append(f"{ind(3)}</{p}listOfServiceTypes>{nl}")
                parts.append(f"{ind(2)}</{p}taskDetails>{nl}")
            parts.append(f"{ind(1)}</{p}x1RequestMessage>{nl}")
        parts.append(f"</{p}X1Request>")
        return "".join(parts)

    def write(self, out: Path) -> dict[str, Any]:
        r = self.r
        out.mkdir(parents=True, exist_ok=True)
        msgs = self.messages()
        msgs = self.retransmit(msgs, r.uniform(0.002, 0.02))
        jl = self.disorder(msgs, r.uniform(0.01, 0.15))
        xm = self.disorder(msgs, r.uniform(0.01, 0.15))
        buf = io.StringIO()
        wr = csv.writer(buf, lineterminator="\n")
        wr.writerow(["warrant_id", "agency", "issuer", "authority_level", "target", "target_kind", "data_kinds",
                     "valid_from", "valid_to"])
        wr.writerows(self.warrant_rows())
        (out / "warrants.csv").write_text(buf.getvalue(), encoding="utf-8")
        (out / "x1.jsonl").write_text("".join(json.dumps(m, separators=(",", ":")) + "\n" for m in jl),
                                      encoding="utf-8")
        (out / "x1.xml").write_text(self.xml(xm), encoding="utf-8")
        # truth, from the planted plan, checked against this world's reading of the rules
        warrants = J.read_warrants(out / "warrants.csv")
        tasks, reports, _ = J.truth_from(msgs, warrants, GRACE_S, STRETCH_FACTOR)
        wrong = [(t.xid, t.intended, t.how, tasks[t.xid]["class"]) for t in self.tasks
                 if tasks[t.xid]["class"] != t.intended]
        if wrong:
            raise AssertionError(f"seed {self.seed}: planted classes the rules do not confirm: {wrong[:5]}")
        near = sorted(t.xid for t in self.tasks if t.near and t.intended == "covered")
        truth = {
            "world": "interception", "seed": self.seed, "generator": GENERATOR,
            "grace_seconds": GRACE_S, "stretch_factor": STRETCH_FACTOR,
            "files": {"warrants": "warrants.csv", "x1_jsonl": ["x1.jsonl"], "x1_xml": ["x1.xml"]},
            "tasks": tasks,
            "agencies_out_of_line": self.out_of_line,
            "reports": reports,
            "near_misses": near,
            "near_miss_kinds": dict(sorted(Counter(t.near for t in self.tasks if t.xid in set(near)).items())),
            "planted": [{"xId": t.xid, "class": t.intended, "how": t.how}
                        for t in sorted(self.tasks, key=lambda t: t.xid) if t.intended != "covered"],
            "class6": self.class6,
            "params": {**self.params, "start": self.S.isoformat(), "end": self.E.isoformat(),
                       "messages": len(msgs), "unique_messages": len({J.canonical(m) for m in msgs}),
                       "xml_mediation_names": "contract" if self.spec_names else "xsd"},
        }
        (out / "truth.json").write_text(json.dumps(truth, indent=1, sort_keys=False) + "\n", encoding="utf-8")
        return truth


def generate(out: Path, seed: int, agencies: int | None = None, tasks: int | None = None, days: int | None = None,
             spec_names: bool = False) -> dict[str, Any]:
    """Build the world of `seed` and write it into `out`; returns the truth."""
    w = World(seed, agencies, tasks, days, spec_names)
    w.build()
    return w.write(out)


# ---- self-check ---------------------------------------------------------------------------------------------


def activation_growth(tasks: dict[str, J.Task], warrants: dict[str, J.Warrant], truth: dict[str, Any],
                      start: dt.datetime, end: dt.datetime) -> dict[str, dict[str, float]]:
    """Per agency: activations and warrants starting in the last quarter of the period over the first quarter,
    and the share of uncovered tasks."""
    q = (end - start) / 4
    out: dict[str, dict[str, float]] = {}
    acts: Counter[tuple[str, int]] = Counter()
    for x, t in tasks.items():
        ag = truth["tasks"][x]["agency"]
        for ts, m in t.msgs:
            if m["messageType"] == "ActivateTaskRequest":
                acts[(ag, 0 if ts < start + q else 3 if ts >= end - q else 1)] += 1
    wcount: Counter[tuple[str, int]] = Counter()
    for w in warrants.values():
        if start <= w.valid_from < start + q:
            wcount[(w.agency, 0)] += 1
        elif end - q <= w.valid_from < end:
            wcount[(w.agency, 3)] += 1
    per = Counter(v["agency"] for v in truth["tasks"].values())
    unc = Counter(v["agency"] for v in truth["tasks"].values() if v["class"] != "covered")
    for ag in sorted(per):
        if ag == "unknown":
            continue
        out[ag] = {"activation_growth": round((acts[(ag, 3)] + 1) / (acts[(ag, 0)] + 1), 2),
                   "warrant_growth": round((wcount[(ag, 3)] + 1) / (wcount[(ag, 0)] + 1), 2),
                   "uncovered_share": round(unc[ag] / per[ag], 3), "tasks": per[ag]}
    return out


def check(out: Path) -> dict[str, Any]:
    """Re-read the files, recompute the truth from them alone, and assert it equals truth.json."""
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    warrants = J.read_warrants(out / truth["files"]["warrants"])
    jl = [m for f in truth["files"]["x1_jsonl"] for m in J.read_jsonl(out / f)]
    xm = [m for f in truth["files"]["x1_xml"] for m in J.read_xml(out / f)]
    cj, cx = Counter(J.canonical(m) for m in jl), Counter(J.canonical(m) for m in xm)
    assert cj == cx, f"JSON and XML hold different messages: {len(cj - cx)} only in JSON, {len(cx - cj)} only in XML"
    assert jl != sorted(jl, key=lambda m: J.parse_ts(m["messageTimestamp"])), "JSON lines are in perfect time order"
    tasks, reports, objs = J.truth_from(jl, warrants, truth["grace_seconds"], truth["stretch_factor"])
    assert tasks == truth["tasks"], "task classes differ from truth"
    strip = lambda rep: {k: {kk: vv for kk, vv in v.items() if kk != "longest"} for k, v in rep.items()}  # noqa: E731
    assert strip(reports) == strip(truth["reports"]), "reports differ from truth"
    for x in truth["near_misses"]:
        assert tasks[x]["class"] == "covered", x
    for c in J.CLASSES:
        assert any(v["class"] == c for v in tasks.values()), f"no task of class {c}"
    start, end = J.parse_ts(truth["params"]["start"]), J.parse_ts(truth["params"]["end"])
    assert J.quarter_of(start) != J.quarter_of(end), "the period does not cross a quarter boundary"
    assert len(reports) >= 2, "tasks in one quarter only"
    stats = activation_growth(objs, warrants, truth, start, end)
    peers = sorted(s["uncovered_share"] for a, s in stats.items() if a not in truth["agencies_out_of_line"])
    med = peers[len(peers) // 2] if peers else 0.0
    for ag, c6 in truth["class6"].items():
        s = stats[ag]
        if c6["kind"] == "activation growth":
            assert s["activation_growth"] >= 3 * max(1.0, s["warrant_growth"]), (ag, s)
        else:
            assert s["uncovered_share"] >= max(0.2, 3 * med), (ag, s, med)
    for ag, s in stats.items():
        if ag not in truth["agencies_out_of_line"] and s["tasks"] >= 25:
            assert s["uncovered_share"] < 0.2, (ag, s)
        if ag not in truth["agencies_out_of_line"] and s["tasks"] >= 60:
            assert s["activation_growth"] < 2 * max(1.0, s["warrant_growth"]), (ag, s)
    return {"tasks": len(tasks), "messages": sum(cj.values()), "classes": dict(Counter(v["class"] for v in
                                                                                        tasks.values())),
            "quarters": sorted(reports), "agencies": stats}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, help="folder to write the world into")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--agencies", type=int, help="number of agencies (default: drawn, 3-12)")
    ap.add_argument("--tasks", type=int, help="about this many tasks (default: drawn, <= ~20k messages)")
    ap.add_argument("--days", type=int, help="period length in days (default: drawn, 60-400)")
    ap.add_argument("--spec-mediation-names", action="store_true",
                    help="write lIID/startTime/endTime in the XML instead of the XSD's LIID/StartTime/EndTime")
    ap.add_argument("--check", type=Path, metavar="DIR", help="re-read a written world and verify its truth")
    a = ap.parse_args(argv)
    if a.check:
        res = check(a.check)
        print(json.dumps({k: v for k, v in res.items() if k != "agencies"}))
        return 0
    if a.out is None:
        ap.error("--out or --check is required")
    truth = generate(a.out, a.seed, a.agencies, a.tasks, a.days, a.spec_mediation_names)
    p = truth["params"]
    print(f"seed {a.seed}: {p['agencies']} agencies, {p['warrants']} warrants, {p['tasks']} tasks, "
          f"{p['messages']} messages over {p['days']} days; out of line: {truth['agencies_out_of_line']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
