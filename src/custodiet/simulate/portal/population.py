"""Fake citizens and their identifiers: phones, IMSIs, IMEIs, national IDs, passports.

People are allocated by index while the world is planned and get their identifiers in one vectorised
pass at the end (``finalize``). Every identifier is random within the Bangladeshi formats (MSISDN
8801[3-9]XXXXXXXX, IMSI 470-MNC-…, Luhn-valid IMEIs, national IDs of 10, 13 or 17 digits, passports
of a letter and 8 digits); no real person's data is used. The 10-digit national IDs are issued densely
(small gaps), so a walk over sequential numbers finds real records, as it would on a real register.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custodiet.simulate.portal.config import SLOT, SUBJECT_KINDS

SUBJECT_KIND_CODE = {k: i for i, k in enumerate(SUBJECT_KINDS)}

MSISDN_BASE = 8_801_000_000_000  # 880 1 X XXXXXXXX
OPERATOR_DIGIT = np.array([3, 4, 5, 6, 7, 8, 9])
OPERATOR_SHARE = np.array([0.12, 0.06, 0.04, 0.10, 0.38, 0.16, 0.14])
MNC_OF_DIGIT = {3: 1, 4: 3, 5: 4, 6: 7, 7: 1, 8: 2, 9: 3}  # 013/017 GP, 018 Robi, 019/014 BL, ...
PASSPORT_LETTERS = ("A", "B", "E")
N_TACS = 240

# Written forms of a phone number (the portal logs what the officer typed).
MSISDN_FORMS = ("intl", "plus", "national", "spaced", "zerozero")
FORM_SHARE = np.array([0.45, 0.15, 0.30, 0.05, 0.05])


def unique_random(rng: np.random.Generator, low: int, high: int, n: int) -> np.ndarray:
    """``n`` distinct integers in [low, high), in random order."""
    if n > (high - low) // 2:
        raise ValueError("identifier space too small")
    got = np.empty(0, dtype=np.int64)
    while len(got) < n:
        more = rng.integers(low, high, size=int((n - len(got)) * 1.05) + 16, dtype=np.int64)
        got = np.sort(np.concatenate([got, more]))  # sort-based: np.unique hashes, far slower here
        got = got[np.concatenate([[True], got[1:] != got[:-1]])]
    return rng.permutation(got)[:n]


def luhn_digit(body: np.ndarray, length: int) -> np.ndarray:
    """The Luhn check digit of each ``length``-digit integer in ``body``."""
    total = np.zeros(len(body), dtype=np.int64)
    rest = body.copy()
    for i in range(length):  # rightmost digit of the body is doubled
        d = rest % 10
        rest //= 10
        if i % 2 == 0:
            d = d * 2
            d = np.where(d > 9, d - 9, d)
        total += d
    return (10 - total % 10) % 10


class Population:
    """Allocates people; after ``finalize`` holds their identifiers (-1 where a person has none)."""

    def __init__(self) -> None:
        self.size = 0
        self.ids: dict[str, np.ndarray] = {}

    def allocate(self, n: int) -> np.ndarray:
        idx = np.arange(self.size, self.size + n, dtype=np.int64)
        self.size += n
        return idx

    def finalize(self, rng: np.random.Generator) -> None:
        n = self.size
        op = rng.choice(OPERATOR_DIGIT, size=n, p=OPERATOR_SHARE)
        phones = unique_random(rng, 0, 10**8, 2 * n)
        msisdn1 = MSISDN_BASE + op * 10**8 + phones[:n]
        op2 = rng.choice(OPERATOR_DIGIT, size=n, p=OPERATOR_SHARE)
        msisdn2 = np.where(rng.random(n) < 0.3, MSISDN_BASE + op2 * 10**8 + phones[n:], -1)
        mnc = np.vectorize(MNC_OF_DIGIT.get, otypes=[np.int64])(op)
        imsi = (47000 + mnc) * 10**10 + unique_random(rng, 0, 10**10, n)
        tacs = rng.integers(35_000_000, 36_000_000, size=N_TACS)
        tacs[N_TACS // 3:] -= 35_000_000 - 86_000_000  # a third 35xxxxxx, the rest 86xxxxxx
        dev = unique_random(rng, 0, N_TACS * 10**6, n)
        body = tacs[dev // 10**6] * 10**6 + dev % 10**6
        imei = body * 10 + luhn_digit(body, 14)
        self.ids = {
            "msisdn1": msisdn1,
            "msisdn2": msisdn2,
            "imsi": imsi,
            "imei": imei,
            "nid": self._nids(rng, n),
            "passport": self._passports(rng, n),
        }

    @staticmethod
    def _nids(rng: np.random.Generator, n: int) -> np.ndarray:
        length = rng.choice(np.array([10, 13, 17]), size=n, p=[0.6, 0.1, 0.3])
        nid = np.empty(n, dtype=np.int64)
        ten = np.flatnonzero(length == 10)
        issued = 1_950_000_000 + np.cumsum(rng.integers(1, 4, size=len(ten)))
        nid[ten] = rng.permutation(issued)
        rest = np.flatnonzero(length != 10)
        serial = unique_random(rng, 10**12, 10**13, len(rest))
        year = rng.integers(1950, 2005, size=len(rest))
        nid[rest] = np.where(length[rest] == 17, year * 10**13 + serial, serial)
        return nid

    @staticmethod
    def _passports(rng: np.random.Generator, n: int) -> np.ndarray:
        has = rng.random(n) < 0.25
        letter = rng.integers(0, len(PASSPORT_LETTERS), size=n)
        number = letter * 10**8 + unique_random(rng, 0, 10**8, n)
        return np.where(has, number, -1)

    def resolve(self, person: np.ndarray, slot: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(slot, identifier) per event: a missing second phone falls back to the first, a missing
        passport to the national ID; explicit values (person -1) pass through."""
        slot = slot.copy()
        out = value.copy()
        known = person >= 0
        p = np.where(known, person, 0)
        ids = self.ids
        m2 = known & (slot == SLOT["msisdn2"]) & (ids["msisdn2"][p] < 0)
        slot[m2] = SLOT["msisdn1"]
        pp = known & (slot == SLOT["passport"]) & (ids["passport"][p] < 0)
        slot[pp] = SLOT["nid"]
        for name, code in SLOT.items():
            sel = known & (slot == code)
            out[sel] = ids[name][p[sel]]
        return slot, out


