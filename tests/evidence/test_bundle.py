"""Evidence bundles for real: exported by the CLI from a store built by the project's own commands, then
checked offline by `custodiet evidence verify` (and its Python API), intact and after every kind of change."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from custodiet.evidence import verify_bundle
from custodiet.evidence.bundle import event_member, member_name, proof_member
from tests.conftest import run_cli

from .helpers import flip, members, rewrite

LAYOUT = {"case.json", "findings.json", "head.json", "report.html", "report.pdf"}


def verify(bundle, *args, home=None):
    return run_cli("evidence", "verify", str(bundle), *args, home=home, check=False)


def failed(proc, expected: str) -> None:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert proc.stderr.startswith(f"error: {expected}"), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


# -- the bundle as exported ------------------------------------------------------------------------------

def test_layout(exported):
    found = members(exported["bundle"])
    ids = exported["event_ids"]
    assert len(ids) == 8
    assert set(found) == LAYOUT | {event_member(e) for e in ids} | {proof_member(e) for e in ids}
    case = json.loads(found["case.json"])
    assert (case["case_id"], case["status"], len(case["history"])) == (exported["case_id"], "under_review", 3)
    findings = json.loads(found["findings.json"])
    assert [f["detector"] for f in findings] == ["insider.protected"] * 2
    assert all("without a covering case" in f["summary"] for f in findings)
    head = json.loads(found["head.json"])
    assert head["public_key"] == exported["public_key"]
    stored = {e["event_id"]: e for e in map(json.loads, run_cli("events", "--format", "jsonl",
                                                                 home=exported["home"]).stdout.splitlines())}
    for event_id in ids:
        event = found[event_member(event_id)].decode()
        doc = json.loads(event)
        assert doc == {**stored[event_id], "ts": doc["ts"]}
        assert doc["ts"].endswith(".000000Z")
        assert stored[event_id]["ts"].startswith(doc["ts"][:19])
        assert event == json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        proof = json.loads(found[proof_member(event_id)])
        assert (proof["tree_size"], proof["root_hash"]) == (head["tree_size"], head["root_hash"])
    for event_id in ids[:2]:  # the shape `custodiet proof` prints
        printed = run_cli("proof", event_id, "--format", "json", home=exported["home"]).stdout
        assert json.loads(found[proof_member(event_id)]) == json.loads(printed)


def test_reports(exported):
    found = members(exported["bundle"])
    assert found["report.pdf"].startswith(b"%PDF")
    assert len(found["report.pdf"]) > 5_000
    html = found["report.html"].decode()
    for event_id in exported["event_ids"]:
        assert event_id in html
    findings = json.loads(found["findings.json"])
    assert all(f["summary"] in html for f in findings)
    assert "roster requested" in html  # the chain of custody
    lowered = html.lower()
    for external in ("http://", "https://", "src=", "@import"):  # no external asset
        assert external not in lowered
    assert "88017" not in html  # no cleartext identifier of the protected people (only pseudonyms)


def test_verify_passes_with_no_store_at_all(exported, tmp_path):
    nowhere = tmp_path / "no-such-home"
    proc = verify(exported["bundle"], home=nowhere)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"ok: {exported['case_id']}: 2 findings, 8 events")
    assert "no --public-key was given" in proc.stdout
    assert not nowhere.exists()


def test_verify_with_the_right_and_a_wrong_public_key(exported, tmp_path):
    right = verify(exported["bundle"], "--public-key", exported["public_key"])
    assert right.returncode == 0, right.stderr
    assert "checked against the given public key" in right.stdout
    pem = tmp_path / "ledger.pub"
    pem.write_bytes(Ed25519PublicKey.from_public_bytes(bytes.fromhex(exported["public_key"])).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    assert verify(exported["bundle"], "--public-key", str(pem)).returncode == 0
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex()
    failed(verify(exported["bundle"], "--public-key", other), "head.json: signed by key ed25519:")
    bad = verify(exported["bundle"], "--public-key", "not-a-key")
    assert bad.returncode == 2
    assert "neither 64 hex digits nor a file" in bad.stderr
    trusted = run_cli("evidence", "verify", str(exported["bundle"]), "--format", "json", check=False,
                      env={"CUSTODIET_TRUST_FILE": str(pem)})
    doc = json.loads(trusted.stdout)
    assert (trusted.returncode, doc["ok"], doc["pinned"], doc["events"]) == (0, True, True, 8)
    wrong = tmp_path / "other.pub"
    wrong.write_text(other + "\n")
    distrusted = run_cli("evidence", "verify", str(exported["bundle"]), "--format", "json", check=False,
                         env={"CUSTODIET_TRUST_FILE": str(wrong)})
    assert distrusted.returncode == 1
    assert json.loads(distrusted.stdout)["problem"].startswith("head.json: signed by key")


# -- changed bundles -------------------------------------------------------------------------------------

def test_every_byte_of_an_event_changed_is_named(exported, tmp_path):
    """One byte of an event's file changed, at every offset in turn: the bundle never verifies, and the
    problem is always that event's file."""
    name = event_member(exported["event_ids"][0])
    original = members(exported["bundle"])[name]
    for offset in range(len(original)):
        out = rewrite(exported["bundle"], tmp_path / "b.zip", lambda m, o=offset: {**m, name: flip(m[name], o)})
        result = verify_bundle(out, exported["public_key"])
        assert not result.ok, offset
        assert result.problem.startswith(f"{name}: "), (offset, result.problem)


