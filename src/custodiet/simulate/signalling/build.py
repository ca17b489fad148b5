"""Turn a world's messages into pcap files (requests and their answers), the profile and truth.json."""

from __future__ import annotations

import json
import random
import socket
from pathlib import Path
from typing import Any

from custodiet.simulate.signalling import encode
from custodiet.simulate.signalling.attacks import Planter, hostile_gt
from custodiet.simulate.signalling.pcap import (
    PPID_DIAMETER,
    PPID_M3UA,
    PcapWriter,
    SctpFramer,
    m3ua_data,
    sccp_address,
    sccp_pc_address,
    sccp_udt,
)
from custodiet.simulate.signalling.traffic import MAP_TARGET, SOURCE_NODE, Legit, Msg
from custodiet.simulate.signalling.world import SimNetwork, build_world, write_profile

T0 = 1740960000.0  # 2025-03-03T00:00:00Z
MAP_FILE, DIAMETER_FILE = "map.pcap", "diameter.pcap"
# Diameter node that sends each command, and the node that answers it.
DIAMETER_NODES = {316: ("mme", "hss"), 318: ("mme", "hss"), 321: ("mme", "hss"), 323: ("mme", "hss"),
                  317: ("hss", "mme"), 319: ("hss", "mme"), 320: ("hss", "mme"), 306: ("as", "hss"),
                  8388622: ("gmlc", "hss")}


def _calling_gt(msg: Msg) -> tuple[str, int]:
    node, ssn = SOURCE_NODE[msg.op]
    if not (msg.src.partner or msg.src.home):
        return hostile_gt(msg.src), ssn
    return msg.src.gt(node), ssn


def _map_frames(msg: Msg, tid: int, framer: SctpFramer) -> tuple[bytes, bytes]:
    calling, calling_ssn = _calling_gt(msg)
    target, called_ssn = MAP_TARGET[msg.op]
    called = msg.dst.gt(target)
    invoke = encode.map_invoke(msg.op, tid, imsi=msg.imsi, msisdn=msg.msisdn, node_gt=calling)
    if msg.src.home and msg.dst.home:  # inside the home network: routed on point code and SSN, no GT
        a_calling = sccp_pc_address(msg.src.point_code + calling_ssn, calling_ssn)
        a_called = sccp_pc_address(msg.dst.point_code, called_ssn)
    else:
        a_calling, a_called = sccp_address(calling, calling_ssn), sccp_address(called, called_ssn)
    inbound = not msg.src.home
    req = framer.frame(m3ua_data(msg.src.point_code, msg.dst.point_code, sccp_udt(a_called, a_calling, invoke),
                                 sls=tid & 0x0F), forward=inbound)
    answer = encode.map_answer(msg.op, tid, msg.error)
    ans = framer.frame(m3ua_data(msg.dst.point_code, msg.src.point_code, sccp_udt(a_calling, a_called, answer),
                                 sls=tid & 0x0F), forward=not inbound)
    return req, ans


def _diameter_host(net: SimNetwork, node: str) -> str:
    return net.host("dra" if not (net.partner or net.home) else node)


def _diameter_frames(msg: Msg, hop: int, framer: SctpFramer) -> tuple[bytes, bytes]:
    src_node, dst_node = DIAMETER_NODES[msg.op]
    inbound = not msg.src.home
    req = encode.diameter_message(msg.op, True, hop, _diameter_host(msg.src, src_node), msg.src.realm,
                                  msg.dst.realm, imsi=msg.imsi, msisdn=msg.msisdn, visited_plmn=msg.visited_plmn)
    ans = encode.diameter_message(msg.op, False, hop, _diameter_host(msg.dst, dst_node), msg.dst.realm, "",
                                  result_code=msg.error or 2001)
    return framer.frame(req, forward=inbound), framer.frame(ans, forward=not inbound)


def simulate_signalling(out: Path, seed: int, subscribers: int = 1000, days: int = 7) -> dict[str, Any]:
    """Write ``map.pcap``, ``diameter.pcap``, ``network.toml`` and ``truth.json`` into ``out``; return truth."""
    if not 60 <= subscribers <= 1000:
        raise ValueError("subscribers must be between 60 and 1000 (the home MSISDN range holds 1,000)")
    if days < 1:
        raise ValueError("days must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    world = build_world()
    legit = Legit(world, rng, T0, days, subscribers)
    msgs = legit.generate()
    planted = Planter(world, legit, rng).all()
    everything = sorted(msgs + planted.msgs, key=lambda m: (m.ts, m.proto, m.op, m.imsi, m.msisdn))
    attacks = _write_pcaps(out, everything, rng)
    write_profile(world, out / "network.toml")
    truth = {"world": "signalling", "seed": seed, "subscribers": subscribers, "days": days,
             "files": [MAP_FILE, DIAMETER_FILE], "attacks": attacks, "campaigns": planted.campaigns,
             "legitimate_messages": len(msgs)}
    (out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return truth


def _write_pcaps(out: Path, msgs: list[Msg], rng: random.Random) -> list[dict[str, Any]]:
    stp, carrier = socket.inet_aton("192.0.2.10"), socket.inet_aton("198.51.100.20")  # documentation ranges
    framers = {"map": SctpFramer(carrier, stp, 2905, PPID_M3UA),
               "diameter": SctpFramer(carrier, stp, 3868, PPID_DIAMETER)}
    # frames per file: (ts in microseconds, order, bytes, planted msg or None)
    frames: dict[str, list[tuple[int, int, bytes, Msg | None]]] = {"map": [], "diameter": []}
    for i, msg in enumerate(msgs):
        tid = 0x10000 + i
        build = _map_frames if msg.proto == "map" else _diameter_frames
        req, ans = build(msg, tid, framers[msg.proto])
        ts = int(msg.ts * 1_000_000)
        frames[msg.proto].append((ts, 2 * i, req, msg))
        frames[msg.proto].append((ts + rng.randint(20_000, 400_000), 2 * i + 1, ans, None))
    attacks: list[dict[str, Any]] = []
    for proto, name in (("map", MAP_FILE), ("diameter", DIAMETER_FILE)):
        writer = PcapWriter(out / name)
        try:
            for ts, _order, data, request in sorted(frames[proto], key=lambda f: (f[0], f[1])):
                frame = writer.write(ts, data)
                if request is not None and request.attack is not None:
                    attacks.append({"event_key": f"{name}:{frame}", "file": name, "frame": frame, **request.attack,
                                    "operation": _op_name(request), "ts": request.ts})
        finally:
            writer.close()
    return attacks


def _op_name(msg: Msg) -> str:
    if msg.proto == "map":
        return encode.MAP_OPS[msg.op].name
    return encode.DIAMETER_COMMANDS[msg.op][0]
