"""The shared ground of the insider detectors: one enriched table of insider accesses, built once per run.

Every insider detector (portal, gateway and console channels) asks the same questions of an access:
who (account, unit, role), whom (subject), what (data kind), when, from where (client address), and
whether it is *explained*. An access is explained when its subject is a subject of a case of the actor's
unit that was open at the time; a *cited* case (``authority``) either covers the subject or not. Those
joins are the expensive part, so :func:`accesses` materialises them once per :class:`DetectionContext` as
a DuckDB temp table (through Ibis, so the same expression runs on another Ibis backend) and every detector
reads it.

Simplification (documented, deliberate): the open periods of a unit's cases about one subject are merged
into one span (first opened .. last closed). A gap between two cases about the same person is treated as
covered; this errs towards *not* flagging.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from custodiet.detect.context import DetectionContext

INSIDER_CHANNELS = ("portal", "gateway", "console")
BASE_TABLE = "custodiet_insider_accesses"


def _enriched(ctx: DetectionContext) -> ir.Table:
    """The Ibis expression of insider accesses with unit, role, explained and cited-case flags."""
    b = ctx.ibis
    ev = b.table("events")
    ev = ev.filter(ev.channel.isin(INSIDER_CHANNELS))
    actors = b.table("actors")
    # One row per actor even if the context file repeats an actor.
    actors = actors.group_by("actor").aggregate(a_org=actors.org.min(), a_role=actors.role.min())
    cases = b.table("cases")
    cs = b.table("case_subjects")
    links = cs.join(cases, cs.case_id == cases.case_id).select(
        l_subject=cs.subject, l_org=cases.org, opened=cases.opened,
        closed=cases.closed.fill_null(ibis.timestamp("9999-12-31 00:00:00+00:00")),
    )
    span = links.group_by(["l_subject", "l_org"]).aggregate(s_open=links.opened.min(), s_close=links.closed.max())
    cited = cs.select(c_case=cs.case_id, c_subject=cs.subject).distinct()
    known = cases.select(k_case=cases.case_id).distinct()

    e = ev.left_join(actors, ev.actor == actors.actor)
    e = e.select(
        ts=e.ts, actor=e.actor, subject=e.subject, data_kind=e.data_kind, authority=e.authority,
        outcome=e.outcome, records=e.records,
        org=e.a_org.fill_null(e.actor_org).fill_null("?"), role=e.a_role.fill_null("?"),
        client=ibis.coalesce(e.attrs.cast("json")["client_ip"].str, e.attrs.cast("json")["device"].str),
    ).view()  # a fresh relation: later joins may refer to the derived org column
    e = e.left_join(span, [("subject", "l_subject"), ("org", "l_org")])
    e = e.mutate(explained=(e.s_open.notnull() & (e.s_open <= e.ts) & (e.ts <= e.s_close)).fill_null(False))
    e = e.drop("l_subject", "l_org", "s_open", "s_close").view()
    e = e.left_join(cited, [("authority", "c_case"), ("subject", "c_subject")])
    e = e.mutate(cited_covers=e.c_case.notnull())
    e = e.drop("c_case", "c_subject").view()
    e = e.left_join(known, [("authority", "k_case")])
    e = e.mutate(cited_known=e.k_case.notnull())
    return e.drop("k_case")


def accesses(ctx: DetectionContext) -> ir.Table:
    """The enriched insider accesses of this run (materialised on first use, then shared).

    Columns: ts, actor, subject, data_kind, authority, outcome, records, org, role, client,
    explained (subject on an open case of the actor's unit), cited_covers (the cited case lists the
    subject), cited_known (the cited case id exists at all).
    """
    if not _exists(ctx):
        # Ibis 12's create_table(temp=True, overwrite=True) emits SQL that DuckDB 1.5 rejects, so the
        # expression is compiled by Ibis and materialised with one CREATE TEMP TABLE ... AS statement.
        sql = ibis.to_sql(_enriched(ctx), dialect="duckdb")
        ctx.con.execute(f"CREATE OR REPLACE TEMP TABLE {BASE_TABLE} AS {sql}")
    return ctx.ibis.table(BASE_TABLE)


def _exists(ctx: DetectionContext) -> bool:
    found = ctx.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND temporary",
                            [BASE_TABLE]).fetchall()
    return bool(found[0][0])


def forget(ctx: DetectionContext) -> None:
    """Drop the materialised table (the runner calls this when a run ends)."""
    ctx.con.execute(f"DROP TABLE IF EXISTS temp.{BASE_TABLE}")


def rows(expr: ir.Table) -> list[dict[str, Any]]:
    """Execute a (small) result fully and return it as dicts."""
    return expr.to_pyarrow().to_pylist()


def event_ids(ctx: DetectionContext, actor: str, start: datetime, end: datetime,
              subjects: Sequence[str] | None = None, limit: int = 200) -> list[str]:
    """Ids of the actor's insider events in [start, end] (optionally only about some subjects).

    Evidence is fetched per finding rather than carried through the aggregations, which keeps the shared
    table narrow. At most ``limit`` ids, oldest first.
    """
    ev = ctx.ibis.table("events")
    cond = ev.channel.isin(INSIDER_CHANNELS) & (ev.actor == actor) & ev.ts.between(start, end)
    if subjects is not None:
        cond &= ev.subject.isin(list(subjects))
    q = ev.filter(cond).order_by(["ts", "event_id"]).select("event_id").limit(limit)
    return [r["event_id"] for r in rows(q)]


def fmt_int(n: float) -> str:
    return f"{int(round(n)):,}"


def severity_for(score: float, ceiling: str) -> str:
    """Severity from strength: the detector's ceiling for strong findings, one or two tiers below else."""
    tiers = ("info", "low", "medium", "high", "critical")
    top = tiers.index(ceiling)
    if score >= 0.8:
        return tiers[top]
    if score >= 0.5:
        return tiers[max(top - 1, 0)]
    return tiers[max(top - 2, 0)]


def squash(x: float, half: float) -> float:
    """Map a non-negative strength onto [0, 1): 0.5 at ``half``, saturating smoothly."""
    x = max(x, 0.0)
    return x / (x + half)
