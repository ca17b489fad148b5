"""The shared ground of the insider detectors: compact tables of insider accesses, built once per run.

Every insider detector (portal, gateway and console channels) asks the same questions of an access:
who (account, unit, role), whom (subject), what (data kind), when, from where (client), and whether it is
*explained*: its subject is a subject of a case of the actor's unit that was open at the time; a *cited*
case (``authority``) either lists the subject or not. Those joins are the expensive part of detection,
so they run once per :class:`DetectionContext` and are kept as Parquet files read through temp views
(:func:`materialise`; built from Ibis expressions, so the same definitions run on another Ibis backend):

- :func:`actors` — ``aid`` (small integer), ``actor``, ``org``, ``role``, ``oid`` (small integer per unit);
- :func:`accesses` — one narrow row per access: ``ts, aid, skey`` (64-bit hash of the subject pseudonym),
  ``oid`` (the unit the account belonged to at the time: the event's ``actor_org`` when given),
  ``kind`` (data kind as its index in ``DATA_KINDS``: :func:`kind_code`), ``day`` (days since 1970, UTC),
  ``slot`` (hour of day, +24 at weekends), ``client`` (hash of ``attrs.client_ip``/``device``), ``case``
  (hash of the cited case id), flags ``explained``, ``cited_ok`` (the cited case is an open case of the
  unit), ``cited``, ``cited_covers``, ``cited_known``, ``empty`` (no records, or not allowed), ``unexpl``
  (neither explained nor covered by the cited case);
- :func:`pairs` — one row per (account, person) with the counts the detectors share;
- :func:`weekly` — one row per (account, ISO week): lookups, people and the unit it worked in that week;
- :func:`presence` — the (account, unit) pairs: every unit an account worked in (officers move desks).

Integers instead of strings keep 20M accesses within a few hundred MB, and integer days, slots and weeks
spare the calendar arithmetic on zoned timestamps, which DuckDB routes through ICU (seconds per 20M rows).
Findings need the pseudonyms and event ids back: detectors ask for them with :meth:`Evidence.want` and
:func:`resolve` fetches all of a run's evidence at once (:mod:`.evidence`).

Simplification (documented, deliberate): the open periods of a unit's cases about one subject are merged
into one span (first opened .. last closed). A gap between two cases about the same person is treated as
covered; this errs towards *not* flagging.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from custodiet.detect.context import DetectionContext, rows  # noqa: F401 - detectors import rows from here
from custodiet.detect.findings import SEVERITIES, Finding
from custodiet.detect.insider import INSIDER_CHANNELS
from custodiet.detect.insider import evidence as ev_fetch
from custodiet.detect.insider.timeparts import (  # noqa: F401 - detectors import these from here
    day_start,
    epoch_day,
    epoch_us,
    hour_slot,
    week_of_day,
)
from custodiet.events import DATA_KINDS, sql_text
from custodiet.vocabulary import SALE_KINDS

FAR_FUTURE = "9999-12-31 00:00:00+00:00"
_PREFIX = "custodiet_insider_"


def _run_dir(ctx: DetectionContext) -> Path:
    return ctx.store.tmp_dir / f"detect-{os.getpid()}-{id(ctx.con):x}"


def view_name(name: str) -> str:
    """The temp view under which :func:`materialise` keeps the shared table ``name`` (for raw SQL readers)."""
    return _PREFIX + name


def materialise(ctx: DetectionContext, name: str, build: Any) -> ir.Table:
    """The shared table ``name``, computed from the Ibis expression ``build()`` on first use.

    It is written once as Parquet under ``<home>/tmp/`` and read through a temp view: 20M enriched
    accesses held as an in-memory table would take several GB, while the columnar file is read column by
    column (and stays in the OS cache, outside the process). The expression is compiled by Ibis and
    written with DuckDB's COPY (Ibis 12's create_table(temp=True) emits SQL that DuckDB 1.5 rejects).
    """
    view = view_name(name)
    found = ctx.con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND temporary",
                            [view]).fetchall()[0][0]
    if not found:
        folder = _run_dir(ctx)
        folder.mkdir(parents=True, exist_ok=True)
        path_sql = sql_text(str(folder / f"{name}.parquet"))
        sql = ibis.to_sql(build(), dialect="duckdb")
        # Row order means nothing in these tables, and letting the threads write in any order makes the
        # write about 15% faster; uncompressed and without dictionaries, because the file lives only for this
        # run (mostly in the OS cache): compressing 20M rows costs seconds for nothing, and the writer's
        # dictionary attempts on high-cardinality columns (subject keys, times, locators) cost about a third of
        # the write of the accesses table, while reading plain columns back is no slower.
        ctx.con.execute("SET preserve_insertion_order = false")
        try:
            ctx.con.execute(f"COPY ({sql}) TO {path_sql} (FORMAT parquet, COMPRESSION uncompressed, "
                            "ROW_GROUP_SIZE 122880, DICTIONARY_SIZE_LIMIT 1)")
        finally:
            ctx.con.execute("RESET preserve_insertion_order")
        ctx.con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM read_parquet({path_sql})")
    return ctx.ibis.table(view)


def forget(ctx: DetectionContext) -> None:
    """Drop the shared tables and their files (the runner calls this when a run ends)."""
    names = ctx.con.execute("SELECT view_name FROM duckdb_views() WHERE temporary AND starts_with(view_name, ?)",
                            [_PREFIX]).fetchall()
    for (name,) in names:
        ctx.con.execute(f"DROP VIEW IF EXISTS {name}")
    shutil.rmtree(_run_dir(ctx), ignore_errors=True)


def insider_events(ctx: DetectionContext) -> ir.Table:
    ev = ctx.ibis.table("events")
    return ev.filter(ev.channel.isin(INSIDER_CHANNELS))


def _located_events(ctx: DetectionContext) -> ir.Table:
    """The insider events with ``loc``: (segment index << 32) | row number in the segment.

    The locator lets :class:`Evidence` pick a finding's events on the narrow accesses table and read event
    ids only for those rows. Raw SQL for the view: the file index and row number are DuckDB's virtual
    columns of ``read_parquet``, which Ibis cannot name (and the ``events`` view does not pass them on).
    """
    if not ctx.segments:
        return insider_events(ctx).mutate(loc=ibis.null("int64"))
    view = _PREFIX + "located"
    ctx.con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT *, (CAST(file_index AS BIGINT) << 32) | "
                    f"file_row_number AS loc FROM read_parquet({ev_fetch.parquet_list(ctx.segments)})")
    ev = ctx.ibis.table(view)
    return ev.filter(ev.channel.isin(INSIDER_CHANNELS))


def actors(ctx: DetectionContext) -> ir.Table:
    """Every account seen in insider events or in the actors table: aid, actor, org, role, oid (unit id)."""
    def build() -> ir.Table:
        ev = insider_events(ctx)
        seen = ev.group_by("actor").aggregate(e_org=ev.actor_org.max())
        ctx_actors = ctx.ibis.table("actors")
        known = ctx_actors.group_by("actor").aggregate(a_org=ctx_actors.org.min(), a_role=ctx_actors.role.min())
        j = seen.outer_join(known, seen.actor == known.actor)
        j = j.select(actor=ibis.coalesce(j.actor, j.actor_right),
                     org=ibis.coalesce(j.a_org, j.e_org, ibis.literal("?")), role=j.a_role.fill_null("?"))
        return j.mutate(aid=ibis.row_number().over(order_by=j.actor).cast("int32"),
                        oid=ibis.dense_rank().over(order_by=j.org).cast("int32"))
    return materialise(ctx, "actors", build)


def subject_key(subject: ir.StringValue) -> ir.IntegerValue:
    """The 64-bit key (``skey``) of a subject pseudonym in the shared tables: the engine's hash."""
    return subject.hash()


