"""Score interception oversight against an interception world's ``truth.json``.

- every planted error task must be found, in its class (a finding of that class's detector lists its xId);
- covered tasks that any class 1–5 finding lists are false alarms, counted per 10,000 covered tasks;
- planted agencies out of line (class 6) found, and agencies flagged that were not planted;
- the transparency report of every quarter in the truth, rebuilt from the store, must equal it exactly
  (every count of every agency row and of the totals; the informative ``longest`` list is not compared).
"""

from __future__ import annotations

from typing import Any

from custodiet.detect.run import load_findings
from custodiet.oversight.judge import CLASSES
from custodiet.oversight.report import build_transparency
from custodiet.store import Store

DETECTOR_CLASS = {"interception.no_warrant": "no_warrant", "interception.wrong_identifier": "wrong_identifier",
                  "interception.wrong_period": "wrong_period", "interception.wrong_data_type": "wrong_data_type",
                  "interception.warrant_stretched": "stretched"}
AGENCIES = "interception.agencies_out_of_line"
EXAMPLES = 10


def _report_differences(ours: dict[str, Any], truth: dict[str, Any]) -> list[str]:
    """What differs between two reports, as ``agency.field: ours != truth`` lines."""
    diffs = []
    mine = {r["agency"]: r for r in ours["agencies"]} | {"(totals)": ours["totals"]}
    theirs = {r["agency"]: r for r in truth["agencies"]} | {"(totals)": truth["totals"]}
    for agency in sorted(set(mine) | set(theirs)):
        a, b = mine.get(agency), theirs.get(agency)
        if a is None or b is None:
            diffs.append(f"{agency}: {'only in the truth' if a is None else 'not in the truth'}")
            continue
        for key in sorted(set(a) | set(b)):
            if key == "agency":
                continue
            x, y = a.get(key), b.get(key)
            if isinstance(x, dict) or isinstance(y, dict):
                for sub in sorted(set(x or {}) | set(y or {})):
                    if (x or {}).get(sub, 0) != (y or {}).get(sub, 0):
                        diffs.append(f"{agency}.{key}.{sub}: {(x or {}).get(sub, 0)} != {(y or {}).get(sub, 0)}")
            elif x != y:
                diffs.append(f"{agency}.{key}: {x} != {y}")
    return diffs


def evaluate_interception(store: Store, truth: dict[str, Any]) -> dict[str, Any]:
    from custodiet.detect.interception.base import judge_store
    from custodiet.evaluate import ensure_covered

    ensure_covered(store, "interception")
    findings = load_findings(store, channel="interception")
    flagged: dict[str, set[str]] = {}
    flagged_agencies: set[str] = set()
    for f in findings:
        if f["detector"] == AGENCIES:
            flagged_agencies.add(f["actor"])
            continue
        klass = DETECTOR_CLASS.get(f["detector"])
        for xid in f["details"].get("xIds", []):
            flagged.setdefault(xid, set()).add(str(klass))
    tasks: dict[str, dict[str, Any]] = truth["tasks"]
    planted = {x: t["class"] for x, t in tasks.items() if t["class"] != "covered"}
    covered = [x for x, t in tasks.items() if t["class"] == "covered"]
    right = [x for x, k in planted.items() if k in flagged.get(x, set())]
    wrong = {x: sorted(flagged.get(x, set())) or ["missed"] for x, k in planted.items() if x not in right}
    false_alarms = sorted(x for x in covered if x in flagged)
    by_class = {k: {"planted": sum(1 for c in planted.values() if c == k),
                    "found": sum(1 for x in right if planted[x] == k)} for k in CLASSES}
    judged = judge_store(store)
    reports = {}
    for period, expected in sorted(truth.get("reports", {}).items()):
        ours = build_transparency(period, judged.tasks, judged.verdicts, judged.warrants)
        diffs = _report_differences(ours, expected)
        reports[period] = {"exact": not diffs, "differences": diffs[:EXAMPLES], "count": len(diffs)}
    planted_agencies = set(truth.get("agencies_out_of_line", []))
    return {
        "world": "interception",
        "planted_errors": len(planted),
        "found_in_class": len(right),
        "found_share": round(len(right) / len(planted), 6) if planted else None,
        "by_class": by_class,
        "misclassified": dict(sorted(wrong.items())[:EXAMPLES]),
        "missed_or_misclassified": len(wrong),
        "covered_tasks": len(covered),
        "covered_flagged": len(false_alarms),
        "covered_flagged_per_10k": round(len(false_alarms) * 10_000 / len(covered), 3) if covered else None,
        "false_alarm_examples": false_alarms[:EXAMPLES],
        "unknown_tasks_flagged": sorted(set(flagged) - set(tasks))[:EXAMPLES],
        "agencies_planted": sorted(planted_agencies),
        "agencies_found": sorted(planted_agencies & flagged_agencies),
        "agencies_false": sorted(flagged_agencies - planted_agencies),
        "reports": reports,
        "reports_exact": sum(1 for r in reports.values() if r["exact"]),
    }
