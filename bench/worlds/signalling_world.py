"""An independent world generator for a home operator's signalling border (SS7 MAP and Diameter S6a).

Written from a description of real behaviour (docs: WORLDS.md "A home operator's signalling border",
3GPP TS 29.002 / 29.272, GSMA FS.11 / FS.19 / IR.21), not from the project's simulator or detectors, so that
a family of these worlds tests the detectors on behaviour they were not tuned to.

    python bench/worlds/signalling_world.py --out DIR --seed N [--subscribers N] [--days N]

writes ``network.toml`` (the home network profile), ``ss7-dayN.pcap`` and ``s6a-dayN.pcap`` (real bytes:
Ethernet or Linux cooked / IPv4 / SCTP / M3UA / SCCP / TCAP / MAP, and IPv4 / SCTP or TCP / Diameter), and
``truth.json`` (every attack request by file and frame, campaigns, counts, the randomised parameters).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sigroam as R  # noqa: E402
from sigattacks import TECHNIQUES, Attacks, plant  # noqa: E402
from sigdflows import Dia  # noqa: E402
from sigemit import Link, Msg, Peer, write_captures  # noqa: E402
from sigflows import Border  # noqa: E402
from sigmodel import build_networks, make_subscribers, number, profile_toml  # noqa: E402
from sigtravel import plan_border, plan_sailor, plan_traveller  # noqa: E402
from sigwire import Association  # noqa: E402

HOUR_WEIGHTS = [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.5, 3, 5, 6, 6.5, 6.5, 6, 6, 6, 6, 6.5, 7, 7, 6.5, 5.5, 4, 3, 2]


def _params(rng: random.Random, subscribers: int | None, days: int | None) -> dict:
    return {
        "subscribers": subscribers or rng.randint(2000, 20000), "days": days or rng.randint(3, 7),
        "daily_budget": rng.randint(7000, 14000), "absent_rate": round(rng.uniform(0.02, 0.12), 3),
        "roaming_share": round(rng.uniform(0.3, 0.45), 3),
        "border_share": round(rng.uniform(0.05, 0.25), 3), "sms_share": round(rng.uniform(0.2, 0.35), 3),
        "lookup_share": round(rng.uniform(0.02, 0.1), 3), "call_share": round(rng.uniform(0.03, 0.09), 3),
        "outbound_sms_share": round(rng.uniform(0.02, 0.07), 3), "visitor_share": round(rng.uniform(0.03, 0.1), 3),
        "barred_share": round(rng.uniform(0.01, 0.06), 3), "reject_rate": round(rng.uniform(0.03, 0.15), 3),
        "sor_share": round(rng.uniform(0.1, 0.6), 3), "abort_rate": round(rng.uniform(0.002, 0.02), 4),
        "mgt_share": round(rng.uniform(0.0, 0.7), 3), "multi_invoke": round(rng.uniform(0.05, 0.4), 3),
        "empty_begin": round(rng.uniform(0.0, 1.0), 3), "sms_home_routing": rng.random() < 0.35,
        "sgs_share": round(rng.uniform(0.2, 0.8), 3), "purge_after_h": round(rng.uniform(3, 24), 1),
        "attack_share": round(rng.uniform(0.003, 0.01), 4), "firewall_block": round(rng.uniform(0.0, 0.7), 3),
        "linktype": rng.choice([1, 1, 113]), "diameter_tcp": rng.random() < 0.4,
        "vlan": rng.choice([None, None, rng.randrange(2, 4000)]), "sack_bundling": round(rng.uniform(0, 0.3), 3),
        "tcp_split": round(rng.uniform(0.01, 0.1), 3), "udts_rate": round(rng.uniform(0.0, 0.03), 4),
        "m3ua_heartbeat": rng.random() < 0.5,
    }


def _times(rng: random.Random, n: int, t0: float, days: int, utc_offset: int = 0) -> list[float]:
    """``n`` times over the period, following the day's rhythm in the home country's local time."""
    local = [HOUR_WEIGHTS[(h + utc_offset) % 24] for h in range(24)]
    hours = rng.choices(range(24 * days), weights=local * days, k=n)
    return [t0 + h * 3600 + rng.random() * 3600 for h in hours]


def _links(rng: random.Random, home, partners, sources, diameter_tcp: bool) -> tuple[list[Link], list[Peer], int]:
    our_pc = rng.randrange(1000, 16000)
    links = []
    for i in range(rng.randint(2, 4)):
        assoc = Association(bytes((10, 20, 0, 1 + i)), bytes((192, 0, 2, 10 + i)), 2905, rng.choice([2905, 3000 + i]),
                            vtag_ab=rng.getrandbits(32), vtag_ba=rng.getrandbits(32))
        links.append(Link(f"carrier{i + 1}", assoc, our_pc, rng.randrange(1000, 16000),
                          rng.randrange(1, 500) if rng.random() < 0.7 else None, 0))
    internal = len(links)
    links.append(Link("internal", Association(bytes((10, 20, 1, 1)), bytes((10, 20, 1, 2)), 2905, 2905),
                      rng.randrange(100, 999), rng.randrange(100, 999), 1, 2))
    for net in [*partners, *sources]:
        net.links = rng.sample(range(internal), rng.randint(1, min(2, internal)))
    peers = [Peer(f"ipx{i + 1}", Association(bytes((10, 30, 0, 1)), bytes((198, 51, 100, 10 + i)), 3868,
                                             3868 if not diameter_tcp else 40000 + i, tcp=diameter_tcp,
                                             vtag_ab=rng.getrandbits(32), vtag_ba=rng.getrandbits(32)),
                  f"dea{i + 1}.ipx.example", "ipx.example") for i in range(rng.randint(1, 2))]
    return links, peers, internal


@dataclass
class World:
    """A simulated border before it is written: the profile, every message in order of creation, the links."""

    seed: int
    params: dict
    profile: str
    msgs: list[Msg]
    links: list[Link]
    peers: list[Peer]
    t0: float
    subscribers: int
    legitimate_requests: int
    campaigns: list[dict]


def generate(out: Path, seed: int, subscribers: int | None = None, days: int | None = None) -> dict:
    """Generate one world into ``out``; returns the truth (also written as ``out/truth.json``)."""
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    w = simulate(seed, subscribers, days)
    p = w.params
    (out / "network.toml").write_text(w.profile, encoding="utf-8")
    files, attacks, frames = write_captures(out, w.msgs, w.links, w.peers, w.t0, p["days"], p["linktype"],
                                            random.Random(seed * 7919 + 1), p["sack_bundling"], p["tcp_split"],
                                            p["vlan"])
    truth = {"world": "signalling", "generator": "independent", "seed": seed, "subscribers": w.subscribers,
             "days": p["days"], "files": files, "attacks": attacks, "campaigns": w.campaigns,
             "legitimate_messages": w.legitimate_requests, "messages_total": len(w.msgs), "frames": frames,
             "params": p, "seconds": round(time.perf_counter() - started, 2)}
    (out / "truth.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")
    return truth


def simulate(seed: int, subscribers: int | None = None, days: int | None = None) -> World:
    """Build one world's messages in memory (deterministic per seed)."""
    rng = random.Random(seed)
    p = _params(rng, subscribers, days)
    if p["linktype"] != 1:
        p["vlan"] = None  # 802.1Q tags only on Ethernet captures
    days = p["days"]
    t0 = 1_767_225_600 + rng.randrange(0, 300) * 86400  # a day in 2026
    home, partners, unlisted = build_networks(rng)
    leased = rng.sample([q for q in partners if q.kind in ("sms", "roaming") and q.preferred], 2)
    sources = unlisted + leased
    links, peers, internal = _links(rng, home, partners, unlisted, p["diameter_tcp"])
    home.links = [internal]
    prefixes = sorted({home.cc + str(rng.randrange(60, 99)) for _ in range(rng.randint(1, 3))})
    subs = make_subscribers(rng, home, p["subscribers"], prefixes)
    b = Border(rng, home, links, peers, internal, p)
    d = Dia(b)

    # -- who moves ----------------------------------------------------------------------------------
    budget = p["daily_budget"] * days
    roam = budget * p["roaming_share"]
    neighbours = [q for q in partners if q.kind == "neighbour"]
    dests = [q for q in partners if q.kind in ("roaming", "neighbour") and q.preferred]
    dest_w = [3 if q.kind == "neighbour" else 1 for q in dests]
    sea = next(q for q in partners if q.kind == "maritime")
    aero = next(q for q in partners if q.kind == "aero")
    n_border = max(2, min(int(0.02 * len(subs)), int(roam * p["border_share"] / (60 * days))))
    n_sail = rng.randint(2, 12)
    n_trav = max(10, min(int(0.15 * len(subs)), int(roam * (1 - p["border_share"]) / (34 + 0.5 * days * 14))))
    movers = rng.sample(subs, n_border + n_sail + n_trav)
    for s in movers[:n_border]:
        plan_border(rng, s, rng.choice(neighbours), t0, days)
    for s in movers[n_border:n_border + n_sail]:
        plan_sailor(rng, s, sea, [*neighbours, *rng.sample(dests, 2)], t0, days)
    for s in movers[n_border + n_sail:]:
        plan_traveller(rng, s, home, rng.choices(dests, weights=dest_w, k=4), aero, t0, days)
        s.barred = rng.random() < p["barred_share"]
    same_country = {q.name: [o for o in partners if o.iso == q.iso and o is not q and o.roaming] for q in partners}
    end_t = t0 + days * 86400
    for s in movers:
        prev = None
        for stay in s.stays:
            start, stop, net, vlr = stay
            if t0 <= start < end_t and net is not None:
                if s in movers[:n_border + n_sail]:
                    R.register(b, d, start, s, net, vlr)
                else:
                    R.arrive(b, d, start, s, net, vlr, same_country[net.name])
            if prev is not None and prev[2] is not None and t0 <= start < end_t and (prev[2], prev[3]) != (net, vlr):
                gap = start - prev[1]
                if gap > p["purge_after_h"] * 3600 and prev[1] + p["purge_after_h"] * 3600 >= t0:
                    R.purge(b, d, prev[1] + p["purge_after_h"] * 3600, s, prev[2], prev[3])
                if not s.barred:
                    R.cancel(b, d, start + rng.uniform(1, 8), s, prev[2], prev[3])
            if net is not None and not s.barred and stop > t0 and start < end_t:
                _roamer_activity(b, d, rng, s, max(start, t0) + 60, min(stop, end_t), net, vlr, partners)
            prev = stay

    # -- traffic at home and towards other networks ---------------------------------------------------
    tz = round(home.lon / 15)
    weights = list(itertools.accumulate(rng.lognormvariate(0, 1.2) for _ in subs))
    senders = [q for q in partners if q.sms]
    send_w = [5 if q.kind == "hub" else 1 for q in senders]
    hubs = [q for q in partners if q.kind == "hub"]
    for t in _times(rng, int(budget * p["sms_share"] / 4), t0, days, tz):
        s = rng.choices(subs, cum_weights=weights)[0]
        R.mt_sms(b, t, s, rng.choices(senders, send_w)[0], s.where(t))
    for t in _times(rng, int(budget * p["lookup_share"] / 2), t0, days, tz):
        s = rng.choice(subs)
        R.mt_sms(b, t, s, rng.choice(hubs), s.where(t), lookup_only=True)
    for t in _times(rng, int(budget * p["call_share"] / 2), t0, days, tz):
        s = rng.choices(subs, cum_weights=weights)[0]
        R.call(b, t, s, s.where(t))
    orp = [q for q in partners if q.optimal_routing]
    for t in _times(rng, int(budget * 0.01 / 2), t0, days, tz):
        s = rng.choices(subs, cum_weights=weights)[0]
        R.optimal_sri(b, t, s, rng.choice(orp), s.where(t))
    out_dest = [q for q in partners if q.kind in ("roaming", "neighbour", "sms")]
    for t in _times(rng, int(budget * p["outbound_sms_share"] / 4), t0, days, tz):
        R.outbound_sms(b, t, rng.choice(out_dest))
    vis_nets = [q for q in partners if q.kind in ("roaming", "neighbour")]
    for t in _times(rng, int(budget * p["visitor_share"] / 10), t0, days, tz):
        net = rng.choice(vis_nets)
        imsi = (net.mcc + net.mnc + f"{rng.randrange(10**10):010d}")[:15]
        msisdn = number(rng, net)
        leave = t + rng.uniform(0.3, 6) * 86400
        calls = sorted(t + rng.uniform(0, 3) * 86400 for _ in range(rng.randint(0, 3)))
        R.visitor(b, d, t, net, imsi, msisdn, leave if leave < end_t else None, calls, rng.random() < 0.6)
    _watchdogs(b, rng, t0, days)

    legit_msgs = len(b.msgs)
    legit_requests = sum(1 for m in b.msgs if m.requests)
    techniques = rng.sample(TECHNIQUES, rng.randint(5, len(TECHNIQUES)))
    atk = Attacks(b, d, subs, sources, partners, t0, days)
    p["technique_weights"] = plant(atk, int(p["attack_share"] * legit_msgs), techniques)
    p["techniques"] = sorted(techniques)
    p["optimal_routing_partners"] = [q.name for q in orp]
    p["leased_gt_sources"] = [q.name for q in leased]
    p["travellers"], p["border_residents"], p["sailors"] = n_trav, n_border, n_sail
    return World(seed, p, profile_toml(home, partners, prefixes), b.msgs, links, peers, t0, len(subs),
                 legit_requests, atk.campaigns)