def kind_code(kind: str) -> int:
    """The small integer that stands for a data kind in :func:`accesses` (its index in ``DATA_KINDS``;
    a kind outside the vocabulary, which ingest rejects, would be -1 there)."""
    if kind not in DATA_KINDS:
        raise ValueError(f"unknown data kind {kind!r}; known: {', '.join(DATA_KINDS)}")
    return DATA_KINDS.index(kind)


# Urgent lookups come before the case file: a subject looked up this many days before a case of the unit
# that lists it was opened counts as explained (casework, not curiosity). Two weeks covers the "days later"
# of a file being written up; a longer grace would let a seller cite a case opened weeks after the sale.
PRE_CASE_GRACE_DAYS = 14


# SQL twin of :func:`case_id_key`, for the raw queries that compare case ids as text.
CASE_ID_KEY_SQL = "regexp_replace(upper({}), '[^A-Z0-9]', '', 'g')"


def case_id_key(case_id: ir.StringValue) -> ir.StringValue:
    """A case id as compared: upper case, letters and digits only. Officers type ids in either case and
    with whatever separators come to hand ("DSA/2024/0997", "dsa-2024-0997", "DSA 2024 0997" are one case)."""
    return case_id.upper().re_replace(r"[^A-Z0-9]", "")


def accesses(ctx: DetectionContext) -> ir.Table:
    """The narrow, enriched insider accesses of this run (see the module docstring).

    An access is judged against the cases of the unit the account belonged to *at the time*: the event's
    ``actor_org`` when the source gives it (officers move desks; the actors table holds the unit now), else
    the actors table's unit.
    """
    def build() -> ir.Table:
        b = ctx.ibis
        dim = actors(ctx)
        orgs = dim.select(o_org=dim.org, o_oid=dim.oid).distinct()
        cases, cs = b.table("cases"), b.table("case_subjects")
        cases = cases.join(orgs, cases.org == orgs.o_org)  # units with no account can explain nothing
        grace = ibis.interval(days=PRE_CASE_GRACE_DAYS)
        links = cs.join(cases, cs.case_id == cases.case_id).select(
            l_key=subject_key(cs.subject), l_oid=cases.o_oid, opened=cases.opened - grace,
            closed=cases.closed.fill_null(ibis.timestamp(FAR_FUTURE)))
        span = links.group_by(["l_key", "l_oid"]).aggregate(s_open=links.opened.min(), s_close=links.closed.max())
        # Case ids are compared as typed by people: case and surrounding spaces do not matter.
        cited = cs.select(c_case=case_id_key(cs.case_id), c_key=subject_key(cs.subject)).distinct()
        all_cases = b.table("cases")
        all_cases = all_cases.left_join(orgs, all_cases.org == orgs.o_org)
        known = all_cases.group_by(k_case=case_id_key(all_cases.case_id)).aggregate(
            k_oid=all_cases.o_oid.min(), k_open=all_cases.opened.min(),
            k_close=all_cases.closed.fill_null(ibis.timestamp(FAR_FUTURE)).max())
        ev = _located_events(ctx)
        kinds = ev.data_kind.cases(*((k, i) for i, k in enumerate(DATA_KINDS)), else_=-1)
        ev = ev.select("ts", "loc", "actor", "actor_org", "outcome", "records", authority=case_id_key(ev.authority),
                       skey=subject_key(ev.subject), kind=kinds.cast("int8"),
                       # attrs is canonical JSON (sorted keys, no spaces), so a pattern finds a string value
                       # faster than parsing the document.
                       client_text=ibis.coalesce(ev.attrs.re_extract(r'"client_ip":"([^"]*)"', 1).nullif(""),
                                                 ev.attrs.re_extract(r'"device":"([^"]*)"', 1).nullif("")))
        e = ev.join(dim, ev.actor == dim.actor).select(
            "ts", "loc", "aid", "oid", "actor_org", "skey", "kind", "authority", "outcome", "records", "client_text")
        unit_then = orgs.view()  # the units again, as a relation of its own for this second join
        e = e.left_join(unit_then, e.actor_org == unit_then.o_org)
        e = e.select("ts", "loc", "aid", "skey", "kind", "authority", "outcome", "records", "client_text",
                     oid=ibis.coalesce(e.o_oid, e.oid)).view()  # a new relation: later joins key on oid
        e = e.left_join(span, [("skey", "l_key"), ("oid", "l_oid")]).select(
            "ts", "loc", "aid", "oid", "skey", "kind", "authority", "outcome", "records", "client_text",
            explained=(ibis._.s_open.notnull() & (ibis._.s_open <= ibis._.ts)
                       & (ibis._.ts <= ibis._.s_close)).fill_null(False))
        e = e.left_join(cited, [("authority", "c_case"), ("skey", "c_key")]).select(
            "ts", "loc", "aid", "oid", "skey", "kind", "authority", "outcome", "records", "client_text", "explained",
            cited_covers=ibis._.c_case.notnull())
        e = e.left_join(known, [("authority", "k_case")])
        return e.select(
            e.ts, e.loc, e.aid, e.skey, e.kind, oid=e.oid.cast("int32"), day=epoch_day(e.ts), slot=hour_slot(e.ts),
            client=e.client_text.hash(), case=e.authority.hash(),
            explained=e.explained, cited=e.authority.notnull(), cited_covers=e.cited_covers,
            cited_known=e.k_case.notnull(),
            cited_ok=(e.k_case.notnull() & (e.k_oid == e.oid) & (e.k_open - grace <= e.ts) & (e.ts <= e.k_close))
            .fill_null(False),
            empty=(e.records.fill_null(1) == 0) | (e.outcome != "allowed"),
            unexpl=~e.explained & ~e.cited_covers,
        )
    return materialise(ctx, "accesses", build)


