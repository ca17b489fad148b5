"""Case misuse: lookups under a cited case id that gives them no cover.

What it catches: an officer who borrows a case number to make unrelated lookups look like work. Two
kinds of evidence, counted in distinct people per account:

- *wrong case*: the cited case is not an open case of the officer's unit — another unit's case, a closed
  case, or an id that exists nowhere — and the person is on none of the unit's open cases either (an
  officer citing last month's case for this month's suspect is sloppy, not misuse). Few people suffice;
- *case does not list the person*: an open case of the unit is cited for someone it does not list and
  whom no other account looked up at all. Casework does cite a case for people it does not list (a
  suspect's contacts), but casework is shared: the team checks the same associates, so most of them are
  looked up by a colleague too. Misuse under an officer's own open case is private: the neighbour or the
  buyer's target is looked up by that officer alone (revision 6; revision 5 counted every unlisted person,
  and a misuser among busy colleagues stayed under their median). It counts only well above peers, and
  only when most of the account's unlisted people are private.

Misuse borrows *one* case: revision 7 also counts the private unlisted people per cited case, and an
account whose busiest case in that sense has ``min_unlisted`` private people, most of the unlisted people it
cited that case for, is judged on that case alone, against the same count of its peers (their own busiest
case). An officer whose casework on his other cases is shared
with busy colleagues (associates of suspects checked by the whole team, each unlisted and shared) would
otherwise hide the one case he lends to strangers behind those shared people: most of his unlisted people
overall are shared, while all of the borrowed case's are private.

Each count is compared with the median of the account's peers (same unit and role, or the whole unit
when that group is small).

Typing errors are not misuse. Ids are compared on their letters and digits only, without regard to case
or separators (``base.case_id_key``; revision 6: "DSA-2024-0997" is "DSA/2024/0997"); an id that exists on
no case but is one edit away from one that does (a digit dropped, doubled or changed, or two neighbours
swapped) is a typing error and is left out (revision 5; swaps since revision 6); so is another unit's case
whose id is the citing unit's own case id with two neighbouring characters swapped ("1018" typed for the
unit's "1081", revision 6); and an unknown id given for one person only (revision 4).
Misuse borrows a real case, or makes up an id, for many people. An id on no case that ``standing_accounts``
or more accounts of one unit cite is that unit's standing authority (a general order, a verification
mandate), an institutional habit rather than one officer's borrowing: left out (revision 6).

Officers move desks: each account is counted per unit it worked in *at the time* (the event's unit), and
compared with the accounts that worked in that unit, not with the unit the actors table lists now
(revision 6: a moved officer's earlier lookups under his old unit's standing authority were "another
unit's case" against his new peers).

Known false positives: context tables out of date (a case re-opened, a subject added later), joint
operations where officers of several units work one case, typing errors in case ids.

Tunables (``ctx.params["insider.case_misuse"]``): ``min_wrong`` (4) people under a wrong case,
``min_unlisted_ratio`` (3.0) times the peers' median of people under a case not listing them, ``min_unlisted`` (10)
private unlisted people (fewer than the 20 unlisted ones of revision 5: a person nobody else looked up is stronger
evidence), ``min_private_share`` (0.5): most of the account's unlisted people, or of those under the one case
counted, must be private (casework leaves most of them shared), ``standing_accounts`` (5) accounts of a unit citing
one id that is on no case: more than a small team (a collusion ring or a shared borrowed id is two or three
officers), fewer than a unit.
"""

from __future__ import annotations

import ibis

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider import INSIDER_CHANNELS
from custodiet.detect.insider.base import (
    CASE_ID_KEY_SQL,
    accesses,
    actors,
    evidence,
    first_per_actor,
    first_subjects,
    fmt_int,
    popularity,
    presence,
    rows,
    severity_for,
    squash,
    unit_names,
)
from custodiet.detect.insider.peers import peer_median_at
from custodiet.detect.registry import detector
from custodiet.events import sql_list

ID = "insider.case_misuse"


REVISION = 7


