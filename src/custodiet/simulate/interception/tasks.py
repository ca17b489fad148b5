"""The agencies' ordinary work: X1 tasks that their warrants cover.

Each warrant chain (a warrant and its renewals) is worked by *groups*: one group per target, or one group
for all targets when the agency bundles them. A group is provisioned on one to a few network elements,
each element holding a task of its own (its own xId) with the same timeline a few seconds apart.

A group's timeline: Activate some minutes or hours after its warrant starts; maybe a Modify changing the
delivery (or adding a listed target held back at first); maybe a pause (Deactivate, later Activate)
within validity; at the warrant's end either a Modify switching the lIID onto the renewal, or a
Deactivate: early (the investigation ended), on time, or late by minutes within the grace. Anything
planned after the end of the world does not happen, which leaves tasks open at the end.

By construction every task here is covered: listed targets of the right kind, data kinds the warrant
grants, stretches inside validity (plus grace at the end), and at most ``stretch_factor`` tasks per
group, so a warrant never carries more than ``stretch_factor`` tasks per listed target.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from custodiet.simulate.interception.config import ADMFS, CORE_NES, IMS_NES, LOC_NES, InterceptionConfig
from custodiet.simulate.interception.habits import Habits
from custodiet.simulate.interception.model import (
    ACTIVATE,
    DAY,
    DEACTIVATE,
    HOUR,
    MINUTE,
    MODIFY,
    SECOND,
    Details,
    Msg,
    Target,
    Task,
    Warrant,
    new_uuid,
)

# Events of a group's timeline (before they become one task's messages).
START, CHANGE, PAUSE, RESUME, SWITCH, STOP = range(6)


@dataclass
class Role:
    """One network element's task in a group: which element, and how it asks for data."""

    ne: str
    location_only: bool  # a location element: X2Only + LALS
    pref: str  # core elements: "full" (X2andX3 when content is granted), "x2" or "x3"
    lals: bool  # core elements: ask LALS too when location is granted


def delivery(kinds: tuple[str, ...], pref: str) -> str:
    content, metadata = "content" in kinds, "metadata" in kinds
    if content and metadata:
        return {"full": "X2andX3", "x2": "X2Only", "x3": "X3Only"}[pref]
    return "X3Only" if content else "X2Only"


def details_for(w: Warrant, targets: tuple[Target, ...], role: Role, upgraded: bool) -> Details:
    if role.location_only:
        return Details(w.warrant_id, targets, "X2Only", True, w.valid_from, w.valid_to)
    pref = "full" if upgraded else role.pref
    return Details(w.warrant_id, targets, delivery(w.kinds, pref), role.lals and "location" in w.kinds,
                   w.valid_from, w.valid_to)