def pairs(ctx: DetectionContext) -> ir.Table:
    """Per (aid, skey): n, first, last, day (epoch day of the first access), expl (any explained access),
    u_n (unexplained accesses), empty (any empty answer), sale (any lookup of a kind that sells).

    There are nearly as many pairs as accesses (13M of 20M), so every column costs: only plain and filtered
    aggregates (distinct counts per group are several times dearer), and only what several detectors
    share; details of a few pairs are computed where they are needed (e.g. :mod:`.stalking`).
    """
    def build() -> ir.Table:
        a = accesses(ctx)
        return a.group_by(["aid", "skey"]).aggregate(
            n=a.count(), first=a.ts.min(), last=a.ts.max(), day=a.day.min(), expl=a.explained.any(),
            u_n=a.count(where=a.unexpl), empty=a.empty.any(),
            sale=is_sale(a.kind).any())
    return materialise(ctx, "pairs", build)


def weekly(ctx: DetectionContext) -> ir.Table:
    """Per (aid, week): lookups, distinct people, distinct unexplained people (week = Monday 00:00 UTC), and
    ``w_oid``, the unit the account worked in that week: in the week of a desk move, the unit of most of its
    lookups (the higher unit id before: a move on a Friday judged the week's verification strangers of the
    new desk against the investigation unit left behind)."""
    def build() -> ir.Table:
        a = accesses(ctx)
        w = a.mutate(wk=week_of_day(a.day))  # integer weeks: grouping on them is cheaper than on timestamps
        # Exact distinct counts: a HyperLogLog estimate hashes the pseudonyms, so its error (and the findings
        # it feeds) would change with the pseudonym key.
        # The unit of most lookups from the lowest and highest unit id and their sum: exact for a week with
        # two units (a desk move), close for the rare week with three; a mode() costs seconds at 20M rows.
        g = w.group_by(["aid", "wk"]).aggregate(lookups=w.count(), people=w.skey.nunique(),
                                                 u_people=w.skey.nunique(where=w.unexpl),
                                                 first=w.ts.min(), last=w.ts.max(), o_lo=w.oid.min(),
                                                 o_hi=w.oid.max(), o_sum=w.oid.cast("int64").sum())
        at_hi = (g.o_sum - g.lookups * g.o_lo) * 2 >= g.lookups * (g.o_hi - g.o_lo)
        return g.select("aid", "lookups", "people", "u_people", "first", "last",
                        w_oid=ibis.ifelse(at_hi, g.o_hi, g.o_lo), wk=g.wk, week=day_start(g.wk, a.ts))
    return materialise(ctx, "weekly", build)


