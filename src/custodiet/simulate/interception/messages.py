"""X1 messages as dicts with X1's own field names (the JSON lines form; the XML form is written from them)."""

from __future__ import annotations

from typing import Any

from custodiet.simulate.interception.model import Msg, Task, iso_us

TARGET_FIELD = {"msisdn": "e164Number", "imsi": "imsi", "imei": "imei"}


def message_dict(task: Task, msg: Msg) -> dict[str, Any]:
    """One request: header fields and ``xId``; Activate and Modify add the task's complete details."""
    out: dict[str, Any] = {
        "messageType": msg.kind,
        "messageTimestamp": iso_us(msg.t),
        "admfIdentifier": task.admf,
        "neIdentifier": task.ne,
        "x1TransactionId": msg.txid,
        "xId": task.xid,
    }
    d = msg.details
    if d is not None:
        out["targetIdentifiers"] = [{TARGET_FIELD[kind]: value} for kind, value in d.targets]
        out["deliveryType"] = d.delivery
        if d.lals:
            out["listOfServiceTypes"] = ["LALS"]
        out["listOfMediationDetails"] = [{"lIID": d.liid, "startTime": iso_us(d.start), "endTime": iso_us(d.end)}]
    return out
