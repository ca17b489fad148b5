"""Class 6: an agency whose uncovered share or activation growth stands out from its peers'."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from custodiet.oversight.agencies import binomial_tail, out_of_line
from tests.oversight.helpers import World, activate, deactivate, warrant_rows

DAY0 = datetime(2026, 7, 1, tzinfo=UTC)


def _ts(day: float) -> str:
    return (DAY0 + timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _agency(w: World, agency: str, tasks: int, bad: int, days: list[float] | None = None) -> None:
    """``tasks`` one-target warrants of ``agency``, each with one task; ``bad`` of them intercept another
    number than their warrant lists."""
    for i in range(tasks):
        phone = f"4477009{len(agency):02d}{i:03d}"
        w.warrants += warrant_rows(f"{agency}-{i}", [(phone, "msisdn")], agency=agency, start="2026-07-01",
                                   end="2026-12-31")
        day = days[i] if days else 1 + i * 0.5
        target = {"e164Number": phone if i >= bad else "447700999999"}
        w.messages += [activate(f"{agency}-t{i}", _ts(day), f"{agency}-{i}", [target]),
                       deactivate(f"{agency}-t{i}", _ts(day + 1))]


def test_an_agency_far_less_covered_than_its_peers(tmp_path: Path) -> None:
    w = World(tmp_path)
    _agency(w, "Customs", 30, 9)
    _agency(w, "Police", 60, 1)
    _agency(w, "Intel", 60, 1)
    j = w.judged()
    hits = out_of_line(j.verdicts, j.warrants)
    assert [h.agency for h in hits] == ["Customs"]
    assert hits[0].numbers["uncovered"] == 9
    assert len(hits[0].xids) == 9


def test_peers_with_the_same_error_rate_are_not_out_of_line(tmp_path: Path) -> None:
    w = World(tmp_path)
    _agency(w, "Customs", 30, 2)
    _agency(w, "Police", 60, 4)
    _agency(w, "Intel", 60, 3)
    j = w.judged()
    assert out_of_line(j.verdicts, j.warrants) == []


def test_activations_growing_faster_than_warrants(tmp_path: Path) -> None:
    w = World(tmp_path)
    _agency(w, "Police", 30, 0, days=[i * 3.0 for i in range(30)])  # steady over 90 days
    _agency(w, "Intel", 30, 0, days=[i * 3.0 for i in range(30)])
    _agency(w, "Customs", 34, 0, days=[1.0, 2.0] + [62 + i * 0.8 for i in range(32)])  # a late surge
    # Customs' warrants were all issued before the period: the surge runs on old paper
    j = w.judged()
    hits = out_of_line(j.verdicts, j.warrants)
    assert [h.agency for h in hits] == ["Customs"]
    assert hits[0].numbers["activations_last"] >= 20


def test_binomial_tail() -> None:
    assert binomial_tail(0, 10, 0.5) == 1.0
    assert abs(binomial_tail(10, 10, 0.5) - 0.5 ** 10) < 1e-12
    assert abs(binomial_tail(1, 3, 0.5) - 7 / 8) < 1e-12


def test_activations_doubling_on_the_same_warrants(tmp_path: Path) -> None:
    """Revision 1's first threshold (3x) missed an agency whose activations grew 2.5x on warrants issued at
    an even pace, while its peers' tracked theirs."""
    w = World(tmp_path)
    for agency, per_third in (("Police", (10, 10, 10)), ("Intel", (10, 10, 10)), ("Customs", (9, 9, 27))):
        phones = [f"44770091{len(agency):02d}{i:02d}" for i in range(12)]
        for i, phone in enumerate(phones):  # 4 warrants issued in each third of the 90 days
            start = (DAY0 + timedelta(days=7.5 * i)).strftime("%Y-%m-%d")
            w.warrants += warrant_rows(f"{agency}-{i}", [(phone, "msisdn")], agency=agency, start=start,
                                       end="2026-12-31")
        n, uses = 0, [0] * 12
        for third, count in enumerate(per_third):
            for k in range(count):
                day = 30 * third + 29 * k / count + 0.5
                issued = range(min(int(day // 7.5), 11) + 1)
                i = min(issued, key=lambda x: uses[x])  # the least used warrant already issued
                uses[i] += 1
                xid = f"{agency}-t{n}"
                w.messages += [activate(xid, _ts(day), f"{agency}-{i}", [{"e164Number": phones[i]}]),
                               deactivate(xid, _ts(day + 0.2))]
                n += 1
    j = w.judged()
    assert all(v.klass == "covered" for v in j.verdicts.values())
    hits = out_of_line(j.verdicts, j.warrants)
    assert [h.agency for h in hits] == ["Customs"]
    assert 2 <= hits[0].numbers["growth"] < 3


def test_one_of_many_agencies_a_little_above_its_peers_is_chance(tmp_path: Path) -> None:
    """Revision 1 named an agency with 8 of 92 tasks uncovered against its six peers' 1.9% (chance 4.5e-4
    for that one agency, but every agency is tested: seven times that for the register)."""
    w = World(tmp_path)
    _agency(w, "Customs", 92, 8)
    for name in ("Police", "Intel", "Border", "Harbour", "Fraud", "Transport"):
        _agency(w, name, 60, 2 if name == "Transport" else 1)
    j = w.judged()
    assert out_of_line(j.verdicts, j.warrants) == []
