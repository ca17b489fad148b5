"""Scoring over a family of worlds: each world's key figures, their mean and the **worst** world.

A result counts when it holds on worlds the project did not make, so detection is judged on families of
simulated worlds (randomised sizes, unit mixes, noise and intensities, from two independent generators)
and the figure that decides is the worst world's, not the mean. A family is a folder with one sub-folder
per world, each holding the world's ``truth.json`` and the store (``home/``) its files were loaded into;
``bench/evaluate_families.py`` builds one, ``custodiet evaluate --family DIR`` scores it.

Figures per world (the targets of the detection issue):

- portal: planted abusers in the top 10 (``top10``, of ``abusers``); for quiet sellers and stalkers, whether
  each one is in the top 10; listings of six records or more whose seller is ranked first; smaller
  listings whose seller is in the top 3;
- signalling: share of planted attacks in a finding; legitimate messages in any finding per 100,000; the
  best Jaccard overlap of a campaign's networks with one campaign finding's;
- interception: share of planted error tasks found in their class; covered tasks flagged per 10,000;
  quarters whose transparency report equals the truth exactly; planted agencies out of line found.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from custodiet.store import Store

PORTAL_TOP = 10
# (figure, which way is better, target) — the worst world is the lowest (or highest, for "lower") value.
PORTAL_FIGURES: tuple[tuple[str, str, float | None], ...] = (
    ("top10", "higher", 8.0),
    ("quiet_sellers_top10", "higher", None),
    ("stalkers_top10", "higher", None),
    ("leaks_6plus_first", "higher", 1.0),
    ("leaks_small_top3", "higher", 1.0),
)
SIGNALLING_FIGURES: tuple[tuple[str, str, float | None], ...] = (
    ("found_share", "higher", 0.99),
    ("legit_in_findings_per_100k", "lower", 1.0),
    ("campaign_jaccard", "higher", 0.75),
)
INTERCEPTION_FIGURES: tuple[tuple[str, str, float | None], ...] = (
    ("found_share", "higher", 0.99),
    ("covered_flagged_per_10k", "lower", 1.0),
    ("reports_exact_share", "higher", 1.0),
    ("agencies_found_share", "higher", None),
    ("agencies_false", "lower", None),
)
FIGURES = {"portal": PORTAL_FIGURES, "signalling": SIGNALLING_FIGURES, "interception": INTERCEPTION_FIGURES}
# Quiet sellers and stalkers must each be in the top 10 in at least this share of the worlds.
TARGETED_SHARE = 0.9


def world_dirs(family: Path) -> list[Path]:
    """The worlds of a family folder: sub-folders with a truth.json and a home/, in name order."""
    if not family.is_dir():
        raise ValueError(f"{family}: not a folder of worlds")
    found = sorted(d for d in family.iterdir() if (d / "truth.json").is_file() and (d / "home").is_dir())
    if not found:
        raise ValueError(f"{family}: no world (a sub-folder with truth.json and home/)")
    return found


def portal_figures(result: dict[str, Any]) -> dict[str, Any]:
    """The key figures of one portal world's evaluation (:func:`custodiet.evaluate.evaluate_portal`)."""
    ranks = result["abuser_ranks"]

    def share(kind: str) -> float | None:
        mine = [r for r in ranks if r["kind"] == kind]
        if not mine:
            return None
        return sum(1 for r in mine if r["rank"] is not None and r["rank"] <= PORTAL_TOP) / len(mine)

    leaks = result["leaks"]["details"]
    big = [r for r in leaks if r["records"] >= 6]
    small = [r for r in leaks if r["records"] < 6]
    return {
        "abusers": len(ranks),
        "top10": sum(1 for r in ranks if r["rank"] is not None and r["rank"] <= PORTAL_TOP),
        "quiet_sellers_top10": share("quiet_seller"),
        "stalkers_top10": share("stalker"),
        "leaks_6plus_first": sum(r["seller_first"] for r in big) / len(big) if big else None,
        "leaks_small_top3": sum(r["seller_rank"] is not None and r["seller_rank"] <= 3 for r in small) / len(small)
        if small else None,
        "missed": sorted(f"{r['kind']}:{r['rank'] or '-'}" for r in ranks
                         if r["rank"] is None or r["rank"] > PORTAL_TOP),
    }


