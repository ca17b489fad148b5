"""A small deterministic portal world for detector tests, written straight into a store.

Background: investigators in three units look up the subjects of their units' cases on weekdays in
office hours (citing the case most of the time, a few strangers now and then); a verification cell looks
up strangers all day (identity only), some of them on a late shift. Tests plant one behaviour on top.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from custodiet.detect.run import load_findings
from custodiet.events import EVENT_SCHEMA, canonical_json
from custodiet.ledger import append_events
from custodiet.store import CONTEXT_SCHEMAS, Store

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
WEEKS = 10
ALL_KINDS = ("identity", "subscriber", "cdr", "location", "imei", "travel", "criminal")


def subj(name: str) -> str:
    """A pseudonym-shaped subject for background people (no key needed)."""
    return hashlib.sha256(name.encode()).hexdigest()


@dataclass
class World:
    store: Store
    events: list[dict] = field(default_factory=list)
    actors: list[dict] = field(default_factory=list)
    cases: list[dict] = field(default_factory=list)
    case_subjects: list[dict] = field(default_factory=list)
    protected: list[dict] = field(default_factory=list)
    unit_cases: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    _n: int = 0

    def actor(self, actor: str, org: str, role: str) -> None:
        self.actors.append({"actor": actor, "org": org, "role": role, "region": "R1"})

    def case(self, case_id: str, org: str, subjects: list[str], opened: datetime = START,
             closed: datetime | None = None) -> None:
        self.cases.append({"case_id": case_id, "org": org, "opened": opened, "closed": closed})
        for s in subjects:
            self.case_subjects.append({"case_id": case_id, "subject": s, "subject_kind": "msisdn"})
        self.unit_cases.setdefault(org, []).append((case_id, subjects))

    def access(self, actor: str, subject: str, ts: datetime, data_kind: str = "identity",
               authority: str | None = None, client_ip: str = "10.0.0.1", outcome: str = "allowed",
               records: int = 1, channel: str = "portal", actor_org: str | None = None) -> None:
        self._n += 1
        self.events.append({
            "event_id": f"e{self._n:07d}", "ts": ts, "channel": channel, "actor": actor, "actor_org": actor_org,
            "subject": subject, "subject_kind": "msisdn", "data_kind": data_kind, "operation": "lookup",
            "authority": authority, "outcome": outcome, "records": records,
            "attrs": canonical_json({"client_ip": client_ip}), "source": f"test.csv:{self._n + 1}",
        })

    def commit(self) -> None:
        with self.store.writer():
            append_events(self.store, pa.Table.from_pylist(self.events, schema=EVENT_SCHEMA))
        import pyarrow.parquet as pq

        for name, data in (("actors", self.actors), ("cases", self.cases),
                           ("case_subjects", self.case_subjects), ("protected", self.protected)):
            path = self.store.context_path(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_pylist(data, schema=CONTEXT_SCHEMAS[name]), path)


def day(n: int, hour: int = 10, minute: int = 0) -> datetime:
    return START + timedelta(days=n, hours=hour, minutes=minute)


def background(store: Store, seed: int = 1, units: int = 3, officers: int = 6) -> World:
    rng = np.random.default_rng(seed)
    w = World(store)
    for u in range(units):
        org = f"U{u + 1}"
        for c in range(8):
            subjects = [subj(f"{org}-c{c}-s{i}") for i in range(6)]
            opened = START + timedelta(days=int(c * 7))
            w.case(f"{org}-C{c}", org, subjects, opened=opened, closed=opened + timedelta(days=28))
        for o in range(officers):
            w.actor(f"{org}.o{o}", org, "investigator")
    for o in range(4):
        w.actor(f"V.o{o}", "V", "verifier")
    stranger = 0
    for d in range(WEEKS * 7):
        if (START + timedelta(days=d)).weekday() >= 5:
            continue
        now = START + timedelta(days=d)
        for a in w.actors:
            if a["role"] == "investigator":
                open_cases = [(cid, ss) for cid, ss in w.unit_cases[a["org"]]
                              if next(c for c in w.cases if c["case_id"] == cid)["opened"] <= now
                              < next(c for c in w.cases if c["case_id"] == cid)["closed"]]
                for _ in range(int(rng.poisson(12))):
                    ts = day(d, int(rng.integers(8, 18)), int(rng.integers(0, 60)))
                    if rng.random() < 0.05 or not open_cases:
                        stranger += 1
                        w.access(a["actor"], subj(f"stranger{stranger}"), ts, "identity")
                        continue
                    cid, ss = open_cases[int(rng.integers(len(open_cases)))]
                    w.access(a["actor"], ss[int(rng.integers(len(ss)))], ts,
                             ALL_KINDS[int(rng.integers(len(ALL_KINDS)))],
                             authority=cid if rng.random() < 0.7 else None)
            else:
                late = a["actor"] == "V.o3"
                for _ in range(int(rng.poisson(25))):
                    hour = int(rng.integers(14, 23)) if late else int(rng.integers(8, 18))
                    stranger += 1
                    w.access(a["actor"], subj(f"stranger{stranger}"), day(d, hour, int(rng.integers(0, 60))),
                             "identity" if rng.random() < 0.8 else "subscriber", client_ip="10.0.9.1")
    return w


PLANTED = {
    "insider.volume": {"U1.o2"},
    "insider.bulk": {"U1.o2", "U2.o4"},
    "insider.ramp_up": {"U2.o1"},
    "insider.unexplained": {"U3.o4", "U1.o2", "U2.o4"},
    "insider.case_misuse": {"U3.o4", "U3.o5"},
    "insider.protected": {"U1.o0"},
    "insider.sale_bundle": {"U2.o3"},
    "insider.stalking": {"U3.o1"},
    "insider.steady_sale": {"U3.o2"},
    "insider.collusion": {"U1.o3"},
    "insider.off_hours": {"U1.o5"},
    "insider.new_client": {"U1.o5"},
}


def plant(w: World) -> None:
    """One behaviour per account, on top of the background (see PLANTED)."""
    for i in range(200):  # volume and bulk: 40 strangers a day for five days
        w.access("U1.o2", subj(f"bulk{i}"), day(30 + i // 40, 9 + i % 8, i % 60), "identity")
    for i in range(150):  # enumeration: one morning, most numbers belong to nobody
        w.access("U2.o4", subj(f"enum{i}"), day(44, 9 + i // 60, i % 60), "identity", records=0 if i % 3 else 1)
    n = 0
    for wk in range(4, 10):  # ramp-up: strangers growing 60% a week
        for i in range(int(8 * 1.6 ** (wk - 3))):
            n += 1
            w.access("U2.o1", subj(f"ramp{n}"), day(wk * 7 + i % 5, 9 + i % 8, i % 60), "identity")
    for i in range(40):  # an open case of the unit cited for people it does not list
        w.access("U3.o4", subj(f"snoop{i}"), day(21 + i % 9, 11, i), "location", authority="U3-C2")
    for i in range(12):  # another unit's case cited for strangers
        w.access("U3.o5", subj(f"borrowed{i}"), day(22 + i, 14), "cdr", authority="U1-C3")
    for i in range(3):  # VIPs without a case
        w.protected.append({"subject": subj(f"vip{i}"), "subject_kind": "msisdn", "category": "minister"})
        w.access("U1.o0", subj(f"vip{i}"), day(15 + i, 11), "location")
    for s in range(6):  # full packages on strangers, one sitting each
        for k, kind in enumerate(("location", "cdr", "imei", "travel")):
            w.access("U2.o3", subj(f"target{s}-{kind}"), day(36 + s, 15, 5 + k * 7), kind)
    for d in range(6):  # one person, again and again
        w.access("U3.o1", subj("ex-partner"), day(20 + d * 3, 12), "location")
        w.access("U3.o1", subj("ex-partner"), day(20 + d * 3, 13), "cdr")
    for d in range(16):  # a quiet seller: three strangers on 16 evenings, location and call records each
        for i in range(3):
            for k, kind in enumerate(("location", "cdr")):
                w.access("U3.o2", subj(f"order{d}-{i}"), day(8 + d * 4, 20, i * 10 + k * 3), kind)
    for i in range(10):  # two accounts of two units split an order: one pulls location, the other call records
        w.access("U1.o3", subj(f"split{i}"), day(25 + i, 19, 5), "location")
        w.access("U2.o2", subj(f"split{i}"), day(25 + i, 19, 20), "cdr")
    for i in range(60):  # a hijacked account: nights, a new address
        w.access("U1.o5", subj(f"night{i}"), day(50 + i % 3, 2 + i % 3, i % 60), "identity",
                 client_ip="203.0.113.9")


def by_actor(store: Store, detector: str) -> dict[str, dict]:
    """The stored findings of one detector, by actor (the last one of an actor wins)."""
    return {f["actor"]: f for f in load_findings(store) if f["detector"] == detector}
