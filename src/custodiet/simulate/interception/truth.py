"""truth.json's transparency reports, computed from the planted classes and the tasks' messages.

Nothing here judges a task: each task's class is the one planting gave it. This module only counts, per
calendar quarter, what the contract's report definitions ask for: tasks active in the quarter, started,
ended, their targets, data kinds and authority levels (from the details in force at the quarter's end),
covered and the errors by class.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from custodiet.simulate.interception.config import DATA_KINDS, ERROR_CLASSES
from custodiet.simulate.interception.model import (
    ACTIVATE,
    DAY,
    DEACTIVATE,
    Details,
    Target,
    Task,
    Warrant,
    as_datetime,
    instant,
)

LONGEST = 5


@dataclass
class Life:
    """What the reports need of one task."""

    task: Task
    intervals: list[tuple[int, int | None]]  # [activate, deactivate); None: open to the last message
    activates: list[int]
    deactivates: list[int]
    details: list[tuple[int, Details]]
    targets: set[Target]


def life(task: Task) -> Life:
    intervals: list[tuple[int, int | None]] = []
    since: int | None = None
    for m in task.msgs:
        if m.kind == ACTIVATE and since is None:
            since = m.t
        elif m.kind == DEACTIVATE and since is not None:
            intervals.append((since, m.t))
            since = None
    if since is not None:
        intervals.append((since, None))
    details = [(m.t, m.details) for m in task.msgs if m.details is not None]
    return Life(task, intervals, [m.t for m in task.msgs if m.kind == ACTIVATE],
                [m.t for m in task.msgs if m.kind == DEACTIVATE], details,
                {tg for _, d in details for tg in d.targets})


def quarter_of(t: int) -> tuple[int, int]:
    d = as_datetime(t)
    return d.year, (d.month - 1) // 3 + 1


def quarter_bounds(year: int, q: int) -> tuple[int, int]:
    start = datetime(year, 3 * q - 2, 1, tzinfo=UTC)
    end = datetime(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1, tzinfo=UTC)
    return instant(start), instant(end)


def _empty_row() -> dict[str, Any]:
    return {"tasks": 0, "started": 0, "ended": 0, "targets": 0, "covered": 0, "uncovered": 0,
            "by_data_kind": dict.fromkeys(DATA_KINDS, 0), "by_authority_level": {},
            "errors": dict.fromkeys(ERROR_CLASSES, 0)}


def report(lives: list[Life], warrants: dict[str, Warrant], names: list[str], year: int, q: int,
           last: int) -> dict[str, Any]:
    qs, qe = quarter_bounds(year, q)
    rows: dict[str, dict[str, Any]] = {}
    targets: dict[str, set[Target]] = {}
    longest: list[tuple[int, str, str, int]] = []
    for lf in lives:
        live = [(a, d) for a, d in lf.intervals if a < qe and (d > qs if d is not None else last >= qs)]
        if not live:
            continue
        in_force = [d for t, d in lf.details if t <= qe][-1]
        w = warrants.get(in_force.liid)
        agency = names[w.agency] if w else "unknown"
        row = rows.setdefault(agency, _empty_row())
        row["tasks"] += 1
        row["started"] += any(qs <= t < qe for t in lf.activates)
        row["ended"] += any(qs <= t < qe for t in lf.deactivates)
        targets.setdefault(agency, set()).update(lf.targets)
        cls = lf.task.cls
        if cls == "covered":
            row["covered"] += 1
        else:
            row["uncovered"] += 1
            row["errors"][cls] += 1
        for kind in in_force.asks():
            row["by_data_kind"][kind] += 1
        level = w.level if w else "unknown"
        row["by_authority_level"][level] = row["by_authority_level"].get(level, 0) + 1
        a, d = live[-1]
        until = min(qe, d if d is not None else last)
        longest.append((until - a, lf.task.xid, agency, a))
    for agency, row in rows.items():
        row["targets"] = len(targets[agency])
        row["by_authority_level"] = dict(sorted(row["by_authority_level"].items()))
    agencies = [{"agency": agency, **rows[agency]} for agency in sorted(rows)]
    totals = _empty_row()
    for row in rows.values():
        for key, value in row.items():
            if isinstance(value, dict):
                for k, n in value.items():
                    totals[key][k] = totals[key].get(k, 0) + n
            else:
                totals[key] += value
    totals["by_authority_level"] = dict(sorted(totals["by_authority_level"].items()))
    longest.sort(key=lambda x: (-x[0], x[1]))
    return {
        "period": f"{year}-Q{q}",
        "start": as_datetime(qs).isoformat(),
        "end": as_datetime(qe).isoformat(),
        "agencies": agencies,
        "totals": totals,
        "longest": [{"xId": xid, "agency": agency, "since": as_datetime(a).isoformat(), "days": round(span / DAY, 1)}
                    for span, xid, agency, a in longest[:LONGEST]],
    }


def reports(tasks: list[Task], warrants: dict[str, Warrant], names: list[str], last: int) -> dict[str, Any]:
    """One report per calendar quarter that any task is active in."""
    lives = [life(t) for t in tasks]
    first = min(a for lf in lives for a in lf.activates)
    y, q = quarter_of(first)
    end = quarter_of(last)
    out = {}
    while (y, q) <= end:
        rep = report(lives, warrants, names, y, q, last)
        if rep["agencies"]:
            out[rep["period"]] = rep
        y, q = (y + 1, 1) if q == 4 else (y, q + 1)
    return out


def task_agency(task: Task, warrants: dict[str, Warrant], names: list[str]) -> str:
    """The agency of the warrant the task's latest Activate/Modify names; ``unknown`` if it names none."""
    w = warrants.get(task.last_details().liid)
    return names[w.agency] if w else "unknown"