def presence(ctx: DetectionContext) -> ir.Table:
    """Every (aid, oid) an account worked in, from :func:`weekly` (small): the peers of a unit are the
    accounts that worked there, not only those the actors table lists there now."""
    w = weekly(ctx)
    return w.select("aid", oid=w.w_oid).distinct()


def unit_names(ctx: DetectionContext) -> dict[int, str]:
    """Unit id (``oid``) to the unit's name."""
    dim = actors(ctx)
    return {r["oid"]: r["org"] for r in rows(dim.select("oid", "org").distinct())}


def popularity(ctx: DetectionContext) -> ir.Table:
    """Per person (skey): how many accounts looked them up at all (``accounts``), and without a case
    (``u_accounts``)."""
    def build() -> ir.Table:
        p = pairs(ctx)
        return p.group_by("skey").aggregate(accounts=p.count(), u_accounts=p.count(where=p.u_n > 0))
    return materialise(ctx, "popularity", build)


def named(t: ir.Table, ctx: DetectionContext) -> ir.Table:
    """``t`` (with an ``aid`` column) with the account's name, unit and role added."""
    dim = actors(ctx)
    return t.join(dim, "aid")


def is_sale(kind: ir.IntegerValue) -> ir.BooleanValue:
    """Whether an access's ``kind`` code is one of the kinds that sell (``SALE_KINDS``)."""
    return kind.isin([kind_code(k) for k in SALE_KINDS])


