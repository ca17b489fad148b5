"""Who signs the ledger: an Ed25519 key kept outside the store, or (by default) one kept inside it.

Where the key is kept (its *custody*), in order of precedence:

- ``pkcs11``: a key on a PKCS#11 token (an HSM; SoftHSM2 in the tests), named by
  ``CUSTODIET_PKCS11_MODULE``, ``CUSTODIET_PKCS11_TOKEN``, ``CUSTODIET_PKCS11_PIN`` and
  ``CUSTODIET_PKCS11_KEY_LABEL`` or the ``[ledger.pkcs11]`` settings (``custodiet.config``). Needs the
  ``python-pkcs11`` package (``pip install 'custodiet[hsm]'``); the token signs with ``CKM_EDDSA``.
- ``file``: an Ed25519 private key in PEM, named by ``CUSTODIET_SIGNING_KEY_FILE`` or
  ``[ledger] signing_key_file``.
- ``store``: with neither, today's behaviour: ``<home>/keys/ledger-signing.key`` (32 raw bytes, mode
  0600), created on first use. ``verify`` says so, since whoever runs the store can then re-sign.

The store keeps the ledger's *public* key in ``<home>/keys/ledger-signing.json`` (written with the first
head). A writer signs only with that key: a missing in-store key is never replaced by a new one, and a
configured key with another fingerprint is refused, both fingerprints named (``writer_signer``).
"""

from __future__ import annotations

import atexit
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from custodiet import atomic
from custodiet.config import Config
from custodiet.events import canonical_json
from custodiet.ledger.heads import SIGNING_KEY_FILE, LedgerError, signed_message
from custodiet.pseudonym import KeyCustodyError, write_secret
from custodiet.store import Store

SIGNING_KEY_FILE_ENV = "CUSTODIET_SIGNING_KEY_FILE"
PKCS11_MODULE_ENV = "CUSTODIET_PKCS11_MODULE"
PKCS11_TOKEN_ENV = "CUSTODIET_PKCS11_TOKEN"
PKCS11_PIN_ENV = "CUSTODIET_PKCS11_PIN"
PKCS11_KEY_LABEL_ENV = "CUSTODIET_PKCS11_KEY_LABEL"
DEFAULT_KEY_LABEL = "custodiet-ledger"
KEY_RECORD = "ledger-signing.json"


class SigningKeyError(LedgerError, KeyCustodyError):
    """The signing key cannot be had, or is not the key this ledger is signed with."""


def fingerprint(public_key_hex: str) -> str:
    """A short name of an Ed25519 public key: ``ed25519:`` and 16 hex digits of its SHA-256."""
    try:
        raw = bytes.fromhex(public_key_hex)
    except ValueError:
        return f"(not a key: {public_key_hex[:16]!r})"
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


class Signer:
    """An Ed25519 key that signs, with where it is kept: ``custody`` (store, file, pkcs11) and ``where``."""

    custody: str = "store"
    where: str = ""

    def public_key(self) -> bytes:
        raise NotImplementedError

    def sign(self, message: bytes) -> bytes:
        raise NotImplementedError

    @property
    def public_hex(self) -> str:
        return self.public_key().hex()


class SoftwareSigner(Signer):
    """A key held in this process's memory (read from the store or from a PEM file)."""

    def __init__(self, key: Ed25519PrivateKey, custody: str, where: str):
        self._key, self.custody, self.where = key, custody, where

    def public_key(self) -> bytes:
        return self._key.public_key().public_bytes_raw()

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


