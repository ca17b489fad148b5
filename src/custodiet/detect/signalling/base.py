"""The shared ground of the signalling detectors: one table of signalling requests with their source and
destination networks resolved against the home network profile and the registry, built once per run.

Columns of :func:`requests` (one row per MAP invoke / Diameter request event):
``event_id, ts, actor, subject, operation, outcome, proto ("map"|"diameter"), code`` (MAP opcode or
Diameter command code), ``src`` (the sender's network key: profile name, else the calling GT / Origin-Host),
``src_network`` (profile name or registry operator, may be null), ``src_country``, ``src_home``,
``src_partner``, ``src_roaming``, ``src_sms``, ``dst_home`` (addressed to a home node, by its GT or by the
E.214 mobile global title of one of our IMSIs), ``dst_key``
(network key of the called GT / destination), ``dst_country``, ``visited_plmn``, ``visited_ok``
(Visited-PLMN-Id belongs to the sender; null when absent or the sender is unknown), ``subject_kind``,
``error_code`` (MAP error of the answer, if any), ``ok`` (the request succeeded: not rejected by
ReturnError, TCAP abort, refused dialogue or a non-2xxx Diameter result; an unanswered request counts
as succeeded), ``calling_gt``, ``tcap_type``, ``dst_partner`` (the destination is a partner of the profile),
``link`` (the pseudonym of the other identity the request carries: the MSISDN of an IMSI-keyed request or
the reverse, or the IMSI its answer gave), ``node_gt`` (the VLR / SGSN / MSC number
inside the argument), and the optional transport attributes
``opc``, ``dpc``, ``routing_context``, ``calling_pc``, ``src_ip``, ``imsi_plmn`` (null when the decoder
did not give them; read the way the profile writes the PLMN, see ``_profile_plmn_reading``).

A MAP request without a calling global title (routed on point code and SSN) is home-internal: interconnect
traffic is always routed on global title. International networks (+881/+882/+883, MCC 901) get the pseudo
country ``XI``: ships, aircraft and satellites serve subscribers anywhere. Without a home network profile
every global title is foreign and no prefix is known to be ours: ``Networks.assumptions`` says so.

Networks are resolved in Python once per distinct GT / realm (a few hundred at most), then joined in the
engine. Diameter senders are resolved from the MCC/MNC in their Origin-Realm
(``epc.mncXXX.mccYYY.3gppnetwork.org``), the only place S6a names the sending PLMN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from custodiet.context.network import Network, NetworkProfile, Registry
from custodiet.detect.context import DetectionContext, rows  # noqa: F401 - detectors import rows from here
from custodiet.detect.findings import Finding
from custodiet.geo import INTERNATIONAL, INTERNATIONAL_MCC, is_international_gt

BASE_TABLE = "custodiet_signalling_requests"
NODES_TABLE = "custodiet_signalling_nodes"
if TYPE_CHECKING:
    from custodiet.store import Store

_REALM = re.compile(r"mnc(\d{2,3})\.mcc(\d{3})")
_PLMN = re.compile(r"^(\d{3})-?(\d{2,3})$")

# MAP opcodes
UL, CL, PRN, ISD, DSD, SRI, UGL, MTFSM, SRISM, SAI, SENDIMSI, PURGE, PSI, ATI, PSL, SRILCS = (
    2, 3, 4, 7, 8, 22, 23, 44, 45, 56, 58, 67, 70, 71, 83, 85)
ATSI, ATM = 62, 65
SENDID, RESTORE, READYSM, NOTEMM = 55, 57, 66, 89
# Diameter command codes
ULR, CLR, AIR, IDR, DSR, PUR, NOR, UDR, SNR, PLR, RIR = (
    316, 317, 318, 319, 320, 321, 323, 306, 308, 8388620, 8388622)


@dataclass(frozen=True)
class NodeInfo:
    key: str
    network: str | None
    country: str | None
    home: bool
    partner: bool
    roaming: bool
    sms: bool
    plmns: tuple[tuple[str, int], ...]


def _plmn_key(text: str | None) -> tuple[str, int] | None:
    """(MCC, int(MNC)) of "310-260", "310260" or a realm's mncXXX.mccYYY; None if it holds none."""
    if not text:
        return None
    m = _REALM.search(text)
    if m:
        return m.group(2), int(m.group(1))
    m = _PLMN.match(text.strip())
    return (m.group(1), int(m.group(2))) if m else None


