"""MAP dialogues at the border: the building blocks (request/answer, location update with ISD segments).

``Border`` holds the world's messages and knows our nodes' addresses; flows in ``sigroam`` and
``sigattacks`` call ``dialogue`` and ``location_update`` to put whole TCAP dialogues on the wire.
"""

from __future__ import annotations

import sigmap as M
from sigemit import Link, Msg, Peer
from sigmodel import Net
from sigwire import SSN, sccp_gt, sccp_pc


class Border:
    """Our side of the border: node addresses, links, and the message list being built."""

    def __init__(self, rng, home: Net, links: list[Link], peers: list[Peer], internal: int, params: dict):
        self.rng = rng
        self.home = home
        self.links = links
        self.peers = peers
        self.internal = internal
        self.p = params
        self.msgs: list[Msg] = []

    # -- addresses ---------------------------------------------------------------------------------
    def addr(self, net: Net, node: str, i: int = 0) -> bytes:
        return sccp_gt(net.gt(node, i), SSN["vlr" if node == "msc" else node] if node != "router" else 8)

    def ours(self, node: str, i: int = 0) -> bytes:
        return self.addr(self.home, node, i)

    def msisdn_addr(self, msisdn: str) -> bytes:
        """Called party of SRI / SRI-SM / sendIMSI: routed on the subscriber's own number towards the HLR."""
        return sccp_gt(msisdn, SSN["hlr"])

    def mgt(self, net: Net, imsi: str) -> bytes:
        """E.214 mobile global title (CC + NDC + MSIN) of an IMSI, as a VLR addresses the HLR before it knows it."""
        ndc = net.gt_prefix[len(net.cc):len(net.cc) + 2]
        return sccp_gt((net.cc + ndc + imsi[len(net.mcc) + len(net.mnc):])[:15], SSN["hlr"], plan=7)

    def internal_pc(self, node: str) -> bytes:
        pcs = {"hlr": (self.links[self.internal].our_pc, 6), "gmsc": (self.links[self.internal].their_pc, 8),
               "smsc": (self.links[self.internal].their_pc + 1, 8)}
        pc, ssn = pcs[node]
        return sccp_pc(pc, ssn)

    # -- primitives --------------------------------------------------------------------------------
    def tid(self) -> int:
        return self.rng.getrandbits(32) | 0x01000000

    def lat(self) -> float:
        return self.rng.uniform(0.012, 0.25)

    def link_of(self, net: Net) -> int:
        return self.rng.choice(net.links)

    def put(self, t: float, link: int, outbound: bool, called: bytes, calling: bytes, payload: bytes, sls: int,
            requests: int = 0, attack: dict | None = None, opc: int | None = None) -> None:
        self.msgs.append(Msg(t, True, link, outbound, payload, called, calling, sls, opc, requests,
                             [attack] if attack else []))

    def answer_kind(self, op: int, ok: tuple, abort_p: float | None = None) -> tuple:
        """Most dialogues end normally; a few are aborted or never answered (timers, congestion)."""
        r = self.rng.random()
        ab = self.p["abort_rate"] if abort_p is None else abort_p
        if r < ab * 0.6:
            return ("abort",)
        if r < ab:
            return ("none",)
        return ok

    def dialogue(self, t: float, link: int, out: bool, called: bytes, calling: bytes, op: int, arg: bytes,
                 answer: tuple, resp_calling: bytes | None = None, refs: tuple = (None, None),
                 attack: dict | None = None, opc: int | None = None, version: int | None = None,
                 empty_begin: bool = False, ac_op: int | None = None) -> float:
        """A Begin/End dialogue (or Begin, Continue, Continue, End for an empty-Begin sender).

        ``answer``: ("result", param|None) | ("error", code[, param]) | ("reject",) | ("abort",) | ("none",)
        ``ac_op`` names the operation whose application context the dialogue uses, when it is not ``op`` (MAP v2
        forwardSM runs in the shortMsgMT-Relay context). Returns the time of the last message.
        """
        acop = ac_op or op
        otid = self.tid()
        sls = otid & 0x0F
        resp = resp_calling or called
        if empty_begin:  # dialogue first, the long invoke in the first Continue (TS 29.002 §15.6.x practice)
            self.put(t, link, out, called, calling, M.begin(otid, M.aarq(acop, *refs, version=version), []), sls)
            rtid = self.tid()
            t += self.lat()
            self.put(t, link, not out, calling, resp, M.cont(rtid, otid, [], M.aare(acop, version=version)), sls)
            t += self.lat()
            self.put(t, link, out, resp, calling, M.cont(otid, rtid, [M.invoke(1, op, arg)]), sls, 1, attack, opc)
            dtid, dlg = otid, b""
        else:
            self.put(t, link, out, called, calling,
                     M.begin(otid, M.aarq(acop, *refs, version=version), [M.invoke(1, op, arg)]), sls, 1, attack,
                     opc)
            dtid, dlg = otid, M.aare(acop, version=version)
        kind = answer[0]
        if kind == "none":
            return t
        t += self.lat()
        if kind == "abort":
            payload = M.abort(dtid, cause=self.rng.choice([1, 4])) if self.rng.random() < 0.5 else M.abort(
                dtid, dialogue=M.u_abort())
        else:
            comps = {"result": lambda: [M.result(1, op, answer[1])],
                     "error": lambda: [M.error(1, answer[1], answer[2] if len(answer) > 2 else b"")],
                     "reject": lambda: [M.reject(1)]}[kind]()
            payload = M.end(dtid, comps, dlg)
        self.put(t, link, not out, calling, resp, payload, sls)
        return t

    def location_update(self, t: float, link: int, out: bool, hlr_called: bytes, vlr: bytes, hlr: bytes, op: int,
                        arg: bytes, isd: list[bytes], final: bytes | None, err: tuple | None = None,
                        multi: bool = False, attack: dict | None = None, opc: int | None = None,
                        version: int | None = None) -> float:
        """UL / UGL from a VLR (``out`` False: inbound to our HLR), the HLR's ISD segments in Continue, End."""
        vtid, htid = self.tid(), self.tid()
        sls = vtid & 0x0F
        self.put(t, link, out, hlr_called, vlr, M.begin(vtid, M.aarq(op, version=version), [M.invoke(1, op, arg)]),
                 sls, 1, attack, opc)
        t += self.lat()
        if err is not None:
            if err[0] == "abort":
                self.put(t, link, not out, vlr, hlr, M.abort(vtid, cause=4), sls)
            else:
                self.put(t, link, not out, vlr, hlr, M.end(vtid, [M.error(1, *err)], M.aare(op, version=version)), sls)
            return t
        groups = [isd[:2], *[[a] for a in isd[2:]]] if multi and len(isd) > 1 else [[a] for a in isd]
        iid, first = 1, True
        for g in groups:
            comps = [M.invoke(iid + k, M.ISD, a) for k, a in enumerate(g)]
            dlg = M.aare(op, version=version) if first else b""
            self.put(t, link, not out, vlr, hlr, M.cont(htid, vtid, comps, dlg), sls, len(g))
            t += self.lat()
            self.put(t, link, out, hlr, vlr, M.cont(vtid, htid, [M.result(iid + k, M.ISD, M.res_isd())
                                                                for k in range(len(g))]), sls)
            t += self.rng.uniform(0.005, 0.05)
            iid += len(g)
            first = False
        self.put(t, link, not out, vlr, hlr, M.end(vtid, [M.result(1, op, final)]), sls)
        return t
