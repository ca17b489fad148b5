"""People and their identifiers for the independent portal world, and the small functions the other modules share.

A person holds one or two MSISDNs (Bangladesh numbering, +880 1[3-9]…), usually an IMSI and a handset
IMEI, a national ID (10, 13 or 17 digits) and sometimes a passport. Identifiers are kept as integers and
turned into text only when a file is written, in the varied forms real logs and listings use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

ID_KINDS = ("msisdn", "imsi", "imei", "nid", "passport")
MSISDN, IMSI, IMEI, NID, PASSPORT = range(5)
DATA_KINDS = ("identity", "subscriber", "cdr", "location", "imei", "travel", "criminal")
IDENTITY, SUBSCRIBER, CDR, LOCATION, IMEI_D, TRAVEL, CRIMINAL = range(7)
UNIT_KINDS = ("investigation", "intelligence", "verification", "cyber", "border")
INV, INT, VER, CYB, BOR = range(5)

DAY_MS = 86_400_000
_PASSPORT_PREFIXES = np.array(["EA", "EB", "EC", "ED", "EE", "BA", "BB", "AA"])
# type allocation codes: 8-digit handset models, most under the 35 and 86 reporting bodies
_TACS = np.unique(np.r_[np.random.default_rng(0).integers(35_000_000, 36_000_000, 120),
                        np.random.default_rng(1).integers(86_000_000, 87_000_000, 80)]).astype(np.int64)


def luhn_digit(body: np.ndarray, width: int) -> np.ndarray:
    """Luhn check digit of each integer in ``body`` (``width`` digits, the check digit not included)."""
    total = np.zeros(body.shape, dtype=np.int64)
    rest = body.copy()
    for i in range(width):  # rightmost body digit is doubled
        d = rest % 10
        rest //= 10
        if i % 2 == 0:
            d = d * 2
            d = np.where(d > 9, d - 9, d)
        total += d
    return (10 - total % 10) % 10


def _distinct(values: np.ndarray) -> np.ndarray:
    v = np.sort(values)
    return v[np.r_[True, v[1:] != v[:-1]]]


def unique_draw(rng: np.random.Generator, sampler, n: int) -> np.ndarray:
    """``n`` distinct values from ``sampler(rng, size)``, in random order."""
    got = _distinct(sampler(rng, int(n * 1.05) + 16))
    while got.size < n:
        got = _distinct(np.concatenate([got, sampler(rng, 2 * (n - got.size) + 16)]))
    return rng.permutation(got)[:n]


def _msisdn(rng, size):
    return 8_801_000_000_000 + rng.integers(3, 10, size) * 100_000_000 + rng.integers(0, 100_000_000, size)


def _nid(rng, size):
    length = rng.choice([10, 13, 17], size=size, p=[0.45, 0.2, 0.35])
    out = rng.integers(1_000_000_000, 10_000_000_000, size)
    out = np.where(length == 13, rng.integers(10**12, 10**13, size), out)
    born = rng.integers(1950, 2007, size)
    return np.where(length == 17, born * 10**13 + rng.integers(0, 10**13, size), out)


def _imsi(rng, size):
    return 470 * 10**12 + rng.choice([1, 2, 3, 4, 7], size) * 10**10 + rng.integers(0, 10**10, size)


def _imei(rng, size):
    body = rng.choice(_TACS, size) * 1_000_000 + rng.integers(0, 1_000_000, size)
    return body * 10 + luhn_digit(body, 14)


def _passport(rng, size):
    return rng.integers(0, len(_PASSPORT_PREFIXES), size) * 10**7 + rng.integers(0, 10**7, size)


_SAMPLERS = {MSISDN: _msisdn, IMSI: _imsi, IMEI: _imei, NID: _nid, PASSPORT: _passport}


@dataclass
class Population:
    """Identifier table (number, kind, person) and each person's identifiers (-1 when absent)."""

    num: np.ndarray
    kind: np.ndarray
    person: np.ndarray
    msisdn: np.ndarray
    msisdn2: np.ndarray
    imsi: np.ndarray
    imei: np.ndarray
    nid: np.ndarray
    passport: np.ndarray
    next_free: int = 0  # people handed out so far (strangers, case subjects, … each get fresh people)

    @property
    def size(self) -> int:
        return int(self.msisdn.size)

    def take(self, n: int) -> np.ndarray:
        """``n`` people nobody has been given yet."""
        if self.next_free + n > self.size:
            raise ValueError(f"population of {self.size} exhausted (asked {n} more after {self.next_free})")
        out = np.arange(self.next_free, self.next_free + n)
        self.next_free += n
        return out

    def add_loose(self, kind: int, nums: np.ndarray) -> np.ndarray:
        """Identifiers that belong to no modelled person (enumerated ranges); returns their indices."""
        start = self.num.size
        self.num = np.concatenate([self.num, nums.astype(np.int64)])
        self.kind = np.concatenate([self.kind, np.full(nums.size, kind, dtype=np.int8)])
        self.person = np.concatenate([self.person, np.full(nums.size, -1, dtype=np.int64)])
        return np.arange(start, start + nums.size)

    def ident_for(self, rng: np.random.Generator, persons: np.ndarray, dks: np.ndarray) -> np.ndarray:
        """The identifier an officer would type to ask for data kind ``dks`` on each person."""
        u = rng.random(persons.size)
        m1, m2, isi = self.msisdn[persons], self.msisdn2[persons], self.imsi[persons]
        nid, imei, pp = self.nid[persons], self.imei[persons], self.passport[persons]
        out = m1.copy()
        alt = np.where((u < 0.15) & (m2 >= 0), m2, np.where((u > 0.85) & (isi >= 0), isi, m1))
        out = np.where(dks == IDENTITY, np.where(u < 0.6, nid, m1), out)
        out = np.where((dks == SUBSCRIBER) | (dks == LOCATION), alt, out)
        out = np.where(dks == CDR, np.where((u < 0.2) & (m2 >= 0), m2, m1), out)
        out = np.where(dks == IMEI_D, np.where(imei >= 0, imei, m1), out)
        out = np.where(dks == TRAVEL, np.where(pp >= 0, pp, nid), out)
        out = np.where(dks == CRIMINAL, nid, out)
        return out


