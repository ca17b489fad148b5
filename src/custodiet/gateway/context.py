"""What the gateway decides with, read from the store's context tables and kept in memory: accounts and
their units, cases (unit, open period) and the subjects they list, warrants, canaries.

The tables are read once at start and again when one of their files changes (checked at most once a
``RECHECK_S``), so a case opened or a warrant loaded while the gateway runs counts within a second or two.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq

from custodiet.context.warrants import Warrant, read_warrants
from custodiet.store import Store

RECHECK_S = 1.0
TABLES = ("actors", "cases", "case_subjects", "warrants", "canaries")


@dataclass(frozen=True)
class Case:
    case_id: str
    org: str | None
    opened: datetime | None
    closed: datetime | None
    subjects: frozenset[tuple[str, str]]  # (kind, pseudonym)

    def open_at(self, moment: datetime) -> bool:
        return (self.opened is None or self.opened <= moment) and (self.closed is None or moment < self.closed)


@dataclass
class Context:
    accounts: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # actor -> (org, role)
    cases: dict[str, Case] = field(default_factory=dict)
    warrants: dict[str, Warrant] = field(default_factory=dict)
    canaries: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, pseudonym) -> owner


def _rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist() if path.exists() else []


def read_context(store: Store) -> Context:
    ctx = Context()
    for r in _rows(store.context_path("actors")):
        ctx.accounts[r["actor"]] = (r["org"], r["role"])
    listed: dict[str, set[tuple[str, str]]] = {}
    for r in _rows(store.context_path("case_subjects")):
        listed.setdefault(r["case_id"], set()).add((r["subject_kind"], r["subject"]))
    for r in _rows(store.context_path("cases")):
        ctx.cases[r["case_id"]] = Case(r["case_id"], r["org"], r["opened"], r["closed"],
                                       frozenset(listed.get(r["case_id"], ())))
    ctx.warrants = read_warrants(store)
    for r in _rows(store.context_path("canaries")):
        ctx.canaries[(r["subject_kind"], r["subject"])] = r["actor"] or f"unit {r['org']}"
    return ctx


class LiveContext:
    """The context, re-read when a table's file changes (at most one check a ``RECHECK_S``)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._stamp = self._stamps()
        self.current = read_context(store)
        self._checked = time.monotonic()

    def _stamps(self) -> tuple[float | None, ...]:
        out: list[float | None] = []
        for name in TABLES:
            try:
                out.append(self.store.context_path(name).stat().st_mtime)
            except FileNotFoundError:
                out.append(None)
        return tuple(out)

    def get(self) -> Context:
        now = time.monotonic()
        if now - self._checked >= RECHECK_S:
            self._checked = now
            stamp = self._stamps()
            if stamp != self._stamp:
                self._stamp, self.current = stamp, read_context(self.store)
        return self.current
