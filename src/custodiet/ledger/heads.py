"""Signed tree heads: Ed25519 over the canonical JSON of the head, kept in an append-only file.

A head is ``{tree_size, root_hash, timestamp, public_key, signature}`` (hex strings, ``timestamp`` as
ISO 8601 UTC with microseconds). The signature covers ``canonical_json`` of the head without its
``signature`` field: sorted keys, no whitespace, UTF-8. One head per line in ``<ledger>/heads.jsonl``,
oldest first; a witness stores exactly these objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from custodiet import atomic
from custodiet.events import canonical_json
from custodiet.pseudonym import write_secret

SIGNING_KEY_FILE = "ledger-signing.key"
HEAD_FIELDS = ("public_key", "root_hash", "signature", "timestamp", "tree_size")


class LedgerError(RuntimeError):
    """The ledger's files are not in a state the operation can work with; the message says where."""


def load_or_create_signing_key(keys_dir: Path) -> Ed25519PrivateKey:
    """The store's Ed25519 signing key (32 raw bytes, mode 0600), created on first use."""
    path = keys_dir / SIGNING_KEY_FILE
    if not path.exists():
        write_secret(path, Ed25519PrivateKey.generate().private_bytes_raw())
    raw = path.read_bytes()
    if len(raw) != 32:
        raise LedgerError(f"{path}: an Ed25519 signing key must be 32 bytes, found {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes_raw().hex()


def signed_message(head: dict[str, Any]) -> bytes:
    """The bytes a head's signature covers."""
    return canonical_json({k: v for k, v in head.items() if k != "signature"}).encode("utf-8")


def sign_head(key: Ed25519PrivateKey, tree_size: int, root_hash: bytes, timestamp: datetime | None = None) -> dict:
    when = (timestamp or datetime.now(UTC)).astimezone(UTC)
    head: dict[str, Any] = {
        "public_key": public_key_hex(key),
        "root_hash": root_hash.hex(),
        "timestamp": when.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "tree_size": tree_size,
    }
    head["signature"] = key.sign(signed_message(head)).hex()
    return head


def head_problem(head: Any) -> str | None:
    """Why a head is malformed or wrongly signed, or None when it is well formed and its signature holds."""
    if not isinstance(head, dict) or set(head) != set(HEAD_FIELDS):
        return f"a head must have exactly the fields {', '.join(HEAD_FIELDS)}"
    size = head["tree_size"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        return "tree_size must be a non-negative integer"
    try:
        root = bytes.fromhex(head["root_hash"])
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(head["public_key"]))
        signature = bytes.fromhex(head["signature"])
        datetime.fromisoformat(head["timestamp"])
    except (TypeError, ValueError) as exc:
        return f"malformed field: {exc}"
    if len(root) != 32:
        return "root_hash must be 32 bytes of hex"
    try:
        public.verify(signature, signed_message(head))
    except InvalidSignature:
        return "the signature does not verify with the head's public key"
    return None


@dataclass
class HeadsFile:
    """The append-only heads file. ``torn`` is true when its last line was cut short by a crash."""

    path: Path
    heads: list[dict]
    torn: bool = False

    @classmethod
    def read(cls, path: Path, strict: bool = False) -> HeadsFile:
        """Parse every line. A last line with no newline is a torn write: dropped unless ``strict``."""
        if not path.exists():
            return cls(path, [])
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        torn = bool(lines[-1])
        body = lines if strict else lines[:-1]
        heads = []
        for number, line in enumerate(body, start=1):
            if not line and number == len(lines):
                continue
            try:
                heads.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise LedgerError(f"{path.name}:{number}: not a JSON head ({exc.msg})") from exc
        return cls(path, heads, torn)

    @property
    def size(self) -> int:
        """The tree size the store has signed: the newest head's."""
        return int(self.heads[-1]["tree_size"]) if self.heads else 0

    def drop_torn_tail(self) -> None:
        if self.torn:
            atomic.write_bytes(self.path, "".join(canonical_json(h) + "\n" for h in self.heads).encode("utf-8"))
            self.torn = False


def last_head(path: Path) -> dict | None:
    """The newest complete head, read from the end of the file (cheap however many heads there are)."""
    line = last_line(path)
    return None if line is None else json.loads(line)


def last_line(path: Path) -> bytes | None:
    """The last newline-terminated line of a file, reading backwards from its end; None if there is none."""
    if not path.exists():
        return None
    with open(path, "rb") as fh:
        end = fh.seek(0, 2)
        block, data = 4096, b""
        while end > 0:
            start = max(0, end - block)
            fh.seek(start)
            data = fh.read(end - start) + data
            end = start
            lines = data.split(b"\n")[:-1]  # the last piece is empty, or a torn line
            if len(lines) >= 2 or (lines and end == 0):
                return lines[-1]
            block *= 2
    return None