NO_PROFILE = ("no home-network profile loaded (custodiet context load network FILE): every global title and "
              "Diameter realm is treated as foreign, home GT/MSISDN prefixes and MCC-MNC are unknown, no partner "
              "has a roaming or SMS agreement; only requests routed on point code (no calling GT) are taken as "
              "home-internal")


def assumptions(store: Store) -> list[str]:
    """Warnings for a run of the signalling detectors over ``store``: what they assume for lack of context
    (nothing when the store holds no signalling events or a home network profile is loaded)."""
    if NetworkProfile.from_store(store) is not None:
        return []
    con = store.connect()
    try:
        found = con.execute("SELECT count(*) FROM (SELECT 1 FROM events WHERE channel = 'signalling' LIMIT 1)")
        return [NO_PROFILE] if found.fetchall()[0][0] else []
    finally:
        con.close()


class Networks:
    """The profile and registry questions the signalling detectors ask, answered per GT or realm."""

    def __init__(self, profile: NetworkProfile | None, registry: Registry):
        self.profile, self.registry = profile, registry
        self._by_plmn: dict[tuple[str, int], Network] = {}
        if profile is not None:
            for net in profile.networks:
                for plmn in net.mcc_mnc:
                    key = _plmn_key(plmn)
                    if key is not None:
                        self._by_plmn.setdefault(key, net)

    @classmethod
    def from_store(cls, ctx: DetectionContext) -> Networks:
        profile = NetworkProfile.from_store(ctx.store)
        return cls(profile, Registry(profile))

    def _info(self, key: str, net: Network | None, operator: str | None, country: str | None) -> NodeInfo:
        if net is not None:
            plmns = tuple(p for p in (_plmn_key(x) for x in net.mcc_mnc) if p is not None)
            if any(m == INTERNATIONAL_MCC for m, _ in plmns) or any(is_international_gt(g) for g in net.gt_prefixes):
                country = INTERNATIONAL
            else:
                country = net.country
            return NodeInfo(net.name, net.name, country, net.home, not net.home, net.roaming or net.home,
                            net.sms or net.home, plmns)
        return NodeInfo(key, operator, country, False, False, False, False, ())

    def assumptions(self) -> list[str]:
        """What the detectors assume for lack of context (empty when a home network profile is loaded)."""
        return [] if self.profile is not None else [NO_PROFILE]

    def of_gt(self, gt: str) -> NodeInfo:
        if gt.startswith("pc:") or not gt:  # routed on point code and SSN: inside the home network
            name = self.profile.home.name if self.profile is not None else "home network (routed on point code)"
            country = self.profile.home.country if self.profile is not None else None
            return NodeInfo(gt, name, country, True, False, True, True, ())
        net = self.profile.network_of_gt(gt) if self.profile is not None else None
        att = self.registry.attribute_gt(gt)
        country = INTERNATIONAL if is_international_gt(gt) and (net is None or not net.home) else att.country
        return self._info(gt, net, att.operator, country)

    def of_realm(self, realm: str, host: str) -> NodeInfo:
        plmn = _plmn_key(realm) or _plmn_key(host)
        net = self._by_plmn.get(plmn) if plmn is not None else None
        if net is None and plmn is not None:
            att = self.registry.attribute_plmn(f"{plmn[0]}-{plmn[1]:02d}")
            if att.operator is None and att.country is None:
                att = self.registry.attribute_plmn(f"{plmn[0]}-{plmn[1]:03d}")
            country = INTERNATIONAL if plmn[0] == INTERNATIONAL_MCC else att.country
            info = self._info(realm or host, None, att.operator, country)
            return NodeInfo(info.key, info.network, info.country, False, False, False, False, (plmn,))
        return self._info(realm or host, net, None, None)


RAW_TABLE = "custodiet_signalling_raw"
_ATTR_PATHS = ("map_opcode", "command_code", "sccp_calling_gt", "sccp_called_gt", "origin_realm", "origin_host",
               "destination_realm", "visited_plmn_id", "country", "tcap_type", "opc", "dpc", "routing_context",
               "sccp_calling_pc", "src_ip", "imsi_plmn", "imsi_pseudonym", "msisdn_pseudonym", "destination_host",
               "error_code", "node_gt", "vlr", "sgsn", "msc")