def make_population(rng: np.random.Generator, n: int, p_second_sim: float, p_passport: float) -> Population:
    """``n`` people with identifiers; shares of second SIMs and passports as given."""
    has = {
        MSISDN: np.ones(n, bool),
        IMSI: rng.random(n) < 0.8,
        IMEI: rng.random(n) < 0.85,
        NID: np.ones(n, bool),
        PASSPORT: rng.random(n) < p_passport,
    }
    second = rng.random(n) < p_second_sim
    nums, kinds, owners = [], [], []
    slots: dict[str, np.ndarray] = {}
    offset = 0
    for name, kind, mask in (("msisdn", MSISDN, has[MSISDN]), ("msisdn2", MSISDN, second),
                             ("imsi", IMSI, has[IMSI]), ("imei", IMEI, has[IMEI]), ("nid", NID, has[NID]),
                             ("passport", PASSPORT, has[PASSPORT])):
        idx = np.flatnonzero(mask)
        slot = np.full(n, -1, dtype=np.int64)
        slot[idx] = offset + np.arange(idx.size)
        slots[name] = slot
        nums.append(idx)  # placeholder, replaced below per kind
        kinds.append(np.full(idx.size, kind, dtype=np.int8))
        owners.append(idx)
        offset += idx.size
    kind_arr = np.concatenate(kinds)
    num = np.zeros(offset, dtype=np.int64)
    for kind in range(5):  # draw each kind's numbers at once, so they are distinct across people
        where = np.flatnonzero(kind_arr == kind)
        num[where] = unique_draw(rng, _SAMPLERS[kind], where.size)
    return Population(num, kind_arr, np.concatenate(owners).astype(np.int64), slots["msisdn"], slots["msisdn2"],
                      slots["imsi"], slots["imei"], slots["nid"], slots["passport"])