def signalling_figures(result: dict[str, Any]) -> dict[str, Any]:
    """The key figures of one signalling world's evaluation."""
    legit = result.get("legitimate_messages") or 0
    in_findings = result.get("legitimate_events_in_findings", 0)
    campaigns = result.get("campaigns", [])
    return {
        "attacks": result.get("planted_attacks"),
        "found_share": result.get("found_share"),
        "legit_in_findings_per_100k": round(in_findings * 100_000 / legit, 3) if legit else None,
        "campaign_jaccard": min((c.get("jaccard", 1.0 if c.get("exact") else 0.0) for c in campaigns),
                                default=None),
    }


def interception_figures(result: dict[str, Any]) -> dict[str, Any]:
    """The key figures of one interception world's evaluation."""
    reports, planted = result["reports"], result["agencies_planted"]
    return {
        "errors": result["planted_errors"],
        "found_share": result["found_share"],
        "covered_flagged_per_10k": result["covered_flagged_per_10k"],
        "reports_exact_share": result["reports_exact"] / len(reports) if reports else None,
        "agencies_found_share": len(result["agencies_found"]) / len(planted) if planted else None,
        "agencies_false": len(result["agencies_false"]),
    }


def summarise(rows: list[dict[str, Any]], figures: tuple[tuple[str, str, float | None], ...]) -> dict[str, Any]:
    """Mean and worst of each figure over the worlds (worlds without the figure are left out of it)."""
    out: dict[str, Any] = {}
    for name, better, target in figures:
        values = [r[name] for r in rows if r.get(name) is not None]
        if not values:
            continue
        worst = min(values) if better == "higher" else max(values)
        out[name] = {"mean": round(sum(values) / len(values), 4), "worst": worst, "worlds": len(values),
                     "worlds_all_found": None, "target": target,
                     "met": None if target is None else (worst >= target if better == "higher" else worst <= target)}
    for name in ("quiet_sellers_top10", "stalkers_top10"):
        if name in out:
            values = [r[name] for r in rows if r.get(name) is not None]
            hit = sum(1 for v in values if v >= 1.0) / len(values)
            out[name].update(worlds_all_found=round(hit, 4), target=TARGETED_SHARE, met=hit >= TARGETED_SHARE)
    return out


def evaluate_family(family: Path, evaluate_one: Callable[[Store, Path], dict[str, Any]] | None = None,
                    progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Evaluate every world of ``family`` and summarise (``evaluate_one`` defaults to ``custodiet evaluate``)."""
    if evaluate_one is None:
        from custodiet.evaluate import evaluate

        evaluate_one = evaluate
    rows: list[dict[str, Any]] = []
    kinds: set[str] = set()
    for world in world_dirs(family):
        if progress:
            progress(world.name)
        truth = json.loads((world / "truth.json").read_text())
        result = evaluate_one(Store(world / "home"), world / "truth.json")
        kind = truth.get("world")
        kinds.add(str(kind))
        figures = {"portal": portal_figures, "signalling": signalling_figures,
                   "interception": interception_figures}[str(kind)](result)
        rows.append({"world": world.name, "generator": truth.get("generator", "custodiet"), **figures})
    if len(kinds) != 1:
        raise ValueError(f"{family}: a family holds worlds of one channel (found {sorted(kinds)})")
    kind = kinds.pop()
    summary = summarise(rows, FIGURES[kind])
    return {"family": family.name, "channel": kind, "worlds": rows, "summary": summary}