def _raw(ctx: DetectionContext) -> ir.Table:
    """Signalling events with the attrs fields the detectors need, parsed once.

    Plain SQL here: ``json_extract_string`` with a list of paths parses each attrs text once, where the
    Ibis JSON accessors parse it once per field (10x slower on this step).
    """
    paths = ", ".join(f"'$.{p}'" for p in _ATTR_PATHS)
    a = {p: f"j[{i}]" for i, p in enumerate(_ATTR_PATHS, 1)}
    ctx.con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {RAW_TABLE} AS
        SELECT event_id, ts, actor, subject, coalesce(subject_kind, 'unknown') AS subject_kind, operation,
               outcome, {a['country']} AS attr_country, {a['tcap_type']} AS tcap_type,
               {a['sccp_calling_gt']} AS calling_gt, {a['opc']} AS opc, {a['dpc']} AS dpc,
               {a['routing_context']} AS routing_context, {a['sccp_calling_pc']} AS calling_pc,
               {a['src_ip']} AS src_ip, {a['imsi_plmn']} AS imsi_plmn,
               CAST({a['error_code']} AS BIGINT) AS error_code,
               coalesce({a['vlr']}, {a['sgsn']}, {a['msc']}) AS node_gt,
               coalesce({a['imsi_pseudonym']}, {a['msisdn_pseudonym']}) AS link,
               CASE WHEN {a['command_code']} IS NOT NULL THEN 'diameter' ELSE 'map' END AS proto,
               CAST(coalesce({a['map_opcode']}, {a['command_code']}) AS BIGINT) AS code,
               coalesce({a['sccp_calling_gt']}, actor) AS calling, {a['sccp_called_gt']} AS called,
               coalesce({a['origin_realm']}, '') AS realm, coalesce({a['origin_host']}, actor) AS host,
               coalesce({a['destination_realm']}, {a['destination_host']}) AS dest_realm,
               {a['visited_plmn_id']} AS visited_plmn
        FROM (SELECT *, json_extract_string(attrs, [{paths}]) AS j FROM events WHERE channel = 'signalling')
    """)
    return ctx.ibis.table(RAW_TABLE)


def _nodes(raw: ir.Table, nets: Networks) -> pa.Table:
    """Resolve every distinct sender and destination once."""
    rows: dict[str, NodeInfo] = {}
    gts = raw.filter(raw.proto == "map")
    for col in ("calling", "called"):
        for r in gts.select(v=gts[col]).distinct().to_pyarrow().to_pylist():
            if r["v"]:
                rows["gt:" + r["v"]] = nets.of_gt(r["v"])
    rows["gt:"] = nets.of_gt("")  # no called GT: routed on point code inside the home network
    dia = raw.filter(raw.proto == "diameter")
    for r in dia.select("realm", "host").distinct().to_pyarrow().to_pylist():
        rows["dia:" + r["realm"] + "|" + r["host"]] = nets.of_realm(r["realm"], r["host"])
    for r in dia.select(v=dia.dest_realm).distinct().to_pyarrow().to_pylist():
        if r["v"]:
            rows["dia:" + r["v"] + "|"] = nets.of_realm(r["v"], "")
    names = list(rows)
    infos = [rows[n] for n in names]
    return pa.table({
        "node": names, "key": [i.key for i in infos], "network": [i.network for i in infos],
        "country": [i.country for i in infos], "home": [i.home for i in infos],
        "partner": [i.partner for i in infos], "roaming": [i.roaming for i in infos],
        "sms": [i.sms for i in infos],
        "plmns": [";".join(f"{m}-{n}" for m, n in i.plmns) for i in infos],
    }, schema=pa.schema([("node", pa.string()), ("key", pa.string()), ("network", pa.string()),
                         ("country", pa.string()), ("home", pa.bool_()), ("partner", pa.bool_()),
                         ("roaming", pa.bool_()), ("sms", pa.bool_()), ("plmns", pa.string())]))


def requests(ctx: DetectionContext) -> ir.Table:
    """The resolved signalling requests of this run (materialised on first use, then shared)."""
    if not _exists(ctx, BASE_TABLE):
        nets = Networks.from_store(ctx)
        raw = _raw(ctx)
        ctx.con.register(NODES_TABLE, _nodes(raw, nets))
        nodes = ctx.ibis.table(NODES_TABLE)
        raw = raw.mutate(
            src_node=ibis.ifelse(raw.proto == "map", "gt:" + raw.calling, "dia:" + raw.realm + "|" + raw.host),
            dst_node=ibis.ifelse(raw.proto == "map", "gt:" + raw.called.fill_null(""),
                                 "dia:" + raw.dest_realm.fill_null("") + "|"))
        s = nodes.select(src_node=nodes.node, src=nodes.key, src_network=nodes.network,
                         src_country_n=nodes.country, src_home=nodes.home, src_partner=nodes.partner,
                         src_roaming=nodes.roaming, src_sms=nodes.sms, src_plmns=nodes.plmns)
        d = nodes.select(dst_node=nodes.node, dst_key=nodes.key, dst_home_n=nodes.home, dst_country=nodes.country,
                         dst_partner=nodes.partner)
        e = raw.left_join(s, "src_node").drop("src_node_right").view()
        e = e.left_join(d, "dst_node").drop("dst_node_right")
        e = e.select(
            "event_id", "ts", "actor", "subject", "subject_kind", "operation", "outcome", "proto", "code",
            "tcap_type", "calling_gt", "opc", "dpc", "routing_context", "calling_pc", "src_ip", "imsi_plmn", "link",
            "error_code", "node_gt",
            ok=e.outcome.isnull() | (e.outcome == "allowed"),
            src=e.src.fill_null(e.actor), src_network=e.src_network,
            src_country=ibis.coalesce(e.src_country_n, e.attr_country),
            src_home=e.src_home.fill_null(False), src_partner=e.src_partner.fill_null(False),
            src_roaming=e.src_roaming.fill_null(False), src_sms=e.src_sms.fill_null(False),
            src_plmns=e.src_plmns, dst_key=e.dst_key, dst_home=e.dst_home_n.fill_null(False),
            dst_country=e.dst_country, dst_partner=e.dst_partner.fill_null(False),
            visited_plmn=e.visited_plmn,
        )
        sql = ibis.to_sql(e, dialect="duckdb")
        ctx.con.execute(f"CREATE OR REPLACE TEMP TABLE {BASE_TABLE} AS {sql}")
        _profile_plmn_reading(ctx, nets)
        _mgt_to_home(ctx, nets)
        # Visited-PLMN-Id ("208-95", "20895") against the sender's PLMNs ("208-95;208-96", MNC as a number)
        ctx.con.execute(f"ALTER TABLE {BASE_TABLE} ADD COLUMN visited_ok BOOLEAN")
        ctx.con.execute(f"""UPDATE {BASE_TABLE} SET visited_ok = list_contains(string_split(src_plmns, ';'),
                               regexp_replace(visited_plmn, '^(\\d{{3}})-?0*(\\d+)$', '\\1-\\2'))
                            WHERE visited_plmn IS NOT NULL AND coalesce(src_plmns, '') <> ''""")
    return ctx.ibis.table(BASE_TABLE)


def _profile_plmn_reading(ctx: DetectionContext, nets: Networks) -> None:
    """Read each IMSI's MCC-MNC the way the profile writes it.

    The MNC's length is not in the IMSI (3GPP TS 23.003): 310860… is MNC 86 for a network the profile lists
    as "310-86" even if the bundled registry knows a "310-860". The profile is the operator's own data
    (IR.21), so a decoded 3-digit MNC whose first two digits are a profile network's 2-digit MNC in the
    same MCC is that network's."""
    if nets.profile is None:
        return
    written = [(k.group(1), k.group(2)) for net in nets.profile.networks for x in net.mcc_mnc
               if (k := _PLMN.match(x.strip()))]
    two_digit = {p for p in written if len(p[1]) == 2}
    three_digit = {p for p in written if len(p[1]) == 3}
    if not two_digit:
        return
    found = ctx.con.execute(f"SELECT DISTINCT imsi_plmn FROM {BASE_TABLE} WHERE imsi_plmn IS NOT NULL").fetchall()
    for (value,) in found:
        m = _PLMN.match(str(value))
        if m and len(m.group(2)) == 3 and (m.group(1), m.group(2)[:2]) in two_digit \
                and (m.group(1), m.group(2)) not in three_digit:  # a profile network with that 3-digit MNC wins
            ctx.con.execute(f"UPDATE {BASE_TABLE} SET imsi_plmn = ? WHERE imsi_plmn = ?",
                            [f"{m.group(1)}-{m.group(2)[:2]}", value])