def test_a_changed_value_in_an_event(exported, tmp_path):
    event_id = exported["event_ids"][1]
    name = event_member(event_id)
    out = rewrite(exported["bundle"], tmp_path / "b.zip",
                  lambda m: {**m, name: m[name].replace(b'"actor":"off', b'"actor":"of2')})
    failed(verify(out), f"{name}: leaf hash does not match its proof")


@pytest.mark.parametrize(("field", "expected"), [
    ("inclusion_path", "does not lead to head.json's root"),
    ("leaf_hash", "its leaf_hash is not the event's leaf hash"),
    ("root_hash", "is against tree size"),
])
def test_a_changed_byte_in_a_proof(exported, tmp_path, field, expected):
    name = proof_member(exported["event_ids"][2])

    def change(m: dict[str, bytes]) -> dict[str, bytes]:
        proof = json.loads(m[name])
        value = proof[field][0] if field == "inclusion_path" else proof[field]
        changed = ("0" if value[5] != "0" else "1").join([value[:5], value[6:]])
        proof[field] = [changed, *proof[field][1:]] if field == "inclusion_path" else changed
        return {**m, name: json.dumps(proof).encode()}

    failed(verify(rewrite(exported["bundle"], tmp_path / "b.zip", change)), f"{name}: {expected}")


@pytest.mark.parametrize("field", ["root_hash", "signature", "tree_size", "timestamp"])
def test_a_changed_head(exported, tmp_path, field):
    def change(m: dict[str, bytes]) -> dict[str, bytes]:
        head = json.loads(m["head.json"])
        if field == "tree_size":
            head[field] += 1
        else:
            head[field] = head[field][:-3] + ("0" if head[field][-3] != "0" else "1") + head[field][-2:]
        return {**m, "head.json": json.dumps(head).encode()}

    failed(verify(rewrite(exported["bundle"], tmp_path / "b.zip", change)),
           "head.json: the signature does not verify")


def test_a_missing_event_and_a_missing_proof(exported, tmp_path):
    event_id = exported["event_ids"][3]
    for name in (event_member(event_id), proof_member(event_id)):
        out = rewrite(exported["bundle"], tmp_path / "b.zip", lambda m, n=name: {k: v for k, v in m.items() if k != n})
        failed(verify(out), f"{name}: missing (event {event_id} of the case's findings)")


def test_swapped_events(exported, tmp_path):
    a, b = exported["event_ids"][0], exported["event_ids"][5]
    ea, eb, pa, pb = event_member(a), event_member(b), proof_member(a), proof_member(b)
    only_events = rewrite(exported["bundle"], tmp_path / "e.zip", lambda m: {**m, ea: m[eb], eb: m[ea]})
    failed(verify(only_events), f"{ea}: holds event '{b}', not '{a}'")
    with_proofs = rewrite(exported["bundle"], tmp_path / "p.zip",
                          lambda m: {**m, ea: m[eb], eb: m[ea], pa: m[pb], pb: m[pa]})
    failed(verify(with_proofs), f"{ea}: holds event '{b}', not '{a}'")