def format_idents(pop: Population, idents: np.ndarray, style: np.ndarray) -> pa.Array:
    """Text of each identifier. ``style`` (0..4) picks among the written forms of an MSISDN:
    +8801…, 8801…, 01…, 1… (no trunk zero), +880 1XXX-XXXXXX; other kinds are written plainly, except
    that style 1 writes a passport in lower case and style 4 groups an IMEI with dashes.
    Each distinct (identifier, style) is formatted once, with numpy's string functions."""
    key = idents.astype(np.int64) * 5 + np.clip(style, 0, 4)
    ukey, inv = np.unique(key, return_inverse=True)
    num, kind, st = pop.num[ukey // 5], pop.kind[ukey // 5], ukey % 5
    out = num.astype("U21")
    nsn = num % 10**10  # 1XXXXXXXXX of 8801XXXXXXXXX
    m = kind == MSISDN
    for form, sel in ((0, m & (st == 0)), (2, m & (st == 2)), (3, m & (st == 3)), (4, m & (st == 4))):
        if not sel.any():
            continue
        if form == 0:
            out[sel] = np.char.add("+", out[sel])
        elif form == 4:
            out[sel] = np.char.add(np.char.add(np.char.add("+880 ", (nsn[sel] // 10**6).astype(str)), "-"),
                                   np.char.zfill((nsn[sel] % 10**6).astype(str), 6))
        else:
            out[sel] = np.char.add("0" if form == 2 else "", nsn[sel].astype(str))
    sel = kind == PASSPORT
    if sel.any():
        pp = np.char.add(_PASSPORT_PREFIXES[(num[sel] // 10**7) % len(_PASSPORT_PREFIXES)],
                         np.char.zfill((num[sel] % 10**7).astype(str), 7))
        out[sel] = np.where(st[sel] == 1, np.char.lower(pp), pp)
    sel = (kind == IMEI) & (st == 4)
    if sel.any():
        v = num[sel]
        out[sel] = np.char.add(np.char.add(np.char.add((v // 10**13).astype(str), "-"),
                                           np.char.add(np.char.zfill((v // 10**7 % 10**6).astype(str), 6), "-")),
                               np.char.add(np.char.add(np.char.zfill((v // 10 % 10**6).astype(str), 6), "-"),
                                           (v % 10).astype(str)))
    return pa.array(out, type=pa.string()).take(pa.array(inv.astype(np.int64).ravel()))


def local_hours(profile: str, lunch_dip: float) -> np.ndarray:
    """Probability of each local hour 0..23 for a working pattern."""
    h = np.arange(24)
    if profile == "office":
        w = np.where((h >= 9) & (h <= 17), 1.0, 0.0) + np.where((h == 8) | (h == 18), 0.35, 0.0)
        w += np.where((h == 7) | (h == 19) | (h == 20), 0.08, 0.0) + 0.004
        w[13] *= 1 - lunch_dip
        w[14] *= 1 - lunch_dip / 3
    elif profile == "night":
        w = np.where((h >= 20) | (h <= 5), 1.0, 0.05)
        w[2:5] *= 0.6
    elif profile == "evening":
        w = np.where((h >= 18) & (h <= 23), 1.0, 0.02)
        w[20:23] *= 1.5
    elif profile == "offhours":  # before and after work, late evenings
        w = np.where((h >= 19) | (h <= 1), 1.0, 0.0) + np.where((h >= 6) & (h <= 8), 0.5, 0.0) + 0.02
    elif profile == "late":  # a working day that runs into the evening
        w = np.where((h >= 17) & (h <= 23), 1.0, 0.0) + np.where((h >= 10) & (h <= 16), 0.3, 0.0)
    elif profile == "odd":
        w = np.where((h >= 0) & (h <= 5), 1.0, 0.03)
    else:
        w = np.ones(24)
    return w / w.sum()


def draw_times(rng: np.random.Generator, t0: int, days: np.ndarray, hour_p,
               hour_shift: np.ndarray | int = 0) -> np.ndarray:
    """UTC milliseconds of lookups on local ``days`` (index from the world's first local midnight ``t0``)
    at hours drawn from ``hour_p``: one row of 24 probabilities, one row per lookup, or a pair
    (table of rows, row index per lookup) that saves memory on big worlds."""
    n = days.size
    u = rng.random(n)
    if isinstance(hour_p, tuple):
        table, which = hour_p
        cdf = np.cumsum(table, axis=1)
        hours = np.zeros(n, dtype=np.int64)
        for k in range(table.shape[0]):
            m = which == k
            hours[m] = np.searchsorted(cdf[k], u[m], side="right")
    elif hour_p.ndim == 1:
        hours = np.searchsorted(np.cumsum(hour_p), u, side="right")
    else:
        hours = (u[:, None] > np.cumsum(hour_p, axis=1)).sum(axis=1)
    hours = np.clip(hours + hour_shift, 0, 23)
    return t0 + days.astype(np.int64) * DAY_MS + hours * 3_600_000 + rng.integers(0, 3_600_000, n)
