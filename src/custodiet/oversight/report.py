"""The transparency report of one calendar quarter: interception tasks by agency, authority level and data
kind, how many were covered by a valid warrant, the errors by class, and the longest-running tasks.

Periods are calendar quarters in UTC, ``[start, end)``. The definitions (the README documents the shape):
- ``tasks``: the tasks active at some moment of the quarter (an active interval runs from an Activate to its
  Deactivate; an open one to the last message of the input, inclusive); ``started``/``ended``: those with an
  Activate/a Deactivate inside the quarter;
- a task's row, authority level and data kinds are those of its details in force at the quarter's end (its
  latest Activate/Modify before it): the agency of the warrant its lIID names, else ``unknown``;
- ``targets``: distinct target pseudonyms over all the messages of the row's tasks;
- ``covered``: the row's tasks with no error of classes 1–5 (judged over the task's whole life);
  ``uncovered`` = tasks − covered; ``errors[class]``: the row's tasks counted under that class;
- ``totals``: the sums of the rows (a target in two agencies' tasks counts in both).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from custodiet.context.warrants import Warrant
from custodiet.ingest.interception.messages import ACTIVATE, DEACTIVATE
from custodiet.oversight.judge import CLASSES, UNKNOWN, Verdict
from custodiet.oversight.tasks import Task

DATA_KINDS = ("content", "metadata", "location")
COUNTS = ("tasks", "started", "ended", "targets", "covered", "uncovered")
LONGEST = 10


def quarter(period: str) -> tuple[datetime, datetime]:
    """``YYYY-Qn`` -> its [start, end) in UTC; ``ValueError`` for anything else."""
    match = re.fullmatch(r"(\d{4})-Q([1-4])", period.strip().upper())
    if not match:
        raise ValueError(f"period {period!r} is not a calendar quarter like 2026-Q3")
    year, q = int(match[1]), int(match[2])
    start = datetime(year, 3 * q - 2, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC) if q == 4 else datetime(year, 3 * q + 1, 1, tzinfo=UTC)
    return start, end


def quarter_of(moment: datetime) -> str:
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def active_in(task: Task, start: datetime, end: datetime) -> bool:
    return any(a < end and (d >= start if still_open else d > start) for a, d, still_open in task.intervals)


def _empty_row(agency: str) -> dict[str, Any]:
    return {"agency": agency, **dict.fromkeys(COUNTS, 0), "by_data_kind": dict.fromkeys(DATA_KINDS, 0),
            "by_authority_level": {}, "errors": dict.fromkeys(CLASSES, 0)}


def build_transparency(period: str, tasks: dict[str, Task], verdicts: dict[str, Verdict],
                       warrants: dict[str, Warrant], longest: int = LONGEST) -> dict[str, Any]:
    start, end = quarter(period)
    rows: dict[str, dict[str, Any]] = {}
    targets: dict[str, set[tuple[str, str]]] = {}
    running: list[tuple[float, str, str, datetime]] = []
    for xid, task in sorted(tasks.items()):
        if not active_in(task, start, end):
            continue
        details = task.in_force_before(end)
        w = warrants.get(details.liid or "") if details else None
        agency = w.agency if w else UNKNOWN
        level = (w.authority_level or UNKNOWN) if w else UNKNOWN
        row = rows.setdefault(agency, _empty_row(agency))
        row["tasks"] += 1
        row["started"] += any(m.kind == ACTIVATE and start <= m.ts < end for m in task.messages)
        row["ended"] += any(m.kind == DEACTIVATE and start <= m.ts < end for m in task.messages)
        for kind in details.data_kinds if details else ():
            row["by_data_kind"][kind] += 1
        row["by_authority_level"][level] = row["by_authority_level"].get(level, 0) + 1
        klass = verdicts[xid].klass
        if klass == "covered":
            row["covered"] += 1
        else:
            row["errors"][klass] += 1
        targets.setdefault(agency, set()).update(task.targets)
        since = task.intervals[0][0]
        until = min(max(d for _, d, _ in task.intervals), end)
        running.append(((until - since).total_seconds(), xid, agency, since))
    for agency, row in rows.items():
        row["uncovered"] = row["tasks"] - row["covered"]
        row["targets"] = len(targets[agency])
        row["by_authority_level"] = dict(sorted(row["by_authority_level"].items()))
    agencies = [rows[a] for a in sorted(rows)]
    running.sort(key=lambda r: (-r[0], r[1]))
    return {"period": quarter_of(start), "start": start.isoformat(), "end": end.isoformat(), "agencies": agencies,
            "totals": _totals(agencies),
            "longest": [{"xId": xid, "agency": agency, "since": since.isoformat(), "days": round(secs / 86400, 1)}
                        for secs, xid, agency, since in running[:longest]]}


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    levels: Counter[str] = Counter()
    for r in rows:
        levels.update(r["by_authority_level"])
    return {**{k: sum(r[k] for r in rows) for k in COUNTS},
            "by_data_kind": {k: sum(r["by_data_kind"][k] for r in rows) for k in DATA_KINDS},
            "by_authority_level": dict(sorted(levels.items())),
            "errors": {k: sum(r["errors"][k] for r in rows) for k in CLASSES}}
