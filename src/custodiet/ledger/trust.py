"""Which key ``verify`` holds the heads against, and what that proves.

A *pinned* key comes from outside the store: ``verify --public-key FILE`` or the trust file the settings
name (``[ledger] trust_file`` or ``CUSTODIET_TRUST_FILE``; refused if it lies inside the store). A key
file holds an Ed25519 public key as PEM (``openssl pkey -pubout``) or as 64 hex digits (a head's
``public_key``). With nothing pinned, ``verify`` holds the heads against the key the store itself records
(``keys/ledger-signing.json``) and says plainly that it checked the store only against itself.

``store_key_problem`` reports a signing key the store lost or had replaced: the in-store key no longer
matching the recorded public key, an in-store key gone while the record says the ledger signs with it,
or no record of the key at all while heads exist.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from custodiet.config import ConfigError
from custodiet.ledger.heads import LedgerError
from custodiet.ledger.signing import (
    KeyRecord,
    SigningKeyError,
    fingerprint,
    key_record_path,
    read_key_record,
    read_store_key,
    store_key_path,
)
from custodiet.store import Store

TRUST_FILE_ENV = "CUSTODIET_TRUST_FILE"
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")


class TrustError(LedgerError):
    """A pinned key cannot be read, or is kept where it proves nothing."""


def read_public_key(path: Path) -> str:
    """The hex Ed25519 public key in ``path`` (PEM, or 64 hex digits)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TrustError(f"public key file {path} cannot be read ({exc.strerror})") from exc
    text = data.decode("ascii", "replace").strip()
    if _HEX_KEY.fullmatch(text):
        return text.lower()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise TrustError(f"{path} holds neither a PEM public key nor 64 hex digits") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise TrustError(f"{path} holds a {type(key).__name__}, not an Ed25519 public key")
    return key.public_bytes_raw().hex()


def public_key_pem(public_key_hex: str) -> bytes:
    """PEM (SubjectPublicKeyInfo) of a hex Ed25519 public key: what a trust file holds."""
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def pinned_key(store: Store, option: str | None) -> tuple[str, str] | None:
    """The pinned key and where it came from: ``--public-key`` (a file, or 64 hex digits), else the trust
    file of the settings, else None."""
    if option is not None:
        path = Path(option)
        if path.is_file():
            return read_public_key(path), f"--public-key {path}"
        if _HEX_KEY.fullmatch(option):
            return option.lower(), "--public-key"
        raise TrustError(f"--public-key {option}: no such file, and not 64 hex digits")
    try:
        trust = store.config().path_setting("ledger", "trust_file", TRUST_FILE_ENV)
    except ConfigError as exc:
        raise TrustError(str(exc)) from exc
    if trust is None:
        return None
    home = store.home.resolve()
    resolved = trust.resolve()
    if resolved == home or home in resolved.parents:
        raise TrustError(f"trust file {trust} lies inside the store {store.home}: a key pinned there could be "
                         "replaced by whoever runs the store; keep it elsewhere")
    if not trust.is_file():
        raise TrustError(f"trust file {trust} (named by {TRUST_FILE_ENV} or [ledger] trust_file) does not exist")
    return read_public_key(trust), f"trust file {trust}"


@dataclass
class Trust:
    """The key the heads must carry (None: the first head's), what the check proves, and notes."""

    public_key: str | None
    statement: str
    notes: list[str] = field(default_factory=list)


def ledger_trust(store: Store, pinned: str | None, pinned_from: str | None) -> Trust:
    """What ``verify`` holds the heads against: the pinned key, else the key the store records."""
    notes: list[str] = []
    in_store = _in_store_public_key(store)
    if in_store is not None:
        notes.append(f"the signing key is kept inside the store ({_rel(store, store_key_path(store))}): whoever "
                     "runs the store can re-sign a rewritten history; keep it outside (CUSTODIET_SIGNING_KEY_FILE "
                     "or a PKCS#11 token) and pin its public key")
    if pinned is not None:
        return Trust(pinned, f"heads checked against the pinned key {fingerprint(pinned)} "
                             f"({pinned_from or 'given'})", notes)
    record = _record(store)
    own = record.public_key if record else in_store
    told = f"its own recorded key {fingerprint(own)}" if own else "the key of its first head"
    return Trust(own, f"no key pinned: checked the store only against itself ({told}); pin the ledger's public "
                      "key with --public-key FILE or a trust file to check it against a key you hold", notes)


def store_key_problem(store: Store, heads: int) -> str | None:
    """Why the store's signing key record and in-store key do not fit together, or None."""
    record = _record(store)
    key_path = store_key_path(store)
    in_store = _in_store_public_key(store)
    if record is not None and in_store is not None and in_store != record.public_key:
        return (f"{_rel(store, key_path)} holds key {fingerprint(in_store)}, but the ledger's key recorded in "
                f"{_rel(store, key_record_path(store))} is {fingerprint(record.public_key)}: the signing key "
                "was replaced")
    if record is not None and record.custody == "store" and in_store is None and heads:
        return (f"{_rel(store, key_path)} is missing: {_rel(store, key_record_path(store))} records that this "
                f"ledger signs with a key kept in the store ({fingerprint(record.public_key)}); no head can be "
                "signed without it")
    if record is None and in_store is None and heads:
        return (f"{_rel(store, key_record_path(store))} is missing and the store holds no signing key: it no "
                "longer records which key signs its ledger")
    return None


def _record(store: Store) -> KeyRecord | None:
    try:
        return read_key_record(store)
    except SigningKeyError:
        return None


def _in_store_public_key(store: Store) -> str | None:
    path = store_key_path(store)
    if not path.exists():
        return None
    try:
        return read_store_key(path).public_key().public_bytes_raw().hex()
    except (SigningKeyError, OSError):
        return "(unreadable)"


def _rel(store: Store, path: Path) -> str:
    return os.path.relpath(path, store.home)
