"""Keyed pseudonyms of person identifiers, and the encrypted vault for what must stay recoverable.

``subject`` = hex HMAC-SHA256(key, f"{subject_kind}:{normalised value}"). The key lives outside the
event store (``<home>/keys/pseudonym.key``, mode 0600, or the file named by ``CUSTODIET_KEY_FILE``).
Raw records that must be kept (quarantine) are sealed with AES-GCM under a key derived from it.

The store records the key's fingerprint (``<home>/keys/pseudonym.fingerprint``). An empty store creates
its key on first use; a store that already holds pseudonymised data never gets a new key silently: a
missing key, or a key with another fingerprint, is refused with both fingerprints named
(``checked_key``), since new pseudonyms would stop matching the old ones.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from custodiet.identifiers import IdentifierRules, normalise

KEY_ENV = "CUSTODIET_KEY_FILE"
KEY_BYTES = 32
KEY_NAME = "pseudonym.key"
FINGERPRINT_NAME = "pseudonym.fingerprint"


class KeyCustodyError(RuntimeError):
    """A store's key is missing or is not the key its data was made with; the message names both."""
_BATCH_HMAC = 64  # pairs from which the batch HMAC pays for itself


def write_secret(path: Path, data: bytes) -> None:
    """Create a secret file with mode 0600 atomically; never overwrite an existing one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process created the key first
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def key_fingerprint(key: bytes) -> str:
    """A one-way fingerprint of a pseudonym key, safe to store and show (16 hex digits)."""
    return hashlib.sha256(b"custodiet pseudonym key fingerprint v1\0" + key).hexdigest()[:16]


def checked_key(keys_dir: Path, holds_data: bool) -> bytes:
    """The pseudonym key, held against the fingerprint the store recorded.

    With no key and no data (``holds_data`` False) the key is created and its fingerprint recorded. A
    store that holds data and lacks its key, or has a key with another fingerprint, raises
    ``KeyCustodyError`` naming both fingerprints; a store from before fingerprints were recorded gets
    its record written from the key it has."""
    named = os.environ.get(KEY_ENV)
    path = Path(named) if named else keys_dir / KEY_NAME
    record = keys_dir / FINGERPRINT_NAME
    recorded = record.read_text(encoding="utf-8").strip() if record.exists() else None
    if not path.exists() and (recorded or holds_data):
        was = f"the key of fingerprint {recorded}" if recorded else "a key whose fingerprint was not recorded"
        raise KeyCustodyError(f"pseudonym key {path} is missing, but this store holds data pseudonymised with "
                              f"{was}; restore that key (or point {KEY_ENV} at it): a new key would make new "
                              "pseudonyms stop matching the old ones")
    key = load_or_create_key(keys_dir)
    found = key_fingerprint(key)
    if recorded is None:
        write_secret(record, (found + "\n").encode("ascii"))
        recorded = record.read_text(encoding="utf-8").strip()
    if recorded != found:
        raise KeyCustodyError(f"pseudonym key {path} has fingerprint {found}, but this store's data was "
                              f"pseudonymised with the key of fingerprint {recorded} ({record}); restore that key "
                              f"(or point {KEY_ENV} at it)")
    return key


def load_or_create_key(keys_dir: Path) -> bytes:
    """The pseudonym key: from ``CUSTODIET_KEY_FILE`` if set, else created on first use in keys_dir.

    Unchecked: the store uses ``checked_key``, which refuses to replace the key of a store with data."""
    named = os.environ.get(KEY_ENV)
    path = Path(named) if named else keys_dir / KEY_NAME
    if not path.exists():
        if named:
            raise FileNotFoundError(f"{KEY_ENV} names {path}, which does not exist")
        write_secret(path, os.urandom(KEY_BYTES))
    key = path.read_bytes()
    if len(key) < 16:
        raise ValueError(f"pseudonym key {path} is shorter than 16 bytes")
    return key


def _batch_hmac(pads: tuple[bytes, bytes], messages: list[str]) -> list[str] | None:
    """Hex HMAC-SHA256 of every message from the key's inner and outer pads, by the C engine (None when it
    is not built)."""
    from custodiet.arrow_columns import string_array  # imported here: the ledger imports this module
    from custodiet.ledger import native
    from custodiet.ledger.hashing import binary_rows

    if not native.AVAILABLE:
        return None
    inner = native.sha256_values(string_array(messages), prefix=pads[0])
    hexed = native.sha256_values(binary_rows(inner), prefix=pads[1]).tobytes().hex()
    return [hexed[i : i + 64] for i in range(0, len(hexed), 64)]


class Pseudonymiser:
    """Turns normalised identifiers into pseudonyms, and seals raw text for the vault."""

    def __init__(self, key: bytes, rules: IdentifierRules | None = None):
        self._key = key
        self.rules = rules or IdentifierRules()
        self._aead = AESGCM(hmac.new(key, b"custodiet vault v1", hashlib.sha256).digest())
        block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")  # RFC 2104's K
        self._pads = bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)  # inner, outer

    def of_normalised(self, kind: str, normalised: str) -> str:
        return hmac.new(self._key, f"{kind}:{normalised}".encode(), hashlib.sha256).hexdigest()

    def of_many(self, pairs: Iterable[tuple[str, str]]) -> list[str]:
        """Pseudonyms of already-normalised (kind, value) pairs.

        With the ledger's C hashing engine, HMAC is computed by its definition (RFC 2104): two batch SHA-256
        calls, SHA-256((K ^ opad) ‖ SHA-256((K ^ ipad) ‖ message)), outside the GIL; a call of
        ``hmac.digest`` per pair costs about five microseconds, mostly setting the key up again."""
        messages = [f"{k}:{v}" for k, v in pairs]
        if len(messages) >= _BATCH_HMAC and (batched := _batch_hmac(self._pads, messages)) is not None:
            return batched
        key = self._key  # hmac.digest takes OpenSSL's one-shot path: about a fifth faster than hmac.new
        return [hmac.digest(key, m.encode(), "sha256").hex() for m in messages]

    def of_raw(self, kind: str, value: str) -> str:
        """Normalise then pseudonymise one identifier (raises InvalidIdentifier)."""
        return self.of_normalised(kind, normalise(kind, value, self.rules))

    def digest(self, text: str) -> str:
        """A keyed digest of any text (e.g. to recognise a record again without keeping it in clear)."""
        return hmac.new(self._key, b"record:" + text.encode("utf-8", "replace"), hashlib.sha256).hexdigest()

    def seal(self, text: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, text.encode("utf-8", "replace"), b"quarantine")

    def unseal(self, blob: bytes) -> str:
        return self._aead.decrypt(blob[:12], blob[12:], b"quarantine").decode("utf-8")
