"""The independent interception world: deterministic per seed, the same messages in its JSON lines and its XML,
and a truth that its own self-check recomputes from the files alone (and that a tampered truth fails)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from bench.worlds import interception_judge as J
from bench.worlds.interception_world import check, generate

SEEDS = (3, 8)


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[Path, dict]]:
    out = {}
    for seed in SEEDS:
        d = tmp_path_factory.mktemp(f"x1world{seed}")
        out[seed] = (d, generate(d, seed, tasks=150))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_same_seed_same_bytes(worlds: dict[int, tuple[Path, dict]], tmp_path: Path, seed: int) -> None:
    generate(tmp_path, seed, tasks=150)
    first, _ = worlds[seed]
    for name in ("warrants.csv", "x1.jsonl", "x1.xml", "truth.json"):
        assert (tmp_path / name).read_bytes() == (first / name).read_bytes(), name


def test_other_seed_other_world(worlds: dict[int, tuple[Path, dict]]) -> None:
    a, b = (worlds[s][0] / "x1.jsonl" for s in SEEDS)
    assert a.read_bytes() != b.read_bytes()


@pytest.mark.parametrize("seed", SEEDS)
def test_json_and_xml_hold_the_same_messages(worlds: dict[int, tuple[Path, dict]], seed: int) -> None:
    d, truth = worlds[seed]
    jl, xm = J.read_jsonl(d / "x1.jsonl"), J.read_xml(d / "x1.xml")
    assert Counter(J.canonical(m) for m in jl) == Counter(J.canonical(m) for m in xm)
    assert len(jl) == truth["params"]["messages"] > truth["params"]["unique_messages"]  # retransmissions
    text = (d / "x1.xml").read_text(encoding="utf-8")
    docs = re.findall(r"<(?:\w+:)?X1Request\b", text)
    assert len(docs) > 1, "one X1Request only"
    assert "http://uri.etsi.org/03221/X1/2017/10" in text
    assert "<LIID>" in text or ":LIID>" in text, "mediation details not named as the XSD names them"


@pytest.mark.parametrize("seed", SEEDS)
def test_self_check_recomputes_the_truth(worlds: dict[int, tuple[Path, dict]], seed: int) -> None:
    d, truth = worlds[seed]
    res = check(d)
    assert res["tasks"] == len(truth["tasks"])
    assert set(res["classes"]) == {"covered", *J.CLASSES}
    assert res["quarters"] == sorted(truth["reports"])
    assert len(res["quarters"]) >= 2


def test_self_check_fails_on_a_tampered_truth(worlds: dict[int, tuple[Path, dict]], tmp_path: Path) -> None:
    d, truth = worlds[SEEDS[0]]
    for f in d.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    bad = json.loads(json.dumps(truth))
    x = next(x for x, v in bad["tasks"].items() if v["class"] == "covered")
    bad["tasks"][x]["class"] = "wrong_period"
    (tmp_path / "truth.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(AssertionError, match="task classes"):
        check(tmp_path)


@pytest.mark.parametrize("seed", SEEDS)
def test_truth_has_the_contract_shape(worlds: dict[int, tuple[Path, dict]], seed: int) -> None:
    _, truth = worlds[seed]
    assert truth["world"] == "interception"
    assert truth["seed"] == seed
    assert truth["grace_seconds"] == 3600
    assert truth["stretch_factor"] == 4
    assert set(truth["files"]) == {"warrants", "x1_jsonl", "x1_xml"}
    assert all(v["class"] in {"covered", *J.CLASSES} for v in truth["tasks"].values())
    assert isinstance(truth["agencies_out_of_line"], list)
    assert truth["near_misses"]
    assert all(truth["tasks"][x]["class"] == "covered" for x in truth["near_misses"])
    for period, rep in truth["reports"].items():
        assert rep["period"] == period
        assert re.fullmatch(r"\d{4}-Q[1-4]", period)
        rows = rep["agencies"]
        assert [r["agency"] for r in rows] == sorted(r["agency"] for r in rows)
        for key in ("tasks", "started", "ended", "targets", "covered", "uncovered"):
            assert rep["totals"][key] == sum(r[key] for r in rows)
        for r in rows:
            assert r["uncovered"] == r["tasks"] - r["covered"] == sum(r["errors"].values())


def _documents(text: str) -> list[str]:
    """The concatenated X1Request documents of one file, without their XML declarations."""
    parts = re.split(r"(?=<\?xml )|(?<=X1Request>)\s*(?=<)", text)
    return [re.sub(r"^<\?xml[^>]*\?>\s*", "", p.strip()) for p in parts if p.strip()]


@pytest.mark.parametrize("seed", SEEDS)
def test_xml_follows_the_x1_schema(worlds: dict[int, tuple[Path, dict]], seed: int) -> None:
    xmlschema = pytest.importorskip("xmlschema")
    schema = xmlschema.XMLSchema(Path(__file__).parent / "data" / "x1_request_subset.xsd")
    d, _ = worlds[seed]
    docs = _documents((d / "x1.xml").read_text(encoding="utf-8"))
    assert len(docs) > 1
    for doc in docs:
        schema.validate(doc)
    # the schema does notice an element out of order
    compact = next(doc for doc in docs if "LIID>" in doc).replace("\n", "").replace("  ", "")
    assert schema.is_valid(compact)
    swapped = re.sub(r"(<(\w+:)?LIID>[^<]*</(\w+:)?LIID>)(<(\w+:)?deliveryType>[^<]*</(\w+:)?deliveryType>)",
                     r"\4\1", compact, count=1)
    assert swapped != compact
    assert not schema.is_valid(swapped)