def _roamer_activity(b: Border, d: Dia, rng, s, start: float, stop: float, net, vlr: int, partners) -> None:
    """Calls, SMS both ways, USSD and the odd location query while our subscriber is abroad."""
    if stop <= start:
        return
    span = (stop - start) / 86400
    senders = [q for q in partners if q.sms]
    for _ in range(int(rng.uniform(0.3, 2.0) * span + rng.random())):
        t = rng.uniform(start, stop)
        R.call(b, t, s, s.where(t))
    if net.kind == "aero":
        return
    for _ in range(int(rng.uniform(0.3, 2.0) * span + rng.random())):
        R.home_sms_to_roamer(b, rng.uniform(start, stop), s, net, vlr)
    for _ in range(int(rng.uniform(0.2, 2.0) * span + rng.random())):
        t = rng.uniform(start, stop)
        R.mt_sms(b, t, s, rng.choice(senders), s.where(t))
    for _ in range(int(rng.uniform(0.2, 2.0) * span + rng.random())):
        R.mo_sms(b, rng.uniform(start, stop), s, net, vlr)
    if rng.random() < 0.15 * span:
        R.ussd(b, rng.uniform(start, stop), s, net, vlr)
    if rng.random() < 0.05 * span:
        R.outbound_psi(b, rng.uniform(start, stop), s, net, vlr)
    if s.lte and net.lte and rng.random() < 0.1 * span:
        d.insert(rng.uniform(start, stop), s, net, vlr % 3)


