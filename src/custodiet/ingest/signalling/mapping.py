"""Map decoded signalling onto canonical access events: one per MAP invoke (every component of a
message) and per Diameter request; also one per invoke of another TCAP user addressed to a MAP
subsystem (e.g. an IN dialogue sent to an HLR), named ``tcap-op<code>``.

Answers are matched to their invoke by TCAP transaction (the invoker's otid and the invoke id) and
to their Diameter request by hop-by-hop and end-to-end id; the outcome follows from the answer.
The subject is the IMSI, MSISDN, IMEI or TMSI the request names (or its dialogue named); failing
that, subject_kind ``unknown`` and a reference to the dialogue (TCAP transaction and its originator,
or Diameter Session-Id), the same for every event of the dialogue. Who sent it: the calling global
title, else the calling SCCP point code, else the MTP3 / M3UA OPC (``actor_from`` says which).
Subjects are pseudonymised in ``batch``; cleartext identifiers never reach the event rows.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import lru_cache
from hashlib import sha256
from typing import Any

from custodiet.context.network import Attribution, Registry
from custodiet.identifiers import InvalidIdentifier, normalise
from custodiet.ingest.pending import PendingEvent
from custodiet.ingest.signalling import ber, diameter, map_ops
from custodiet.ingest.signalling.decoder import DiameterRecord, MapRecord
from custodiet.ingest.signalling.tcap import Component, TcapMessage

MAP_AC_PREFIX = "0.4.0.0.1.0."
MAP_SSNS = frozenset({5, 6, 7, 8, 9, 10, 145, 147, 148, 149, 150, 151, 152})
_ANSWER_COUNTS = {kind: f"map {kind}s" for kind in ("result", "error", "reject")}
_NO_ROUTE = (None, (None, b""), (None, None, None))  # records made without one (tests)
ANSWER_WINDOW_US = 600_000_000  # MAP's longest operation timer is 10 minutes: older invokes are not answered
_NODE_FIELDS = ("vlr", "msc", "sgsn", "gmsc", "smsc", "gsmscf", "mlc", "ss_code")  # copied into attrs


@lru_cache(maxsize=4096)
def _ips(addresses: bytes) -> tuple[str | None, str | None]:
    """(source, destination) IP address text of concatenated raw addresses (IPv4 or IPv6)."""
    half = len(addresses) // 2
    if half not in (4, 16):
        return None, None
    return str(ipaddress.ip_address(addresses[:half])), str(ipaddress.ip_address(addresses[half:]))


def _party(gt: str | None, pc: int | None) -> str:
    """A signalling point named by its global title, else its point code."""
    return gt if gt else f"pc:{pc}" if pc is not None else "unknown"


@lru_cache(maxsize=256)
def _ac_version(ac: str | None) -> int | None:
    """The version (last arc) of an application context such as ``0.4.0.0.1.0.20.3``, or None."""
    last = ac.rsplit(".", 1)[1] if ac else ""
    return int(last) if last.isdigit() else None


@dataclass
class EventMapper:
    """Turns the records of one capture into events (and rejections), in capture order."""

    source_name: str
    registry: Registry
    events: list[PendingEvent] = field(default_factory=list)
    rejects: list[tuple[int, str, str]] = field(default_factory=list)  # (frame, reason, raw hex)
    counts: dict[str, int] = field(default_factory=dict)
    # invoker's otid -> invoke id -> invokes awaiting an answer, oldest first
    _pending_map: dict[str, dict[int, list[PendingEvent]]] = field(default_factory=dict)
    _pending_dia: dict[tuple[int, int], PendingEvent] = field(default_factory=dict)
    _dialogue_ac: dict[str, str] = field(default_factory=dict)  # tid -> application context
    _dialogue_subject: dict[str, tuple[str, str]] = field(default_factory=dict)  # tid -> (kind, value)
    # (tid, the signalling point that allocated it) -> reference of its dialogue, for unknown subjects
    _dialogue_refs: dict[tuple[str, str], str] = field(default_factory=dict)
    _normalised: dict[tuple[str, str], str | None] = field(default_factory=dict)

    def _count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def add(self, record: MapRecord | DiameterRecord) -> None:
        if isinstance(record, MapRecord):
            self._map(record)
        else:
            self._diameter(record)

    # -- MAP ----------------------------------------------------------------------------------------
    def _map(self, rec: MapRecord) -> None:
        t = rec.tcap
        ac = t.app_context or self._dialogue_ac.get(t.dtid or "") or self._dialogue_ac.get(t.otid or "")
        if ac is not None:
            for tid in (t.otid, t.dtid):
                if tid:
                    self._dialogue_ac[tid] = ac
        to_map_ssn = rec.sccp.called.ssn in MAP_SSNS or rec.sccp.calling.ssn in MAP_SSNS
        is_map = ac.startswith(MAP_AC_PREFIX) if ac else to_map_ssn
        if not is_map and not to_map_ssn:
            self._count("tcap messages of other users (not MAP)")
            return
        self._count("map messages" if is_map else "tcap messages of other users to MAP subsystems")
        if rec.sccp.kind.endswith("ts"):  # UDTS/XUDTS/LUDTS: our message came back undelivered
            self._returned(t, rec)
            return
        ac_version = _ac_version(ac)
        for index, comp in enumerate(t.components):
            if comp.kind == "invoke":
                self._invoke(rec, t, comp, index, ac, ac_version, is_map)
            else:
                self._answer(t.dtid, comp, rec.frame, rec.ts_us)
        if t.type == "abort" and t.dtid:
            for ev in self._close(t.dtid, rec.ts_us):
                ev.outcome = "denied" if t.abort_cause == "user" else "error"
                ev.attrs.update(answered=True, answer="abort", abort_cause=t.abort_cause, answer_frame=rec.frame)
        elif t.type == "end" and t.dtid:
            if t.dialogue_refused:
                for ev in self._close(t.dtid, rec.ts_us):
                    ev.outcome = "denied"
                    ev.attrs.update(answered=True, answer="dialogue refused", answer_frame=rec.frame)
            elif t.dtid in self._pending_map:
                for ev in self._close(t.dtid, rec.ts_us):  # the dialogue ended with no result or error for these
                    ev.attrs.update(answered=True, answer="end", answer_frame=rec.frame)

    def _close(self, tid: str | None, ts_us: int) -> list[PendingEvent]:
        """Every invoke still waiting in this transaction (which has just ended), sent within
        ``ANSWER_WINDOW_US`` before it (older ones are of an earlier dialogue that reused the id)."""
        by_id = self._pending_map.pop(tid or "", {})
        oldest = ts_us - ANSWER_WINDOW_US
        return [ev for waiting in by_id.values() for ev in waiting if ev.ts_us >= oldest]

    def _invoke(self, rec: MapRecord, t: TcapMessage, comp: Component, index: int, ac: str | None,
                ac_version: int | None, is_map: bool) -> None:
        self._count("map invokes" if is_map else "tcap invokes of other users")
        opcode, sccp = comp.opcode, rec.sccp
        calling, called = sccp.calling, sccp.called
        fields: dict[str, str] = {}
        argument_error = None
        if is_map:
            try:
                fields = map_ops.extract(opcode, comp.parameter)
            except ValueError as exc:  # the invoke is an event all the same; its undecodable bytes go to quarantine
                argument_error = str(exc)
                self.rejects.append((rec.frame, f"MAP {map_ops.op_name(opcode)} (component {index}): "
                                                f"argument not decodable: {exc}", sccp.data.hex()))
            else:
                if opcode not in map_ops.KNOWN_PARAMETERS and comp.parameter:
                    from custodiet.ingest.signalling.map_full import identifiers

                    fields = identifiers(comp.parameter, opcode, ac_version)
        adaptation, (transport, addresses), (opc, dpc, context) = rec.via or _NO_ROUTE
        subject = self._subject(fields)
        subject_from = "argument"
        if subject is None or subject[0] != "imsi":
            known = self._from_dialogue(t)  # e.g. an ISD inside an updateLocation dialogue names no IMSI
            if known is not None and (subject is None or known[0] == "imsi"):
                subject, subject_from = known, "dialogue"
        if subject is None:
            subject = ("unknown", self._dialogue_reference(
                t, _party(calling.gt, calling.pc if calling.pc is not None else opc),
                _party(called.gt, called.pc if called.pc is not None else dpc)))
            subject_from = "dialogue_reference"
        else:
            dialogue_subject = self._dialogue_subject
            for tid in (t.otid, t.dtid):
                if tid and (subject[0] == "imsi" or tid not in dialogue_subject):
                    dialogue_subject[tid] = subject
        if calling.gt:
            actor, actor_from = calling.gt, "sccp_calling_gt"
        elif calling.pc is not None:
            actor, actor_from = f"pc:{calling.pc}", "sccp_calling_pc"
        elif opc is not None:
            actor, actor_from = f"pc:{opc}", "opc"
        else:
            actor, actor_from = "unknown", None
        att = self.registry.attribute_gt(calling.gt)
        op_name = map_ops.op_name(opcode, ac_version) if is_map else f"tcap-op{opcode}"
        src_ip, dst_ip = _ips(addresses) if addresses else (None, None)
        attrs: dict[str, Any] = {
            "protocol": "map" if is_map else "tcap",
            "map_opcode": opcode if is_map else None, "op_name": op_name,
            "sccp_calling_gt": calling.gt, "sccp_called_gt": called.gt,
            "sccp_calling_ssn": calling.ssn, "sccp_called_ssn": called.ssn,
            "sccp_calling_pc": calling.pc, "sccp_called_pc": called.pc,
            "opc": opc, "dpc": dpc, "routing_context": context, "adaptation": adaptation, "transport": transport,
            "src_ip": src_ip, "dst_ip": dst_ip, "actor_from": actor_from,
            "tcap_type": t.type, "tcap_otid": t.otid, "tcap_dtid": t.dtid, "invoke_id": comp.invoke_id,
            "component": "invoke", "app_context": ac, "ac_version": ac_version,
            "country": att.country, "attribution": att.source, "answered": False,
            "subject_from": subject_from,
        }
        if not is_map:
            attrs["tcap_opcode"] = opcode
        if argument_error is not None:
            attrs["argument_error"] = argument_error
        for key in _NODE_FIELDS:
            if key in fields:
                attrs[key] = fields[key]
        imsi = subject[1] if subject[0] == "imsi" else self._norm("imsi", fields["imsi"]) if "imsi" in fields else None
        if imsi:
            attrs["imsi_plmn"] = self.registry.plmn_of_imsi(imsi)  # whose subscriber: the home network's PLMN
        for key in ("msisdn", "imsi"):
            if key in fields and key != subject[0]:
                other = self._norm(key, fields[key])
                if other:
                    attrs[f"{key}_normalised"] = other  # pseudonymised with the subjects (see ingest)
        if "forwarded_to" in fields:
            attrs["forwarded_to_country"] = self.registry.attribute_gt(fields["forwarded_to"]).country
        digest = sha256(
            rec.ts_us.to_bytes(8, "big") + called.raw + b"\x00" + calling.raw + b"\x00" + sccp.data
            + index.to_bytes(2, "big")
        ).hexdigest()[:32]
        kind = map_ops.data_kind(opcode, fields) if is_map else "service"
        ev = PendingEvent(digest, rec.ts_us, actor, att.operator, subject[0], subject[1], kind, op_name,
                          rec.frame, attrs)
        self.events.append(ev)
        if t.otid is not None and comp.invoke_id is not None:
            self._pending_map.setdefault(t.otid, {}).setdefault(comp.invoke_id, []).append(ev)

    def _dialogue_reference(self, t: TcapMessage, calling: str, called: str) -> str:
        """The reference of this message's dialogue: its originator's transaction id and address.

        A begin's originator is its sender; a continue or end seen before its begin is taken to come
        from the responder (as an insertSubscriberData inside an updateLocation does). Both
        transaction ids then lead to the reference, so later messages of the dialogue share it."""
        refs = self._dialogue_refs
        keys = [(tid, party) for tid, party in ((t.otid, calling), (t.dtid, called)) if tid]
        ref = next((refs[k] for k in keys if k in refs), None)
        if ref is None:
            by_responder = bool(t.dtid) and t.type != "begin"
            ref = f"tcap:{t.dtid}@{called}" if by_responder else f"tcap:{t.otid or ''}@{calling}"
        for k in keys:
            refs.setdefault(k, ref)
        return ref

    def _answer(self, dtid: str | None, comp: Component, frame: int, ts_us: int) -> None:
        """Outcome of the invokes this answer is for: those waiting under its transaction and invoke id
        (an invoke id is not reused while its operation is pending), sent within ``ANSWER_WINDOW_US``.
        Several of them are one invoke seen at several hops (STPs on the capture's path): all get it."""
        self._count(_ANSWER_COUNTS[comp.kind])
        if dtid is None or comp.invoke_id is None:
            return
        by_id = self._pending_map.get(dtid)
        waiting = by_id.get(comp.invoke_id) if by_id else None
        oldest = ts_us - ANSWER_WINDOW_US
        live = [ev for ev in waiting if ev.ts_us >= oldest] if waiting else []
        if not live or by_id is None:
            self._count("map answers without their invoke in this capture")
            return
        opcode = live[-1].attrs["map_opcode"]
        if opcode is not None:
            live = [ev for ev in live if ev.attrs["map_opcode"] == opcode]
        if comp.kind == "result" and not comp.last:
            for ev in live:
                ev.attrs.update(answered=True, answer="result", answer_frame=frame)
            return
        del by_id[comp.invoke_id]
        if not by_id:
            del self._pending_map[dtid]
        if comp.kind == "result":
            outcome, extra = "allowed", self._result_identities(opcode, comp.parameter, live)
        elif comp.kind == "error":
            code = comp.error_code
            outcome = "denied" if code in map_ops.DENIAL_ERRORS else "error"
            extra = {"error_code": code, "error_name": map_ops.ERRORS.get(code or -1)}
        else:
            outcome, extra = "error", {}
        for ev in live:
            ev.outcome = outcome
            ev.attrs.update(answered=True, answer=comp.kind, answer_frame=frame, **extra)

    def _result_identities(self, opcode: int | None, parameter: bytes | None,
                           live: list[PendingEvent]) -> dict[str, Any]:
        """The IMSI an answer gives for an MSISDN-keyed invoke (sendRoutingInfoForSM, sendIMSI), as the
        invoke's ``imsi_normalised`` (pseudonymised with the subjects): it links the look-up to what is
        later sent about the IMSI. A result that is not well-formed BER adds nothing (its outcome stands)."""
        if not parameter or opcode not in map_ops.RESULT_PARAMETERS:
            return {}
        try:
            fields = map_ops.extract_result(opcode, parameter)
        except ber.BerError:
            return {}
        imsi = self._norm("imsi", fields["imsi"]) if "imsi" in fields else None
        if imsi is None or any(ev.subject_kind != "msisdn" for ev in live):
            return {}
        return {"imsi_normalised": imsi}

    def _returned(self, t: TcapMessage, rec: MapRecord) -> None:
        self._count("sccp returned messages")
        for ev in self._close(t.otid, rec.ts_us):
            ev.outcome = "error"
            ev.attrs.update(answered=True, answer="returned", return_cause=rec.sccp.return_cause,
                            answer_frame=rec.frame)

    def _from_dialogue(self, t: TcapMessage) -> tuple[str, str] | None:
        for tid in (t.dtid, t.otid):
            if tid and tid in self._dialogue_subject:
                return self._dialogue_subject[tid]
        refs = map_ops.open_info(t.user_info)
        ref = refs.get("destination_reference")
        if ref:
            return self._subject({"imsi": ref} if len(ref) >= 14 else {"msisdn": ref})
        return None

    def _norm(self, kind: str, value: str) -> str | None:
        key = (kind, value)
        if key not in self._normalised:
            try:
                self._normalised[key] = normalise(kind, value)
            except InvalidIdentifier:
                self._normalised[key] = None
        return self._normalised[key]

    def _subject(self, fields: dict[str, str]) -> tuple[str, str] | None:
        for kind in map_ops.IDENTIFIER_FIELDS:
            value = fields.get(kind)
            if value:
                norm = self._norm(kind, value)
                if norm:
                    return kind, norm
        return None

    # -- Diameter -----------------------------------------------------------------------------------
    def _diameter(self, rec: DiameterRecord) -> None:
        msg = rec.message
        if msg.command_code in diameter.PEER_COMMANDS:
            self._count("diameter peer management")
            return
        key = (msg.hop_by_hop, msg.end_to_end)
        if not msg.request:
            self._count("diameter answers")
            ev = self._pending_dia.pop(key, None)
            if ev is None:
                self._count("diameter answers without their request in this capture")
                return
            code = msg.result_code
            ev.outcome = "allowed" if code is None or 2000 <= code < 3000 else (
                "denied" if code in diameter.DENIAL_RESULTS else "error")
            ev.attrs.update(answered=True, answer="answer", result_code=code,
                            experimental_result_code=msg.experimental_result_code, answer_frame=rec.frame)
            return
        self._count("diameter requests")
        a = msg.avps
        fields = {}
        user_name = a.get("user_name", "")
        local = user_name.partition("@")[0]  # Cx/Dx: an IMPI derived from the IMSI is imsi@realm
        if user_name.isdigit() or (local != user_name and local.isdigit() and 14 <= len(local) <= 15):
            fields["imsi"] = local
        elif a.get("subscription_imsi"):
            fields["imsi"] = a["subscription_imsi"]
        if a.get("msisdn"):
            fields["msisdn"] = a["msisdn"]
        else:
            number = _impu_number(a.get("public_identity", ""))
            if number:
                fields["msisdn"] = number
        subject = self._subject(fields)
        subject_from = "request"
        if subject is None:  # still an event: the session stands for the subject
            session = a.get("session_id") or f"{a.get('origin_host', '')};{msg.hop_by_hop};{msg.end_to_end}"
            subject, subject_from = ("unknown", "diameter:" + session), "dialogue_reference"
        via = rec.via or (None, b"")
        src_ip, dst_ip = _ips(via[1]) if via[1] else (None, None)
        visited = self.registry.attribute_plmn(a.get("visited_plmn_id"))
        att = self._realm_attribution(a.get("origin_realm", ""))
        attribution = att.source if att else "unknown"
        if (att is None or att.operator is None) and visited.source != "unknown":
            att, attribution = visited, f"visited_plmn:{visited.source}"  # the PLMN the sender claims
        attrs: dict[str, Any] = {
            "command_code": msg.command_code, "op_name": msg.command_name,
            "application_id": msg.application_id,
            "application": diameter.APPLICATIONS.get(msg.application_id),
            "origin_host": a.get("origin_host"), "origin_realm": a.get("origin_realm"),
            "destination_realm": a.get("destination_realm"), "destination_host": a.get("destination_host"),
            "visited_plmn_id": a.get("visited_plmn_id"), "visited_country": visited.country,
            "component": "request", "country": att.country if att else None,
            "attribution": attribution, "answered": False,
            "hop_by_hop": msg.hop_by_hop, "end_to_end": msg.end_to_end,
            "protocol": "diameter", "transport": via[0], "src_ip": src_ip, "dst_ip": dst_ip,
            "subject_from": subject_from,
        }
        if subject[0] == "imsi":
            attrs["imsi_plmn"] = self.registry.plmn_of_imsi(subject[1])
        if "msisdn" in fields and subject[0] != "msisdn":
            other = self._norm("msisdn", fields["msisdn"])
            if other:
                attrs["msisdn_normalised"] = other
        digest = sha256(rec.ts_us.to_bytes(8, "big") + msg.raw).hexdigest()[:32]
        known = diameter.COMMANDS.get(msg.command_code)
        ev = PendingEvent(digest, rec.ts_us, a.get("origin_host") or "unknown", att.operator if att else None,
                          subject[0], subject[1], known[1] if known else "service", msg.command_name,
                          rec.frame, attrs)
        self.events.append(ev)
        self._pending_dia[key] = ev

    def _realm_attribution(self, realm: str) -> Attribution | None:
        """Operator of a 3GPP realm such as ``epc.mnc260.mcc310.3gppnetwork.org``, or None."""
        parts = realm.lower().split(".")
        mnc = next((p[3:] for p in parts if p.startswith("mnc") and p[3:].isdigit()), None)
        mcc = next((p[3:] for p in parts if p.startswith("mcc") and p[3:].isdigit()), None)
        if not mnc or not mcc or len(mcc) != 3:
            return None
        candidates = [f"{mcc}-{mnc}"] + ([f"{mcc}-{mnc[1:]}"] if len(mnc) == 3 and mnc[0] == "0" else [])
        for plmn in reversed(candidates):
            att = self.registry.attribute_plmn(plmn)
            if att.operator is not None:
                return att
        return self.registry.attribute_plmn(candidates[0])


def _impu_number(identity: str) -> str | None:
    """The E.164 digits of a public identity ``tel:+1206...`` or ``sip:+1206...@domain``, or None."""
    if identity.startswith("tel:"):
        number = identity[4:].split(";", 1)[0]
    elif identity.startswith("sip:+"):
        number = identity[4:].split("@", 1)[0].split(";", 1)[0]
    else:
        return None
    number = number.lstrip("+").replace("-", "")
    return number if number.isdigit() else None