def unexplained_sales(ctx: DetectionContext) -> ir.Table:
    """The accesses no case explains, of the kinds that sell: what a seller's lookups look like."""
    a = accesses(ctx)
    return a.filter(a.unexpl & is_sale(a.kind))


def sale_kinds(t: ir.Table, keys: list[str], only: ir.BooleanValue | None = None, **extra: ir.Value) -> ir.Table:
    """Per ``keys`` of accesses ``t``: ``has_<kind>`` (0/1) for each sale kind and ``kinds``, how many were
    pulled (counting only rows meeting ``only``, if given), with the ``extra`` aggregates. A sum of flags
    is much cheaper than a distinct count of kinds over millions of lookups."""
    on = {k: t.kind == kind_code(k) for k in SALE_KINDS}
    if only is not None:
        on = {k: v & only for k, v in on.items()}
    g = t.group_by(keys).aggregate(**{f"has_{k}": v.any().cast("int8") for k, v in on.items()}, **extra)
    return g.mutate(kinds=sum((g[f"has_{k}"] for k in SALE_KINDS[1:]), g[f"has_{SALE_KINDS[0]}"]))


def first_subjects(t: ir.Table, limit: int = 100) -> dict[int, list[int]]:
    """For a table of (aid, skey, first): each account's first ``limit`` subject keys, in one query, with every
    key tied with the last one by time (a tie is never broken on the key, which depends on the pseudonym
    key: the evidence then picks subjects by their events' time and id).

    Detectors list the people behind each finding; asking once for all flagged accounts keeps that a
    single pass however many accounts are flagged.
    """
    t = t.group_by(["aid", "skey"]).aggregate(first=t.first.min())
    t = t.mutate(k=ibis.rank().over(group_by="aid", order_by="first"))
    out: dict[int, list[int]] = {}
    for r in rows(t.filter(t.k < limit).order_by(["aid", "k", "skey"])):
        out.setdefault(r["aid"], []).append(r["skey"])
    return out


