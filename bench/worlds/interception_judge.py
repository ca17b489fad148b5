"""The interception world's own reading of the oversight rules: X1 messages and warrants in, task classes and
quarterly transparency reports out.

Written from the shared file contract (the rules section) and nothing else, so that the world's truth is an
independent second implementation. Also reads the world's files back (warrants CSV, X1 JSON lines and X1 XML)
for the generator's self-check.

A message is a plain dict in the JSON-lines form. ``canonical(msg)`` gives a hashable form that two readings of
the same message (JSON and XML) share, with times as aware UTC datetimes.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

X1_NS = "http://uri.etsi.org/03221/X1/2017/10"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
CLASSES = ("no_warrant", "wrong_identifier", "wrong_period", "wrong_data_type", "stretched")
KINDS = ("content", "metadata", "location")
ID_KIND = {"e164Number": "msisdn", "imsi": "imsi", "imei": "imei"}


def parse_ts(text: str) -> dt.datetime:
    """ISO 8601 to an aware UTC datetime; no zone means UTC."""
    t = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC)


def norm_target(kind: str, value: str) -> tuple[str, str]:
    """(kind, value) with `+` dropped from numbers and an IMEI's check digit dropped."""
    v = value.strip().lstrip("+")
    if kind == "imei" and len(v) == 15:
        v = v[:14]
    return kind, v


@dataclass
class Warrant:
    warrant_id: str
    agency: str
    issuer: str
    level: str
    kinds: frozenset[str]
    valid_from: dt.datetime
    valid_to: dt.datetime
    targets: set[tuple[str, str]] = field(default_factory=set)


def read_warrants(path: Path) -> dict[str, Warrant]:
    """warrants.csv: one row per (warrant, target)."""
    out: dict[str, Warrant] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            wid = row["warrant_id"]
            w = out.get(wid)
            if w is None:
                kinds = frozenset(k for k in row["data_kinds"].split(";") if k)
                w = out[wid] = Warrant(wid, row["agency"], row["issuer"], row["authority_level"], kinds,
                                       parse_ts(row["valid_from"]), parse_ts(row["valid_to"]))
            w.targets.add(norm_target(row["target_kind"], row["target"]))
    return out


# ---- messages -------------------------------------------------------------------------------------------------


def canonical(msg: dict[str, Any]) -> tuple:
    """A hashable form of one message that both X1 forms share (times in UTC, microseconds)."""
    head = (msg["messageType"], parse_ts(msg["messageTimestamp"]), msg["admfIdentifier"], msg["neIdentifier"],
            msg["x1TransactionId"], msg["xId"])
    if msg["messageType"] == "DeactivateTaskRequest":
        return head
    targets = tuple(sorted(next(iter(t.items())) for t in msg["targetIdentifiers"]))
    md = msg["listOfMediationDetails"][0]
    times = tuple(parse_ts(md[k]) if md.get(k) else None for k in ("startTime", "endTime"))
    return (*head, targets, msg["deliveryType"], tuple(msg.get("listOfServiceTypes") or ()), md["lIID"], *times)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


_DOC_SPLIT = re.compile(r"(?=<\?xml )|(?<=X1Request>)\s*(?=<)")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: ET.Element, name: str) -> ET.Element | None:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _text(el: ET.Element, name: str) -> str | None:
    c = _child(el, name)
    return None if c is None or c.text is None else c.text.strip()


def read_xml(path: Path) -> list[dict[str, Any]]:
    """Concatenated X1Request documents back into JSON-form messages (mediation element names as the XSD has
    them, `LIID`/`StartTime`/`EndTime`, or as the shared contract spells them, `lIID`/`startTime`/`endTime`)."""
    text = path.read_text(encoding="utf-8")
    out: list[dict[str, Any]] = []
    for doc in _DOC_SPLIT.split(text):
        if not doc.strip():
            continue
        root = ET.fromstring(doc.strip())
        if root.tag != f"{{{X1_NS}}}X1Request":
            raise ValueError(f"{path}: a document whose root is {root.tag}, not X1Request")
        for m in root:
            xtype = m.get(f"{{{XSI_NS}}}type", "").split(":")[-1]
            msg: dict[str, Any] = {"messageType": xtype}
            for k in ("messageTimestamp", "admfIdentifier", "neIdentifier", "version", "x1TransactionId"):
                msg[k] = _text(m, k)
            if xtype == "DeactivateTaskRequest":
                msg["xId"] = _text(m, "xId")
                out.append(msg)
                continue
            td = _child(m, "taskDetails")
            assert td is not None
            msg["xId"] = _text(td, "xId")
            tis = _child(td, "targetIdentifiers")
            assert tis is not None
            msg["targetIdentifiers"] = [{_local(c[0].tag): (c[0].text or "").strip()} for c in tis]
            msg["deliveryType"] = _text(td, "deliveryType")
            dids = _child(td, "listOfDIDs")
            msg["listOfDIDs"] = [(c.text or "").strip() for c in dids] if dids is not None else []
            lmd = _child(td, "listOfMediationDetails")
            assert lmd is not None
            md = lmd[0]
            msg["listOfMediationDetails"] = [{
                "lIID": _text(md, "LIID") or _text(md, "lIID"),
                "startTime": _text(md, "StartTime") or _text(md, "startTime"),
                "endTime": _text(md, "EndTime") or _text(md, "endTime")}]
            svc = _child(td, "listOfServiceTypes")
            if svc is not None:
                msg["listOfServiceTypes"] = [(c.text or "").strip() for c in svc]
            out.append(msg)
    return out


