"""Map decoded signalling onto canonical access events: one per MAP invoke and per Diameter request.

Answers are matched to their invoke by TCAP transaction (the invoker's otid and the invoke id) and
to their Diameter request by hop-by-hop and end-to-end id; the outcome follows from the answer.
Subjects are pseudonymised here; cleartext identifiers never reach the event rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from hashlib import sha256
from typing import Any

from custodiet.context.network import Attribution, Registry
from custodiet.identifiers import InvalidIdentifier, normalise
from custodiet.ingest.signalling import diameter, map_ops
from custodiet.ingest.signalling.decoder import DiameterRecord, MapRecord
from custodiet.ingest.signalling.tcap import Component, TcapMessage

MAP_AC_PREFIX = "0.4.0.0.1.0."
MAP_SSNS = frozenset({5, 6, 7, 8, 9, 10, 145, 147, 148, 149, 150, 151, 152})
_ANSWER_COUNTS = {kind: f"map {kind}s" for kind in ("result", "error", "reject")}
_NODE_FIELDS = ("vlr", "msc", "sgsn", "gmsc", "smsc", "gsmscf", "mlc", "ss_code")  # copied into attrs


@lru_cache(maxsize=256)
def _ac_version(ac: str | None) -> int | None:
    """The version (last arc) of an application context such as ``0.4.0.0.1.0.20.3``, or None."""
    last = ac.rsplit(".", 1)[1] if ac else ""
    return int(last) if last.isdigit() else None


@dataclass(slots=True)
class PendingEvent:
    """An event under construction; the outcome is filled in when (if) its answer is seen."""

    event_id: str
    ts_us: int
    actor: str
    actor_org: str | None
    subject_kind: str
    subject_value: str  # normalised; pseudonymised in bulk at the end
    data_kind: str
    operation: str
    frame: int
    attrs: dict[str, Any]
    outcome: str = "allowed"


@dataclass
class EventMapper:
    """Turns the records of one capture into events (and rejections), in capture order."""

    source_name: str
    registry: Registry
    events: list[PendingEvent] = field(default_factory=list)
    rejects: list[tuple[int, str, str]] = field(default_factory=list)  # (frame, reason, raw hex)
    # every MAP invoke seen, event or not: (frame, opcode, calling GT, called GT, otid, dtid, fields)
    invokes: list[tuple[int, int | None, str | None, str | None, str | None, str | None, dict[str, str]]] = (
        field(default_factory=list))
    counts: dict[str, int] = field(default_factory=dict)
    # invoker's otid -> invoke id -> invokes awaiting an answer, oldest first
    _pending_map: dict[str, dict[int, list[PendingEvent]]] = field(default_factory=dict)
    _pending_dia: dict[tuple[int, int], PendingEvent] = field(default_factory=dict)
    _dialogue_ac: dict[str, str] = field(default_factory=dict)  # tid -> application context
    _dialogue_subject: dict[str, tuple[str, str]] = field(default_factory=dict)  # tid -> (kind, value)
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
        is_map = ac.startswith(MAP_AC_PREFIX) if ac else (
            rec.sccp.called.ssn in MAP_SSNS or rec.sccp.calling.ssn in MAP_SSNS)
        if not is_map:
            self._count("tcap messages of other users (not MAP)")
            return
        self._count("map messages")
        if rec.sccp.kind.endswith("ts"):  # UDTS/XUDTS/LUDTS: our message came back undelivered
            self._returned(t, rec)
            return
        ac_version = _ac_version(ac)
        for index, comp in enumerate(t.components):
            if comp.kind == "invoke":
                self._invoke(rec, t, comp, index, ac, ac_version)
            else:
                self._answer(t.dtid, comp, rec.frame)
        if t.type == "abort" and t.dtid:
            for ev in self._close(t.dtid):
                ev.outcome = "denied" if t.abort_cause == "user" else "error"
                ev.attrs.update(answered=True, answer="abort", abort_cause=t.abort_cause, answer_frame=rec.frame)
        elif t.type == "end" and t.dtid and t.dialogue_refused:
            for ev in self._close(t.dtid):
                ev.outcome = "denied"
                ev.attrs.update(answered=True, answer="dialogue refused", answer_frame=rec.frame)

    def _close(self, tid: str | None) -> list[PendingEvent]:
        """Every invoke still waiting in this transaction (which has just ended)."""
        by_id = self._pending_map.pop(tid or "", {})
        return [ev for waiting in by_id.values() for ev in waiting]

    def _invoke(self, rec: MapRecord, t: TcapMessage, comp: Component, index: int, ac: str | None,
                ac_version: int | None) -> None:
        self._count("map invokes")
        opcode, sccp = comp.opcode, rec.sccp
        calling, called = sccp.calling, sccp.called
        try:
            fields = map_ops.extract(opcode, comp.parameter)
        except ValueError as exc:
            self.invokes.append((rec.frame, opcode, calling.gt, called.gt, t.otid, t.dtid, {}))
            self.rejects.append((rec.frame, f"MAP {map_ops.op_name(opcode)} (component {index}): "
                                            f"argument not decodable: {exc}", sccp.data.hex()))
            return
        if opcode not in map_ops.KNOWN_PARAMETERS and comp.parameter:
            from custodiet.ingest.signalling.map_full import identifiers

            fields = identifiers(comp.parameter, opcode, ac_version)
        self.invokes.append((rec.frame, opcode, calling.gt, called.gt, t.otid, t.dtid, fields))
        subject = self._subject(fields)
        subject_from = "argument"
        if subject is None or subject[0] != "imsi":
            known = self._from_dialogue(t)  # e.g. an ISD inside an updateLocation dialogue names no IMSI
            if known is not None and (subject is None or known[0] == "imsi"):
                subject, subject_from = known, "dialogue"
        if subject is None:
            self.rejects.append((rec.frame, f"MAP {map_ops.op_name(opcode, ac_version)} (component {index}) "
                                            "names no valid IMSI or MSISDN, nor does its dialogue",
                                 sccp.data.hex()))
            return
        dialogue_subject = self._dialogue_subject
        for tid in (t.otid, t.dtid):
            if tid and (subject[0] == "imsi" or tid not in dialogue_subject):
                dialogue_subject[tid] = subject
        actor_gt = calling.gt or ""
        att = self.registry.attribute_gt(actor_gt)
        op_name = map_ops.op_name(opcode, ac_version)
        attrs: dict[str, Any] = {
            "map_opcode": opcode, "op_name": op_name,
            "sccp_calling_gt": calling.gt, "sccp_called_gt": called.gt,
            "sccp_calling_ssn": calling.ssn, "sccp_called_ssn": called.ssn,
            "tcap_type": t.type, "tcap_otid": t.otid, "tcap_dtid": t.dtid, "invoke_id": comp.invoke_id,
            "component": "invoke", "app_context": ac, "ac_version": ac_version,
            "country": att.country, "attribution": att.source, "answered": False,
            "subject_from": subject_from,
        }
        for key in _NODE_FIELDS:
            if key in fields:
                attrs[key] = fields[key]
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
        ev = PendingEvent(digest, rec.ts_us, actor_gt or f"pc:{calling.pc}", att.operator, subject[0],
                          subject[1], map_ops.data_kind(opcode, fields), op_name, rec.frame, attrs)
        self.events.append(ev)
        if t.otid is not None and comp.invoke_id is not None:
            self._pending_map.setdefault(t.otid, {}).setdefault(comp.invoke_id, []).append(ev)

    def _answer(self, dtid: str | None, comp: Component, frame: int) -> None:
        self._count(_ANSWER_COUNTS[comp.kind])
        if dtid is None or comp.invoke_id is None:
            return
        by_id = self._pending_map.get(dtid)
        waiting = by_id.get(comp.invoke_id) if by_id else None
        if not waiting or by_id is None:
            self._count("map answers without their invoke in this capture")
            return
        ev = waiting[0]
        if comp.kind == "result" and not comp.last:
            ev.attrs.update(answered=True, answer="result", answer_frame=frame)
            return
        waiting.pop(0)
        if not waiting:
            del by_id[comp.invoke_id]
            if not by_id:
                del self._pending_map[dtid]
        ev.attrs.update(answered=True, answer=comp.kind, answer_frame=frame)
        if comp.kind == "result":
            ev.outcome = "allowed"
        elif comp.kind == "error":
            code = comp.error_code
            ev.outcome = "denied" if code in map_ops.DENIAL_ERRORS else "error"
            ev.attrs.update(error_code=code, error_name=map_ops.ERRORS.get(code or -1))
        else:
            ev.outcome = "error"

    def _returned(self, t: TcapMessage, rec: MapRecord) -> None:
        self._count("sccp returned messages")
        for ev in self._close(t.otid):
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
            ev.attrs.update(answered=True, result_code=code, answer_frame=rec.frame)
            return
        self._count("diameter requests")
        a = msg.avps
        fields = {}
        user_name = a.get("user_name", "")
        if user_name.isdigit():
            fields["imsi"] = user_name
        elif a.get("subscription_imsi"):
            fields["imsi"] = a["subscription_imsi"]
        if a.get("msisdn"):
            fields["msisdn"] = a["msisdn"]
        elif a.get("public_identity", "").startswith("tel:"):
            fields["msisdn"] = a["public_identity"][4:].lstrip("+")
        subject = self._subject(fields)
        if subject is None:
            self.rejects.append((rec.frame, f"Diameter {msg.command_name} request names no valid IMSI "
                                            "(User-Name) or MSISDN", msg.raw.hex()))
            return
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
        }
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
