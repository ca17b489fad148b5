"""Invented target identifiers, and the forms warrants.csv writes them in.

No identifier belongs to anybody: msisdns come from ranges set aside for drama and examples (Ofcom's
+44 7700 900000-900999 and the North American 555-0100..0199 in many area codes), IMSIs from the ITU
test network 001-01, IMEIs carry the test reporting body 00 in their TAC.
"""

from __future__ import annotations

import random

from custodiet.identifiers import luhn_digit
from custodiet.simulate.interception.model import Target

_NANP_AREAS = (201, 202, 212, 213, 305, 312, 404, 415, 512, 602, 617, 702, 713, 808, 907, 916, 971)


class IdentifierPool:
    """Hands out distinct invented identifiers of each kind (msisdns wrap round when the ranges run out)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        msisdns = [f"447700900{n:03d}" for n in range(1000)]
        msisdns += [f"1{area}55501{n:02d}" for area in _NANP_AREAS for n in range(100)]
        rng.shuffle(msisdns)
        self._msisdns = msisdns
        self._next = 0
        self._used: set[Target] = set()

    def take(self, kind: str) -> Target:
        if kind == "msisdn":
            value = self._msisdns[self._next % len(self._msisdns)]
            self._next += 1
            target = (kind, value)
        else:
            while True:
                if kind == "imsi":
                    value = "00101" + f"{self.rng.randrange(10**10):010d}"
                else:
                    value = "00" + f"{self.rng.randrange(10**12):012d}"
                target = (kind, value)
                if target not in self._used:
                    break
        self._used.add(target)
        return target

    def typo(self, target: Target, avoid: set[Target]) -> Target:
        """The same identifier with one digit wrong (the last digit of an msisdn, so it stays in its
        invented range; a digit of the serial part of an imsi or imei), not one of ``avoid``."""
        kind, value = target
        while True:
            pos = len(value) - 1 if kind == "msisdn" else self.rng.randrange(len(value) - 6, len(value))
            digit = str((int(value[pos]) + self.rng.randrange(1, 10)) % 10)
            wrong = (kind, value[:pos] + digit + value[pos + 1:])
            if wrong not in avoid:
                return wrong


def csv_text(target: Target, long: bool) -> str:
    """How a warrant writes a target: the long form is an msisdn with ``+``, an imei with its check digit."""
    kind, value = target
    if kind == "msisdn" and long:
        return "+" + value
    if kind == "imei" and long:
        return value + luhn_digit(value)
    return value