def _typos(ctx: DetectionContext) -> ibis.Table:
    """The cited ids, per citing unit (hashed as in ``accesses.case``; ``oid``), that are typing errors: an
    id on no case that is one edit (a character dropped, added or changed, or two neighbours swapped) away
    from a case; or another unit's case that is two swapped neighbours away from a case of the citing unit.
    Only the swap, for real ids: case numbers run in sequence, so nearly every case id is one changed digit
    away from a case of another unit, and a borrowed case would pass for a typing error. Few distinct
    (id, unit) pairs are cited, so comparing each with the case ids is cheap."""
    key = CASE_ID_KEY_SQL.format
    got = ctx.con.execute(f"""
        WITH raw AS (SELECT DISTINCT authority, actor, actor_org FROM events
                     WHERE authority IS NOT NULL AND channel IN {sql_list(INSIDER_CHANNELS)}),
             cited AS (SELECT DISTINCT {key('r.authority')} AS id, coalesce(r.actor_org, a.org) AS org
                       FROM raw r LEFT JOIN (SELECT actor, min(org) AS org FROM actors GROUP BY actor) a
                         ON a.actor = r.actor),
             known AS (SELECT DISTINCT {key('case_id')} AS id, org FROM cases),
             judged AS (SELECT c.id, c.org, bool_or(k.org = c.org) AS own, count(k.id) > 0 AS exists_any
                        FROM cited c LEFT JOIN known k ON k.id = c.id GROUP BY c.id, c.org),
             near AS (SELECT DISTINCT j.id, j.org FROM judged j JOIN known k
                        ON k.id <> j.id AND abs(length(k.id) - length(j.id)) <= 1
                       AND damerau_levenshtein(k.id, j.id) <= 1
                       AND (NOT j.exists_any OR (k.org = j.org AND levenshtein(k.id, j.id) = 2))
                      WHERE NOT coalesce(j.own, false))
        SELECT id, org FROM near""").fetchall()
    typos = ibis.memtable({"id": [r[0] for r in got], "org": [r[1] for r in got]},
                          schema={"id": "string", "org": "string"})
    units = actors(ctx).select("org", "oid").distinct()
    typos = typos.join(units, "org")
    return typos.select(case=typos.id.hash(), oid=typos.oid)


