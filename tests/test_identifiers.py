from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodiet.identifiers import (
    IdentifierRules,
    InvalidIdentifier,
    _msisdn_fast,
    _msisdn_national_fast,
    normalise,
    normalise_many,
)

BD = IdentifierRules()


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("msisdn", "+8801712345678", "8801712345678"),
    ("msisdn", "8801712345678", "8801712345678"),  # international digits without '+', as CDRs carry them
    ("msisdn", "01712345678", "8801712345678"),  # national, default region BD
    ("msisdn", "00880 1712-345678", "8801712345678"),
    ("msisdn", "+1 (206) 555-0100", "12065550100"),
    ("msisdn", "41791234567", "41791234567"),
    ("imsi", "470010123456789", "470010123456789"),
    ("imsi", "47001012345678", "47001012345678"),
    ("imei", "490154203237518", "49015420323751"),  # 15 digits, Luhn-valid: the check digit is dropped
    ("imei", "49015420323751", "49015420323751"),  # 14 digits: TAC and serial number, the device's identity
    ("imei", "4901542032375180", "49015420323751"),  # 16 digits (IMEISV): the software version is dropped
    ("nid", "1234567890", "1234567890"),
    ("nid", "1234567890123", "1234567890123"),
    ("nid", "12345678901234567", "12345678901234567"),
    ("passport", "a1234567", "A1234567"),
])
def test_normalises(kind, value, expected):
    assert normalise(kind, value, BD) == expected


@pytest.mark.parametrize(("kind", "value", "reason"), [
    ("msisdn", "12", "not a possible phone number"),
    ("msisdn", "+88017x2345678", "characters other than digits"),
    ("imsi", "4700101234", "14 or 15 digits"),
    ("imei", "490154203237519", "Luhn"),
    ("imei", "4901", "14 to 16 digits"),
    ("nid", "12345678901", "length 10, 13, 17"),
    ("passport", "A-1", "5 to 20"),
    ("email", "x@y", "unknown subject_kind"),
])
def test_rejects_with_a_reason_that_does_not_repeat_the_value(kind, value, reason):
    with pytest.raises(InvalidIdentifier, match=reason) as info:
        normalise(kind, value, BD)
    assert value not in str(info.value)


def test_nid_lengths_are_configurable():
    assert normalise("nid", "123456789012", IdentifierRules(nid_lengths=(12,))) == "123456789012"


def test_normalise_many_reports_per_value():
    assert normalise_many([("nid", "1234567890"), ("nid", "1")], BD) == [
        ("1234567890", None), (None, "nid must be digits of length 10, 13, 17")]


def _reference(number: str, region: str | None) -> str | None:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]


COUNTRY_CODES = sorted(str(cc) for cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@settings(max_examples=3000, deadline=None)
@given(cc=st.sampled_from(COUNTRY_CODES), rest=st.text("0123456789", min_size=3, max_size=13))
def test_international_fast_path_agrees_with_phonenumbers(cc, rest):
    digits = cc + rest
    fast = _msisdn_fast(digits)
    if fast is not None:
        assert fast == _reference("+" + digits, None)


@settings(max_examples=3000, deadline=None)
@given(region=st.sampled_from(["BD", "DE", "IN", "FR", "GB", "US", "PK"]),
       rest=st.text("0123456789", min_size=5, max_size=12))
def test_national_fast_path_agrees_with_phonenumbers(region, rest):
    number = "0" + rest
    fast = _msisdn_national_fast(number, region)
    if fast is not None:
        assert fast == _reference(number, region)


@pytest.mark.parametrize("body", ["49015420323751", "35209900176148", "00000000000000", "99999999999999"])
def test_luhn_digit_completes_an_imei(body: str) -> None:
    from custodiet.identifiers import luhn_digit, luhn_ok

    assert luhn_ok(body + luhn_digit(body))
    assert sum(luhn_ok(body + d) for d in "0123456789") == 1
