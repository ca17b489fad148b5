"""Planted errors: each decides its task's class as it makes it.

Classes 2-4 change an ordinary (covered) task in one way that breaks exactly one rule; class 1 adds tasks
under references that are no warrant (or switches a task onto one); class 5 adds tasks to a warrant beyond
its allowance. A task is changed at most once, and never one of a stretched warrant, so every task has
exactly the class it was given. The variants:

- ``no_warrant``: ``unissued_reference`` (a task activated under a number never issued, or a warrant
  number with two digits swapped), ``renewal_never_issued`` (a Modify switching onto a renewal that does
  not exist);
- ``wrong_identifier``: ``typo`` (one digit wrong in a target, for the task's whole first warrant),
  ``unlisted_added`` (a Modify adding a target the warrant does not list);
- ``wrong_period``: ``early_activation`` (before valid_from), ``late_deactivation`` (past valid_to + grace),
  ``reactivated_after_expiry``, ``never_deactivated`` (still active at the end, past valid_to + grace);
- ``wrong_data_type``: ``content_not_granted``, ``metadata_not_granted``, ``location_not_granted`` (the
  first warrant's messages ask for it), ``modify_asks_more`` (a later Modify asks for content);
- ``stretched``: ``beyond_allowance`` (the tasks after the first ``stretch_factor x targets`` to name it).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

from custodiet.simulate.interception.config import (
    ADMFS,
    CORE_NES,
    ERROR_MIX,
    IMS_NES,
    KIND_SETS,
    TARGET_KINDS,
    InterceptionConfig,
)
from custodiet.simulate.interception.habits import Habits
from custodiet.simulate.interception.idents import IdentifierPool
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
    Task,
    Warrant,
    as_datetime,
    new_uuid,
)
from custodiet.simulate.interception.tasks import delivery


class Planter:
    def __init__(self, rng: random.Random, cfg: InterceptionConfig, habits: list[Habits], pool: IdentifierPool,
                 warrants: list[Warrant], tasks: list[Task], start: int, end: int) -> None:
        self.rng, self.cfg, self.habits, self.pool = rng, cfg, habits, pool
        self.warrants = {w.warrant_id: w for w in warrants}
        self.tasks = tasks
        self.start, self.end = start, end
        self.grace = cfg.grace_seconds * SECOND

    # -- helpers ---------------------------------------------------------------------------------------

    def _mark(self, task: Task, cls: str, variant: str) -> bool:
        task.cls, task.variant = cls, variant
        task.msgs.sort(key=lambda m: m.t)
        return True

    def free_tasks(self, agency: int | None) -> list[Task]:
        """Covered tasks open to a planted error (of one agency, or of all), in random order."""
        out = [t for t in self.tasks if t.cls == "covered" and not t.locked
               and (agency is None or t.agency == agency)]
        self.rng.shuffle(out)
        return out

    def _last_stop(self, task: Task) -> tuple[Warrant, Msg, Msg] | None:
        """(warrant in force, the message before, the final Deactivate) when the task ends with one."""
        if len(task.msgs) < 2 or task.msgs[-1].kind != DEACTIVATE or task.msgs[-2].kind == DEACTIVATE:
            return None
        return self.warrants[task.last_details().liid], task.msgs[-2], task.msgs[-1]

    def _insert_modify(self, task: Task, change: Callable[[Details], Details | None]) -> bool:
        """A Modify between the task's first Activate and its next message (or a few days later)."""
        first = task.msgs[0]
        if first.kind != ACTIVATE or first.details is None:
            return False
        nxt = task.msgs[1].t if len(task.msgs) > 1 else min(self.end - HOUR, first.t + 5 * DAY)
        if nxt - first.t < 2 * MINUTE:
            return False
        d = change(first.details)
        if d is None:
            return False
        task.msgs.append(Msg(int(self.rng.uniform(first.t + MINUTE, nxt - MINUTE)), MODIFY, d))
        return True

    def _rewrite_first_warrant(self, task: Task, change: Callable[[Details], Details]) -> None:
        liid = task.liids()[0]
        for m in task.msgs:
            if m.details is not None and m.details.liid == liid:
                m.details = change(m.details)

    def _first_warrant(self, task: Task) -> Warrant | None:
        first = task.msgs[0]
        return self.warrants[first.details.liid] if first.kind == ACTIVATE and first.details else None

    # -- class 2 ---------------------------------------------------------------------------------------

    def wrong_identifier(self, task: Task, variant: str) -> bool:
        w = self._first_warrant(task)
        if w is None:
            return False
        listed = set(w.targets)
        if variant == "typo":
            d0 = task.msgs[0].details
            assert d0 is not None
            i = self.rng.randrange(len(d0.targets))
            wrong = self.pool.typo(d0.targets[i], listed)
            right = d0.targets[i]
            self._rewrite_first_warrant(task, lambda d: d.with_targets(
                tuple(wrong if x == right else x for x in d.targets)))
            return self._mark(task, "wrong_identifier", "typo")
        extra = self.pool.take(self.rng.choice(TARGET_KINDS))
        if extra in listed or not self._insert_modify(task, lambda d: d.with_targets((*d.targets, extra))):
            return False
        return self._mark(task, "wrong_identifier", "unlisted_added")

    # -- class 3 ---------------------------------------------------------------------------------------

    def wrong_period(self, task: Task, variant: str) -> bool:
        rng, end = self.rng, self.end
        if variant == "early_activation":
            w = self._first_warrant(task)
            if w is None:
                return False
            t = w.valid_from - int(rng.uniform(10 * MINUTE, 3 * DAY))
            if t < self.start:
                return False
            task.msgs[0].t = t
            return self._mark(task, "wrong_period", variant)
        stop = self._last_stop(task)
        if stop is None:
            return False
        w, before, deact = stop
        if variant == "late_deactivation":
            t = w.valid_to + self.grace + int(rng.uniform(15 * MINUTE, 10 * DAY))
            if t >= end - HOUR or t <= before.t:
                return False
            deact.t = t
        elif variant == "reactivated_after_expiry":
            t = max(w.valid_to, deact.t) + int(rng.uniform(HOUR, 10 * DAY))
            if t >= end - HOUR:
                return False
            task.msgs.append(Msg(t, ACTIVATE, task.last_details()))
            t2 = t + int(rng.uniform(HOUR, 5 * DAY))
            if t2 < end:
                task.msgs.append(Msg(t2, DEACTIVATE))
        elif variant == "never_deactivated":
            if w.valid_to + self.grace >= end - 2 * DAY:
                return False
            task.msgs.pop()
        else:
            raise ValueError(f"unknown wrong_period variant {variant!r}")
        return self._mark(task, "wrong_period", variant)

    # -- class 4 ---------------------------------------------------------------------------------------

    def wrong_data_type(self, task: Task, variant: str) -> bool:
        w = self._first_warrant(task)
        if w is None:
            return False
        lacks = {"content_not_granted": "content", "modify_asks_more": "content",
                 "metadata_not_granted": "metadata", "location_not_granted": "location"}[variant]
        if lacks in w.kinds:
            return False
        if variant == "modify_asks_more":
            if not self._insert_modify(task, lambda d: replace(d, delivery="X2andX3")):
                return False
        elif variant == "location_not_granted":
            self._rewrite_first_warrant(task, lambda d: replace(d, lals=True))
        else:
            self._rewrite_first_warrant(task, lambda d: replace(d, delivery="X2andX3"))
        return self._mark(task, "wrong_data_type", variant)

    # -- class 1 ---------------------------------------------------------------------------------------

    def _bogus_liid(self, agency: int, t: int) -> str:
        """A reference that is no warrant: a number never issued, or an issued one with two digits swapped."""
        code = self.habits[agency].code
        while True:
            if self.rng.random() < 0.5:
                liid = f"{code}-{as_datetime(t).year}-{self.rng.randrange(8000, 10000):04d}"
            else:
                real = self.rng.choice(sorted(self.warrants))
                i = self.rng.randrange(len(real) - 4, len(real) - 1)
                liid = real[:i] + real[i + 1] + real[i] + real[i + 2:]
            if liid not in self.warrants:
                return liid

    def no_warrant_task(self) -> Task:
        rng = self.rng
        agency = rng.choices(range(len(self.habits)), [h.weight for h in self.habits])[0]
        t = int(rng.uniform(self.start + HOUR, self.end - 2 * DAY))
        kinds = rng.choice(KIND_SETS)
        targets = tuple(self.pool.take(rng.choice(TARGET_KINDS)) for _ in range(rng.choice((1, 1, 2))))
        d = Details(self._bogus_liid(agency, t), targets, delivery(kinds, "full"), "location" in kinds, t,
                    t + 90 * DAY)
        task = Task(new_uuid(rng), agency, rng.choice(CORE_NES + IMS_NES), ADMFS[agency % len(ADMFS)])
        task.msgs.append(Msg(t, ACTIVATE, d))
        t_end = t + int(rng.uniform(HOUR, 40 * DAY))
        if t_end < self.end:
            task.msgs.append(Msg(t_end, DEACTIVATE))
        self.tasks.append(task)
        self._mark(task, "no_warrant", "unissued_reference")
        return task

    def renewal_never_issued(self, task: Task, variant: str = "renewal_never_issued") -> bool:
        stop = self._last_stop(task)
        if stop is None:
            return False
        w, before, deact = stop
        if w.renewal is not None or deact.t - before.t < 2 * MINUTE or before.details is None:
            return False
        d = replace(task.last_details(), liid=self._bogus_liid(w.agency, deact.t))
        task.msgs.append(Msg(int(self.rng.uniform(before.t + MINUTE, deact.t - MINUTE)), MODIFY, d))
        return self._mark(task, "no_warrant", "renewal_never_issued")

    # -- class 5 ---------------------------------------------------------------------------------------

    def stretch(self, naming: dict[str, list[tuple[int, Task]]], excess: int) -> list[Task]:
        """Tasks on one warrant beyond its allowance: ``excess`` of them are class 5 (ordered by when they
        first name it, after every task already naming it); returns all tasks added (the first ones fill
        the allowance and stay covered)."""
        rng, factor = self.rng, self.cfg.stretch_factor
        ids = sorted(naming)
        rng.shuffle(ids)
        for wid in ids:
            w = self.warrants[wid]
            named = naming[wid]
            if w.renewal is not None or w.renews is not None or len(w.targets) > 2:
                continue
            if any(t.cls != "covered" or t.locked or len(set(t.liids())) > 1 for _, t in named):
                continue
            latest = max(t for t, _ in named)
            room_end = min(w.valid_to - DAY, self.end - 2 * DAY)
            fill = factor * len(w.targets) - len(named)
            if fill < 0 or room_end - latest < 3 * DAY:
                continue
            draws = sorted(int(rng.uniform(latest + HOUR, room_end - DAY)) for _ in range(fill + excess))
            times = [t + i for i, t in enumerate(draws)]  # distinct, so the order of naming is plain
            added = []
            template = named[0][1]
            for i, t in enumerate(times):
                target = w.targets[i % len(w.targets)]
                base = template.msgs[0].details
                assert base is not None
                d = replace(base, targets=(target,))
                task = Task(new_uuid(rng), w.agency, rng.choice(CORE_NES + IMS_NES), template.admf, locked=True)
                task.msgs.append(Msg(t, ACTIVATE, d))
                t_end = min(t + int(rng.uniform(HOUR, 20 * DAY)), w.valid_to - MINUTE)
                if t_end < self.end:
                    task.msgs.append(Msg(t_end, DEACTIVATE))
                added.append(task)
            for _, t0 in named:
                t0.locked = True
            for i, task in enumerate(added):
                if i >= fill:
                    self._mark(task, "stretched", "beyond_allowance")
            self.tasks.extend(added)
            return added
        return []