# ---- the rules ----------------------------------------------------------------------------------------------

_TYPE_ORDER = {"ActivateTaskRequest": 0, "ModifyTaskRequest": 1, "DeactivateTaskRequest": 2}


def kinds_asked(msg: dict[str, Any]) -> set[str]:
    d = msg["deliveryType"]
    k = set()
    if d in ("X2Only", "X2andX3"):
        k.add("metadata")
    if d in ("X3Only", "X2andX3"):
        k.add("content")
    if "LALS" in (msg.get("listOfServiceTypes") or ()):
        k.add("location")
    return k


def msg_targets(msg: dict[str, Any]) -> set[tuple[str, str]]:
    out = set()
    for t in msg["targetIdentifiers"]:
        (k, v), = t.items()
        out.add(norm_target(ID_KIND[k], v))
    return out


@dataclass
class Task:
    xid: str
    msgs: list[tuple[dt.datetime, dict[str, Any]]] = field(default_factory=list)
    intervals: list[tuple[dt.datetime, dt.datetime, bool]] = field(default_factory=list)  # start, end, open
    stretches: list[tuple[str, dt.datetime, dt.datetime]] = field(default_factory=list)  # lIID, start, end
    klass: str = "covered"


def build_tasks(messages: Iterable[dict[str, Any]]) -> tuple[dict[str, Task], dt.datetime]:
    """Group unique messages by xId in time order and cut active intervals and stretches."""
    seen: set[tuple] = set()
    uniq: list[tuple[dt.datetime, dict[str, Any]]] = []
    for m in messages:
        c = canonical(m)
        if c in seen:
            continue
        seen.add(c)
        uniq.append((c[1], m))
    uniq.sort(key=lambda p: (p[0], p[1]["xId"], _TYPE_ORDER[p[1]["messageType"]]))
    last = uniq[-1][0]
    tasks: dict[str, Task] = {}
    for ts, m in uniq:
        tasks.setdefault(m["xId"], Task(m["xId"])).msgs.append((ts, m))
    for t in tasks.values():
        active, liid = False, ""
        a_start = s_start = t.msgs[0][0]
        for ts, m in t.msgs:
            typ = m["messageType"]
            if typ == "DeactivateTaskRequest":
                if active:
                    t.intervals.append((a_start, ts, False))
                    t.stretches.append((liid, s_start, ts))
                    active = False
                continue
            new = m["listOfMediationDetails"][0]["lIID"]
            if not active:
                if typ == "ActivateTaskRequest":
                    active, a_start, s_start = True, ts, ts
                liid = new
            elif new != liid:
                t.stretches.append((liid, s_start, ts))
                liid, s_start = new, ts
        if active:
            t.intervals.append((a_start, last, True))
            t.stretches.append((liid, s_start, last))
    return tasks, last


def judge(tasks: dict[str, Task], warrants: dict[str, Warrant], grace_s: int, factor: int) -> None:
    """Set every task's class (first of classes 1..5 that applies, else covered)."""
    grace = dt.timedelta(seconds=grace_s)
    first_named: dict[str, dict[str, dt.datetime]] = defaultdict(dict)
    for t in tasks.values():
        errs: set[str] = set()
        for ts, m in t.msgs:
            if m["messageType"] == "DeactivateTaskRequest":
                continue
            liid = m["listOfMediationDetails"][0]["lIID"]
            w = warrants.get(liid)
            if w is None:
                errs.add("no_warrant")
                continue
            first_named[liid].setdefault(t.xid, ts)
            if not msg_targets(m) <= w.targets:
                errs.add("wrong_identifier")
            if not kinds_asked(m) <= w.kinds:
                errs.add("wrong_data_type")
        for liid, start, end in t.stretches:
            w = warrants.get(liid)
            if w is None:
                continue
            if start < w.valid_from or start > w.valid_to or end > w.valid_to + grace:
                errs.add("wrong_period")
        t.klass = next((c for c in CLASSES[:4] if c in errs), "covered")
    for liid, named in first_named.items():
        allowance = factor * len(warrants[liid].targets)
        order = sorted(named, key=lambda x: (named[x], x))
        for xid in order[allowance:]:
            if tasks[xid].klass == "covered":
                tasks[xid].klass = "stretched"


# ---- transparency reports -----------------------------------------------------------------------------------


