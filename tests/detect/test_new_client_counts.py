"""New client findings count the people looked up from the new client exactly (not an estimate that can
exceed the number of lookups)."""

from __future__ import annotations

from custodiet.detect.run import load_findings


def test_people_from_a_new_client_are_counted_exactly(planted_store) -> None:
    found = [f for f in load_findings(planted_store) if f["detector"] == "insider.new_client"]
    assert found
    con = planted_store.connect()
    try:
        for f in found:
            d = f["details"]
            exact = con.execute(
                "SELECT count(DISTINCT subject), count(*) FROM events WHERE actor = ? AND "
                "json_extract_string(attrs, '$.client_ip') = ?", [f["actor"], d["client"]]).fetchall()[0]
            assert (d["people"], d["lookups"]) == exact
            assert d["people"] <= d["lookups"]
            assert f"lookups of {d['people']:,} people" in f["summary"]
    finally:
        con.close()
