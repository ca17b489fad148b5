"""Baseline: PyOD's IsolationForest on per-account features, against Custodiet's risk ranking.

For a loaded portal world (a store plus the world's truth.json), it builds one feature row per account
from the same enriched accesses the detectors use — volume, people, unexplained share, busiest week
against the unit, share of lookups at night and at weekends, clients, sale-kind share, one-off people,
lookups under a wrong case, protected people — standardised within the unit, and ranks accounts by the
forest's outlier score. It prints recall at 10 per kind of abuser for both rankings.

    .venv/bin/python bench/baseline_iforest.py --home HOME --truth WORLD/truth.json

(run ``custodiet detect`` on the store first).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from pyod.models.iforest import IForest

from custodiet.detect import risk
from custodiet.detect.context import DetectionContext
from custodiet.detect.insider import base
from custodiet.detect.run import load_findings
from custodiet.store import Store

FEATURES = """
WITH a AS (SELECT * FROM custodiet_insider_accesses),
w AS (SELECT aid, max(people) AS top_week FROM custodiet_insider_weekly GROUP BY aid),
p AS (SELECT aid, count(*) AS people, avg((NOT expl)::INT) AS unexpl_people, avg((n = 1)::INT) AS once
      FROM custodiet_insider_pairs GROUP BY aid),
prot AS (SELECT aid, count(DISTINCT skey) AS protected FROM a
         WHERE skey IN (SELECT CAST(CAST(hash(subject) AS BIT) AS BIGINT) FROM protected) AND unexpl GROUP BY aid)
SELECT d.actor, d.org, count(*) AS lookups, any_value(p.people) AS people, any_value(p.unexpl_people) AS unexpl,
       any_value(p.once) AS once, any_value(w.top_week) AS top_week,
       avg((hour(a.ts) < 6 OR hour(a.ts) >= 22)::INT) AS night, avg((dayofweek(a.ts) IN (0, 6))::INT) AS weekend,
       count(DISTINCT a.client) AS clients,
       avg((a.kind IN ({sale_kinds}) AND a.unexpl)::INT) AS sale_unexpl,
       avg((a.cited AND NOT a.cited_ok)::INT) AS wrong_case, avg(a.empty::INT) AS empty,
       coalesce(any_value(prot.protected), 0) AS protected
FROM a JOIN custodiet_insider_actors d USING (aid) JOIN p USING (aid) JOIN w USING (aid)
LEFT JOIN prot USING (aid) GROUP BY d.actor, d.org ORDER BY d.actor
"""


def features(store: Store) -> tuple[list[str], np.ndarray]:
    ctx = DetectionContext.open(store)
    base.accesses(ctx)
    base.pairs(ctx)
    base.weekly(ctx)
    sale_kinds = ", ".join(str(base.kind_code(k)) for k in ("location", "cdr", "imei", "travel"))
    rows = ctx.con.execute(FEATURES.format(sale_kinds=sale_kinds)).fetchall()
    names = [r[0] for r in rows]
    orgs = [r[1] for r in rows]
    x = np.array([[float(v or 0) for v in r[2:]] for r in rows])
    x[:, :2] = np.log1p(x[:, :2])
    x[:, 4] = np.log1p(x[:, 4])
    # Standardise within the unit: the forest should look for odd accounts, not odd units.
    for org in set(orgs):
        idx = [i for i, o in enumerate(orgs) if o == org]
        block = x[idx]
        x[idx] = (block - block.mean(axis=0)) / (block.std(axis=0) + 1e-6)
    return names, x


def recall_by_kind(ranking: list[str], abusers: list[dict], k: int = 10) -> dict[str, float]:
    top = set(ranking[:k])
    kinds: dict[str, list[bool]] = defaultdict(list)
    for a in abusers:
        kinds[a["kind"]].append(a["actor"] in top)
    return {kind: sum(v) / len(v) for kind, v in sorted(kinds.items())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--truth", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    store = Store(args.home)
    truth = json.loads(args.truth.read_text())
    abusers = truth["abusers"]
    t = time.perf_counter()
    names, x = features(store)
    forest = IForest(n_estimators=300, contamination=0.05, random_state=args.seed).fit(x)
    order = np.argsort(-forest.decision_scores_)
    baseline = [names[i] for i in order]
    took = time.perf_counter() - t
    ours = [r["actor"] for r in risk.rank(load_findings(store, channel="portal"))]
    planted = {a["actor"] for a in abusers}
    print(f"{len(names)} accounts, {len(planted)} planted abusers; features + forest in {took:.1f} s")
    for label, ranking in (("IsolationForest", baseline), ("Custodiet", ours)):
        hits = len(set(ranking[:10]) & planted)
        print(f"{label:16} recall@10 {hits / len(planted):.2f}  precision@10 {hits / 10:.2f}  "
              f"per kind {json.dumps(recall_by_kind(ranking, abusers))}")
    base_hits = len(set(baseline[:10]) & planted)
    our_hits = len(set(ours[:10]) & planted)
    print(f"ratio (Custodiet / IsolationForest abusers in top 10): {our_hits / max(base_hits, 1):.2f}")


if __name__ == "__main__":
    main()