@detector(ID, revision=REVISION, severity="high", channel="portal")
def case_misuse(ctx: DetectionContext) -> list[Finding]:
    """People looked up under a wrong case id, or under the unit's case that does not list them."""
    p = ctx.params.get(ID, {})
    min_wrong = int(p.get("min_wrong", 4))
    min_ratio, min_unlisted = float(p.get("min_unlisted_ratio", 3.0)), int(p.get("min_unlisted", 10))
    min_private_share = float(p.get("min_private_share", 0.5))
    standing_accounts = int(p.get("standing_accounts", 5))
    a = accesses(ctx)
    wrong_rows = a.cited & ~a.cited_ok & a.unexpl
    unlisted_rows = a.cited & a.cited_ok & ~a.cited_covers
    bad = a.filter(wrong_rows | unlisted_rows)
    # An unknown id given for one person only is a typing error: left out.
    reused = bad.group_by(["aid", "case"]).aggregate(ids_people=bad.skey.nunique())
    bad = bad.join(reused, ["aid", "case"])
    bad = bad.filter(bad.cited_ok | bad.cited_known | (bad.ids_people >= 2))
    bad = bad.anti_join(_typos(ctx), ["case", "oid"])
    # An id on no case that many accounts of one unit cite is the unit's standing authority, not a borrowing.
    unknown = a.filter(a.cited & ~a.cited_known)
    standing = unknown.group_by(["case", "oid"]).aggregate(accounts=unknown.aid.nunique())
    standing = standing.filter(standing.accounts >= standing_accounts).select("case", "oid")
    bad = bad.anti_join(standing, ["case", "oid"])
    # Casework is shared, misuse is private: an unlisted person counts only if no other account looked
    # them up at all (a suspect's associates are checked by several officers of the team).
    spread = popularity(ctx).select("skey", "accounts")
    bad = bad.join(spread, "skey")
    private = bad.cited_ok & (bad.accounts <= 1)
    # Counted per unit the account worked in at the time, and compared with that unit's accounts.
    per = bad.group_by(["aid", "oid"]).aggregate(
        wrong=bad.skey.nunique(where=~bad.cited_ok), unlisted=bad.skey.nunique(where=private),
        unlisted_all=bad.skey.nunique(where=bad.cited_ok),
        cases=bad.case.nunique(where=~bad.cited_ok), unknown=bad.count(where=~bad.cited_known),
        start=bad.ts.min(where=~bad.cited_ok), end=bad.ts.max(where=~bad.cited_ok),
        u_start=bad.ts.min(), u_end=bad.ts.max())
    # Misuse borrows one case: per cited open case, its private unlisted people, when they are most of the
    # unlisted people the account cited that case for; the account's largest such case counts too.
    bc = bad.filter(bad.cited_ok)
    per_case = bc.group_by(["aid", "oid", "case"]).aggregate(c_priv=bc.skey.nunique(where=bc.accounts <= 1),
                                                             c_all=bc.skey.nunique())
    per_case = per_case.filter(per_case.c_priv >= min_private_share * per_case.c_all)
    best_case = per_case.group_by(["aid", "oid"]).aggregate(case_priv=per_case.c_priv.max())
    per = per.left_join(best_case, ["aid", "oid"]).select(
        *[c for c in per.columns], case_priv=ibis._.case_priv.fill_null(0))
    dim = actors(ctx)
    there = presence(ctx)
    wrong_peer = peer_median_at(per, there, dim, "wrong").select("aid", "oid", w_med="peer_med")
    unl_peer = peer_median_at(per, there, dim, "unlisted").select("aid", "oid", u_med="peer_med")
    case_peer = peer_median_at(per, there, dim, "case_priv").select("aid", "oid", c_med="peer_med")
    hits = per.join(dim.select("aid", "actor"), "aid").join(wrong_peer, ["aid", "oid"]).join(unl_peer, ["aid", "oid"])
    hits = hits.join(case_peer, ["aid", "oid"])
    is_wrong = (hits.wrong >= min_wrong) & (hits.wrong >= 3 * (hits.w_med + 1))
    is_unlisted = ((hits.unlisted >= min_unlisted) & (hits.unlisted >= min_ratio * (hits.u_med + 1))
                   & (hits.unlisted >= min_private_share * hits.unlisted_all))
    one_case = (hits.case_priv >= min_unlisted) & (hits.case_priv >= min_ratio * (hits.c_med + 1))
    is_unlisted = is_unlisted | one_case
    hits = hits.filter(is_wrong | is_unlisted).mutate(is_wrong=is_wrong)
    ev = evidence(ctx)
    found = rows(hits.order_by(["actor", hits.is_wrong.desc(), hits.wrong.desc(), hits.unlisted.desc(), "oid"]))
    found = first_per_actor(found)  # one finding per account: its strongest unit
    if not found:
        return []
    names = unit_names(ctx)
    kinds = ibis.memtable([{"aid": r["aid"], "oid": r["oid"], "want_wrong": bool(r["is_wrong"])} for r in found],
                          schema={"aid": "int32", "oid": "int32", "want_wrong": "boolean"})
    sel = bad.join(kinds, ["aid", "oid"])
    sel = sel.filter(ibis.ifelse(sel.want_wrong, ~sel.cited_ok, sel.cited_ok & (sel.accounts <= 1)))
    listed = first_subjects(sel.select("aid", "skey", first=sel.ts))
    out: list[Finding] = []
    for r in found:
        wrong = bool(r["is_wrong"])
        skeys = listed.get(r["aid"], [])
        org = names.get(r["oid"], "?")
        if wrong:
            score = squash(r["wrong"] / (r["w_med"] + 1), 4.0)
            unknown_ids = f", {fmt_int(r['unknown'])} lookups citing ids that exist on no case" if r["unknown"] else ""
            summary = (f"looked up {fmt_int(r['wrong'])} people under {fmt_int(r['cases'])} case id(s) that are not "
                       f"open cases of {org} (another unit's, closed or unknown{unknown_ids}), on no open case of "
                       f"the unit either; peers: median "
                       f"{r['w_med']:.0f}")
            start, end = r["start"], r["end"]
        else:
            ratio = max(r["unlisted"] / (r["u_med"] + 1), r["case_priv"] / (r["c_med"] + 1))
            score = squash(ratio, 6.0)
            summary = (f"cited open cases of {org} for {fmt_int(r['unlisted'])} people those cases do not "
                       f"list and no other account looked up ({r['unlisted'] / max(r['unlisted_all'], 1):.0%} of "
                       f"the {fmt_int(r['unlisted_all'])} unlisted people it cited them for; "
                       f"{fmt_int(r['case_priv'])} of them under one case, most of those it cited that case for), "
                       f"{ratio:.1f}× the peers' median ({r['u_med']:.0f} in all, {r['c_med']:.0f} under one case)")
            start, end = r["u_start"], r["u_end"]
        out.append(ev.want(Finding(
            detector=ID, revision=REVISION, actor=r["actor"], subjects=[], window_start=start, window_end=end,
            score=score, severity=severity_for(score, "high"), summary=summary, event_ids=[],
            details={"unit": org, "wrong_case_people": r["wrong"], "unlisted_people": r["unlisted"],
                     "unlisted_people_all": r["unlisted_all"], "one_case_private_people": r["case_priv"],
                     "wrong_case_ids": r["cases"], "unknown_case_lookups": r["unknown"],
                     "peer_median_wrong": r["w_med"], "peer_median_unlisted": r["u_med"],
                     "peer_median_one_case": r["c_med"]},
        ), start, end, skeys))
    return out