def _watchdogs(b: Border, rng, t0: float, days: int) -> None:
    """Capabilities exchange at the start and Device-Watchdog on idle connections; M3UA heartbeats if enabled."""
    import sigdiam as D
    from sigwire import m3ua_beat

    if b.p["m3ua_heartbeat"]:
        for i in range(len(b.links)):
            t = t0 + rng.uniform(1, 600)
            while t < t0 + days * 86400:
                data = rng.randbytes(8)
                b.msgs += [Msg(t, True, i, True, m3ua_beat(False, data), m3ua_raw=True),
                           Msg(t + 0.002, True, i, False, m3ua_beat(True, data), m3ua_raw=True)]
                t += rng.uniform(600, 1800)

    for i, peer in enumerate(b.peers):
        t = t0 + rng.uniform(1, 60)
        ours = ("dea1." + b.home.realm, b.home.realm)
        for req, ans in ((D.cer(True, *ours, 1, 1, bytes((10, 30, 0, 1))), D.cer(False, peer.host, peer.realm, 1, 1,
                                                                                  bytes((198, 51, 100, 10 + i)))),):
            b.msgs += [Msg(t, False, i, True, req), Msg(t + 0.01, False, i, False, ans)]
        while t < t0 + days * 86400:
            t += rng.uniform(300, 1800)
            hbh = rng.getrandbits(32)
            b.msgs += [Msg(t, False, i, False, D.dwr(True, peer.host, peer.realm, hbh, hbh)),
                       Msg(t + 0.005, False, i, True, D.dwr(False, *ours, hbh, hbh))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--subscribers", type=int)
    ap.add_argument("--days", type=int)
    args = ap.parse_args(argv)
    truth = generate(args.out, args.seed, args.subscribers, args.days)
    cats: dict[str, int] = {}
    for a in truth["attacks"]:
        cats[a["category"]] = cats.get(a["category"], 0) + 1
    print(f"seed {args.seed}: {truth['subscribers']} subscribers, {truth['days']} days, "
          f"{truth['messages_total']} messages ({truth['legitimate_messages']} legitimate requests), "
          f"{len(truth['attacks'])} attack requests {cats}, {truth['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
