"""Officers' gateway tokens: issued once, stored only as digests, live until revoked, seen by a running book."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from custodiet.gateway import tokens
from custodiet.gateway.tokens import TokenBook, TokenFileError
from custodiet.store import Store
from tests.conftest import run_cli


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_works_until_revoked(store: Store) -> None:
    clock = FakeClock()
    token = tokens.issue(store, "inv-1")
    assert re.fullmatch(r"cgw_[A-Za-z0-9_-]{43}", token)
    book = TokenBook(store, clock=clock)
    assert book.actor_of(token) == "inv-1"
    assert tokens.revoke(store, "inv-1") == 1
    assert book.actor_of(token) == "inv-1"  # the file is looked at no more than once a second
    clock.now += 1.0
    assert book.actor_of(token) is None
    assert len(book) == 0
    assert tokens.revoke(store, "inv-1") == 0  # nothing left to revoke


def test_an_actor_may_hold_several_tokens_and_revoke_ends_them_all(store: Store) -> None:
    a, b = tokens.issue(store, "inv-1"), tokens.issue(store, "inv-1")
    other = tokens.issue(store, "inv-2")
    assert a != b
    book = TokenBook(store)
    assert (book.actor_of(a), book.actor_of(b), book.actor_of(other)) == ("inv-1", "inv-1", "inv-2")
    assert tokens.revoke(store, "inv-1") == 2
    book.reload(force=True)
    assert (book.actor_of(a), book.actor_of(b), book.actor_of(other)) == (None, None, "inv-2")


def test_a_running_book_sees_new_tokens_within_a_second(store: Store) -> None:
    clock = FakeClock()
    book = TokenBook(store, clock=clock)  # no tokens file yet: an empty book
    assert len(book) == 0
    token = tokens.issue(store, "inv-1")
    assert book.actor_of(token) is None
    clock.now += 0.5
    assert book.actor_of(token) is None
    clock.now += 0.5
    assert book.actor_of(token) == "inv-1"
    assert book.reload() is False  # looked at just now: not again yet
    clock.now += 5
    assert book.reload() is False  # looked at, unchanged: not read again


def test_the_file_never_holds_a_token(store: Store) -> None:
    issued = [tokens.issue(store, f"inv-{i}") for i in range(5)]
    path = tokens.tokens_path(store)
    text = path.read_text()
    for token in issued:
        assert token not in text
        assert token[4:] not in text  # nor its random part
        assert tokens.digest(token) in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["tokens.jsonl", "tokens.lock"]  # no temp files


@pytest.mark.parametrize("bad", ["", "cgw_", "Bearer x", "cgw_" + "A" * 43, "xgw_" + "A" * 43, "cgw_" + "A" * 500,
                                 "cgw_" + "A" * 42 + "\n", "cgw_" + "é" * 43])
def test_bad_tokens_name_nobody(store: Store, bad: str) -> None:
    token = tokens.issue(store, "inv-1")
    book = TokenBook(store)
    assert book.actor_of(bad) is None
    assert book.actor_of(token[:-1]) is None
    assert book.actor_of(token + "A") is None
    assert book.actor_of(token.upper()) is None


def test_actor_names_are_checked(store: Store) -> None:
    for bad in ("", "two words", "tab\there", "x" * 129):
        with pytest.raises(ValueError, match="actor"):
            tokens.issue(store, bad)
    assert not tokens.tokens_path(store).exists()


def test_a_damaged_file_is_an_error_at_start_and_keeps_the_old_tokens_on_reload(store: Store) -> None:
    token = tokens.issue(store, "inv-1")
    book = TokenBook(store)
    path = tokens.tokens_path(store)
    path.write_text(path.read_text() + "{not json\n")
    with pytest.raises(TokenFileError, match=r"tokens\.jsonl:2:"):
        TokenBook(store)
    assert book.reload(force=True) is False
    assert book.error is not None
    assert ":2:" in book.error
    assert book.actor_of(token) == "inv-1"


def test_cli_issue_prints_the_token_alone_and_revoke_says_when_there_was_none(tmp_path: Path) -> None:
    home = tmp_path / "home"
    issued = run_cli("token", "issue", "inv-7", home=home)
    assert re.fullmatch(r"cgw_[A-Za-z0-9_-]{43}\n", issued.stdout)
    assert "cannot be shown again" in issued.stderr
    token = issued.stdout.strip()
    assert TokenBook(Store(home)).actor_of(token) == "inv-7"
    listing = run_cli("token", "list", "--format", "jsonl", home=home)
    assert token not in listing.stdout
    assert '"inv-7"' in listing.stdout
    running = TokenBook(Store(home), every_s=0)  # as a gateway holds it while the CLI revokes
    assert running.actor_of(token) == "inv-7"
    revoked = run_cli("token", "revoke", "inv-7", home=home)
    assert revoked.returncode == 0
    assert revoked.stdout == ""
    assert running.actor_of(token) is None
    again = run_cli("token", "revoke", "inv-7", home=home, check=False)
    assert again.returncode == 1
    assert "holds no live gateway token" in again.stderr
    bad = run_cli("token", "issue", "two words", home=home, check=False)
    assert bad.returncode == 2
    assert bad.stdout == ""


def test_issuing_does_not_wait_for_the_ledger_writers(store: Store) -> None:
    cli = Store(store.home, lock_timeout=0.5)  # another writer, as the CLI is beside a running gateway
    with store.writer("a long ledger append"):  # as the gateway's group commits hold it
        token = tokens.issue(cli, "inv-1")
        assert tokens.revoke(cli, "inv-1") == 1
    assert TokenBook(store).actor_of(token) is None


def test_concurrent_issues_lose_no_token(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cmd = [sys.executable, "-m", "custodiet", "--home", str(home), "token", "issue"]
    procs = [subprocess.Popen([*cmd, f"inv-{i}"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
             for i in range(4)]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    book = TokenBook(Store(home))
    assert [book.actor_of(t) for t in outs] == [f"inv-{i}" for i in range(4)]