def _cat(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _cut(text: pa.Array, start: int, stop: int | None = None) -> pa.Array:
    return pc.utf8_slice_codeunits(text, start, stop)


def _render(kind: int, form: int, value: np.ndarray) -> pa.Array:
    """Text of identifiers that share one kind and one written form."""
    digits = pa.array(value).cast(pa.string())
    if kind == SUBJECT_KIND_CODE["msisdn"]:
        national = _cut(digits, 3)  # 1711234567
        styles = {0: lambda: digits, 1: lambda: _cat("+", digits), 2: lambda: _cat("0", national),
                  3: lambda: _cat("+880 ", _cut(national, 0, 4), "-", _cut(national, 4)),
                  4: lambda: _cat("00", digits)}
        return styles[form]()
    if kind == SUBJECT_KIND_CODE["imei"] and form == 3:
        return _cat(_cut(digits, 0, 2), "-", _cut(digits, 2, 8), "-", _cut(digits, 8, 14), "-", _cut(digits, 14))
    if kind == SUBJECT_KIND_CODE["nid"] and form == 3:
        return _cat(_cut(digits, 0, 3), " ", _cut(digits, 3, 6), " ", _cut(digits, 6))
    if kind == SUBJECT_KIND_CODE["passport"]:
        letters = pc.take(pa.array(PASSPORT_LETTERS), pa.array(np.clip(value // 10**8, 0, 2)))
        return _cat(letters, pc.utf8_lpad(pa.array(value % 10**8).cast(pa.string()), 8, "0"))
    return digits


def format_identifiers(kind: np.ndarray, value: np.ndarray, form: np.ndarray) -> pa.Array:
    """Identifier text per row: ``kind`` holds subject kinds (index into config.SUBJECT_KINDS),
    ``form`` (0..4, population.MSISDN_FORMS) how a phone number was typed; form 3 also writes IMEIs
    with dashes and 10-digit national IDs in groups. Rows are rendered in groups of one kind and form,
    then put back in order."""
    kind = np.asarray(kind, dtype=np.int64)
    form = np.clip(np.asarray(form, dtype=np.int64), 0, 4)
    styled = (kind == SUBJECT_KIND_CODE["msisdn"]) | (
        (form == 3) & ((kind == SUBJECT_KIND_CODE["imei"]) | ((kind == SUBJECT_KIND_CODE["nid"]) & (value < 10**10))))
    key = (kind * 5 + np.where(styled, form, 0)).astype(np.int16)
    order = np.argsort(key, kind="stable")
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    groups = np.split(order, bounds) if len(order) else []
    pieces = [_render(int(kind[g[0]]), int(form[g[0]]) if styled[g[0]] else 0, value[g]) for g in groups]
    if not pieces:
        return pa.array([], pa.string())
    back = np.empty(len(order), dtype=np.int64)
    back[order] = np.arange(len(order))
    return pa.concat_arrays(pieces).take(pa.array(back))


def random_forms(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice(len(FORM_SHARE), size=n, p=FORM_SHARE).astype(np.int8)
