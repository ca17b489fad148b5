"""Hold every interception task against the warrant each of its stretches names, and give it its class.

The classes, in the order a task with several errors is counted under (the first applies):
1. ``no_warrant``: an lIID that names no warrant (such a task is class 1 only);
2. ``wrong_identifier``: an Activate/Modify names a target its warrant does not list with the same kind and
   value (a Modify that adds one included);
3. ``wrong_period``: a stretch starts before the warrant's ``valid_from`` (no grace), or after its
   ``valid_to`` (a reactivation after the warrant ended), or ends later than ``valid_to`` + grace (a
   Deactivate or a renewal that came too late, or no Deactivate by the last message of the input);
4. ``wrong_data_type``: content (X3) without ``content``, communications data (X2) without ``metadata``,
   location (LALS) without ``location``;
5. ``stretched``: a warrant named by more than ``factor`` × its listed targets tasks: ordered by the first
   time each named it (ties by xId), the tasks beyond that allowance.
A task with none is covered. The mediation details' start and end times are recorded, but bound nothing.

Tunables: ``grace`` (default 1 hour: a deployment's ADMF deactivates a few minutes late routinely; the
commissioner counts only what runs on past that), ``stretch_factor`` (default 4, the issue's: a warrant
may need a task per network element for each of its targets, and several elements carry one target).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from custodiet.context.warrants import Warrant
from custodiet.oversight.tasks import Message, Stretch, Task

CLASSES = ("no_warrant", "wrong_identifier", "wrong_period", "wrong_data_type", "stretched")
GRACE = timedelta(hours=1)
STRETCH_FACTOR = 4.0
UNKNOWN = "unknown"


@dataclass
class Error:
    klass: str
    reason: str  # one sentence, with the numbers
    stretch: Stretch
    messages: list[Message]  # the messages behind it


@dataclass
class Verdict:
    task: Task
    errors: list[Error] = field(default_factory=list)

    @property
    def error(self) -> Error | None:
        """The error the task is counted under: the first class it has."""
        return min(self.errors, key=lambda e: CLASSES.index(e.klass)) if self.errors else None

    @property
    def klass(self) -> str:
        return self.error.klass if self.error else "covered"


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"


def _stretch_errors(task: Task, s: Stretch, w: Warrant | None, grace: timedelta) -> list[Error]:
    if w is None:
        return [Error("no_warrant", f"task {task.xid} names lIID {s.liid!r}, which is no warrant", s, s.messages)]
    errors = []
    unlisted = [m for m in s.messages if m.targets - w.targets]
    if unlisted:
        count = len(set().union(*(m.targets - w.targets for m in unlisted)))
        errors.append(Error("wrong_identifier", f"task {task.xid} intercepts {count} target(s) that warrant "
                            f"{w.warrant_id} does not list", s, unlisted))
    if s.start < w.valid_from:
        errors.append(Error("wrong_period", f"task {task.xid} was activated under warrant {w.warrant_id} "
                            f"{_hours(w.valid_from - s.start)} before the warrant's validity began", s, s.messages[:1]))
    elif s.start > w.valid_to:
        errors.append(Error("wrong_period", f"task {task.xid} was activated under warrant {w.warrant_id} "
                            f"{_hours(s.start - w.valid_to)} after the warrant ended", s, s.messages[:1]))
    elif s.end > w.valid_to + grace:
        how = {"open": "and was still active at the last message", "renewal": "before it was renewed",
               "deactivate": "before it was deactivated"}[s.ended_by]
        errors.append(Error("wrong_period", f"task {task.xid} ran {_hours(s.end - w.valid_to)} past the end of "
                            f"warrant {w.warrant_id} {how} (grace {_hours(grace)})", s, s.messages[-1:]))
    asked = [m for m in s.messages if set(m.data_kinds) - w.data_kinds]
    if asked:
        kinds = sorted(set().union(*(set(m.data_kinds) - w.data_kinds for m in asked)))
        errors.append(Error("wrong_data_type", f"task {task.xid} asks for {', '.join(kinds)}, which warrant "
                            f"{w.warrant_id} does not authorise ({', '.join(sorted(w.data_kinds))})", s, asked))
    return errors


def judge(tasks: dict[str, Task], warrants: dict[str, Warrant], grace: timedelta = GRACE,
          stretch_factor: float = STRETCH_FACTOR) -> dict[str, Verdict]:
    """Every task's verdict, by xId."""
    verdicts = {xid: Verdict(t) for xid, t in tasks.items()}
    naming: dict[str, list[tuple[datetime, str, Stretch]]] = defaultdict(list)  # warrant -> first stretch per task
    for xid, task in tasks.items():
        first: dict[str, Stretch] = {}
        for s in task.stretches:
            w = warrants.get(s.liid or "")
            verdicts[xid].errors += _stretch_errors(task, s, w, grace)
            if w is not None:
                first.setdefault(w.warrant_id, s)
        for wid, s in first.items():
            naming[wid].append((s.start, xid, s))
    for wid, uses in naming.items():
        w = warrants[wid]
        allowance = int(stretch_factor * len(w.targets))
        for rank, (_, xid, s) in enumerate(sorted(uses, key=lambda u: (u[0], u[1])), 1):
            if rank > allowance:
                verdicts[xid].errors.append(Error(
                    "stretched", f"task {xid} is task {rank} under warrant {w.warrant_id}, which lists "
                    f"{len(w.targets)} target(s): more than {stretch_factor:g} tasks per target", s, s.messages[:1]))
    return verdicts


def agency_of(verdict: Verdict, warrants: dict[str, Warrant]) -> str:
    """The agency a finding about this task names: the warrant of its error's stretch, else of its last."""
    error = verdict.error
    stretch = error.stretch if error else verdict.task.stretches[-1] if verdict.task.stretches else None
    w = warrants.get(stretch.liid or "") if stretch else None
    return w.agency if w else UNKNOWN
