"""The planted truth is really in the log: abusers of every kind doing what their kind does, leaks that
point at real accesses, and legitimate work that looks like casework."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from portal_helpers import iso, read_csv

from custodiet.identifiers import normalise
from custodiet.simulate.portal import ABUSER_KINDS

Key = tuple[str, str]  # (subject_kind, normalised identifier)


class Log:
    """The access log as plain columns, subjects normalised (each distinct value once)."""

    def __init__(self, table) -> None:
        cols = table.to_pydict()
        self.n = table.num_rows
        self.ts = [iso(t) for t in cols["ts"]]
        self.actor = cols["actor"]
        self.org = cols["actor_org"]
        self.case = cols["case_id"]
        self.outcome = cols["outcome"]
        self.data_kind = cols["data_kind"]
        self.ip = cols["client_ip"]
        cache: dict[Key, str] = {}
        self.key: list[Key] = []
        for kind, value in zip(cols["subject_kind"], cols["subject"], strict=True):
            if (kind, value) not in cache:
                cache[(kind, value)] = normalise(kind, value)
            self.key.append((kind, cache[(kind, value)]))

    def rows(self, actor: str, start: datetime | None = None, end: datetime | None = None) -> list[int]:
        return [i for i in range(self.n) if self.actor[i] == actor
                and (start is None or self.ts[i] >= start) and (end is None or self.ts[i] <= end)]


def _keys(table) -> list[Key]:
    return [(k, normalise(k, v)) for k, v in zip(table["subject_kind"].to_pylist(), table["subject"].to_pylist(),
                                                 strict=True)]


@pytest.fixture(scope="module")
def L(log) -> Log:  # noqa: N802
    return Log(log)


@pytest.fixture(scope="module")
def abusers(truth) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for a in truth["abusers"]:
        out[a["kind"]].append(a)
    return out


def _window(a: dict) -> tuple[datetime, datetime]:
    return iso(a["window_start"]), iso(a["window_end"])


def test_every_abuser_kind_is_planted_on_distinct_accounts(truth, L: Log) -> None:
    kinds = [a["kind"] for a in truth["abusers"]]
    assert set(kinds) == set(ABUSER_KINDS)
    assert len({a["actor"] for a in truth["abusers"]}) == len(kinds)
    for a in truth["abusers"]:
        assert len(L.rows(a["actor"], *_window(a))) >= a["events"] > 0
        assert a["victims"] >= 1


def test_leaks_point_at_real_accesses_before_listing(world: Path, truth, L: Log) -> None:
    sellers = {a["actor"] for a in truth["abusers"] if a["kind"] in ("bulk_seller", "quiet_seller",
                                                                      "hijacked_account")}
    first_access: dict[tuple[str, Key], datetime] = {}
    for i in range(L.n):
        if L.outcome[i] == "allowed":
            first_access.setdefault((L.actor[i], L.key[i]), L.ts[i])
    assert len(truth["leaks"]) >= 4
    assert {lk["seller"] for lk in truth["leaks"]} == sellers
    for leak in truth["leaks"]:
        keys = _keys(read_csv(world / leak["file"]))
        assert len(keys) == leak["records"]
        assert 4 <= leak["records"] <= 30
        listed = datetime.combine(date.fromisoformat(leak["listed_at"]), datetime.min.time(), tzinfo=UTC)
        for key in keys:
            seen = first_access.get((leak["seller"], key))
            assert seen is not None, (leak["file"], key)
            assert seen < listed - timedelta(days=2), (leak["file"], key)


def test_one_leak_mixes_in_people_everybody_looks_up(world: Path, truth, L: Log) -> None:
    lookers: dict[Key, set[str]] = defaultdict(set)
    for i in range(L.n):
        lookers[L.key[i]].add(L.actor[i])
    popular_per_leak = []
    for leak in truth["leaks"]:
        spread = [len(lookers[k]) for k in _keys(read_csv(world / leak["file"]))]
        popular_per_leak.append(sum(s >= 5 for s in spread))
        assert np.median(spread) <= 2  # most of a sample is people only the seller looked up
    assert max(popular_per_leak) >= 3


def test_sellers_pull_bundles_on_people(L: Log, abusers) -> None:
    for a in abusers["bulk_seller"] + abusers["quiet_seller"] + abusers["hijacked_account"]:
        kinds: dict[Key, set[str]] = defaultdict(set)
        for i in L.rows(a["actor"], *_window(a)):
            kinds[L.key[i]].add(L.data_kind[i])
        bundled = sum({"location", "cdr"} <= k for k in kinds.values())
        assert bundled >= min(4, a["victims"] // 2), a


def test_quiet_seller_is_quiet_and_bulk_seller_is_not(L: Log, abusers) -> None:
    for a in abusers["quiet_seller"]:
        weeks = max((_window(a)[1] - _window(a)[0]).days / 7, 1)
        assert 4 <= a["victims"] <= 6 * weeks
    for a in abusers["bulk_seller"]:
        start, end = _window(a)
        before = Counter(L.ts[i].date() for i in L.rows(a["actor"], end=start))
        during = Counter(L.ts[i].date() for i in L.rows(a["actor"], start, end))
        assert np.median(list(during.values())) >= 1.8 * np.median(list(before.values()))


def test_hijacked_account_works_at_night_from_a_new_address(L: Log, abusers) -> None:
    (a,) = abusers["hijacked_account"]
    start, end = _window(a)
    known = {L.ip[i] for i in L.rows(a["actor"], end=start - timedelta(seconds=1))}
    night = [i for i in L.rows(a["actor"], start, end) if (L.ts[i] + timedelta(hours=6)).hour < 5]
    assert len(night) >= a["events"]
    assert {L.ip[i] for i in night}.isdisjoint(known)


def test_enumeration_walks_sequential_ids(L: Log, abusers) -> None:
    (a,) = abusers["enumeration"]
    nids = sorted({int(L.key[i][1]) for i in L.rows(a["actor"], *_window(a)) if L.key[i][0] == "nid"})
    runs = np.split(np.array(nids), np.flatnonzero(np.diff(nids) != 1) + 1)
    assert max(len(r) for r in runs) >= 50


def test_case_misuse_cites_other_units_or_closed_cases(world: Path, L: Log, abusers) -> None:
    cases = read_csv(world / "cases.csv").to_pydict()
    org = dict(zip(cases["case_id"], cases["org"], strict=True))
    closed = {c: iso(t) for c, t in zip(cases["case_id"], cases["closed"], strict=True) if t}
    (a,) = abusers["case_misuse"]
    rows = [i for i in L.rows(a["actor"], *_window(a)) if L.case[i]]
    misused = [i for i in rows if org[L.case[i]] != L.org[i] or (L.case[i] in closed and closed[L.case[i]] < L.ts[i])]
    assert len(misused) >= 10


def test_vip_snooper_looks_up_protected_people(world: Path, L: Log, abusers) -> None:
    protected = set(_keys(read_csv(world / "protected.csv")))
    (a,) = abusers["vip_snooping"]
    seen = {L.key[i] for i in L.rows(a["actor"], *_window(a))} & protected
    assert len(seen) >= 5


def test_stalker_returns_to_one_person_nobody_else_looks_up(L: Log, abusers) -> None:
    (a,) = abusers["stalker"]
    counts = Counter(L.key[i] for i in L.rows(a["actor"], *_window(a)))
    victim, n = counts.most_common(1)[0]
    assert n >= 8
    assert {L.actor[i] for i in range(L.n) if L.key[i] == victim} == {a["actor"]}


def test_ramp_up_rises_against_own_history(L: Log, abusers) -> None:
    (a,) = abusers["ramp_up"]
    per_day = Counter(L.ts[i].date() for i in L.rows(a["actor"]))
    days = sorted(per_day)
    early = np.mean([per_day[d] for d in days[:10]])
    late = np.mean([per_day[d] for d in days[-10:]])
    assert late >= 1.8 * early


def test_casework_is_explained_and_verification_looks_up_strangers(world: Path, truth, L: Log) -> None:
    subjects: dict[str, set[Key]] = defaultdict(set)
    table = read_csv(world / "case_subjects.csv")
    for case, key in zip(table["case_id"].to_pylist(), _keys(table), strict=True):
        subjects[case].add(key)
    abusive = {a["actor"] for a in truth["abusers"]}
    kind_of = {org: u["kind"] for org, u in truth["units"].items()}
    cited = [i for i in range(L.n) if L.case[i] and L.actor[i] not in abusive]
    covered = sum(L.key[i] in subjects[L.case[i]] for i in cited)
    assert 0.8 <= covered / len(cited) < 1.0  # mostly explained; contacts and IMSIs not on file are not
    ver = [i for i in range(L.n) if kind_of[L.org[i]] == "verification"]
    assert not any(L.case[i] for i in ver)
    assert len({L.key[i] for i in ver}) / len(ver) > 0.6


def test_weekends_are_quieter(L: Log) -> None:
    per_day = Counter((L.ts[i] + timedelta(hours=6)).date() for i in range(L.n))
    weekend = [n for d, n in per_day.items() if d.weekday() in (4, 5)]
    weekday = [n for d, n in per_day.items() if d.weekday() not in (4, 5)]
    assert np.median(weekend) < 0.5 * np.median(weekday)
