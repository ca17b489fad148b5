"""The independent signalling world: deterministic per seed, real bytes that tshark and the project's CLI read.

One small world (one day, 2,000 subscribers) is generated for the module; tshark checks every frame of every
capture and the frames that truth names as attacks.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import run_cli

WORLDS = Path(__file__).parents[2] / "bench" / "worlds"
sys.path.insert(0, str(WORLDS))

import signalling_world  # noqa: E402

SEED = 11


def _tshark(path: Path, *fields: str, display: str | None = None) -> list[list[str]]:
    exe = shutil.which("tshark")
    if exe is None:
        pytest.fail("tshark is not installed (make sysdeps)")
    cmd = [exe, "-r", str(path), "-o", "sctp.tsn_analysis:FALSE", "-T", "fields", "-E", "occurrence=a",
           "-E", "aggregator=,", *(["-Y", display] if display else [])]
    for f in fields:
        cmd += ["-e", f]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    return [line.split("\t") for line in proc.stdout.splitlines()]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sworld")
    truth = signalling_world.generate(out, SEED, subscribers=2000, days=1)
    return out, truth


def test_same_seed_same_world_in_another_process(world, tmp_path):
    out, truth = world
    again = tmp_path / "again"
    subprocess.run([sys.executable, str(WORLDS / "signalling_world.py"), "--out", str(again), "--seed", str(SEED),
                    "--subscribers", "2000", "--days", "1"], check=True, capture_output=True, timeout=120)
    for name in [*truth["files"], "network.toml"]:
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
    other = json.loads((again / "truth.json").read_text())
    assert {k: v for k, v in other.items() if k != "seconds"} == {k: v for k, v in truth.items() if k != "seconds"}


def test_another_seed_another_world(world, tmp_path):
    _, truth = world
    other = signalling_world.generate(tmp_path, SEED + 1, subscribers=2000, days=1)
    assert other["attacks"] != truth["attacks"]
    assert other["params"] != truth["params"]


def test_truth_is_complete_and_attacks_are_rare(world):
    out, truth = world
    assert truth["world"] == "signalling"
    assert truth["generator"] == "independent"
    assert all((out / f).exists() for f in truth["files"])
    assert truth["attacks"], "a world without attacks tests nothing"
    assert len(truth["attacks"]) < 0.02 * truth["messages_total"]
    assert truth["legitimate_messages"] > 1000
    keys = [a["event_key"] for a in truth["attacks"]]
    assert len(keys) == len(set(keys)), "one entry per attack request frame"
    assert {a["category"] for a in truth["attacks"]} <= {"fs11-cat1", "fs11-cat2", "fs11-cat3", "fs19-cat1",
                                                         "fs19-cat2", "fs19-cat3", "spoofing"}


def test_tshark_decodes_every_frame_without_errors(world):
    out, truth = world
    for name in truth["files"]:
        rows = _tshark(out / name, "frame.number", "_ws.malformed", "_ws.expert.severity")
        assert len(rows) == truth["frames"][name], name
        bad = [r for r in rows if r[1] or any(s and int(s) >= 0x00800000 for s in r[2].split(","))]
        assert not bad, f"{name}: malformed or error frames {bad[:5]}"
        # every SS7 frame is M3UA (DATA or heartbeat); Diameter over TCP may split a message over two segments
        whole, inner = ("m3ua", "tcap") if name.startswith("ss7") else ("sctp || tcp", "diameter.cmd.code")
        assert len(_tshark(out / name, "frame.number", display=whole)) == len(rows), f"{name}: not all {whole}"
        decoded = _tshark(out / name, "frame.number", display=inner)
        assert len(decoded) > 0.85 * len(rows), f"{name}: only {len(decoded)} of {len(rows)} frames carry {inner}"


def test_attack_frames_carry_the_named_operation(world):
    out, truth = world
    sys.path.insert(0, str(WORLDS))
    import sigdiam
    import sigmap

    codes = {**{v: str(k) for k, v in sigmap.OP_NAMES.items()}, **{v: str(k) for k, v in sigdiam.CMD_NAMES.items()}}
    by_file = defaultdict(list)
    for a in truth["attacks"]:
        by_file[a["file"]].append(a)
    for name, attacks in by_file.items():
        rows = {int(r[0]): r for r in _tshark(out / name, "frame.number", "gsm_old.localValue", "diameter.cmd.code",
                                              "sccp.calling.digits", "diameter.Origin-Host")}
        for a in attacks:
            row = rows[a["frame"]]
            found = (row[1] or "").split(",") + (row[2] or "").split(",")
            assert codes[a["operation"]] in found, (a, row)
            assert row[3] or row[4], f"{a['event_key']}: no calling GT or Origin-Host"


def test_project_cli_loads_the_profile_and_ingests_the_captures(world, tmp_path):
    out, truth = world
    home = tmp_path / "home"
    run_cli("context", "load", "network", str(out / "network.toml"), home=home)
    proc = run_cli("ingest", "signalling", *[str(out / f) for f in truth["files"]], home=home)
    assert "ss7-day1.pcap" in proc.stdout


def test_every_tcap_message_round_trips_through_pycrate():
    """An independent ASN.1 implementation (pycrate's TCAP-MAP module) reads every fourth TCAP message of a day
    and every attack, and writes the same bytes back: the BER is well formed and canonical."""
    from pycrate_asn1dir import TCAP_MAPv2v3

    world = signalling_world.simulate(SEED + 2, subscribers=2000, days=1)
    codec = TCAP_MAPv2v3.TCAP_MAP_Messages.TCAP_MAP_Message
    ss7 = [m for m in world.msgs if m.ss7]
    payloads = [m.payload for i, m in enumerate(ss7) if i % 4 == 0 or m.attack]
    assert len(payloads) > 1000
    for payload in payloads:
        codec.from_ber(payload)
        assert codec.to_ber() == payload, payload.hex()
