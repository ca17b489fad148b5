"""The simulated registry's people and their records: who the world knows, and what it answers for anyone.

``World.load(folder)`` reads a portal world (``custodiet simulate portal``) once: the people are the
subjects of its access log and case subjects, under their normalised identifiers, each with how many
records the portal returned per data kind (the most any lookup got, at least one). ``World.answer`` gives
the JSON body for a lookup: a world person gets as many records as the portal returned for that data kind
(one for a kind never looked up); anyone else a synthetic answer of the same shape with one to three
records. Every record is drawn from a generator seeded by the normalised identifier (and the data kind),
so the same lookup gets the same answer every time, in every process. No real person's data: names,
places and numbers are drawn from small made-up pools.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from custodiet.events import sql_text
from custodiet.identifiers import IdentifierRules, luhn_digit, normalise, normalise_many

# what a citizen-data registry answers (the portal's data kinds)
DATA_KINDS = ("identity", "subscriber", "cdr", "location", "imei", "travel", "criminal")
SUBJECT_KINDS = ("msisdn", "imsi", "imei", "nid", "passport")
DEFAULT_AS_OF = datetime(2026, 6, 30, 18, tzinfo=UTC)
CACHE_SIZE = 20_000  # answers kept ready (a few hundred bytes each)

_GIVEN_M = ("Abdul", "Rahim", "Karim", "Hasan", "Jamal", "Rafiq", "Sohel", "Tanvir", "Imran", "Arif", "Nasir",
            "Faruk", "Mizan", "Shakil", "Habib", "Kamal")
_GIVEN_F = ("Ayesha", "Fatema", "Nasrin", "Shirin", "Rokeya", "Sumaiya", "Taslima", "Jannat", "Farzana", "Mitu",
            "Sharmin", "Ruma", "Nusrat", "Lipi", "Moni", "Parvin")
_FAMILY = ("Ahmed", "Hossain", "Islam", "Rahman", "Uddin", "Akter", "Begum", "Chowdhury", "Sarkar", "Mia",
           "Khan", "Talukder", "Sheikh", "Biswas", "Mondal", "Haque")
_DISTRICTS = (("Dhaka", 23.81, 90.41), ("Chattogram", 22.36, 91.78), ("Khulna", 22.85, 89.54),
              ("Rajshahi", 24.37, 88.60), ("Sylhet", 24.89, 91.87), ("Barishal", 22.70, 90.35),
              ("Rangpur", 25.74, 89.28), ("Mymensingh", 24.75, 90.41))
_OPERATORS = (("Simulated Mobile A", "47001", "88017"), ("Simulated Mobile B", "47002", "88018"),
              ("Simulated Mobile C", "47003", "88019"), ("Simulated Mobile D", "47004", "88015"))
_DEVICES = (("Samsung", "Galaxy A14"), ("Xiaomi", "Redmi 12"), ("Symphony", "Z60"), ("Walton", "Primo H9"),
            ("Nokia", "105"), ("Apple", "iPhone 12"), ("Realme", "C53"), ("Oppo", "A58"))
_PORTS = ("Hazrat Shahjalal Airport", "Benapole", "Shah Amanat Airport", "Akhaura", "Osmani Airport", "Darshana")
_OFFENCES = ("theft", "fraud", "assault", "narcotics possession", "cheque dishonour", "cybercrime",
             "smuggling", "trespass")


def _digits(rng: random.Random, n: int) -> str:
    return str(rng.randrange(10**n)).zfill(n)


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big")


@dataclass(frozen=True)
class Person:
    """The attributes every record of one identifier agrees on (drawn from the identifier alone)."""

    name: str
    gender: str
    father_name: str
    date_of_birth: str
    district: str
    lat: float
    lon: float
    nid: str
    msisdn: str
    imsi: str
    imei: str
    passport: str
    operator: str
    device: tuple[str, str]


def person(subject_kind: str, subject: str) -> Person:
    """The synthetic person behind a normalised identifier; the identifier itself is kept in its slot."""
    rng = random.Random(_seed("person", subject_kind, subject))
    gender = rng.choice("MF")
    family = rng.choice(_FAMILY)
    name = f"{rng.choice(_GIVEN_M if gender == 'M' else _GIVEN_F)} {family}"
    district, lat, lon = rng.choice(_DISTRICTS)
    op_name, mcc_mnc, msisdn_prefix = rng.choice(_OPERATORS)
    dob = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
    imei_body = "35" + _digits(rng, 12)
    ids = {"nid": str(dob.year) + _digits(rng, 13), "msisdn": msisdn_prefix + _digits(rng, 8),
           "imsi": mcc_mnc + _digits(rng, 10), "imei": imei_body + luhn_digit(imei_body),
           "passport": rng.choice("ABEK") + rng.choice("ABCDEFGH") + _digits(rng, 7)}
    if subject_kind in ids:
        ids[subject_kind] = subject
    return Person(name=name, gender=gender, father_name=f"{rng.choice(_GIVEN_M)} {family}",
                  date_of_birth=dob.isoformat(), district=district, lat=lat, lon=lon, device=rng.choice(_DEVICES),
                  operator=op_name, **ids)


def _when(rng: random.Random, as_of: datetime, days: int) -> datetime:
    return as_of - timedelta(seconds=rng.randrange(days * 86_400))


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds").replace("+00:00", "Z")


def _identity(p: Person, rng: random.Random, as_of: datetime) -> dict[str, Any]:
    return {"nid": p.nid, "name": p.name, "gender": p.gender, "father_name": p.father_name,
            "date_of_birth": p.date_of_birth, "district": p.district,
            "address": f"House {rng.randrange(1, 200)}, Road {rng.randrange(1, 40)}, {p.district}"}


def _subscriber(p: Person, rng: random.Random, as_of: datetime) -> dict[str, Any]:
    return {"msisdn": p.msisdn, "imsi": p.imsi, "operator": p.operator, "registered_nid": p.nid,
            "registered_name": p.name, "activated": _iso(_when(rng, as_of, 3650)),
            "status": rng.choice(("active", "active", "active", "suspended"))}


def _cdr(p: Person, rng: random.Random, as_of: datetime) -> dict[str, Any]:
    kind = rng.choice(("voice", "voice", "sms"))
    return {"ts": _iso(_when(rng, as_of, 90)), "msisdn": p.msisdn, "type": kind,
            "direction": rng.choice(("out", "in")), "other_party": "880" + rng.choice("13456789") + _digits(rng, 9),
            "duration_s": rng.randrange(5, 1800) if kind == "voice" else 0, "cell_id": _digits(rng, 5)}


def _location(p: Person, rng: random.Random, as_of: datetime) -> dict[str, Any]:
    return {"ts": _iso(_when(rng, as_of, 2)), "msisdn": p.msisdn, "cell_id": _digits(rng, 5),
            "lat": round(p.lat + rng.uniform(-0.05, 0.05), 5), "lon": round(p.lon + rng.uniform(-0.05, 0.05), 5),
            "accuracy_m": rng.choice((150, 300, 600, 1200))}


def _imei(p: Person, rng: random.Random, as_of: datetime) -> dict[str, Any]:
    first = _when(rng, as_of, 1500)
    return {"imei": p.imei, "brand": p.device[0], "model": p.device[1], "msisdn": p.msisdn,
            "first_seen": _iso(first), "last_seen": _iso(first + (as_of - first) * rng.random())}


def _travel(p: Person, rng: random.Random, as_of: datetime) -> dict[str, Any]:
    return {"passport": p.passport, "name": p.name, "direction": rng.choice(("departure", "arrival")),
            "port": rng.choice(_PORTS), "date": _when(rng, as_of, 1500).date().isoformat()}


def _criminal(p: Person, rng: random.Random, as_of: datetime) -> dict[str, Any]:
    return {"nid": p.nid, "name": p.name, "record_id": f"CR-{rng.randrange(2005, as_of.year + 1)}-{_digits(rng, 6)}",
            "offence": rng.choice(_OFFENCES), "status": rng.choice(("acquitted", "convicted", "pending", "withdrawn")),
            "district": p.district, "date": _when(rng, as_of, 5000).date().isoformat()}


SHAPES: dict[str, Callable[[Person, random.Random, datetime], dict[str, Any]]] = {
    "identity": _identity, "subscriber": _subscriber, "cdr": _cdr, "location": _location, "imei": _imei,
    "travel": _travel, "criminal": _criminal}


class UnknownDataKind(ValueError):
    """A data kind the registry does not hold."""


@dataclass
class World:
    """The people of one portal world: (subject_kind, normalised identifier) -> records per data kind."""

    people: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    as_of: datetime = DEFAULT_AS_OF
    rules: IdentifierRules = field(default_factory=IdentifierRules)

    @classmethod
    def load(cls, folder: Path, rules: IdentifierRules | None = None) -> World:
        """Read ``access_log.csv`` and ``case_subjects.csv`` (either may be missing, not both) and
        ``truth.json`` (for the world's last day) from a portal world folder."""
        rules = rules or IdentifierRules()
        log, cases = folder / "access_log.csv", folder / "case_subjects.csv"
        if not log.exists() and not cases.exists():
            raise FileNotFoundError(f"{folder}: no access_log.csv or case_subjects.csv: not a portal world")
        parts = []
        if log.exists():
            parts.append(f"SELECT subject, subject_kind, data_kind, greatest(max(records), 1) AS n "
                         f"FROM read_csv({sql_text(str(log))}, header=true, all_varchar=true, "
                         f"types={{'records': 'BIGINT'}}) GROUP BY ALL")
        if cases.exists():
            parts.append(f"SELECT DISTINCT subject, subject_kind, NULL AS data_kind, 0 AS n "
                         f"FROM read_csv({sql_text(str(cases))}, header=true, all_varchar=true)")
        con = duckdb.connect()
        try:
            rows = con.execute(" UNION ALL ".join(parts)).fetchall()
        finally:
            con.close()
        pairs = list({(k, v) for v, k, _, _ in rows if k and v})
        normal = dict(zip(pairs, normalise_many(pairs, rules), strict=True))
        people: dict[tuple[str, str], dict[str, int]] = {}
        for value, kind, data_kind, n in rows:
            norm = normal.get((kind, value), (None, None))[0]
            if norm is None:
                continue  # the world's deliberately malformed identifiers: nobody to answer for
            counts = people.setdefault((kind, norm), {})
            if data_kind in SHAPES:
                counts[data_kind] = max(counts.get(data_kind, 1), int(n or 1))
        return cls(people, _as_of(folder / "truth.json"), rules)

    def knows(self, subject_kind: str, subject: str) -> bool:
        """Is this normalised identifier one of the world's people?"""
        return (subject_kind, subject) in self.people

    def answer(self, data_kind: str, subject_kind: str, value: str) -> dict[str, Any]:
        """The body for a lookup of ``value`` (as given); ``InvalidIdentifier`` when it is malformed,
        ``UnknownDataKind`` for a data kind the registry does not hold."""
        shape = SHAPES.get(data_kind)
        if shape is None:
            raise UnknownDataKind(f"unknown data_kind {data_kind!r} (this registry holds {', '.join(DATA_KINDS)})")
        subject = normalise(subject_kind, value, self.rules)
        p = person(subject_kind, subject)
        rng = random.Random(_seed("records", subject_kind, subject, data_kind))
        counts = self.people.get((subject_kind, subject))
        n = counts.get(data_kind, 1) if counts is not None else rng.randint(1, 3)
        return {"subject_kind": subject_kind, "subject": subject, "data_kind": data_kind,
                "records": [shape(p, rng, self.as_of) for _ in range(n)]}

    def answer_bytes(self, data_kind: str, subject_kind: str, value: str) -> bytes:
        """``answer`` as compact UTF-8 JSON (the last ``CACHE_SIZE`` answers are kept)."""
        return self._cached(data_kind, subject_kind, value)

    def __post_init__(self) -> None:
        @functools.lru_cache(maxsize=CACHE_SIZE)
        def cached(data_kind: str, subject_kind: str, value: str) -> bytes:
            return json.dumps(self.answer(data_kind, subject_kind, value), separators=(",", ":")).encode()

        self._cached = cached


def _as_of(truth: Path) -> datetime:
    """The world's end (its ``truth.json``), so records fall inside the world's time; a fixed date without it."""
    try:
        end = json.loads(truth.read_text(encoding="utf-8"))["end"]
        return datetime.fromisoformat(end.replace("Z", "+00:00")).astimezone(UTC)
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_AS_OF
