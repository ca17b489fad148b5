"""Small X1 worlds written by hand: warrants and task messages, loaded into a store the way a user would."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custodiet.context.load import load_context
from custodiet.detect.interception.base import Judged, judge_store
from custodiet.ingest.interception.ingest import ingest_x1
from custodiet.store import Store

WARRANT_HEADER = "warrant_id,agency,issuer,authority_level,target,target_kind,data_kinds,valid_from,valid_to"


def warrant_rows(wid: str, targets: list[tuple[str, str]], kinds: str = "metadata", start: str = "2026-07-01",
                 end: str = "2026-09-01", agency: str = "Police", level: str = "judicial") -> list[str]:
    return [f"{wid},{agency},Judge,{level},{value},{kind},{kinds},{start},{end}" for value, kind in targets]


def activate(xid: str, ts: str, liid: str, targets: list[dict[str, str]], delivery: str = "X2Only",
             services: list[str] | None = None, kind: str = "ActivateTaskRequest", ne: str = "ne-1") -> dict[str, Any]:
    msg: dict[str, Any] = {"messageType": kind, "messageTimestamp": ts, "admfIdentifier": "admf-1",
                           "neIdentifier": ne, "x1TransactionId": f"{xid}-{ts}", "xId": xid,
                           "targetIdentifiers": targets, "deliveryType": delivery,
                           "listOfMediationDetails": [{"lIID": liid, "startTime": ts}]}
    if services:
        msg["listOfServiceTypes"] = services
    return msg


def modify(xid: str, ts: str, liid: str, targets: list[dict[str, str]], **kw: Any) -> dict[str, Any]:
    return activate(xid, ts, liid, targets, kind="ModifyTaskRequest", **kw)


def deactivate(xid: str, ts: str) -> dict[str, Any]:
    return {"messageType": "DeactivateTaskRequest", "messageTimestamp": ts, "admfIdentifier": "admf-1",
            "neIdentifier": "ne-1", "x1TransactionId": f"{xid}-{ts}-d", "xId": xid}


@dataclass
class World:
    root: Path
    warrants: list[str] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)

    def write(self) -> tuple[Path, Path]:
        self.root.mkdir(parents=True, exist_ok=True)
        w = self.root / "warrants.csv"
        w.write_text("\n".join([WARRANT_HEADER, *self.warrants]) + "\n")
        x = self.root / "x1.jsonl"
        x.write_text("".join(json.dumps(m) + "\n" for m in self.messages))
        return w, x

    def load(self) -> Store:
        w, x = self.write()
        store = Store(self.root / "home")
        load_context(store, "warrants", w)
        summary = ingest_x1(store, x)
        assert summary.quarantined == 0, summary
        return store

    def judged(self) -> Judged:
        return judge_store(self.load())


def classes(judged: Judged) -> dict[str, str]:
    return {x: v.klass for x, v in judged.verdicts.items()}
