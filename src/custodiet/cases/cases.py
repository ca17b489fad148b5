"""Cases: an investigator's grouping of findings, with everything done to it kept in the journal.

A case is opened on one or more findings (``open_case``), annotated (``add_note``) and moved through
``open`` → ``under_review`` → ``closed`` (``set_status``; closing needs an outcome). The ``open`` record
keeps the findings' full records as they were when the case was opened: a later ``custodiet detect``
replaces the stored findings, and the case must still say what it was opened on. A case's state is the
fold of its records (``read_case``); ``history`` is those records, unchanged.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Sequence
from typing import Any

from custodiet.cases.journal import append, appending, read_journal
from custodiet.store import Store

STATUSES = ("open", "under_review", "closed")
CASE_ID = re.compile(r"CASE-(\d{6,})")


class CaseError(ValueError):
    """A request the cases cannot carry out (unknown case or finding, bad status); the message says why."""


def default_actor() -> str:
    """Who is acting when nobody says: the operating system's user name."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid-{os.getuid()}"


def _who(by: str | None) -> str:
    who = (by if by is not None else default_actor()).strip()
    if not who:
        raise CaseError("--by must name someone")
    return who


def _jsonable(finding: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in finding.items()}


def open_case(store: Store, title: str, finding_ids: Sequence[str], by: str | None = None) -> str:
    """Open a case on stored findings; returns its id (``CASE-000001``, ``CASE-000002``, …)."""
    from custodiet.detect.run import load_findings

    title = title.strip()
    if not title:
        raise CaseError("a case needs a title")
    wanted = list(dict.fromkeys(f.strip() for f in finding_ids))
    if not wanted or not all(wanted):
        raise CaseError("a case needs at least one finding id (--finding ID)")
    who = _who(by)
    stored = {f["finding_id"]: f for f in load_findings(store)}
    unknown = [f for f in wanted if f not in stored]
    if unknown:
        raise CaseError(f"unknown finding id{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)} "
                        "(see `custodiet findings --format jsonl`)")
    with appending(store) as records:
        number = 1 + sum(1 for r in records if r["action"] == "open")
        case_id = f"CASE-{number:06d}"
        append(store, records, case_id, "open", who,
               {"title": title, "finding_ids": wanted, "findings": [_jsonable(stored[f]) for f in wanted]})
    return case_id


def add_note(store: Store, case_id: str, text: str, by: str | None = None) -> dict[str, Any]:
    """Add a note to a case; returns the journal record."""
    if not text.strip():
        raise CaseError("a note needs text")
    who = _who(by)
    with appending(store) as records:
        fold_case(case_id, records)
        return append(store, records, case_id, "note", who, {"text": text})


def set_status(store: Store, case_id: str, status: str, outcome: str | None = None,
               by: str | None = None) -> dict[str, Any]:
    """Move a case to ``status`` (closing needs an ``outcome``, which only closing takes); returns the record."""
    if status not in STATUSES:
        raise CaseError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
    outcome = outcome.strip() if outcome is not None else None
    if status == "closed" and not outcome:
        raise CaseError("closing a case needs --outcome TEXT")
    if status != "closed" and outcome is not None:
        raise CaseError("--outcome is for closing a case")
    who = _who(by)
    with appending(store) as records:
        case = fold_case(case_id, records)
        if case["status"] == status:
            raise CaseError(f"{case_id} is already {status}")
        details: dict[str, Any] = {"status": status, "from": case["status"]}
        if outcome is not None:
            details["outcome"] = outcome
        return append(store, records, case_id, "status", who, details)


def read_case(store: Store, case_id: str) -> dict[str, Any]:
    """The case as the fold of its journal records, with ``history`` (the records themselves)."""
    return fold_case(case_id, read_journal(store))


def list_cases(store: Store) -> list[dict[str, Any]]:
    """Every case, oldest first, without its history and findings' records (one row each)."""
    records = read_journal(store)
    ids = list(dict.fromkeys(r["case_id"] for r in records))
    rows = []
    for case_id in ids:
        case = fold_case(case_id, records)
        rows.append({k: case[k] for k in ("case_id", "title", "status", "outcome", "opened_at", "opened_by",
                                          "updated_at", "finding_ids")} | {"notes": len(case["notes"])})
    return rows


def fold_case(case_id: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """A case's state from the journal records (of any cases; its own are picked out); ``CaseError`` if none."""
    mine = [r for r in records if r["case_id"] == case_id]
    if not mine:
        hint = "" if CASE_ID.fullmatch(case_id) else " (case ids look like CASE-000001)"
        raise CaseError(f"no case {case_id}{hint}; `custodiet case list` shows them")
    first = mine[0]
    case: dict[str, Any] = {"case_id": case_id, "title": first["title"], "status": "open", "outcome": None,
                            "opened_at": first["ts"], "opened_by": first["by"], "updated_at": first["ts"],
                            "finding_ids": list(first["finding_ids"]), "findings": list(first["findings"]),
                            "notes": []}
    for r in mine[1:]:
        case["updated_at"] = r["ts"]
        if r["action"] == "note":
            case["notes"].append({"ts": r["ts"], "by": r["by"], "text": r["text"]})
        elif r["action"] == "status":
            case["status"] = r["status"]
            case["outcome"] = r.get("outcome") if r["status"] == "closed" else None
    case["history"] = mine
    return case