def quarter_of(t: dt.datetime) -> tuple[int, int]:
    return t.year, (t.month - 1) // 3 + 1


def quarter_bounds(y: int, q: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(y, 3 * q - 2, 1, tzinfo=dt.UTC)
    end = dt.datetime(y + (q == 4), 1 if q == 4 else 3 * q + 1, 1, tzinfo=dt.UTC)
    return start, end


def _overlaps(iv: tuple[dt.datetime, dt.datetime, bool], qs: dt.datetime, qe: dt.datetime) -> bool:
    s, e, is_open = iv
    return s < qe and (e >= qs if is_open else e > qs)


def _iso(t: dt.datetime) -> str:
    return t.isoformat()


def task_agency(t: Task, warrants: dict[str, Warrant],
                before: dt.datetime | None = None) -> tuple[Warrant | None, dict[str, Any]]:
    """The warrant and message of the task's details in force: its latest Activate/Modify (before `before`)."""
    last = None
    for ts, m in t.msgs:
        if before is not None and ts >= before:
            break
        if m["messageType"] != "DeactivateTaskRequest":
            last = m
    assert last is not None
    return warrants.get(last["listOfMediationDetails"][0]["lIID"]), last


def _empty_row() -> dict[str, Any]:
    return {"tasks": 0, "started": 0, "ended": 0, "targets": 0, "covered": 0, "uncovered": 0,
            "by_data_kind": dict.fromkeys(KINDS, 0), "by_authority_level": {},
            "errors": dict.fromkeys(CLASSES, 0)}


def reports(tasks: dict[str, Task], warrants: dict[str, Warrant]) -> dict[str, Any]:
    """The transparency report of every quarter any task is active in."""
    quarters: set[tuple[int, int]] = set()
    for t in tasks.values():
        for s, e, _ in t.intervals:
            y, q = quarter_of(s)
            while (y, q) <= quarter_of(e):
                quarters.add((y, q))
                y, q = (y + 1, 1) if q == 4 else (y, q + 1)
    out: dict[str, Any] = {}
    for y, q in sorted(quarters):
        qs, qe = quarter_bounds(y, q)
        rows: dict[str, dict[str, Any]] = {}
        row_targets: dict[str, set[tuple[str, str]]] = defaultdict(set)
        longest = []
        for t in tasks.values():
            if not any(_overlaps(iv, qs, qe) for iv in t.intervals):
                continue
            w, m = task_agency(t, warrants, before=qe)
            agency = w.agency if w else "unknown"
            level = w.level if w else "unknown"
            r = rows.setdefault(agency, _empty_row())
            r["tasks"] += 1
            r["started"] += any(qs <= ts < qe and mm["messageType"] == "ActivateTaskRequest" for ts, mm in t.msgs)
            r["ended"] += any(qs <= ts < qe and mm["messageType"] == "DeactivateTaskRequest" for ts, mm in t.msgs)
            for _ts, mm in t.msgs:
                if mm["messageType"] != "DeactivateTaskRequest":
                    row_targets[agency] |= msg_targets(mm)
            r["covered" if t.klass == "covered" else "uncovered"] += 1
            for k in kinds_asked(m):
                r["by_data_kind"][k] += 1
            r["by_authority_level"][level] = r["by_authority_level"].get(level, 0) + 1
            if t.klass != "covered":
                r["errors"][t.klass] += 1
            s = max(iv[0] for iv in t.intervals if _overlaps(iv, qs, qe))
            end = min(qe, max(iv[1] for iv in t.intervals))
            longest.append((-(end - s).total_seconds(), t.xid, agency, s))
        for agency, r in rows.items():
            r["targets"] = len(row_targets[agency])
        totals = _empty_row()
        for r in rows.values():
            for k, v in r.items():
                if isinstance(v, dict):
                    for kk, vv in v.items():
                        totals[k][kk] = totals[k].get(kk, 0) + vv
                else:
                    totals[k] += v
        if not rows:
            continue
        longest.sort()
        out[f"{y}-Q{q}"] = {
            "period": f"{y}-Q{q}", "start": _iso(qs), "end": _iso(qe),
            "agencies": [{"agency": a, **rows[a]} for a in sorted(rows)],
            "totals": totals,
            "longest": [{"xId": x, "agency": a, "since": _iso(s), "days": round(-neg / 86400, 2)}
                        for neg, x, a, s in longest[:5]]}
    return out


def truth_from(messages: list[dict[str, Any]], warrants: dict[str, Warrant], grace_s: int,
               factor: int) -> tuple[dict[str, dict[str, str]], dict[str, Any], dict[str, Task]]:
    """Task classes (with their agency) and reports, from messages and warrants alone."""
    tasks, _ = build_tasks(messages)
    judge(tasks, warrants, grace_s, factor)
    out = {}
    for x in sorted(tasks):
        w, _m = task_agency(tasks[x], warrants)
        out[x] = {"agency": w.agency if w else "unknown", "class": tasks[x].klass}
    return out, reports(tasks, warrants), tasks
