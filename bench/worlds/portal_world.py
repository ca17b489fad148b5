"""An independent national lookup portal world, written from the description of real behaviour.

    python bench/worlds/portal_world.py --out DIR --seed N [--officers N] [--days N] [--scale small|medium]

writes actors.csv, cases.csv, case_subjects.csv, protected.csv, access_log.csv (no event_id column),
leaks/leak_NN.csv and truth.json into DIR. Everything is drawn from the seed: the organisation and its
calendar, the casework, the people and their identifiers, nine planted abusers (always a quiet seller and
a stalker) and 3–6 sale listings made from the sellers' lookups. ``generate(out, seed, **params)`` does the
same from Python and returns the truth.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.worlds.portal_abuse import make_leaks, plant  # noqa: E402
from bench.worlds.portal_legit import Events, legit_lookups, popular_lookups, urgent_and_joint  # noqa: E402
from bench.worlds.portal_org import build_cases, build_org, mistype  # noqa: E402
from bench.worlds.portal_people import (  # noqa: E402
    CDR,
    CRIMINAL,
    DATA_KINDS,
    DAY_MS,
    ID_KINDS,
    IMEI_D,
    LOCATION,
    MSISDN,
    SUBSCRIBER,
    TRAVEL,
    UNIT_KINDS,
    format_idents,
    make_population,
)

TZ_HOURS = 6  # the portal's country keeps office hours at UTC+6; the log is written in UTC
SCALES = {"small": ((50, 100), (30, 45)), "medium": ((150, 600), (45, 90))}
PROTECTED_CATEGORIES = ("minister", "judge", "journalist", "member_of_parliament", "senior_official", "diplomat",
                        "activist", "lawyer")


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pick(texts, index: np.ndarray) -> pa.Array:
    """``texts[index]`` as an Arrow string column, without a Python string per row."""
    return pa.array(list(texts), type=pa.string()).take(pa.array(np.asarray(index, dtype=np.int64)))


def _write_csv(path: Path, columns: dict[str, Any]) -> None:
    """CSV with a plain header, LF line ends and no quoting (no value holds a comma or a quote)."""
    table = pa.table({k: v if isinstance(v, pa.Array) else pa.array(list(v), type=pa.string())
                      for k, v in columns.items()})
    with path.open("wb") as fh:
        fh.write((",".join(columns) + "\n").encode())
        pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none"))


def _normalised(pop, idents: np.ndarray) -> pa.Array:
    return format_idents(pop, idents, np.where(pop.kind[idents] == MSISDN, 1, 0))


def generate(out: Path, seed: int, officers: int | None = None, days: int | None = None,
             scale: str = "medium") -> dict:
    """Write one world into ``out`` and return its truth (also written as truth.json)."""
    rng = np.random.default_rng(seed)
    (o_lo, o_hi), (d_lo, d_hi) = SCALES[scale]
    n_off = int(officers or rng.integers(o_lo, o_hi + 1))
    n_days = int(days or rng.integers(d_lo, d_hi + 1))
    start = dt.date(2024, 3, 1) + dt.timedelta(days=int(rng.integers(0, 730)))
    t0 = int(dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC).timestamp() * 1000) - TZ_HOURS * 3_600_000
    t_end = t0 + n_days * DAY_MS
    p: dict = {"scale": scale, "days": n_days, "start_local": start.isoformat(), "utc_offset_hours": TZ_HOURS}
    org = build_org(rng, n_off, n_days, start.weekday(), p)

    expected = float((org.volume * org.day_factor[np.maximum(org.unit_by_day, 0), np.arange(n_days)]
                      * org.active).sum())
    pop = make_population(rng, int(expected * 1.3) + 60 * len(org.officer) + 60_000,
                          float(rng.uniform(0.2, 0.5)), float(rng.uniform(0.08, 0.3)))
    cases = build_cases(rng, org, pop.take, n_days, start.year, p)

    # popular people (some of them politicians on the protected list) and the protected list
    popular = pop.take(int(rng.integers(10, 41)))
    politicians = popular[rng.random(popular.size) < 0.4]
    others = pop.take(int(rng.integers(30, 121)))
    protected = np.r_[politicians, others]
    category = np.r_[rng.choice(["minister", "member_of_parliament"], politicians.size),
                     rng.choice(PROTECTED_CATEGORIES, others.size, p=[0.1, 0.2, 0.25, 0.1, 0.15, 0.05, 0.1, 0.05])]
    slots = np.flatnonzero(~cases.suspect)  # a journalist or a lawyer can be a suspect's associate
    for s in rng.choice(slots, size=min(slots.size, int(rng.integers(0, 4))), replace=False):
        cases.persons[s] = rng.choice(others)
    p["popular_people"], p["protected_people"] = int(popular.size), int(protected.size)

    case_text = list(cases.case_id)

    def typo(c: int) -> int:
        case_text.append(mistype(rng, case_text[c]))
        return len(case_text) - 1

    ev = Events()
    legit_lookups(rng, org, cases, pop, t0, n_days, p, ev, case_text, typo)
    urgent_and_joint(rng, org, cases, pop, t0, n_days, p, ev)
    news = popular_lookups(rng, org, pop, popular, t0, n_days, p, ev)
    abusers = plant(rng, org, cases, pop, popular, protected, t0, n_days, ev, org.ips)

    E = ev.concat()
    keep = (E["t"] >= t0) & (E["t"] < t_end)
    order = np.argsort(E["t"][keep], kind="stable")
    E = {k: v[keep][order] for k, v in E.items()}
    n = E["t"].size
    E["t"] = np.maximum.accumulate(E["t"] - np.arange(n)) + np.arange(n)  # distinct milliseconds, order kept
    day = np.clip((E["t"] - t0) // DAY_MS, 0, n_days - 1)
    unit = org.unit_by_day[E["actor"], day]
    unit = np.where(unit >= 0, unit, org.final_unit[E["actor"]])
    usual = org.ip_by_day[E["actor"], day]
    second = org.ip2[E["actor"]]
    usual = np.where((second >= 0) & (rng.random(n) < 0.1), second, usual)
    ip = np.where(E["ip"] >= 0, E["ip"], usual)

    # outcome and records returned
    p_denied, p_error = float(rng.uniform(0.002, 0.03)), float(rng.uniform(0.001, 0.012))
    p.update(denied_rate=round(p_denied, 4), error_rate=round(p_error, 4))
    sensitive = np.isin(E["dk"], [CDR, LOCATION]) & (E["case"] < 0)
    u = rng.random(n)
    outcome = np.where(u < p_denied * np.where(sensitive, 3, 0.5), 2, np.where(u > 1 - p_error, 3, 1))
    dk = E["dk"]
    rec = np.ones(n, dtype=np.int64)
    rec = np.where(dk == SUBSCRIBER, 1 + (rng.random(n) < 0.15) * rng.integers(1, 4, n), rec)
    rec = np.where(dk == CDR, rng.lognormal(np.log(rng.uniform(60, 200)), 1.0, n).astype(np.int64) + 1, rec)
    rec = np.where(dk == LOCATION, rng.poisson(8, n) + 1, rec)
    rec = np.where(dk == IMEI_D, 1 + (rng.random(n) < 0.2), rec)
    rec = np.where(dk == TRAVEL, rng.poisson(2, n), rec)
    rec = np.where(dk == CRIMINAL, (rng.random(n) < 0.2) * rng.integers(1, 4, n), rec)
    rec = np.where(pop.person[E["ident"]] < 0, (rng.random(n) < 0.7).astype(np.int64), rec)
    rec = np.where(outcome == 1, rec, 0)

    leaks = make_leaks(rng, abusers, E, t_end, p)
    _write(out, rng, t0, org, cases, pop, protected, category, E, unit, ip, outcome, rec, case_text, leaks)

    for lk in leaks:  # a merged listing's seller is the account behind most of its records
        cut = lk["listed"] - lk["listed"] % DAY_MS
        behind = {s: int(np.isin(lk["row_idents"], E["ident"][(E["actor"] == abusers[s]["actor_index"])
                                                              & (E["t"] < cut)]).sum()) for s in lk["sellers"]}
        if behind[lk["seller"]] < max(behind.values()):
            lk["seller"] = max(behind, key=lambda s: behind[s])
    truth_abusers = []
    for i, a in enumerate(abusers):
        mine = E["abuse"] == i
        ids = np.unique(E["ident"][mine])
        owner = pop.person[ids]
        victims = np.unique(np.where(owner >= 0, owner, -1 - ids)).size
        entry = {"actor": org.officer[a["actor_index"]], "kind": a["kind"],
                 "window_start": _iso(int(E["t"][mine].min())), "window_end": _iso(int(E["t"][mine].max())),
                 "victims": int(victims), "events": int(mine.sum()),
                 "unit": org.unit_name[org.final_unit[a["actor_index"]]],
                 "params": a["params"], "subjects": sorted(set(_normalised(pop, ids).to_pylist()))}
        if "partner_index" in a:
            entry["partner"] = org.officer[abusers[a["partner_index"]]["actor_index"]]
        truth_abusers.append(entry)
    truth = {
        "world": "portal", "generator": "independent", "seed": seed, "start": _iso(t0), "end": _iso(t_end),
        "events": int(n), "abusers": truth_abusers,
        "leaks": [{"file": f"leaks/leak_{j + 1:02d}.csv", "listed_at": _iso(lk["listed"])[:10],
                   "seller": org.officer[abusers[lk["seller"]]["actor_index"]],
                   "sellers": [org.officer[abusers[s]["actor_index"]] for s in lk["sellers"]],
                   "records": lk["rows"], "elsewhere": int(lk["elsewhere"].size), "data_kind_column": lk["with_kind"]}
                  for j, lk in enumerate(leaks)],
        "units": {org.unit_name[u_]: {"kind": UNIT_KINDS[int(org.unit_kind[u_])],
                                      "actors": int((org.final_unit == u_).sum()),
                                      "night_shift": bool(org.unit_night[u_])} for u_ in range(len(org.unit_name))},
        "changes": {k: [org.officer[o] for o in v] for k, v in org.changes.items()},
        "surges": [{**s, "unit": org.unit_name[s["unit"]]} for s in org.surges],
        "news": news,
        "params": p,
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return truth


def _write(out: Path, rng, t0: int, org, cases, pop, protected, category, E, unit, ip, outcome, rec, case_text,
           leaks) -> None:
    """Write every file of the world; sets each leak's ``rows`` (records in its file)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "leaks").mkdir(exist_ok=True)
    _write_csv(out / "actors.csv", {"actor": org.officer, "org": [org.unit_name[u] for u in org.final_unit],
                                    "role": org.role, "region": [org.unit_region[u] for u in org.final_unit]})

    def day_iso(d: np.ndarray) -> list[str]:
        # cases open and close during the local working day
        ms = t0 + d.astype(np.int64) * DAY_MS + rng.integers(9 * 60, 17 * 60, d.size) * 60_000
        return [_iso(int(v)) for v in ms]

    n_days = org.active.shape[1]
    closed = np.where(cases.closed < n_days, cases.closed, -1)
    closed_text = [c if d >= 0 else "" for c, d in zip(day_iso(np.maximum(closed, 0)), closed, strict=True)]
    _write_csv(out / "cases.csv", {"case_id": cases.case_id, "org": [org.unit_name[u] for u in cases.unit],
                                   "opened": day_iso(cases.opened), "closed": closed_text})

    # the case file lists each listed person by some of their identifiers
    rows_c, rows_i = [], []
    owner_case = np.repeat(np.arange(len(cases.case_id)), np.diff(cases.offsets))
    for slot in np.flatnonzero(cases.listed):
        person = cases.persons[slot]
        ids = [pop.msisdn[person]]
        for arr, prob in ((pop.nid, 0.6), (pop.imei, 0.3), (pop.imsi, 0.2), (pop.msisdn2, 0.5), (pop.passport, 0.3)):
            if arr[person] >= 0 and rng.random() < prob:
                ids.append(arr[person])
        rows_c += [owner_case[slot]] * len(ids)
        rows_i += ids
    idents = np.array(rows_i, dtype=np.int64)
    style = rng.choice(5, idents.size, p=[0.3, 0.2, 0.45, 0.0, 0.05])
    _write_csv(out / "case_subjects.csv", {"case_id": [cases.case_id[c] for c in rows_c],
                                           "subject": format_idents(pop, idents, style),
                                           "subject_kind": [ID_KINDS[k] for k in pop.kind[idents]]})
    # the protected list names each person by the numbers the office knows: usually phone and national ID
    rows_p, rows_cat = [], []
    for person, cat in zip(protected.tolist(), category.tolist(), strict=True):
        known = [int(arr[person]) for arr, prob in ((pop.msisdn, 0.9), (pop.nid, 0.7), (pop.msisdn2, 0.5),
                                                     (pop.passport, 0.2)) if arr[person] >= 0 and rng.random() < prob]
        known = known or [int(pop.msisdn[person])]
        rows_p += known
        rows_cat += [cat] * len(known)
    pid = np.array(rows_p, dtype=np.int64)
    _write_csv(out / "protected.csv", {"subject": format_idents(pop, pid, rng.choice(3, pid.size)),
                                       "subject_kind": [ID_KINDS[k] for k in pop.kind[pid]], "category": rows_cat})

    # the access log, identifiers written as the officers typed them
    n = E["t"].size
    mix = np.r_[rng.dirichlet([2, 1, 2.5]) * 0.97, 0.02, 0.01]  # +880…, 880…, 0…, no trunk zero, spaced
    habit = rng.choice(5, len(org.officer), p=mix)  # each officer mostly types numbers one way
    style = np.where(rng.random(n) < 0.7, habit[E["actor"]], rng.choice(5, n, p=mix))
    ts = pc.strftime(pa.array(E["t"], type=pa.timestamp("ms")), format="%Y-%m-%dT%H:%M:%SZ")
    kind = pop.kind[E["ident"]].astype(np.int64)
    ops = [f"/api/v2/{d}/{k}" for d in DATA_KINDS for k in ID_KINDS]
    _write_csv(out / "access_log.csv", {
        "ts": ts, "actor": _pick(org.officer, E["actor"]), "subject": format_idents(pop, E["ident"], style),
        "subject_kind": _pick(ID_KINDS, kind), "data_kind": _pick(DATA_KINDS, E["dk"]),
        "actor_org": _pick(org.unit_name, unit), "operation": _pick(ops, E["dk"] * len(ID_KINDS) + kind),
        "case_id": _pick([*case_text, ""], np.where(E["case"] >= 0, E["case"], len(case_text))),
        "outcome": _pick(["", "allowed", "denied", "error"], outcome), "records": pa.array(rec),
        "client_ip": _pick(org.ips, ip)})

    for j, lk in enumerate(leaks):
        rows = np.concatenate([*lk["parts"].values(), lk["elsewhere"]])
        ident, dk = E["ident"][rows], E["dk"][rows]
        if lk["with_kind"]:
            _, first = np.unique(ident * 8 + dk, return_index=True)
        else:
            _, first = np.unique(ident, return_index=True)
        first = rng.permutation(first)
        ident, dk = ident[first], dk[first]
        main = int(rng.integers(0, 5))
        style = np.where(rng.random(ident.size) < 0.75, main, rng.integers(0, 5, ident.size))
        cols = {"subject": format_idents(pop, ident, style), "subject_kind": [ID_KINDS[k] for k in pop.kind[ident]]}
        if lk["with_kind"]:
            cols["data_kind"] = [DATA_KINDS[k] for k in dk]
        _write_csv(out / "leaks" / f"leak_{j + 1:02d}.csv", cols)
        lk["rows"] = int(ident.size)
        lk["row_idents"] = ident


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="folder to write the world into (created)")
    ap.add_argument("--seed", type=int, required=True, help="everything in the world is drawn from this seed")
    ap.add_argument("--officers", type=int, help="number of officers (default: drawn from the scale's range)")
    ap.add_argument("--days", type=int, help="number of days (default: drawn from the scale's range)")
    ap.add_argument("--scale", choices=sorted(SCALES), default="medium",
                    help="small: 50-100 officers, 30-45 days; medium: 150-600 officers, 45-90 days")
    args = ap.parse_args(argv)
    began = time.perf_counter()
    truth = generate(args.out, args.seed, officers=args.officers, days=args.days, scale=args.scale)
    took = time.perf_counter() - began
    kinds = ", ".join(a["kind"] for a in truth["abusers"])
    print(f"{args.out}: {truth['events']:,} lookups, {truth['params']['officers']} officers, "
          f"{truth['params']['days']} days, {len(truth['leaks'])} listings; abusers: {kinds}; {took:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

