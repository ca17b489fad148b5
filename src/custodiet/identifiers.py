"""Normalisation of person identifiers before they are pseudonymised.

Error messages never repeat the identifier: they are stored, and the store keeps no cleartext.

Callers normalise each *distinct* value once (``normalise_many``) and join the result back in the
engine; nothing here runs once per event.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import phonenumbers
from phonenumbers import PhoneMetadata

_SEPARATORS = re.compile(r"[\s\-./()]")
_DIGITS = re.compile(r"\d+")
_PASSPORT = re.compile(r"[A-Z0-9]{5,20}")


@dataclass(frozen=True)
class IdentifierRules:
    """Site settings for identifier formats."""

    default_region: str = "BD"  # ISO 3166-1 alpha-2, for national phone numbers
    nid_lengths: tuple[int, ...] = field(default=(10, 13, 17))  # Bangladesh's national ID formats


class InvalidIdentifier(ValueError):
    """An identifier that cannot be normalised; the message says why."""


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_digit(body: str) -> str:
    """The Luhn check digit that makes ``body`` + it pass ``luhn_ok`` (an IMEI's 15th digit)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = ord(ch) - 48
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


@functools.cache
def _country_entry(cc: str) -> tuple[frozenset[int], re.Pattern[str] | None] | None:
    """(possible national lengths, national prefix) of one country calling code, from phonenumbers' metadata.

    Per code and cached: loading every region's metadata up front costs a CLI run a tenth of a second.
    """
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(cc))
    if not regions:
        return None
    region = regions[0]
    if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
        md = PhoneMetadata.metadata_for_nongeo_region(int(cc))
    else:
        md = PhoneMetadata.metadata_for_region(region)
    if md is None or md.general_desc is None:
        return None
    prefix = md.national_prefix_for_parsing or md.national_prefix
    return frozenset(md.general_desc.possible_length or ()), (re.compile(prefix) if prefix else None)


def _msisdn_fast(text: str) -> str | None:
    """International digits that phonenumbers would accept unchanged, decided from its metadata alone.

    Returns None when unsure (the caller then asks phonenumbers itself): this only avoids parsing the
    common, already-canonical form; tests check it never disagrees with the full parse.
    """
    if not text.isdigit() or text[0] == "0":
        return None
    for width in (1, 2, 3):
        entry = _country_entry(text[:width])
        if entry is None:
            continue
        lengths, national_prefix = entry
        nsn = text[width:]
        if len(nsn) in lengths and nsn[:1] != "0" and not (national_prefix and national_prefix.match(nsn)):
            return text
        return None
    return None


@functools.lru_cache(maxsize=64)
def _national_rule(region: str) -> tuple[str, str, frozenset[int], re.Pattern[str]] | None:
    """(country code, trunk prefix, possible lengths, number pattern) where the region's trunk prefix is a
    plain digit string, else None (then national numbers always go through phonenumbers)."""
    md = PhoneMetadata.metadata_for_region(region)
    if md is None or md.general_desc is None or md.national_prefix_transform_rule:
        return None
    prefix = md.national_prefix_for_parsing or md.national_prefix
    if not prefix or not prefix.isdigit() or not md.general_desc.national_number_pattern:
        return None
    pattern = re.compile(md.general_desc.national_number_pattern)
    return str(md.country_code), prefix, frozenset(md.general_desc.possible_length or ()), pattern


def _msisdn_national_fast(text: str, region: str) -> str | None:
    """A national number of the default region (trunk prefix + number), decided from metadata alone;
    None when unsure."""
    rule = _national_rule(region)
    if rule is None or not text.isdigit():
        return None
    cc, prefix, lengths, pattern = rule
    if not text.startswith(prefix):
        return None
    nsn = text[len(prefix):]
    if len(nsn) in lengths and nsn[:1] != "0" and pattern.fullmatch(nsn) and not pattern.fullmatch(text):
        return cc + nsn
    return None


