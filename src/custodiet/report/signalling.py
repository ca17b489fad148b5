"""The signalling report: attacks by category, by source operator and country (with shares), the most
attacked subscribers, campaigns with their member networks, and attacks over time.

An *attack* here is one flagged signalling request (an event among the event ids of a signalling
finding), counted once however many findings name it. Its category is that of the per-message finding
naming it (FS.11 / FS.19 category 1-3, or ``probing``); campaigns are listed separately, their requests
keep their own categories. Operator and country are the detectors' attribution of the sending network.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from custodiet.detect.findings import Finding
from custodiet.store import Store

CATEGORY_ORDER = ("fs11-cat1", "fs11-cat2", "fs11-cat3", "fs19-cat1", "fs19-cat2", "fs19-cat3", "spoofing",
                  "probing")
CATEGORY_LABELS = {
    "fs11-cat1": "FS.11 cat. 1: never over interconnect", "fs11-cat2": "FS.11 cat. 2: home/serving network only",
    "fs11-cat3": "FS.11 cat. 3: implausible location", "fs19-cat1": "FS.19 cat. 1: internal Diameter interface",
    "fs19-cat2": "FS.19 cat. 2: home/serving network only", "fs19-cat3": "FS.19 cat. 3: implausible location",
    "spoofing": "sender identity mismatch", "probing": "probing sweep or tracking",
}
PER_MESSAGE_FIRST = ("fs11-cat1", "fs19-cat1", "spoofing", "fs11-cat3", "fs19-cat3", "fs11-cat2", "fs19-cat2",
                     "probing")


def _share(rows: list[tuple[str, int]], total: int) -> list[dict[str, Any]]:
    return [{"name": name, "attacks": n, "share": round(100 * n / total, 1) if total else 0.0} for name, n in rows]


def _ranked(counter: Counter[str], limit: int | None = None) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def build_report(store: Store, findings: list[Finding], top: int = 10) -> dict[str, Any]:
    """The report as one JSON-able document (deterministic for the same findings and store)."""
    attack: dict[str, dict[str, Any]] = {}
    rank = {c: i for i, c in enumerate(PER_MESSAGE_FIRST)}
    campaigns = [f for f in findings if f.details.get("category") == "campaign"]
    for f in findings:
        cat = f.details.get("category")
        if cat == "campaign" or cat not in rank:
            continue
        for eid in f.event_ids:
            seen = attack.get(eid)
            if seen is None or rank[cat] < rank[seen["category"]]:
                attack[eid] = {"category": cat, "operator": f.details.get("network"),
                               "country": f.details.get("country"), "key": f.details.get("network_key")}
    meta = _events(store, sorted(attack))
    for eid, a in attack.items():
        ts, actor, org, subject, operation = meta[eid]
        a.update(ts=ts, actor=actor, subject=subject, operation=operation)
        a["operator"] = a["operator"] or org or f"unknown ({a['key'] or actor})"
        a["country"] = a["country"] or "??"
    total = len(attack)
    values = list(attack.values())
    by_cat = Counter(a["category"] for a in values)
    by_op = Counter(a["operator"] for a in values)
    by_country = Counter(a["country"] for a in values)
    per_subject: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in values:
        per_subject[a["subject"]].append(a)
    subjects = sorted(per_subject.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:top]
    first = min((a["ts"] for a in values), default=None)
    last = max((a["ts"] for a in values), default=None)
    return {
        "report": "signalling",
        "window": {"start": _iso(first), "end": _iso(last)},
        "totals": {"attacks": total, "findings": len(findings), "networks": len(by_op),
                   "countries": len(by_country), "subjects": len(per_subject), "campaigns": len(campaigns)},
        "by_category": [{"category": c, "label": CATEGORY_LABELS[c], "attacks": by_cat[c],
                         "share": round(100 * by_cat[c] / total, 1) if total else 0.0}
                        for c in CATEGORY_ORDER if by_cat[c]],
        "by_operator": _share(_ranked(by_op, top), total),
        "by_country": _share(_ranked(by_country, top), total),
        "top_subjects": [{"subject": s, "attacks": len(evs),
                          "networks": len({e["operator"] for e in evs}),
                          "categories": sorted({e["category"] for e in evs}),
                          "operations": sorted({e["operation"] or "?" for e in evs})} for s, evs in subjects],
        "campaigns": [{"networks": f.details.get("networks", []), "actors": f.actors,
                       "countries": f.details.get("countries", []), "subjects": len(f.subjects),
                       "requests": len(f.event_ids), "window_start": _iso(f.window_start),
                       "window_end": _iso(f.window_end), "summary": f.summary} for f in campaigns],
        "timeline": _timeline(values, first, last),
    }


def _events(store: Store, ids: list[str]) -> dict[str, tuple[datetime, str, str | None, str, str | None]]:
    if not ids:
        return {}
    import pyarrow as pa

    con = store.connect()
    try:
        con.register("wanted", pa.table({"event_id": pa.array(ids, pa.string())}))
        got = con.execute("SELECT e.event_id, e.ts, e.actor, e.actor_org, e.subject, e.operation FROM events e "
                          "JOIN wanted USING (event_id)").fetchall()
    finally:
        con.close()
    return {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in got}


def _iso(ts: datetime | None) -> str | None:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z") if ts else None


def _timeline(values: list[dict[str, Any]], first: datetime | None, last: datetime | None) -> dict[str, Any]:
    """Attacks per bucket (a day, or an hour when everything is within two days), per category."""
    if first is None or last is None:
        return {"bucket": "day", "buckets": []}
    hourly = last - first <= timedelta(days=2)
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    start = first.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if not hourly:
        start = start.replace(hour=0)
    count = int((last - start) / step) + 1
    per: list[Counter[str]] = [Counter() for _ in range(count)]
    for a in values:
        per[int((a["ts"] - start) / step)][a["category"]] += 1
    buckets = [{"start": _iso(start + i * step), "attacks": sum(c.values()), "by_category": dict(sorted(c.items()))}
               for i, c in enumerate(per)]
    return {"bucket": "hour" if hourly else "day", "buckets": buckets}