def first_per_actor(ordered: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first row of each ``actor`` in ``ordered``: with rows sorted by actor and strength, one finding
    per account, about its most extreme period."""
    seen: set[str] = set()
    out = []
    for r in ordered:
        if r["actor"] not in seen:
            seen.add(r["actor"])
            out.append(r)
    return out


# -- evidence -------------------------------------------------------------------------------------

@dataclass
class _Want:
    finding: Finding
    actor: str
    start: datetime
    end: datetime
    skeys: list[int] | None
    channels: tuple[str, ...] | None


_PENDING: dict[int, Evidence] = {}


def evidence(ctx: DetectionContext) -> Evidence:
    """The evidence collector of this run; the runner resolves it after the last detector."""
    if id(ctx) not in _PENDING:
        _PENDING[id(ctx)] = Evidence()
    return _PENDING[id(ctx)]


def resolve_pending(ctx: DetectionContext) -> None:
    """Fill in the evidence every detector of this run asked for (one pass over the events)."""
    pending = _PENDING.pop(id(ctx), None)
    if pending is not None:
        pending.resolve(ctx)


@dataclass
class Evidence:
    """Collects the evidence a detector's findings need; :func:`resolve` fills them in one pass."""

    wants: list[_Want] = field(default_factory=list)

    def want(self, finding: Finding, start: datetime, end: datetime, skeys: Sequence[int] | None = None,
             channels: Sequence[str] | None = INSIDER_CHANNELS) -> Finding:
        """Ask for the ids of the finding's actor's events in [start, end] (about ``skeys`` if given, whose
        pseudonyms then become the finding's ``subjects``)."""
        self.wants.append(_Want(finding, finding.actor, start, end, None if skeys is None else list(skeys),
                                None if channels is None else tuple(channels)))
        return finding

    def resolve(self, ctx: DetectionContext, limit: int = 200, max_subjects: int = 100) -> list[Finding]:
        """Fill event ids (oldest first, at most ``limit``) and subjects; return the findings."""
        if not self.wants:
            return []
        req = [{"rid": i, "actor": w.actor, "start": w.start, "end": w.end, "keyed": w.skeys is not None,
                "any_channel": w.channels is None} for i, w in enumerate(self.wants)]
        keys = [{"rid": i, "skey": k} for i, w in enumerate(self.wants) for k in (w.skeys or [])]
        if any(w.channels is not None for w in self.wants):
            accesses(ctx)  # normally built already by the detectors that asked
        got = ev_fetch.pick_and_fetch(
            ctx.con, pa.Table.from_pylist(req, schema=ev_fetch.REQUEST_SCHEMA),
            pa.Table.from_pylist(keys, schema=ev_fetch.KEY_SCHEMA), accesses=_PREFIX + "accesses",
            actors=_PREFIX + "actors", segments=ctx.segments, limit=limit)
        for rid, event_id, subject in got:
            w = self.wants[rid]
            w.finding.event_ids.append(event_id)
            if w.skeys is not None and subject not in w.finding.subjects and len(w.finding.subjects) < max_subjects:
                w.finding.subjects.append(subject)
        out = []
        for w in self.wants:
            w.finding.finding_id = ""
            w.finding.__post_init__()  # the id covers subjects and evidence, now known
            out.append(w.finding)
        return out


# -- wording and scores ---------------------------------------------------------------------------

def fmt_int(n: float) -> str:
    return f"{int(round(n)):,}"


def severity_for(score: float, ceiling: str) -> str:
    """Severity from strength: the detector's ceiling for strong findings, one or two tiers below else."""
    top = SEVERITIES.index(ceiling)
    if score >= 0.8:
        return SEVERITIES[top]
    if score >= 0.5:
        return SEVERITIES[max(top - 1, 0)]
    return SEVERITIES[max(top - 2, 0)]


def squash(x: float, half: float) -> float:
    """Map a non-negative strength onto [0, 1): 0.5 at ``half``, saturating smoothly."""
    x = max(x, 0.0)
    return x / (x + half)