class TaskBuilder:
    def __init__(self, rng: random.Random, cfg: InterceptionConfig, habits: list[Habits], start: int, end: int,
                 growth_agency: int | None) -> None:
        self.rng, self.cfg, self.habits = rng, cfg, habits
        self.start, self.end = start, end
        self.growth_agency = growth_agency
        self.tasks: list[Task] = []

    def growth(self, w: Warrant) -> float:
        """0 for ordinary agencies; for the agency whose activations outgrow its warrants, how far into
        the world the warrant starts (0..1)."""
        if w.agency != self.growth_agency:
            return 0.0
        return (w.valid_from - self.start) / (self.end - self.start)

    def build(self, warrants: list[Warrant]) -> list[Task]:
        for w in warrants:
            if w.renews is None:
                self.chain(w)
        return self.tasks

    def chain(self, head: Warrant) -> None:
        h = self.habits[head.agency]
        if self.rng.random() < h.bundled:
            held = len(head.targets) > 1 and self.rng.random() < 0.3
            self.group(head, list(head.targets), bundled=True, held_back=held)
            return
        seen: set[Target] = set()
        w: Warrant | None = head
        while w is not None:
            for target in w.targets:
                if target not in seen:
                    seen.add(target)
                    self.group(w, [target], bundled=False, held_back=False)
            w = w.renewal

    def timeline(self, w: Warrant, h: Habits) -> list[tuple[int, int, Warrant]]:
        """The group's events (time, event, warrant in force after it), without cutting at the world end."""
        rng, grace = self.rng, self.cfg.grace_seconds * SECOND
        g = self.growth(w)
        t = w.valid_from + int(max(1.0, rng.lognormvariate(0, 1.0) * h.delay_minutes) * MINUTE)
        if t > w.valid_to - HOUR:
            t = w.valid_from + int(rng.uniform(1, 30) * MINUTE)
        events = [(t, START, w)]
        first = True
        while True:
            seg_start = t
            nxt = w.renewal
            t_end, ev = 0, STOP
            if nxt is not None and rng.random() < 0.92:
                lo = max(nxt.valid_from, seg_start + MINUTE)
                late = grace >= 10 * MINUTE and rng.random() < h.late_end
                hi = w.valid_to + int(rng.uniform(MINUTE, grace - 5 * MINUTE)) if late else w.valid_to
                if lo < hi:
                    t_end, ev = int(rng.uniform(lo, hi)), SWITCH
            if ev == STOP:
                r = rng.random()
                if r < h.early_end and w.valid_to - DAY > seg_start + 2 * HOUR:
                    t_end = int(rng.uniform(seg_start + 2 * HOUR, w.valid_to - DAY))
                elif r < h.early_end + h.late_end and grace >= 10 * MINUTE:
                    t_end = w.valid_to + int(rng.uniform(MINUTE, grace - 5 * MINUTE))
                else:
                    t_end = max(w.valid_to - int(rng.uniform(0, 12) * HOUR), seg_start + 10 * MINUTE)
            window_end = min(t_end, w.valid_to - MINUTE)
            span = window_end - seg_start
            if first and span > HOUR and rng.random() < h.change_delivery:
                events.append((seg_start + int(span * rng.uniform(0.05, 0.3)), CHANGE, w))
            pauses = 1 if rng.random() < h.reactivate else 0
            if g > 0:
                pauses += min(10, int(rng.expovariate(1 / (0.1 + 8 * g * g))))
            if span > HOUR and pauses:
                times = sorted(seg_start + int(span * rng.uniform(0.35, 0.95)) for _ in range(2 * pauses))
                events += [(tp, PAUSE if i % 2 == 0 else RESUME, w) for i, tp in enumerate(times)]
            first = False
            if ev == SWITCH:
                assert nxt is not None
                events.append((t_end, SWITCH, nxt))
                w, t = nxt, t_end
                continue
            events.append((t_end, STOP, w))
            return events

    def roles(self, w: Warrant, h: Habits) -> list[Role]:
        rng = self.rng
        prefs = ("full", "full", "full", "x2", "x3")
        separate = "location" in w.kinds and rng.random() < h.separate_location
        core = rng.sample(CORE_NES + IMS_NES, len(CORE_NES + IMS_NES))
        out = [Role(core[0], False, rng.choice(prefs), not separate)]
        if separate:
            out.append(Role(rng.choice(LOC_NES), True, "full", False))
        extra = (rng.random() < h.second_ne) + int(rng.random() < 2 * self.growth(w)) * 2
        for ne in core[1:1 + extra]:
            out.append(Role(ne, False, out[0].pref, out[0].lals))
        return out[: self.cfg.stretch_factor]

    def group(self, w: Warrant, targets: list[Target], *, bundled: bool, held_back: bool) -> None:
        h = self.habits[w.agency]
        events = self.timeline(w, h)
        for k, role in enumerate(self.roles(w, h)):
            offset = k * int(self.rng.uniform(0.3, 4) * SECOND) + self.rng.randrange(SECOND)
            admf = ADMFS[w.agency % len(ADMFS)]
            task = Task(new_uuid(self.rng), w.agency, role.ne, admf)
            upgraded, held = False, held_back
            current: Details | None = None
            for t, ev, wt in events:
                t += offset
                if t >= self.end:
                    break
                tg = tuple(wt.targets) if bundled else tuple(targets)
                if held:
                    tg = tg[:-1]
                if ev == CHANGE:
                    upgraded, held = True, False
                    tg = tuple(wt.targets) if bundled else tuple(targets)
                d = details_for(wt, tg, role, upgraded)
                if ev in (START, RESUME):
                    task.msgs.append(Msg(t, ACTIVATE, d))
                elif ev in (CHANGE, SWITCH):
                    if d != current:
                        task.msgs.append(Msg(t, MODIFY, d))
                else:
                    task.msgs.append(Msg(t, DEACTIVATE))
                current = d
            if task.msgs:
                self.tasks.append(task)