class Pkcs11Signer(Signer):
    """A private key on a PKCS#11 token that never leaves it; signs with ``CKM_EDDSA`` (pure Ed25519).

    The token's public key object of the same label gives the public key (``CKA_EC_POINT``); a test
    signature is checked against it when the signer is opened, so a mismatched pair is refused at once."""

    custody = "pkcs11"

    def __init__(self, module: str, token: str, pin: str | None, label: str):
        try:
            import pkcs11
            from pkcs11 import Attribute, Mechanism, ObjectClass
            from pkcs11 import exceptions as p11
        except ImportError as exc:
            raise SigningKeyError("a PKCS#11 signing key needs the python-pkcs11 package "
                                  "(pip install 'custodiet[hsm]')") from exc
        self.where = f"PKCS#11 token {token!r} key {label!r} ({module})"
        self._mechanism = Mechanism.EDDSA
        self._session: Any = None
        self._key: Any = None
        try:
            lib = pkcs11.lib(module)
        except (OSError, RuntimeError, p11.PKCS11Error) as exc:
            raise SigningKeyError(f"PKCS#11 module {module} cannot be loaded: {exc}") from exc
        try:
            self._session = lib.get_token(token_label=token).open(user_pin=pin)
        except p11.NoSuchToken as exc:
            raise SigningKeyError(f"PKCS#11 module {module} has no token labelled {token!r}") from exc
        except (p11.PinIncorrect, p11.PinInvalid, p11.PinLenRange, p11.PinLocked) as exc:
            raise SigningKeyError(f"PKCS#11 token {token!r} refused the PIN ({type(exc).__name__})") from exc
        except p11.PKCS11Error as exc:
            raise SigningKeyError(f"PKCS#11 token {token!r} cannot be opened: {type(exc).__name__}") from exc
        atexit.register(self.close)
        try:
            self._key = self._session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=label)
            public = self._session.get_key(object_class=ObjectClass.PUBLIC_KEY, label=label)
            self._public = _ec_point_raw(bytes(public[Attribute.EC_POINT]))
        except (p11.NoSuchKey, p11.MultipleObjectsReturned) as exc:
            raise SigningKeyError(f"{self.where}: no single Ed25519 key pair with that label "
                                  f"({type(exc).__name__})") from exc
        probe = b"custodiet signing probe"
        try:
            Ed25519PublicKey.from_public_bytes(self._public).verify(self.sign(probe), probe)
        except (InvalidSignature, ValueError, p11.PKCS11Error) as exc:
            raise SigningKeyError(f"{self.where}: the token's key does not make Ed25519 signatures that verify "
                                  f"under its public key ({type(exc).__name__})") from exc

    def public_key(self) -> bytes:
        return self._public

    def sign(self, message: bytes) -> bytes:
        return bytes(self._key.sign(message, mechanism=self._mechanism))

    def close(self) -> None:
        session, self._session = getattr(self, "_session", None), None
        if session is not None:
            session.close()


def _ec_point_raw(point: bytes) -> bytes:
    """The 32 raw bytes of an Ed25519 ``CKA_EC_POINT`` (a DER OCTET STRING, or the bare bytes)."""
    if len(point) == 34 and point[:2] == b"\x04\x20":
        return point[2:]
    if len(point) == 32:
        return point
    raise SigningKeyError(f"the token's public key is not an Ed25519 point ({len(point)} bytes)")


# -- which key this store signs with ----------------------------------------------------------------

_OPEN: dict[tuple[str, ...], Signer] = {}  # one open signer per configuration and process (a token login)


def configured_signer(config: Config) -> Signer | None:
    """The signing key kept outside the store that the settings name, or None when they name none."""
    module = config.get("ledger.pkcs11", "module", PKCS11_MODULE_ENV)
    key_file = config.path_setting("ledger", "signing_key_file", SIGNING_KEY_FILE_ENV)
    if module and key_file:
        raise SigningKeyError(f"both a PKCS#11 module and a signing key file ({key_file}) are configured; "
                              "name one")
    if module:
        token = config.get("ledger.pkcs11", "token", PKCS11_TOKEN_ENV)
        if not token:
            raise SigningKeyError(f"{PKCS11_MODULE_ENV} is set but no token is named ({PKCS11_TOKEN_ENV} or "
                                  "[ledger.pkcs11] token)")
        pin = config.get("ledger.pkcs11", "pin", PKCS11_PIN_ENV)
        pin_file = config.path_setting("ledger.pkcs11", "pin_file")
        if pin is None and pin_file is not None:
            try:
                pin = pin_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SigningKeyError(f"the PKCS#11 PIN file {pin_file} cannot be read ({exc.strerror})") from exc
        label = config.get("ledger.pkcs11", "key_label", PKCS11_KEY_LABEL_ENV) or DEFAULT_KEY_LABEL
        ident = ("pkcs11", module, token, pin or "", label)
        if ident not in _OPEN:
            _OPEN[ident] = Pkcs11Signer(module, token, pin, label)
        return _OPEN[ident]
    if key_file:
        return read_pem_signer(key_file)
    return None


