"""Score the detections against a simulated world's ``truth.json``.

``truth["world"]`` chooses the evaluation: "portal" is evaluated here (the risk ranking of accounts:
precision and recall at k overall and per kind of abuser, and leak tracing: is the seller ranked first);
"signalling" is handed to ``custodiet.detect.signalling.evaluate.evaluate_signalling``, "interception" to
``custodiet.oversight.evaluate.evaluate_interception``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from custodiet import leaks
from custodiet.detect import registry, risk
from custodiet.detect.run import coverage, load_findings, run_detectors
from custodiet.events import parse_time
from custodiet.ledger.snapshot import take
from custodiet.store import Store

KS = (5, 10, 20)


def evaluate(store: Store, truth_path: Path) -> dict[str, Any]:
    truth = json.loads(Path(truth_path).read_text())
    world = truth.get("world")
    if world == "signalling":
        from custodiet.detect.signalling.evaluate import evaluate_signalling

        return evaluate_signalling(store, truth)
    if world == "interception":
        from custodiet.oversight.evaluate import evaluate_interception

        return evaluate_interception(store, truth)
    if world != "portal":
        raise ValueError(f"{truth_path}: unknown world {world!r} (expected 'portal', 'signalling' or "
                         "'interception')")
    return evaluate_portal(store, truth, Path(truth_path).parent)


def ensure_covered(store: Store, channel: str) -> None:
    """Run the channel's detectors unless each has stored findings, at its current revision, over the
    ledger's newest signed state; refuse (``ValueError``) if a detector still fails or is not covered."""
    wanted = {d.id: d.revision for d in registry.load_all() if d.channel == channel}
    size = take(store).size

    def missing() -> list[str]:
        have = {c["detector"]: c for c in coverage(store, channel)}
        return sorted(i for i, rev in wanted.items() if i not in have or have[i].get("revision") != rev
                      or int(have[i].get("tree_size") or 0) < size)

    if missing():
        report = run_detectors(store, channel=channel)
        failed = [d["id"] for d in report.errors]
        if failed:
            raise ValueError(f"cannot evaluate: the {channel} detector(s) {', '.join(failed)} failed")
    left = missing()
    if left:
        raise ValueError(f"cannot evaluate: the stored {channel} findings of {', '.join(left)} do not cover the "
                         f"ledger's {size:,} events; run `custodiet detect --channel {channel}`")


def evaluate_portal(store: Store, truth: dict[str, Any], base: Path) -> dict[str, Any]:
    """Ranking and leak-tracing quality on a portal world (runs the portal detectors first unless their
    stored findings cover every event the ledger holds now)."""
    ensure_covered(store, "portal")
    ranking = risk.rank(load_findings(store, channel="portal"))
    position = {r["actor"]: r["rank"] for r in ranking}
    risk_of = {r["actor"]: r["risk"] for r in ranking}
    abusers = truth.get("abusers", [])
    planted = {a["actor"] for a in abusers}
    detail = [{"actor": a["actor"], "kind": a["kind"], "rank": position.get(a["actor"]),
               "risk": risk_of.get(a["actor"], 0.0)} for a in abusers]
    overall: dict[str, float | None] = {}
    for k in KS:
        top = {r["actor"] for r in ranking[:k]}
        overall[f"precision@{k}"] = round(len(top & planted) / k, 4)
        overall[f"recall@{k}"] = round(len(top & planted) / len(planted), 4) if planted else None
    kinds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in detail:
        kinds[d["kind"]].append(d)
    per_kind = {}
    for kind, items in sorted(kinds.items()):
        row: dict[str, Any] = {"abusers": len(items), "ranks": [d["rank"] for d in items]}
        for k in KS:
            hits = sum(1 for d in items if d["rank"] is not None and d["rank"] <= k)
            row[f"recall@{k}"] = round(hits / len(items), 4)
            row[f"precision@{k}"] = round(hits / k, 4)
        per_kind[kind] = row
    leak_rows = [_trace_one(store, base, leak) for leak in truth.get("leaks", [])]
    big = [r for r in leak_rows if r["records"] >= 6]
    return {
        "world": "portal",
        "accounts_ranked": len(ranking),
        "abusers": len(abusers),
        "overall": overall,
        "per_kind": per_kind,
        "abuser_ranks": detail,
        "leaks": {
            "traced": len(leak_rows),
            "seller_first": round(sum(r["seller_first"] for r in leak_rows) / len(leak_rows), 4)
            if leak_rows else None,
            "seller_first_6_plus": round(sum(r["seller_first"] for r in big) / len(big), 4) if big else None,
            "details": leak_rows,
        },
        "targets": {
            "every_abuser_in_top_10": all(d["rank"] is not None and d["rank"] <= 10 for d in detail),
            "every_leak_of_6_plus_traced_first": all(r["seller_first"] for r in big),
            "every_small_leak_seller_in_top_3": all(r["seller_top3"] for r in leak_rows if r["records"] < 6),
        },
    }


def _trace_one(store: Store, base: Path, leak: dict[str, Any]) -> dict[str, Any]:
    path = base / leak["file"]
    result = leaks.trace(store, path, parse_time(str(leak["listed_at"])), limit=5)
    top = result.rows[0] if result.rows else None
    seller_rank = next((r["rank"] for r in result.rows if r["actor"] == leak["seller"]), None)
    return {"file": leak["file"], "seller": leak["seller"], "records": int(leak.get("records", result.sample)),
            "top": top["actor"] if top else None, "top_score": top["score"] if top else None,
            "seller_rank": seller_rank, "seller_first": bool(top and top["actor"] == leak["seller"]),
            "seller_top3": seller_rank is not None and seller_rank <= 3}
