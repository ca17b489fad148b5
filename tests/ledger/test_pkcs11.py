"""The ledger signed by an Ed25519 key on a PKCS#11 token: SoftHSM2 for real (Debian's softhsm2, `make sysdeps`).

One token for the module: the PKCS#11 library reads SOFTHSM2_CONF once per process.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from custodiet import ledger
from custodiet.ledger.heads import SIGNING_KEY_FILE
from custodiet.ledger.signing import (
    PKCS11_KEY_LABEL_ENV,
    PKCS11_MODULE_ENV,
    PKCS11_PIN_ENV,
    PKCS11_TOKEN_ENV,
    fingerprint,
    key_record_path,
)
from custodiet.ledger.trust import public_key_pem
from custodiet.store import Store
from tests.conftest import run_cli

from .helpers import append_batches

pkcs11 = pytest.importorskip("pkcs11", reason="python-pkcs11 is not installed (pip install '.[hsm]')")
MODULES = [Path("/usr/lib/softhsm/libsofthsm2.so"), Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")]
MODULE = next((m for m in MODULES if m.exists()), None)
pytestmark = pytest.mark.skipif(MODULE is None or shutil.which("softhsm2-util") is None,
                                reason="SoftHSM2 is not installed (make sysdeps)")
TOKEN, PIN, LABEL = "custodiet-test", "4321", "ledger-2026"


@pytest.fixture(scope="module")
def token(tmp_path_factory) -> dict[str, str]:
    """A fresh SoftHSM2 token holding one Ed25519 key pair; returns the environment that names it."""
    from pkcs11 import Attribute, KeyType, Mechanism
    from pkcs11.util.ec import encode_named_curve_parameters

    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {"SOFTHSM2_CONF": str(conf)}
    mp = pytest.MonkeyPatch()
    mp.setenv("SOFTHSM2_CONF", str(conf))
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", "87654321"],
                   check=True, capture_output=True, env={**env, "PATH": "/usr/bin:/bin"})
    lib = pkcs11.lib(str(MODULE))
    with lib.get_token(token_label=TOKEN).open(rw=True, user_pin=PIN) as session:
        public, _private = session.generate_keypair(
            KeyType.EC_EDWARDS, mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
            public_template={Attribute.EC_PARAMS: encode_named_curve_parameters("1.3.101.112"),  # Ed25519
                             Attribute.LABEL: LABEL, Attribute.TOKEN: True, Attribute.VERIFY: True},
            private_template={Attribute.LABEL: LABEL, Attribute.TOKEN: True, Attribute.SIGN: True,
                              Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
            store=True)
        point = bytes(public[Attribute.EC_POINT])
    env.update({PKCS11_MODULE_ENV: str(MODULE), PKCS11_TOKEN_ENV: TOKEN, PKCS11_PIN_ENV: PIN,
                PKCS11_KEY_LABEL_ENV: LABEL, "public_key": point[-32:].hex()})
    yield env
    mp.undo()


@pytest.fixture
def hsm_env(token, monkeypatch) -> str:
    for name, value in token.items():
        if name != "public_key":
            monkeypatch.setenv(name, value)
    return token["public_key"]


def test_a_ledger_signed_on_the_token_verifies_under_the_pinned_key(tmp_path, hsm_env):
    store = Store(tmp_path / "home")
    append_batches(store, [3, 4, 1])
    heads = ledger.heads(store)
    assert [h["tree_size"] for h in heads] == [3, 7, 8]
    assert {h["public_key"] for h in heads} == {hsm_env}
    assert not (store.keys_dir / SIGNING_KEY_FILE).exists()  # the private key never left the token
    assert json.loads(key_record_path(store).read_text())["custody"] == "pkcs11"
    pinned = tmp_path / "ledger.pub"
    pinned.write_bytes(public_key_pem(hsm_env))
    result = ledger.verify(store, public_key=hsm_env, pinned_from=f"--public-key {pinned}")
    assert result.ok, result.problem
    assert fingerprint(hsm_env) in result.trust
    assert not any("kept inside the store" in n for n in result.notes)
    cli = run_cli("verify", "--public-key", str(pinned), home=store.home, check=False)
    assert cli.returncode == 0, cli.stderr
    assert f"pinned key {fingerprint(hsm_env)}" in cli.stdout


def test_the_cli_appends_with_the_token_and_refuses_a_wrong_pin(tmp_path, hsm_env):
    log = tmp_path / "portal.csv"
    log.write_text("ts,actor,subject,subject_kind,data_kind,event_id\n"
                   "2026-03-01T10:00:00Z,off1,1000000007,nid,identity,e1\n"
                   "2026-03-01T10:05:00Z,off2,1000000014,nid,identity,e2\n")
    home = tmp_path / "home"
    done = run_cli("ingest", "portal", str(log), home=home, check=False)
    assert done.returncode == 0, done.stderr
    head = ledger.head(Store(home))
    assert (head["tree_size"], head["public_key"]) == (2, hsm_env)
    wrong = run_cli("ingest", "portal", str(log), home=tmp_path / "other", check=False,
                    env={PKCS11_PIN_ENV: "0000"})
    assert wrong.returncode != 0
    assert "refused the PIN" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1