def read_pem_signer(path: Path) -> Signer:
    """An Ed25519 private key from a PEM file (unencrypted PKCS#8, as ``openssl genpkey`` writes it)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"signing key file {path} cannot be read ({exc.strerror})") from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningKeyError(f"signing key file {path} is not an unencrypted PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"signing key file {path} holds a {type(key).__name__}, not an Ed25519 key")
    return SoftwareSigner(key, "file", f"key file {path}")


def store_key_path(store: Store) -> Path:
    return store.keys_dir / SIGNING_KEY_FILE


def read_store_key(path: Path) -> Ed25519PrivateKey:
    """The in-store key (32 raw bytes); never creates one."""
    raw = path.read_bytes()
    if len(raw) != 32:
        raise SigningKeyError(f"{path}: an Ed25519 signing key must be 32 bytes, found {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


@dataclass(frozen=True)
class KeyRecord:
    """What the store records about its signing key: the public key (hex) and where the key was kept."""

    public_key: str
    custody: str


def key_record_path(store: Store) -> Path:
    return store.keys_dir / KEY_RECORD


def read_key_record(store: Store) -> KeyRecord | None:
    path = key_record_path(store)
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return KeyRecord(str(doc["public_key"]), str(doc["custody"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise SigningKeyError(f"{path}: not a signing key record ({exc})") from exc


def ensure_key_record(store: Store, signer: Signer) -> None:
    """Record the ledger's public key once its first head is signed (or for a store from before records),
    and where the key is now kept when the same key moved (e.g. out of the store into a file or a token)."""
    path = key_record_path(store)
    record = read_key_record(store)
    if record is None or (record.public_key == signer.public_hex and record.custody != signer.custody):
        doc = {"public_key": signer.public_hex, "custody": signer.custody,
               "fingerprint": fingerprint(signer.public_hex)}
        atomic.write_bytes(path, (canonical_json(doc) + "\n").encode("utf-8"))


def writer_signer(store: Store, last_head: dict | None) -> Signer:
    """The key a writer signs with, after checking it is this ledger's key.

    The ledger's key is the one the store recorded, else (a store from before records) the newest head's.
    An external key (``configured_signer``) wins over the store's; with none, the in-store key is used and,
    for a ledger that has never signed, created. A ledger that has signed never gets a new key: a missing
    in-store key or a key with another fingerprint raises ``SigningKeyError`` naming both."""
    record = read_key_record(store)
    known = record.public_key if record else (str(last_head["public_key"]) if last_head else None)
    signer = configured_signer(store.config())
    if signer is None:
        path = store_key_path(store)
        if not path.exists():
            if known is not None:
                raise SigningKeyError(
                    f"the signing key {path} is missing and no key outside the store is configured, but this "
                    f"ledger is signed by key {fingerprint(known)}; restore that key (or set "
                    f"{SIGNING_KEY_FILE_ENV} or {PKCS11_MODULE_ENV} to where it is kept): a new key would not "
                    "be this ledger's")
            write_secret(path, Ed25519PrivateKey.generate().private_bytes_raw())
        signer = SoftwareSigner(read_store_key(path), "store", f"in-store key {path}")
    if known is not None and signer.public_hex != known:
        raise SigningKeyError(f"the signing key ({signer.where}) has fingerprint {fingerprint(signer.public_hex)}, "
                              f"but this ledger is signed by key {fingerprint(known)}: refusing to sign with "
                              "another key")
    return signer


def sign_head_with(signer: Signer, tree_size: int, root_hash: bytes, timestamp: datetime | None = None) -> dict:
    """A signed tree head (the fields of ``heads.sign_head``), signed by ``signer``."""
    when = (timestamp or datetime.now(UTC)).astimezone(UTC)
    head: dict[str, Any] = {
        "public_key": signer.public_hex,
        "root_hash": root_hash.hex(),
        "timestamp": when.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "tree_size": tree_size,
    }
    head["signature"] = signer.sign(signed_message(head)).hex()
    return head
