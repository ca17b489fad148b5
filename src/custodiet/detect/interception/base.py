"""What every interception detector shares: the tasks, the warrants and their verdicts, computed once per run,
and the finding of one task's error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from custodiet.context.warrants import Warrant, read_warrants
from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.oversight.judge import GRACE, STRETCH_FACTOR, Verdict, agency_of, judge
from custodiet.oversight.tasks import Task, build_tasks, read_messages
from custodiet.store import Store

SHARED = "interception.judged"


@dataclass
class Judged:
    tasks: dict[str, Task]
    warrants: dict[str, Warrant]
    verdicts: dict[str, Verdict]

    def of_class(self, klass: str) -> list[Verdict]:
        return [v for _, v in sorted(self.verdicts.items()) if v.klass == klass]


def judged(ctx: DetectionContext) -> Judged:
    """The run's verdicts. The tunables ``grace_seconds`` and ``stretch_factor`` are shared by every
    interception detector: given to the run under ``interception``, else the deployment's settings
    (``[interception]`` in ``config.toml``), else the defaults."""
    def compute() -> Judged:
        grace, factor = settings(ctx)
        tasks = build_tasks(read_messages(ctx.con))
        warrants = read_warrants(ctx.store)
        return Judged(tasks, warrants, judge(tasks, warrants, grace, factor))

    result: Judged = ctx.once(SHARED, compute)
    return result


def judge_store(store: Store) -> Judged:
    """The verdicts over the newest signed state of ``store``, outside a detection run (reports, evaluation)."""
    ctx = DetectionContext.open(store)
    try:
        return judged(ctx)
    finally:
        ctx.con.close()


def settings(ctx: DetectionContext) -> tuple[timedelta, float]:
    """(grace, stretch factor) for this run."""
    config = ctx.store.config()
    grace = ctx.param("interception", "grace_seconds", config.number("interception", "grace_seconds"))
    factor = ctx.param("interception", "stretch_factor", config.number("interception", "stretch_factor"))
    return (timedelta(seconds=float(grace)) if grace is not None else GRACE,
            float(factor) if factor is not None else STRETCH_FACTOR)


def task_finding(detector_id: str, revision: int, severity: str, score: float, verdict: Verdict,
                 warrants: dict[str, Warrant]) -> Finding:
    """One finding for one task's error: the agency, the task's targets, the erring stretch, the reason and
    the events of the messages behind it."""
    error = verdict.error
    assert error is not None
    task = verdict.task
    ids = sorted({i for m in error.messages for i in m.event_ids})
    return Finding(detector_id, revision, agency_of(verdict, warrants), sorted(s for _, s in task.targets),
                   error.stretch.start, error.stretch.end, score, severity, error.reason, ids,
                   details={"xIds": [task.xid], "warrant": error.stretch.liid, "class": error.klass,
                            "stretch_ended_by": error.stretch.ended_by,
                            "sources": sorted({m.source for m in error.messages})})
