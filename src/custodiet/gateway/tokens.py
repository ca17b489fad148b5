"""Officers' bearer tokens for the gateway: issued once, kept only as SHA-256 digests, revocable.

A token is ``cgw_`` + ``secrets.token_urlsafe(32)`` (256 random bits). It is shown once, to the officer it
is issued to; the store keeps only its SHA-256 digest (hex), with the actor, when it was issued and when it
was revoked, in ``<home>/gateway/tokens.jsonl`` (one JSON object per token, mode 0600). A plain hash is
enough: with 256 random bits nobody can guess a token or invert its digest, so a slow password hash
would only slow the gateway down.

Writers (``issue``, ``revoke``) take turns on ``tokens.lock`` beside the file (not the store's writers'
lock, which the gateway's ledger appends hold: issuing a token never waits for the ledger) and replace
the file atomically (temp file, fsync, rename), so the gateway, which reads it with ``TokenBook`` while
it runs, never sees half a file.
An actor may hold several tokens; ``revoke`` ends all of them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from custodiet import atomic
from custodiet.store import Store
from custodiet.writelock import file_lock

PREFIX = "cgw_"
_SHAPE = re.compile(r"cgw_[A-Za-z0-9_-]{43}")  # token_urlsafe(32): 43 base64url characters
_ACTOR = re.compile(r"[^\s\x00-\x1f\x7f]{1,128}")
RELOAD_EVERY_S = 1.0


class TokenFileError(ValueError):
    """The tokens file has a line that is not a token record; the message says which (file:line)."""


@dataclass(frozen=True)
class TokenRecord:
    """One issued token as stored: its digest, never the token."""

    sha256: str
    actor: str
    issued_at: str  # ISO 8601, UTC
    revoked_at: str | None = None


def tokens_path(store: Store) -> Path:
    return store.home / "gateway" / "tokens.jsonl"


def digest(token: str) -> str:
    """The stored form of a token: SHA-256 of its UTF-8 text, in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_actor(actor: str) -> str:
    """``actor`` if it can name an account (1 to 128 characters, no spaces or control characters)."""
    if not _ACTOR.fullmatch(actor):
        raise ValueError(f"actor {actor!r} must be 1 to 128 characters without spaces or control characters")
    return actor


def read_records(path: Path) -> list[TokenRecord]:
    """The token records in ``path`` (none when it does not exist); ``TokenFileError`` names a bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rec = TokenRecord(str(row["sha256"]), str(row["actor"]), str(row["issued_at"]), row.get("revoked_at"))
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenFileError(f"{path}:{n}: not a token record ({type(exc).__name__}: {exc})") from None
        if not re.fullmatch(r"[0-9a-f]{64}", rec.sha256):
            raise TokenFileError(f"{path}:{n}: sha256 is not 64 hex digits")
        out.append(rec)
    return out


def _write_records(path: Path, records: list[TokenRecord]) -> None:
    """Replace the tokens file atomically; it is created readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic.temp_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(asdict(rec), ensure_ascii=False, separators=(",", ":")) + "\n")
    atomic.publish_file(tmp, path)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def issue(store: Store, actor: str) -> str:
    """A new token for ``actor``; the token is returned once and only its digest is stored."""
    check_actor(actor)
    token = PREFIX + secrets.token_urlsafe(32)
    path = tokens_path(store)
    with file_lock(path.with_name("tokens.lock")):
        records = read_records(path)
        records.append(TokenRecord(digest(token), actor, _now()))
        _write_records(path, records)
    return token


def revoke(store: Store, actor: str) -> int:
    """Revoke every live token of ``actor``; returns how many were revoked (0: it held none)."""
    path = tokens_path(store)
    with file_lock(path.with_name("tokens.lock")):
        records = read_records(path)
        when = _now()
        count = 0
        for i, rec in enumerate(records):
            if rec.actor == actor and rec.revoked_at is None:
                records[i] = replace(rec, revoked_at=when)
                count += 1
        if count:
            _write_records(path, records)
    return count


def list_records(store: Store) -> list[TokenRecord]:
    """Every token record, issued and revoked, in the order issued."""
    return read_records(tokens_path(store))


class TokenBook:
    """The live tokens of a store, for the gateway: ``actor_of(token)`` says whose a token is.

    Lookups cost one SHA-256 and one dict access whatever the token, so answering takes the same time for
    a good and a bad token (and the digest found is compared with ``hmac.compare_digest``). The book
    picks up tokens issued or revoked by the CLI while the gateway runs: ``reload()`` looks at the file
    (one ``stat``) at most once every ``every_s`` seconds and reads it again only when it changed;
    ``actor_of`` calls it, so a revocation takes effect within a second. Not thread-safe (the gateway
    uses it from one asyncio loop).
    """

    def __init__(self, store: Store, every_s: float = RELOAD_EVERY_S,
                 clock: Callable[[], float] = time.monotonic):
        self.path = tokens_path(store)
        self.every_s = every_s
        self.clock = clock
        self.error: str | None = None  # why the last reload kept the previous tokens, if it did
        self._by_digest: dict[str, tuple[str, str]] = {}  # digest -> (the stored digest, actor)
        self._signature: tuple[int, int, int] | None = None
        self._checked = clock()
        self._load(self._stat())  # a bad file at start is an error (TokenFileError), not an empty book

    def __len__(self) -> int:
        """How many live (issued, not revoked) tokens the book holds."""
        return len(self._by_digest)

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size  # a rename changes the inode even within one mtime tick

    def _load(self, signature: tuple[int, int, int] | None) -> None:
        records = read_records(self.path) if signature else []
        self._by_digest = {r.sha256: (r.sha256, r.actor) for r in records if r.revoked_at is None}
        self._signature = signature

    def reload(self, force: bool = False) -> bool:
        """Read the file again if it changed (looked at no more than once every ``every_s`` seconds unless
        ``force``); True when the tokens were read again. A file that cannot be read keeps the previous
        tokens and says why in ``error``."""
        now = self.clock()
        if not force and now - self._checked < self.every_s:
            return False
        self._checked = now
        signature = self._stat()
        if signature == self._signature and not force:
            return False
        try:
            self._load(signature)
        except (OSError, TokenFileError) as exc:
            self.error = str(exc)
            return False
        self.error = None
        return True

    def actor_of(self, token: str) -> str | None:
        """The actor a live token was issued to, or None (unknown, revoked or malformed)."""
        self.reload()
        if len(token) != 47 or not _SHAPE.fullmatch(token):
            return None
        found = digest(token)
        entry = self._by_digest.get(found)  # a hash-table probe on a digest: nothing an attacker can steer
        if entry is None:
            return None
        stored, actor = entry
        return actor if hmac.compare_digest(stored, found) else None