def _mgt_to_home(ctx: DetectionContext, nets: Networks) -> None:
    """Mark as addressed to us the MAP requests routed on an E.214 mobile global title to our HLR.

    A VLR that first meets a roamer knows only its IMSI, so it addresses updateLocation / sendAuthentication
    Info to the mobile global title derived from the IMSI (ITU-T E.214: the home country code and network
    code, then the MSIN), not to the HLR's own GT. Such a called GT belongs to no network of the profile; it
    is ours when the IMSI's MCC-MNC is ours and the GT's country code is our country's."""
    if nets.profile is None:
        return
    plmns = [f"{k[0]}-{k[1]}" for k in (_plmn_key(x) for x in nets.profile.home.mcc_mnc) if k is not None]
    if not plmns or not nets.profile.home.country:
        return
    ctx.con.execute(f"""UPDATE {BASE_TABLE} SET dst_home = true
                        WHERE proto = 'map' AND NOT dst_home AND NOT dst_partner AND dst_country = ?
                          AND list_contains(?, regexp_replace(imsi_plmn, '^(\\d{{3}})-?0*(\\d+)$', '\\1-\\2'))""",
                    [nets.profile.home.country, plmns])


def _exists(ctx: DetectionContext, name: str) -> bool:
    found = ctx.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND temporary",
                            [name]).fetchall()
    return bool(found[0][0])


