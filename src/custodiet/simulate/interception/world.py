"""Builds a whole interception world and writes it: the one entry point of the simulator.

Every component draws from its own random stream (``Random("interception:<seed>:<component>")``), in a
fixed order, so the same config gives byte-identical files.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from custodiet.simulate.interception.config import ERROR_CLASSES, InterceptionConfig
from custodiet.simulate.interception.habits import Habits, draw_habits
from custodiet.simulate.interception.idents import IdentifierPool
from custodiet.simulate.interception.messages import message_dict
from custodiet.simulate.interception.model import SECOND, Task, Warrant, as_datetime, instant, new_uuid
from custodiet.simulate.interception.output import jsonl, warrants_csv, write_json, write_text, xml
from custodiet.simulate.interception.planting import Planter, plant_errors
from custodiet.simulate.interception.tasks import TaskBuilder
from custodiet.simulate.interception.truth import reports, task_agency
from custodiet.simulate.interception.warrants import issue_warrants

GENERATOR = "custodiet.simulate.interception"
RETRANSMIT = 0.01  # share of requests the ADMF sent twice, identically


@dataclass
class World:
    habits: list[Habits]
    warrants: list[Warrant]
    tasks: list[Task]
    out_of_line: dict[int, str]  # agency -> "growth" or "uncovered"
    start: int
    end: int


def build(cfg: InterceptionConfig) -> World:
    """The world in memory: agencies, warrants, tasks with planted errors, in time order."""
    cfg.validate()

    def rng(component: str) -> random.Random:
        return random.Random(f"interception:{cfg.seed}:{component}")

    end_dt = datetime(cfg.end.year, cfg.end.month, cfg.end.day, tzinfo=UTC) + timedelta(days=1)
    start, end = instant(end_dt - timedelta(days=cfg.days)), instant(end_dt)
    habits = draw_habits(rng("habits"), cfg.agencies)
    r = rng("out-of-line")
    out_of_line: dict[int, str] = {}
    if r.random() < cfg.out_of_line_chance:
        # Not the busiest agency (its errors would swamp the total), one of the next few.
        ranked = sorted(range(len(habits)), key=lambda a: (-habits[a].weight, a))
        out_of_line[r.choice(ranked[1:4])] = r.choice(("growth", "uncovered"))
    growth = next((a for a, how in out_of_line.items() if how == "growth"), None)
    uncovered = next((a for a, how in out_of_line.items() if how == "uncovered"), None)

    pool = IdentifierPool(rng("identifiers"))
    warrants = sorted(issue_warrants(rng("warrants"), habits, pool, cfg.warrants, start, end),
                      key=lambda w: (w.valid_from, w.warrant_id))
    tasks = TaskBuilder(rng("tasks"), cfg, habits, start, end, growth).build(warrants)
    plant_errors(Planter(rng("errors"), cfg, habits, pool, warrants, tasks, start, end), uncovered)
    _retransmit(rng("retransmit"), tasks)
    return World(habits, warrants, tasks, out_of_line, start, end)


def _retransmit(r: random.Random, tasks: list[Task]) -> None:
    for task in tasks:
        for m in task.msgs:
            if r.random() < RETRANSMIT:
                m.copies = 2


def ordered_messages(world: World, r: random.Random) -> list[dict[str, Any]]:
    """Every request as an X1 dict, in time order (a retransmission right after its original), with
    transaction ids given out in that order."""
    timeline = sorted(((m.t, task.xid, i) for task in world.tasks for i, m in enumerate(task.msgs)))
    by_xid = {task.xid: task for task in world.tasks}
    out = []
    for _, xid, i in timeline:
        task = by_xid[xid]
        m = task.msgs[i]
        m.txid = new_uuid(r)
        d = message_dict(task, m)
        out.extend([d] * m.copies)
    return out


def _long_form(h: Habits, kind: str) -> float:
    return h.plus if kind == "msisdn" else h.imei15 if kind == "imei" else 0.0


def _check(world: World, last: int, grace: int) -> None:
    """Planted facts that depend on the world's last message, checked once it is known."""
    ids = {w.warrant_id: w for w in world.warrants}
    for task in world.tasks:
        if task.variant == "never_deactivated":
            w = ids[task.last_details().liid]
            if w.valid_to + grace >= last:
                raise RuntimeError(f"task {task.xid}: planted as never deactivated but its warrant's grace "
                                   "runs past the last message")


def generate(cfg: InterceptionConfig, out: Path) -> dict[str, Any]:
    """Write the world described by ``cfg`` into ``out``; returns the truth document."""
    world = build(cfg)
    messages = ordered_messages(world, random.Random(f"interception:{cfg.seed}:transactions"))
    last = max(m.t for task in world.tasks for m in task.msgs)
    _check(world, last, cfg.grace_seconds * SECOND)
    names = [h.name for h in world.habits]
    ids = {w.warrant_id: w for w in world.warrants}
    r = random.Random(f"interception:{cfg.seed}:forms")
    forms = [[r.random() < _long_form(world.habits[w.agency], kind) for kind, _ in w.targets]
             for w in world.warrants]

    write_text(out / "warrants.csv", warrants_csv(world.warrants, world.habits, forms))
    write_text(out / "x1.jsonl", jsonl(messages))
    write_text(out / "x1.xml", xml(messages))
    classes = {c: 0 for c in ("covered", *ERROR_CLASSES)}
    tasks: dict[str, dict[str, str]] = {}
    for task in sorted(world.tasks, key=lambda t: t.xid):
        classes[task.cls] += 1
        entry = {"agency": task_agency(task, ids, names), "class": task.cls}
        if task.variant:
            entry["variant"] = task.variant
        tasks[task.xid] = entry
    truth: dict[str, Any] = {
        "world": "interception",
        "seed": cfg.seed,
        "generator": GENERATOR,
        "grace_seconds": cfg.grace_seconds,
        "stretch_factor": cfg.stretch_factor,
        "files": {"warrants": "warrants.csv", "x1_jsonl": ["x1.jsonl"], "x1_xml": ["x1.xml"]},
        "start": as_datetime(world.start).isoformat(),
        "end": as_datetime(world.end).isoformat(),
        "messages": len(messages),
        "warrants": len(world.warrants),
        "classes": classes,
        "tasks": tasks,
        "agencies_out_of_line": sorted(names[a] for a in world.out_of_line),
        "out_of_line_how": {names[a]: how for a, how in sorted(world.out_of_line.items())},
        "reports": reports(world.tasks, ids, names, last),
    }
    write_json(out / "truth.json", truth)
    return truth


__all__ = ["GENERATOR", "World", "build", "generate"]
