"""Each error class on a small hand-written world, with the near misses that are not errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.oversight.helpers import World, activate, classes, deactivate, modify, warrant_rows

A = {"e164Number": "447700900001"}
B = {"e164Number": "447700900002"}
PHONE = ("+447700900001", "msisdn")
OTHER = ("447700900002", "msisdn")


def world(tmp_path: Path) -> World:
    w = World(tmp_path)
    w.warrants += warrant_rows("W1", [PHONE, OTHER], kinds="metadata;location")
    w.warrants += warrant_rows("W2", [PHONE], kinds="content;metadata", start="2026-08-15", end="2026-10-15")
    return w


def test_covered_tasks_and_near_misses(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.messages += [
        activate("ok", "2026-07-02T10:00:00Z", "W1", [A], services=["LALS"]),
        modify("ok", "2026-07-05T10:00:00Z", "W1", [A, B]),  # adds a target the warrant lists
        deactivate("ok", "2026-09-01T00:40:00Z"),  # 40 minutes late: inside the hour of grace
        activate("renewed", "2026-07-03T10:00:00Z", "W1", [A]),
        modify("renewed", "2026-08-20T10:00:00Z", "W2", [A]),  # renewal onto W2 before W1 ended
        activate("again", "2026-07-03T10:00:00Z", "W1", [A]),
        deactivate("again", "2026-07-10T10:00:00Z"),
        activate("again", "2026-07-20T10:00:00Z", "W1", [A]),  # reactivated within validity: same task
        deactivate("again", "2026-07-30T10:00:00Z"),
        activate("last", "2026-10-01T10:00:00Z", "W2", [A], delivery="X2andX3"),  # the input's last message
    ]
    assert classes(w.judged()) == dict.fromkeys(["ok", "renewed", "again", "last"], "covered")


@pytest.mark.parametrize(("messages", "expected"), [
    ([activate("t", "2026-07-02T10:00:00Z", "W9", [A])], "no_warrant"),
    ([activate("t", "2026-07-02T10:00:00Z", "W1", [{"e164Number": "447700900003"}])], "wrong_identifier"),
    ([activate("t", "2026-07-02T10:00:00Z", "W1", [A]),
      modify("t", "2026-07-04T10:00:00Z", "W1", [A, {"imsi": "234150000000009"}])], "wrong_identifier"),
    ([activate("t", "2026-06-28T10:00:00Z", "W1", [A])], "wrong_period"),  # before valid_from: no grace
    ([activate("t", "2026-07-02T10:00:00Z", "W1", [A]), deactivate("t", "2026-09-01T01:30:00Z")], "wrong_period"),
    ([activate("t", "2026-07-02T10:00:00Z", "W1", [A]), deactivate("t", "2026-07-09T10:00:00Z"),
      activate("t", "2026-09-03T10:00:00Z", "W1", [A])], "wrong_period"),  # reactivated after the warrant ended
    ([activate("t", "2026-07-02T10:00:00Z", "W1", [A])], "wrong_period"),  # never deactivated; input runs past
    ([activate("t", "2026-07-02T10:00:00Z", "W1", [A], delivery="X3Only"), deactivate("t", "2026-07-05T10:00:00Z")],
     "wrong_data_type"),
    ([activate("t", "2026-08-20T10:00:00Z", "W2", [A], services=["LALS"])], "wrong_data_type"),
    # several errors: counted under the first class (an unlisted target beats the wrong period and kind)
    ([activate("t", "2026-06-20T10:00:00Z", "W1", [B, {"imei": "35209900176148"}], delivery="X3Only")],
     "wrong_identifier"),
])
def test_each_class(tmp_path: Path, messages: list, expected: str) -> None:
    w = world(tmp_path)
    w.messages += messages
    w.messages.append(activate("tail", "2026-10-10T10:00:00Z", "W2", [A]))  # the input runs to here
    found = classes(w.judged())
    assert found["t"] == expected
    assert found["tail"] == "covered"


def test_identifiers_match_in_any_written_form(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.warrants += warrant_rows("W1", [("352099001761481", "imei"), ("234150000000001", "imsi")])
    w.messages.append(activate("t", "2026-07-02T10:00:00Z", "W1", [{"imei": "35209900176148"},
                                                                   {"imsi": "234150000000001"}]))
    assert classes(w.judged()) == {"t": "covered"}


def test_stretched_counts_the_tasks_beyond_the_allowance(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.warrants += warrant_rows("W1", [PHONE])
    for i in range(6):  # allowance 4 x 1 target: the 5th and 6th task to name it are stretched
        w.messages.append(activate(f"t{i}", f"2026-07-0{i + 2}T10:00:00Z", "W1", [A], ne=f"ne-{i}"))
        w.messages.append(deactivate(f"t{i}", f"2026-07-2{i}T10:00:00Z"))
    w.messages.append(activate("t9", "2026-07-08T10:00:00Z", "W1", [B]))  # unlisted: class 2, still counted
    found = classes(w.judged())
    assert found == {"t0": "covered", "t1": "covered", "t2": "covered", "t3": "covered", "t4": "stretched",
                     "t5": "stretched", "t9": "wrong_identifier"}


def test_deactivate_in_a_later_file_uses_the_tasks_targets_from_the_ledger(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.messages.append(activate("t", "2026-07-02T10:00:00Z", "W1", [A, B]))
    store = w.load()
    later = tmp_path / "later.jsonl"
    import json

    later.write_text(json.dumps(deactivate("t", "2026-08-01T10:00:00Z")) + "\n")
    from custodiet.ingest.interception.ingest import ingest_x1

    assert ingest_x1(store, later).stored == 2  # one event per target the task had
    con = store.connect()
    kinds = con.execute("SELECT count(DISTINCT subject), min(actor) FROM events "
                        "WHERE operation = 'DeactivateTaskRequest'").fetchall()
    assert kinds == [(2, "Police")]
    from custodiet.detect.interception.base import judge_store

    assert classes(judge_store(store)) == {"t": "covered"}