def forget(ctx: DetectionContext) -> None:
    """Drop the materialised tables (call when a run ends)."""
    for name in (BASE_TABLE, RAW_TABLE):
        ctx.con.execute(f"DROP TABLE IF EXISTS temp.{name}")


def short(subject: str) -> str:
    return subject[:10] + "…"


def describe(src_network: str | None, src: str, country: str | None) -> str:
    """"Nile Mobile (EG, 20990000011)" / "an unknown network (ZM, 260990000031)"."""
    name = src_network or "an unknown network"
    where = ", ".join(x for x in (country, src if src != src_network else None) if x)
    return f"{name} ({where})" if where else name


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def span_text(start: datetime, end: datetime) -> str:
    if start.date() == end.date():
        return f"on {start:%Y-%m-%d} ({start:%H:%M}–{end:%H:%M}Z)"
    return f"between {start:%Y-%m-%d %H:%M}Z and {end:%Y-%m-%d %H:%M}Z"


FLAGGED_COLUMNS = ("event_id", "ts", "actor", "subject", "operation", "src", "src_network", "src_country",
                   "category", "reason")


def flagged_rows(expr: ir.Table) -> list[dict[str, Any]]:
    """Execute an event-level flagged expression (it must carry ``FLAGGED_COLUMNS``)."""
    return rows(expr.select(*FLAGGED_COLUMNS).order_by(["ts", "event_id"]))


def group_findings(flagged: list[dict[str, Any]], detector_id: str, revision: int, severity: str,
                   score: float) -> list[Finding]:
    """One finding per (sending GT / host, subject, reason): "Copperbelt … sent 25 anyTimeInterrogation
    about subscriber 3fa2… between …; <reason>"."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in flagged:
        groups.setdefault((r["actor"], r["subject"], r["reason"]), []).append(r)
    out = []
    for (actor, subject, reason), evs in sorted(groups.items(), key=lambda kv: (kv[1][0]["ts"], kv[0])):
        first, last = evs[0]["ts"], evs[-1]["ts"]
        head = evs[0]
        ops = sorted({e["operation"] or "?" for e in evs})
        who = describe(head["src_network"], actor, head["src_country"])
        summary = (f"{who} sent {plural(len(evs), 'request')} ({', '.join(ops)}) about subscriber "
                   f"{short(subject)} {span_text(first, last)}; {reason}.")
        out.append(Finding(
            detector=detector_id, revision=revision, actor=actor, subjects=[subject], window_start=first,
            window_end=last, score=score, severity=severity, summary=summary,
            event_ids=[e["event_id"] for e in evs],
            details={"category": head["category"], "reason": reason, "operations": ops, "requests": len(evs),
                     "network": head["src_network"], "network_key": head["src"],
                     "country": head["src_country"]},
        ))
    return out
