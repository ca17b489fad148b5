"""Builders for the signalling detector tests: canonical events shaped like the decoder's, in a real store."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from custodiet.context.network import save_profile
from custodiet.detect.context import DetectionContext
from custodiet.events import EVENT_SCHEMA, canonical_json
from custodiet.ledger import append_events
from custodiet.store import Store

T0 = datetime(2025, 3, 3, tzinfo=UTC)
HOME_HLR, HOME_VLR = "442079460001", "442079460011"
FR_VLR, FR_HLR = "339900000011", "339900000001"  # Lutetia Mobile (roaming, sms)
CH_SMSC = "419900000021"  # Alpen Net (roaming, no sms)
BR_VLR = "559900000011"  # Sertao Movel
DE_VLR = "499900000011"  # Rheinfunk (roaming, sms)
MARITIME_VLR = "882990000011"  # Ocean Link (maritime, roaming)
UNKNOWN = "260990000031"  # not in the profile (Zambia)
UNKNOWN2, UNKNOWN3 = "855990000031", "976990000031"
FR_REALM, BR_REALM = "epc.mnc095.mcc208.3gppnetwork.org", "epc.mnc095.mcc724.3gppnetwork.org"
HOME_REALM, UNKNOWN_REALM = "epc.mnc001.mcc001.3gppnetwork.org", "epc.mnc095.mcc372.3gppnetwork.org"

PROFILE = """
[home]
name = "Test Home"
country = "GB"
mcc_mnc = ["001-01"]
gt_prefixes = ["442079460"]
msisdn_prefixes = ["447700900"]

[[partner]]
name = "Lutetia Mobile"
country = "FR"
mcc_mnc = ["208-95"]
gt_prefixes = ["33990"]
roaming = true
sms = true

[[partner]]
name = "Alpen Net"
country = "CH"
mcc_mnc = ["228-95"]
gt_prefixes = ["41990"]
roaming = true
sms = false

[[partner]]
name = "Rheinfunk"
country = "DE"
mcc_mnc = ["262-95"]
gt_prefixes = ["49990"]
roaming = true
sms = true

[[partner]]
name = "Ocean Link"
country = "NO"
mcc_mnc = ["901-95"]
gt_prefixes = ["88299"]
roaming = true
sms = false

[[partner]]
name = "Sertao Movel"
country = "BR"
mcc_mnc = ["724-95"]
gt_prefixes = ["55990"]
roaming = true
sms = true
"""

OP_NAMES = {55: "sendIdentification", 57: "restoreData", 67: "purgeMS", 8: "deleteSubscriberData",
            10: "registerSS", 12: "activateSS",
            85: "sendRoutingInfoForLCS",
            2: "updateLocation", 3: "cancelLocation", 4: "provideRoamingNumber", 7: "insertSubscriberData",
            22: "sendRoutingInfo", 23: "updateGprsLocation", 44: "mt-ForwardSM", 45: "sendRoutingInfoForSM",
            56: "sendAuthenticationInfo", 58: "sendIMSI", 70: "provideSubscriberInfo", 71: "anyTimeInterrogation"}
DIAMETER_NAMES = {316: "Update-Location", 317: "Cancel-Location", 318: "Authentication-Information",
                  319: "Insert-Subscriber-Data", 306: "User-Data", 321: "Purge-UE", 323: "Notify",
                  320: "Delete-Subscriber-Data"}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def map_event(minutes: float, calling: str, opcode: int, subject: str, called: str = HOME_HLR,
              outcome: str = "allowed", kind: str = "imsi", **extra: Any) -> dict[str, Any]:
    """A MAP invoke event; ``extra`` attrs (opc, vlr, imsi_plmn, error_code, ...) as the decoder gives them."""
    attrs = {"map_opcode": opcode, "op_name": OP_NAMES[opcode], "sccp_calling_gt": calling, "sccp_called_gt": called,
             "component": "invoke", "tcap_otid": "00000001", "tcap_dtid": None, "app_context": "0.4.0.0.1.0.1.3",
             **extra}
    ev = _event(minutes, calling, OP_NAMES[opcode], subject, attrs)
    ev.update(outcome=outcome, subject_kind=kind)
    return ev


def diameter_event(minutes: float, host: str, realm: str, command: int, subject: str,
                   visited: str | None = None, dest_realm: str | None = HOME_REALM,
                   outcome: str = "allowed") -> dict[str, Any]:
    attrs = {"command_code": command, "op_name": DIAMETER_NAMES[command], "application_id": 16777251,
             "origin_host": host, "origin_realm": realm, "destination_realm": dest_realm,
             "visited_plmn_id": visited, "component": "request"}
    ev = _event(minutes, host, DIAMETER_NAMES[command], subject, attrs)
    ev["outcome"] = outcome
    return ev


def _event(minutes: float, actor: str, operation: str, subject: str, attrs: dict[str, Any]) -> dict[str, Any]:
    key = canonical_json([minutes, actor, operation, subject, attrs])
    return {"event_id": hashlib.sha256(key.encode()).hexdigest()[:32], "ts": at(minutes), "channel": "signalling",
            "actor": actor, "actor_org": None, "subject": subject, "subject_kind": "imsi",
            "data_kind": "location", "operation": operation, "authority": None, "outcome": "allowed",
            "records": None, "attrs": canonical_json(attrs), "source": f"test.pcap:{int(minutes * 10) + 1}"}


def store_with(tmp_path: Path, events: list[dict[str, Any]], profile: str | None = PROFILE) -> Store:
    """A store holding ``events`` and the home network ``profile`` (None: no profile loaded)."""
    store = Store(tmp_path / "home")
    with store.writer():
        if profile is not None:
            path = tmp_path / "network.toml"
            path.write_text(profile, encoding="utf-8")
            save_profile(store, path)
        append_events(store, pa.Table.from_pylist(events, schema=EVENT_SCHEMA))
    return store


def run(store: Store, fn: Any, params: dict[str, dict[str, Any]] | None = None) -> list[Any]:
    ctx = DetectionContext.open(store, params)
    try:
        return list(fn(ctx))
    finally:
        ctx.con.close()


def flagged_ids(findings: list[Any]) -> set[str]:
    return {e for f in findings for e in f.event_ids}
