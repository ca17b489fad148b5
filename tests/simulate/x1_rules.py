"""An independent reading of the interception contract's rules, for testing the simulator's truth.

It reads only the written files (warrants.csv, x1.jsonl) and applies the rules as the contract states
them; it shares no code with the simulator, so a truth.json it agrees with follows the rules.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

KIND = {"e164Number": "msisdn", "imsi": "imsi", "imei": "imei"}


def ts(text: str) -> datetime:
    d = datetime.fromisoformat(text)
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def norm(kind: str, value: str) -> tuple[str, str]:
    value = value.lstrip("+")
    return kind, value[:14] if kind == "imei" else value


@dataclass
class W:
    agency: str
    level: str
    kinds: set[str]
    valid_from: datetime
    valid_to: datetime
    targets: set[tuple[str, str]] = field(default_factory=set)


def read_warrants(path: Path) -> dict[str, W]:
    out: dict[str, W] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            w = out.setdefault(row["warrant_id"], W(row["agency"], row["authority_level"],
                                                     set(row["data_kinds"].split(";")), ts(row["valid_from"]),
                                                     ts(row["valid_to"])))
            w.targets.add(norm(row["target_kind"], row["target"]))
    return out


def read_messages(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def asks(m: dict[str, Any]) -> set[str]:
    out = set()
    if m["deliveryType"] in ("X2Only", "X2andX3"):
        out.add("metadata")
    if m["deliveryType"] in ("X3Only", "X2andX3"):
        out.add("content")
    if "LALS" in m.get("listOfServiceTypes", []):
        out.add("location")
    return out


def judge(warrants: dict[str, W], messages: list[dict[str, Any]], grace_s: int, factor: int) -> dict[str, str]:
    """Each task's class by the contract's rules."""
    by_task: dict[str, list[dict[str, Any]]] = {}
    for m in messages:
        by_task.setdefault(m["xId"], []).append(m)
    last = max(ts(m["messageTimestamp"]) for m in messages)
    errors: dict[str, set[int]] = {}
    first_named: dict[str, list[tuple[datetime, str]]] = {}
    for xid, msgs in by_task.items():
        msgs.sort(key=lambda m: ts(m["messageTimestamp"]))
        found = errors.setdefault(xid, set())
        named: dict[str, datetime] = {}
        for m in msgs:
            if m["messageType"] == "DeactivateTaskRequest":
                continue
            liid = m["listOfMediationDetails"][0]["lIID"]
            named.setdefault(liid, ts(m["messageTimestamp"]))
            w = warrants.get(liid)
            if w is None:
                found.add(1)
                continue
            for target in m["targetIdentifiers"]:
                ((k, v),) = target.items()
                if norm(KIND[k], v) not in w.targets:
                    found.add(2)
            if not asks(m) <= w.kinds:
                found.add(4)
        for liid, t in named.items():
            first_named.setdefault(liid, []).append((t, xid))
        for liid, s, e in stretches(msgs, last):
            w = warrants.get(liid)
            if w is not None and (s < w.valid_from or s > w.valid_to
                                  or (e - w.valid_to).total_seconds() > grace_s):
                found.add(3)
    for liid, named_by in first_named.items():
        w = warrants.get(liid)
        if w is None:
            continue
        for _, xid in sorted(named_by)[factor * len(w.targets):]:
            errors[xid].add(5)
    names = ["no_warrant", "wrong_identifier", "wrong_period", "wrong_data_type", "stretched"]
    return {xid: names[min(found) - 1] if found else "covered" for xid, found in errors.items()}


def stretches(msgs: list[dict[str, Any]], last: datetime) -> list[tuple[str, datetime, datetime]]:
    out = []
    liid: str | None = None
    since = last
    for m in msgs:
        t = ts(m["messageTimestamp"])
        kind = m["messageType"]
        if kind == "DeactivateTaskRequest":
            if liid is not None:
                out.append((liid, since, t))
                liid = None
            continue
        new = m["listOfMediationDetails"][0]["lIID"]
        if liid is None:
            if kind == "ActivateTaskRequest":
                liid, since = new, t
        elif new != liid:
            out.append((liid, since, t))
            liid, since = new, t
    if liid is not None:
        out.append((liid, since, last))
    return out


def report_counts(warrants: dict[str, W], messages: list[dict[str, Any]], start: datetime,
                  end: datetime) -> dict[str, dict[str, Any]]:
    """Per agency row of one quarter [start, end): tasks, started, ended, distinct targets, and the tasks by
    the data kinds and authority level of the details in force at the quarter's end."""
    by_task: dict[str, list[dict[str, Any]]] = {}
    for m in messages:
        by_task.setdefault(m["xId"], []).append(m)
    last = max(ts(m["messageTimestamp"]) for m in messages)
    rows: dict[str, dict[str, Any]] = {}
    targets: dict[str, set[tuple[str, str]]] = {}
    for msgs in by_task.values():
        active_since: datetime | None = None
        overlaps = False
        for m in msgs:
            t = ts(m["messageTimestamp"])
            if m["messageType"] == "ActivateTaskRequest" and active_since is None:
                active_since = t
            elif m["messageType"] == "DeactivateTaskRequest" and active_since is not None:
                overlaps |= active_since < end and t > start
                active_since = None
        if active_since is not None:
            overlaps |= active_since < end and last >= start
        if not overlaps:
            continue
        in_force = [m for m in msgs if m["messageType"] != "DeactivateTaskRequest"
                    and ts(m["messageTimestamp"]) <= end][-1]
        w = warrants.get(in_force["listOfMediationDetails"][0]["lIID"])
        agency = w.agency if w else "unknown"
        row = rows.setdefault(agency, {"tasks": 0, "started": 0, "ended": 0, "by_data_kind": {},
                                       "by_authority_level": {}})
        row["tasks"] += 1
        for kind in asks(in_force):
            row["by_data_kind"][kind] = row["by_data_kind"].get(kind, 0) + 1
        level = w.level if w else "unknown"
        row["by_authority_level"][level] = row["by_authority_level"].get(level, 0) + 1
        row["started"] += any(m["messageType"] == "ActivateTaskRequest"
                              and start <= ts(m["messageTimestamp"]) < end for m in msgs)
        row["ended"] += any(m["messageType"] == "DeactivateTaskRequest"
                            and start <= ts(m["messageTimestamp"]) < end for m in msgs)
        seen = targets.setdefault(agency, set())
        for m in msgs:
            for target in m.get("targetIdentifiers", []):
                ((k, v),) = target.items()
                seen.add(norm(KIND[k], v))
    for agency, row in rows.items():
        row["targets"] = len(targets[agency])
    return rows