def _msisdn(value: str, rules: IdentifierRules) -> str:
    text = _SEPARATORS.sub("", value)
    if text.startswith("00"):
        text = "+" + text[2:]
    fast = _msisdn_fast(text[1:] if text.startswith("+") else text) or (
        _msisdn_national_fast(text, rules.default_region) if text.startswith("0") else None)
    if fast is not None:
        return fast
    candidates: list[tuple[str, str | None]]
    if text.startswith("+"):
        candidates = [(text, None)]
    elif text.startswith("0"):
        candidates = [(text, rules.default_region)]
    else:
        # International digits without '+' (as CDRs and MAP carry them), else a national number.
        candidates = [("+" + text, None), (text, rules.default_region)]
    if not _DIGITS.fullmatch(text.lstrip("+")):
        raise InvalidIdentifier("msisdn has characters other than digits")
    for number, region in candidates:
        try:
            parsed = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]
    raise InvalidIdentifier("msisdn is not a possible phone number")


def _imsi(value: str, rules: IdentifierRules) -> str:
    text = _SEPARATORS.sub("", value)
    if not _DIGITS.fullmatch(text) or not 14 <= len(text) <= 15:
        raise InvalidIdentifier("imsi must be 14 or 15 digits")
    return text


def _imei(value: str, rules: IdentifierRules) -> str:
    text = _SEPARATORS.sub("", value)
    if not _DIGITS.fullmatch(text) or not 14 <= len(text) <= 16:
        raise InvalidIdentifier("imei must be 14 to 16 digits")
    if len(text) == 15 and not luhn_ok(text):
        raise InvalidIdentifier("imei fails its Luhn check digit")
    # The device's identity is its TAC and serial number (3GPP TS 23.003): the check digit is derived from
    # them and the IMEISV's last two digits name a software version, so all three forms are one device.
    return text[:14]


def _nid(value: str, rules: IdentifierRules) -> str:
    text = _SEPARATORS.sub("", value)
    if not _DIGITS.fullmatch(text) or len(text) not in rules.nid_lengths:
        lengths = ", ".join(str(n) for n in rules.nid_lengths)
        raise InvalidIdentifier(f"nid must be digits of length {lengths}")
    return text


def _passport(value: str, rules: IdentifierRules) -> str:
    text = _SEPARATORS.sub("", value).upper()
    if not _PASSPORT.fullmatch(text):
        raise InvalidIdentifier("passport must be 5 to 20 letters or digits")
    return text


def _tmsi(value: str, rules: IdentifierRules) -> str:
    text = _SEPARATORS.sub("", value).lower().removeprefix("0x")
    if not re.fullmatch(r"[0-9a-f]{2,8}", text) or len(text) % 2:
        raise InvalidIdentifier("tmsi must be 1 to 4 octets in hex")
    return text


_NORMALISERS = {"msisdn": _msisdn, "imsi": _imsi, "imei": _imei, "nid": _nid, "passport": _passport,
                "tmsi": _tmsi}


def normalise(kind: str, value: str, rules: IdentifierRules | None = None) -> str:
    """The normalised form of one identifier, or ``InvalidIdentifier``."""
    try:
        fn = _NORMALISERS[kind]
    except KeyError:
        raise InvalidIdentifier(f"unknown subject_kind {kind!r}") from None
    return fn(value.strip(), rules or IdentifierRules())


def normalise_many(
    pairs: Iterable[tuple[str, str]], rules: IdentifierRules | None = None
) -> list[tuple[str | None, str | None]]:
    """For each distinct (kind, value): (normalised, None) or (None, reason)."""
    rules = rules or IdentifierRules()
    out: list[tuple[str | None, str | None]] = []
    for kind, value in pairs:
        try:
            out.append((normalise(kind, value, rules), None))
        except InvalidIdentifier as exc:
            out.append((None, str(exc)))
    return out