def test_an_extra_event_is_refused(exported, tmp_path):
    a = exported["event_ids"][0]
    extra = f"events/{member_name('planted')}.json"
    out = rewrite(exported["bundle"], tmp_path / "b.zip", lambda m: {**m, extra: m[event_member(a)]})
    failed(verify(out), f"{extra}: not an event of the case's findings")


def test_changed_findings_and_case(exported, tmp_path):
    findings = rewrite(exported["bundle"], tmp_path / "f.zip", lambda m: {
        **m, "findings.json": m["findings.json"].replace(b"without a covering case", b"with a covering case")})
    failed(verify(findings), "findings.json: differs from the findings the case's chain of custody records")

    def edit_history(m: dict[str, bytes]) -> dict[str, bytes]:
        case = json.loads(m["case.json"])
        case["history"][0]["by"] = "mallory"
        case["opened_by"] = "mallory"
        return {**m, "case.json": json.dumps(case).encode()}

    failed(verify(rewrite(exported["bundle"], tmp_path / "c.zip", edit_history)),
           "case.json: history record 2 (seq 2) does not chain to the record before it")

    def drop_note(m: dict[str, bytes]) -> dict[str, bytes]:
        case = json.loads(m["case.json"])
        del case["history"][1]
        case["notes"] = []
        return {**m, "case.json": json.dumps(case).encode()}

    failed(verify(rewrite(exported["bundle"], tmp_path / "d.zip", drop_note)),
           "case.json: history record 2 (seq 3) does not chain")

    def change_state(m: dict[str, bytes]) -> dict[str, bytes]:
        case = json.loads(m["case.json"])
        case["status"] = "closed"
        return {**m, "case.json": json.dumps(case).encode()}

    failed(verify(rewrite(exported["bundle"], tmp_path / "s.zip", change_state)),
           "case.json: its state does not follow from its history")


# -- bad input -------------------------------------------------------------------------------------------

def test_bad_input_is_one_line(exported, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a zip\n")
    for path in (text, tmp_path / "missing.zip"):
        proc = verify(path)
        assert proc.returncode == 2
        assert len(proc.stderr.strip().splitlines()) == 1
        assert "Traceback" not in proc.stderr
    failed(verify(rewrite(exported["bundle"], tmp_path / "h.zip",
                          lambda m: {k: v for k, v in m.items() if k != "head.json"})),
           "head.json: missing from the bundle")
    failed(verify(rewrite(exported["bundle"], tmp_path / "j.zip", lambda m: {**m, "head.json": b"{not json"})),
           "head.json: not valid JSON")
    failed(verify(rewrite(exported["bundle"], tmp_path / "x.zip", lambda m: {**m, "../evil": b"x"})),
           "../evil: not part of an evidence bundle")
    raw = exported["bundle"].read_bytes()
    with zipfile.ZipFile(exported["bundle"]) as zf:
        info = zf.getinfo(event_member(exported["event_ids"][0]))
    broken = tmp_path / "crc.zip"
    offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 2
    broken.write_bytes(flip(raw, offset))
    proc = verify(broken)
    failed(proc, f"{info.filename}: cannot be unpacked")


# -- export refusals -------------------------------------------------------------------------------------

def test_export_without_chromium_writes_nothing(exported, tmp_path):
    out = tmp_path / "b.zip"
    proc = run_cli("evidence", "export", "--case", exported["case_id"], "--out", str(out), home=exported["home"],
                   check=False, env={"CUSTODIET_CHROMIUM": str(tmp_path / "no-chromium")})
    assert proc.returncode == 2
    assert "report.pdf needs Chromium" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_export_of_an_unknown_case(exported, tmp_path):
    proc = run_cli("evidence", "export", "--case", "CASE-000042", "--out", str(tmp_path / "b.zip"),
                   home=exported["home"], check=False)
    assert proc.returncode == 2
    assert "no case CASE-000042" in proc.stderr


def test_python_api_needs_no_custodiet_store(exported):
    code = ("import sys; from pathlib import Path; from custodiet.evidence import verify_bundle; "
            "r = verify_bundle(Path(sys.argv[1]), sys.argv[2]); print(r.ok, r.events)")
    out = subprocess.run([sys.executable, "-c", code, str(exported["bundle"]), exported["public_key"]],
                         capture_output=True, text=True, check=True, cwd=exported["root"])
    assert out.stdout.strip() == "True 8"
