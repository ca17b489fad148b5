"""The independent portal world: deterministic per seed, loadable by the real CLI without a rejected record,
and its truth consistent with its files (nine abusers, listings made from their sellers' lookups)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from bench.worlds.portal_world import generate

from custodiet.identifiers import normalise
from tests.conftest import run_cli

KINDS = {"quiet_seller", "stalker", "bulk_seller", "vip_snooping", "enumeration", "case_misuse", "hijacked",
         "ramp_up", "collusion", "hidden_in_verification"}
LOG_COLUMNS = ["ts", "actor", "subject", "subject_kind", "data_kind", "actor_org", "operation", "case_id", "outcome",
               "records", "client_ip"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("portal_world")
    return out, generate(out, seed=11, officers=60, days=30, scale="small")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_same_seed_same_world_other_seed_other_world(world, tmp_path: Path) -> None:
    out, _ = world
    generate(tmp_path / "again", seed=11, officers=60, days=30, scale="small")
    generate(tmp_path / "other", seed=12, officers=60, days=30, scale="small")
    assert _files(tmp_path / "again") == _files(out)
    assert _files(tmp_path / "other")["access_log.csv"] != _files(out)["access_log.csv"]


def test_truth_names_nine_abusers_with_a_quiet_seller_and_a_stalker(world) -> None:
    out, truth = world
    kinds = [a["kind"] for a in truth["abusers"]]
    assert len(kinds) == 9
    assert {"quiet_seller", "stalker"} <= set(kinds) <= KINDS
    assert kinds.count("collusion") in (0, 2)
    assert len({a["actor"] for a in truth["abusers"]}) == 9
    assert 3 <= len(truth["leaks"]) <= 6
    assert json.loads((out / "truth.json").read_text()) == truth
    assert all(a["events"] > 0 and a["victims"] > 0 for a in truth["abusers"])


def test_log_is_time_sorted_in_the_portal_format(world) -> None:
    out, truth = world
    with (out / "access_log.csv").open(encoding="utf-8") as fh:
        assert fh.readline().rstrip("\n").split(",") == LOG_COLUMNS
    rows = _rows(out / "access_log.csv")
    assert len(rows) == truth["events"]
    stamps = [r["ts"] for r in rows]
    assert stamps == sorted(stamps)
    assert {r["outcome"] for r in rows} <= {"allowed", "denied", "error"}
    assert {r["data_kind"] for r in rows} <= {"identity", "subscriber", "cdr", "location", "imei", "travel",
                                               "criminal"}
    msisdn_forms = {("+" if r["subject"].startswith("+") else r["subject"][:2]) for r in rows
                    if r["subject_kind"] == "msisdn"}
    assert {"+", "88", "01"} <= msisdn_forms  # numbers written in varied forms


def test_desk_moves_show_the_unit_at_the_time(world) -> None:
    out, truth = world
    final = {r["actor"]: r["org"] for r in _rows(out / "actors.csv")}
    moved = set(truth["changes"]["moved"])
    seen = {(r["actor"], r["actor_org"]) for r in _rows(out / "access_log.csv") if r["actor"] in moved}
    assert moved, "this seed should move someone's desk"
    assert any(org != final[actor] for actor, org in seen)


def test_every_file_loads_with_the_cli_and_nothing_is_quarantined(world, tmp_path: Path) -> None:
    out, truth = world
    home = tmp_path / "home"
    for kind in ("actors", "cases", "case-subjects", "protected"):
        res = json.loads(run_cli("context", "load", kind, str(out / f"{kind.replace('-', '_')}.csv"), "--format",
                                 "json", home=home).stdout)
        assert res["quarantined"] == 0, res
        assert res["read"] > 0, res
    res = json.loads(run_cli("ingest", "portal", str(out / "access_log.csv"), "--format", "json", home=home).stdout)
    (summary,) = res["files"]
    assert summary["quarantined"] == 0
    assert summary["stored"] == truth["events"]


def _check_listings(out: Path, truth: dict) -> None:
    first_seen: dict[tuple[str, str, str], str] = {}
    for r in _rows(out / "access_log.csv"):
        key = (r["actor"], r["subject_kind"], normalise(r["subject_kind"], r["subject"]))
        first_seen.setdefault(key, r["ts"])
    kinds = {a["kind"] for a in truth["abusers"] if a["actor"] in {lk["seller"] for lk in truth["leaks"]}}
    assert kinds <= {"bulk_seller", "quiet_seller", "hidden_in_verification", "collusion"}
    for leak in truth["leaks"]:
        rows = _rows(out / leak["file"])
        assert len(rows) == leak["records"]
        assert ("data_kind" in rows[0]) == leak["data_kind_column"]
        cutoff = dt.date.fromisoformat(leak["listed_at"]).isoformat()
        by_seller = dict.fromkeys(leak["sellers"], 0)
        unexplained = 0
        for r in rows:
            subject = normalise(r["subject_kind"], r["subject"])
            who = [s for s in leak["sellers"] if first_seen.get((s, r["subject_kind"], subject), "9") < cutoff]
            for s in who:
                by_seller[s] += 1
            unexplained += not who
        assert unexplained <= leak["elsewhere"], leak
        assert by_seller[leak["seller"]] == max(by_seller.values())


def test_listed_records_were_looked_up_by_their_sellers_before_the_listing(world) -> None:
    _check_listings(*world)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_other_seeds_hold_the_same_promises(seed: int, tmp_path: Path) -> None:
    truth = generate(tmp_path, seed=seed, officers=40, days=30, scale="small")
    assert len(truth["abusers"]) == 9
    assert {"quiet_seller", "stalker"} <= {a["kind"] for a in truth["abusers"]}
    assert 3 <= len(truth["leaks"]) <= 6
    quiet = next(a["actor"] for a in truth["abusers"] if a["kind"] == "quiet_seller")
    assert quiet in {leak["seller"] for leak in truth["leaks"]} | {s for lk in truth["leaks"] for s in lk["sellers"]}
    _check_listings(tmp_path, truth)
