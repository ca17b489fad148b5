"""Pseudonyms are HMAC-SHA256 of "kind:value", however many are computed at once."""

from __future__ import annotations

import hmac

from hypothesis import given, settings
from hypothesis import strategies as st

from custodiet import pseudonym
from custodiet.ledger import native
from custodiet.pseudonym import Pseudonymiser


@settings(max_examples=25, deadline=None)
@given(key=st.binary(min_size=16, max_size=100),
       values=st.lists(st.text(min_size=0, max_size=40), min_size=0, max_size=200))
def test_a_batch_of_pseudonyms_is_the_hmac_of_each(key, values):
    pairs = [("msisdn", v) for v in values]
    expected = [hmac.new(key, f"msisdn:{v}".encode(), "sha256").hexdigest() for v in values]
    assert Pseudonymiser(key).of_many(pairs) == expected


def test_many_pseudonyms_take_the_engine_s_batch_path(monkeypatch):
    """Guards the test above: with the C engine built, a batch does not call HMAC pair by pair."""
    assert native.AVAILABLE
    key = b"k" * 32
    expected = Pseudonymiser(key).of_normalised("nid", "1000000007")

    def refuse(*_args, **_kwargs):
        raise AssertionError("hmac.digest called for a batch")

    monkeypatch.setattr(pseudonym.hmac, "digest", refuse)
    pairs = [("nid", str(1000000000 + i)) for i in range(200)]
    assert Pseudonymiser(key).of_many(pairs)[7] == expected
