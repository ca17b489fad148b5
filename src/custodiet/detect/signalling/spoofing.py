"""Sender identity cross-checks: a request whose claimed origin disagrees with how it reached us.

What it catches:
- *transport*: a calling global title (MAP) or Diameter realm of network X that arrived with an MTP3
  originating point code, M3UA routing context, SCCP calling point code or source IP address (decoder
  attrs ``opc``, ``routing_context``, ``sccp_calling_pc``, ``src_ip``; each optional) that X's traffic
  does not otherwise use: a partner's GT sent over another carrier's link. The usual values of a network
  are those carrying at least ``min_share`` of its requests; a network needs ``min_history`` requests with
  the attribute before anything is judged. Our own GTs arriving over a link that carries foreign networks'
  traffic are reported the same way.
- *claimed node*: an updateLocation, updateGprsLocation, purgeMS or restoreData whose VLR / SGSN / MSC
  number (inside the argument) belongs to one network of the profile while its calling GT belongs to
  another, or whose node is ours while the GT is foreign.
- *IMSI home*: where the decoder gives the IMSI's MCC-MNC (attr ``imsi_plmn``): an HLR-to-VLR operation
  (insertSubscriberData, deleteSubscriberData, cancelLocation, provideSubscriberInfo,
  provideRoamingNumber; Diameter IDR/DSR/CLR) from a network that is not the IMSI's home, and a
  registration or authentication request (UL, UGL, SAI, purgeMS; ULR, AIR, PUR) addressed to our HLR/HSS
  for an IMSI that is not ours. Without the attr, an IMSI's home is known only from where it was routed:
  a UL addressed to our HLR is for one of our IMSIs, and its sender needs a roaming agreement
  (``signalling.fs11_cat2``).

Known false positives: a partner's traffic re-routed over another carrier for a short time (a failover
shorter than ``min_share`` of its traffic); roaming hubs that put their own GT on a visited network's
updateLocation (list the hub's GT prefixes under the visited partner); IMSI ranges shared by MVNOs.

Tunables: ``min_share`` (0.02: links that carry less than 2% of a network's requests are not its own),
``min_history`` (50: below it a network has no established links and nothing of it is judged),
``subnet_bits`` (24: a source IP that no other network uses, in the same /24 (IPv6: /96) as one of the
network's usual addresses, is another address of its own multi-homed SCTP endpoint, RFC 4960).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.registry import detector
from custodiet.detect.signalling.base import (
    CL,
    CLR,
    DSD,
    DSR,
    IDR,
    ISD,
    PRN,
    PSI,
    PURGE,
    RESTORE,
    UGL,
    UL,
    Networks,
    group_findings,
    requests,
    rows,
)

ID = "signalling.spoofing"
REVISION = 3
LINK_ATTRS = ("opc", "routing_context", "calling_pc", "src_ip")
LINK_NAMES = {"opc": "MTP3 OPC", "routing_context": "M3UA routing context", "calling_pc": "SCCP calling PC",
              "src_ip": "source IP"}
NODE_OPS = [UL, UGL, PURGE, RESTORE]
HOME_ONLY_MAP, HOME_ONLY_DIAMETER = [ISD, DSD, CL, PSI, PRN], [IDR, DSR, CLR]
TO_HLR_MAP, TO_HLR_DIAMETER = [UL, UGL, 56, PURGE], [316, 318, 321]
COLUMNS = ["event_id", "ts", "actor", "subject", "operation", "src", "src_network", "src_country", "src_home",
           "proto", "code", "dst_home", "src_plmns", "node_gt", "imsi_plmn", *LINK_ATTRS]


def _link_findings(evs: list[dict[str, Any]], p: dict[str, float]) -> list[dict[str, Any]]:
    out = []
    for attr in LINK_ATTRS:
        per_net: dict[str, Counter[str]] = defaultdict(Counter)
        users: dict[str, set[str]] = defaultdict(set)
        for e in evs:
            if e[attr] is not None:
                per_net[e["src"]][str(e[attr])] += 1
                users[str(e[attr])].add(e["src"])
        usual = {net: {v for v, n in c.items() if n >= p["min_share"] * sum(c.values())} for net, c in per_net.items()}
        for e in evs:
            v = e[attr]
            if v is None:
                continue
            counts = per_net[e["src"]]
            if sum(counts.values()) < p["min_history"] or str(v) in usual[e["src"]]:
                continue
            others = sorted(n for n in users[str(v)] if n != e["src"] and str(v) in usual.get(n, set()))
            if attr == "src_ip" and not others and _same_subnet(str(v), usual[e["src"]], int(p["subnet_bits"])):
                continue  # another address of its own SCTP endpoint (multi-homing), not another carrier's link
            whose = f", which carries {', '.join(others[:3])}" if others else ""
            mine = ", ".join(sorted(usual[e["src"]]))
            out.append({**e, "category": "spoofing",
                        "reason": (f"sender identity: its {LINK_NAMES[attr]} {v}{whose} is not one this network's "
                                   f"{sum(counts.values()):,} requests use ({mine})")})
    return out


def _same_subnet(ip: str, usual: set[str], bits: int) -> bool:
    """Is ``ip`` in the same /``bits`` network as one of ``usual``?"""
    import ipaddress

    try:
        net = ipaddress.ip_network(f"{ip}/{bits if ':' not in ip else min(bits * 4, 128)}", strict=False)
        return any(ipaddress.ip_address(u) in net for u in usual)
    except ValueError:
        return False


def _node_findings(evs: list[dict[str, Any]], nets: Networks) -> list[dict[str, Any]]:
    out = []
    for e in evs:
        if e["proto"] != "map" or e["code"] not in NODE_OPS or not e["node_gt"]:
            continue
        node = nets.of_gt(str(e["node_gt"]))
        claimed = node.network if (node.home or node.partner) else None
        if claimed is None or claimed == e["src_network"] or (e["src_home"] and node.home):
            continue
        out.append({**e, "category": "spoofing",
                    "reason": (f"sender identity: the node in the request ({e['node_gt']}) belongs to {claimed}, "
                               f"the calling GT to {e['src_network'] or 'another network'}")})
    return out


def _imsi_findings(evs: list[dict[str, Any]], home_plmns: set[str]) -> list[dict[str, Any]]:
    out = []
    for e in evs:
        plmn = _norm(e["imsi_plmn"])
        if plmn is None:
            continue
        home_only = e["code"] in (HOME_ONLY_MAP if e["proto"] == "map" else HOME_ONLY_DIAMETER)
        to_hlr = e["code"] in (TO_HLR_MAP if e["proto"] == "map" else TO_HLR_DIAMETER) and e["dst_home"]
        src_plmns = {_norm(x) for x in (e["src_plmns"] or "").split(";") if x}
        if home_only and not e["src_home"] and src_plmns and plmn not in src_plmns:
            why = f"the IMSI's home is {plmn}, the sender's PLMN {', '.join(sorted(x for x in src_plmns if x))}"
        elif to_hlr and home_plmns and plmn not in home_plmns:
            why = f"an IMSI of {plmn} addressed to our HLR/HSS, which holds only {', '.join(sorted(home_plmns))}"
        else:
            continue
        out.append({**e, "category": "spoofing", "reason": f"sender identity: {why}"})
    return out


def _norm(plmn: str | None) -> str | None:
    if not plmn:
        return None
    digits = plmn.replace("-", "")
    if len(digits) < 5 or not digits.isdigit():
        return None
    return f"{digits[:3]}-{int(digits[3:])}"


def flagged_events(ctx: DetectionContext) -> list[dict[str, Any]]:
    """Event-level identity mismatches (FLAGGED_COLUMNS and the mismatch)."""
    p = {"min_share": float(ctx.param(ID, "min_share", 0.02)), "min_history": float(ctx.param(ID, "min_history", 50)),
         "subnet_bits": float(ctx.param(ID, "subnet_bits", 24))}
    r = requests(ctx)
    evs = rows(r.select(*COLUMNS).order_by(["ts", "event_id"]))
    nets = Networks.from_store(ctx)
    home_plmns: set[str] = set()
    if nets.profile is not None:
        home_plmns = {x for x in (_norm(m) for m in nets.profile.home.mcc_mnc) if x}
    seen: dict[str, dict[str, Any]] = {}
    for e in _link_findings(evs, p) + _node_findings(evs, nets) + _imsi_findings(evs, home_plmns):
        seen.setdefault(e["event_id"], e)
    return sorted(seen.values(), key=lambda e: (e["ts"], e["event_id"]))


@detector(ID, revision=REVISION, severity="high", channel="signalling")
def spoofing(ctx: DetectionContext) -> list[Finding]:
    """One finding per (sending GT / host, subscriber, mismatch)."""
    return group_findings(flagged_events(ctx), ID, REVISION, "high", 0.85)
