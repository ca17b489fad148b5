"""Normalisation of person identifiers before they are pseudonymised.

Callers normalise each *distinct* value once (``normalise_many``) and join the result back in the
engine; nothing here runs once per event.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import phonenumbers

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


def _msisdn(value: str, rules: IdentifierRules) -> str:
    text = _SEPARATORS.sub("", value)
    if text.startswith("00"):
        text = "+" + text[2:]
    candidates: list[tuple[str, str | None]]
    if text.startswith("+"):
        candidates = [(text, None)]
    elif text.startswith("0"):
        candidates = [(text, rules.default_region)]
    else:
        # International digits without '+' (as CDRs and MAP carry them), else a national number.
        candidates = [("+" + text, None), (text, rules.default_region)]
    if not _DIGITS.fullmatch(text.lstrip("+")):
        raise InvalidIdentifier(f"msisdn {value!r} has characters other than digits")
    for number, region in candidates:
        try:
            parsed = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]
    raise InvalidIdentifier(f"msisdn {value!r} is not a possible phone number")


def _imsi(value: str, rules: IdentifierRules) -> str:
    text = _SEPARATORS.sub("", value)
    if not _DIGITS.fullmatch(text) or not 14 <= len(text) <= 15:
        raise InvalidIdentifier(f"imsi {value!r} must be 14 or 15 digits")
    return text


def _imei(value: str, rules: IdentifierRules) -> str:
    text = _SEPARATORS.sub("", value)
    if not _DIGITS.fullmatch(text) or not 14 <= len(text) <= 16:
        raise InvalidIdentifier(f"imei {value!r} must be 14 to 16 digits")
    if len(text) == 15 and not luhn_ok(text):
        raise InvalidIdentifier(f"imei {value!r} fails its Luhn check digit")
    return text


def _nid(value: str, rules: IdentifierRules) -> str:
    text = _SEPARATORS.sub("", value)
    if not _DIGITS.fullmatch(text) or len(text) not in rules.nid_lengths:
        lengths = ", ".join(str(n) for n in rules.nid_lengths)
        raise InvalidIdentifier(f"nid {value!r} must be digits of length {lengths}")
    return text


def _passport(value: str, rules: IdentifierRules) -> str:
    text = _SEPARATORS.sub("", value).upper()
    if not _PASSPORT.fullmatch(text):
        raise InvalidIdentifier(f"passport {value!r} must be 5 to 20 letters or digits")
    return text


_NORMALISERS = {"msisdn": _msisdn, "imsi": _imsi, "imei": _imei, "nid": _nid, "passport": _passport}


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
