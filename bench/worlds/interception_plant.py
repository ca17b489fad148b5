"""The interception world's planted errors (classes 1-5, each on a task of its own) and agencies out of line
(class 6), on top of the background of ``interception_model``."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from typing import Any

from bench.worlds import interception_judge as J
from bench.worlds.interception_model import (
    DAY,
    GRACE_S,
    MIN,
    MSG_BUDGET,
    STRETCH_FACTOR,
    Agency,
    Ev,
    H,
    TaskPlan,
    WorldBase,
)


class PlantedWorld(WorldBase):
    """A world with its errors and agencies out of line planted (``build()``)."""

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

    # -- all of it ------------------------------------------------------------------------------------------

    def build(self) -> None:
        self.params: dict[str, Any] = {"days": self.days, "agencies": self.n_agencies, "regime": self.regime,
                                       "nes": len(self.nes), "admfs": len(self.admfs)}
        self.make_agencies()
        self.background()
        self.plant_out_of_line()
        self.plant_errors()
        self.params.update({"warrants": len(self.warrants), "tasks": len(self.tasks)})