def error_counts(total: int, share: float) -> dict[str, int]:
    """How many tasks of each class to plant for ``total`` ordinary tasks (at least one of each)."""
    n = max(len(ERROR_MIX), round(total * share))
    return {cls: max(1, round(n * w)) for cls, w in ERROR_MIX.items()}


def first_naming(tasks: list[Task]) -> dict[str, list[tuple[int, Task]]]:
    """Per lIID: (when each task first named it, the task)."""
    out: dict[str, list[tuple[int, Task]]] = {}
    for task in tasks:
        seen: set[str] = set()
        for m in task.msgs:
            if m.details is not None and m.details.liid not in seen:
                seen.add(m.details.liid)
                out.setdefault(m.details.liid, []).append((m.t, task))
    return out


# The variants of each class, taken in turn (a repeated name is planted more often).
VARIANTS = {
    "wrong_identifier": ("typo", "typo", "unlisted_added"),
    "wrong_period": ("early_activation", "late_deactivation", "reactivated_after_expiry", "never_deactivated",
                     "early_activation", "late_deactivation"),
    "wrong_data_type": ("content_not_granted", "location_not_granted", "modify_asks_more", "metadata_not_granted"),
}


def plant_errors(planter: Planter, uncovered_agency: int | None) -> None:
    """Every class 1-5 at the configured share; the agency whose uncovered share stands out gets about
    ``out_of_line_errors`` of its tasks wrong on top."""
    rng = planter.rng
    counts = error_counts(len(planter.tasks), planter.cfg.error_share)
    stretched = 0
    while stretched < counts["stretched"]:
        added = planter.stretch(first_naming(planter.tasks), rng.choice((2, 3)))
        if not added:
            break
        stretched += sum(t.cls == "stretched" for t in added)
    switched = counts["no_warrant"] // 2
    for _ in range(counts["no_warrant"] - switched):
        planter.no_warrant_task()
    _apply(planter, planter.renewal_never_issued, ("renewal_never_issued",), switched, None)
    makers = {"wrong_identifier": planter.wrong_identifier, "wrong_period": planter.wrong_period,
              "wrong_data_type": planter.wrong_data_type}
    for cls, make in makers.items():
        _apply(planter, make, VARIANTS[cls], counts[cls], None)
    if uncovered_agency is not None:
        mine = sum(t.agency == uncovered_agency for t in planter.tasks)
        extra = round(planter.cfg.out_of_line_errors * mine)
        for cls, make in makers.items():
            share = ERROR_MIX[cls] / sum(ERROR_MIX[c] for c in makers)
            _apply(planter, make, VARIANTS[cls], max(1, round(extra * share)), uncovered_agency)


def _apply(planter: Planter, make: Callable[[Task, str], bool], variants: tuple[str, ...], n: int,
           agency: int | None) -> None:
    """``n`` tasks changed by ``make``, the variants in turn; a variant no task fits gives way to the next."""
    free = planter.free_tasks(agency)
    for i in range(n):
        k = i % len(variants)
        for variant in variants[k:] + variants[:k]:
            if any(t.cls == "covered" and make(t, variant) for t in free):
                break
