"""The independent signalling world's cast: countries, the home network, partners, attackers, subscribers.

All numbering is invented under real country codes; MNCs and GT blocks are drawn at random per world.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache

# iso, country code, MCC, latitude, longitude (capital, approximately)
COUNTRIES = {
    "NL": ("31", "204", 52.4, 4.9), "BE": ("32", "206", 50.8, 4.4), "DE": ("49", "262", 52.5, 13.4),
    "FR": ("33", "208", 48.9, 2.4), "ES": ("34", "214", 40.4, -3.7), "PT": ("351", "268", 38.7, -9.1),
    "IT": ("39", "222", 41.9, 12.5), "CH": ("41", "228", 46.9, 7.4), "AT": ("43", "232", 48.2, 16.4),
    "GB": ("44", "234", 51.5, -0.1), "IE": ("353", "272", 53.3, -6.3), "DK": ("45", "238", 55.7, 12.6),
    "SE": ("46", "240", 59.3, 18.1), "NO": ("47", "242", 59.9, 10.8), "FI": ("358", "244", 60.2, 24.9),
    "PL": ("48", "260", 52.2, 21.0), "CZ": ("420", "230", 50.1, 14.4), "GR": ("30", "202", 38.0, 23.7),
    "TR": ("90", "286", 41.0, 29.0), "US": ("1", "310", 40.7, -74.0), "CA": ("1", "302", 43.7, -79.4),
    "MX": ("52", "334", 19.4, -99.1), "BR": ("55", "724", -23.5, -46.6), "AR": ("54", "722", -34.6, -58.4),
    "ZA": ("27", "655", -26.2, 28.0), "KE": ("254", "639", -1.3, 36.8), "NG": ("234", "621", 6.5, 3.4),
    "EG": ("20", "602", 30.0, 31.2), "MA": ("212", "604", 33.6, -7.6), "AE": ("971", "424", 25.2, 55.3),
    "IN": ("91", "404", 19.1, 72.9), "TH": ("66", "520", 13.8, 100.5), "MY": ("60", "502", 3.1, 101.7),
    "SG": ("65", "525", 1.35, 103.8), "ID": ("62", "510", -6.2, 106.8), "JP": ("81", "440", 35.7, 139.7),
    "AU": ("61", "505", -33.9, 151.2), "BS": ("1242", "364", 25.0, -77.3), "UA": ("380", "255", 50.4, 30.5),
    "CN": ("86", "460", 39.9, 116.4), "VN": ("84", "452", 21.0, 105.8), "PH": ("63", "515", 14.6, 121.0),
    "SA": ("966", "420", 24.7, 46.7), "IL": ("972", "425", 32.1, 34.8), "TZ": ("255", "640", -6.8, 39.3),
    "GH": ("233", "620", 5.6, -0.2), "CL": ("56", "730", -33.4, -70.6), "CO": ("57", "732", 4.7, -74.1),
    "LU": ("352", "270", 49.6, 6.1), "MT": ("356", "278", 35.9, 14.5),
}
HOMES = {"NL": ["BE", "DE"], "BE": ["NL", "FR"], "DE": ["PL", "AT", "NL", "DK"], "FR": ["BE", "ES", "CH"],
         "ES": ["PT", "FR"], "PT": ["ES"], "CH": ["DE", "FR", "IT"], "AT": ["DE", "CZ", "IT"], "SE": ["NO", "FI"],
         "FI": ["SE"], "PL": ["DE", "CZ"], "IE": ["GB"], "DK": ["DE", "SE"], "MY": ["SG", "TH"], "KE": ["TZ"],
         "GR": ["TR"], "CZ": ["DE", "AT", "PL"], "NO": ["SE"], "IT": ["FR", "CH", "AT"]}
# small states whose operators lease global titles (attack sources, never partners here)
SMALL = {"TD": ("235", "622"), "CF": ("236", "623"), "GA": ("241", "628"), "LR": ("231", "618"),
         "SL": ("232", "619"), "GM": ("220", "607"), "LS": ("266", "651"), "PG": ("675", "537"),
         "SB": ("677", "540"), "VU": ("678", "541"), "TO": ("676", "539"), "KM": ("269", "654"),
         "ST": ("239", "626"), "GQ": ("240", "627"), "BT": ("975", "402"), "TL": ("670", "514"),
         "BZ": ("501", "702"), "HT": ("509", "372"), "KG": ("996", "437"), "TJ": ("992", "436")}
STEMS = ["Aster", "Borea", "Cedro", "Delta", "Elan", "Fjord", "Garnet", "Helio", "Iris", "Jade", "Kestrel",
         "Lumen", "Meridian", "Nimbus", "Orion", "Pampa", "Quartz", "Riva", "Sable", "Tundra", "Umbra", "Vega",
         "Willow", "Xenon", "Yarrow", "Zephyr", "Alder", "Basalt", "Cobalt", "Dune", "Ember", "Flint"]
SUFFIX = ["Telecom", "Mobile", "Cellular", "Wireless", "Tel", "Mobil", "Connect", "Net"]


@dataclass
class Net:
    """A network that signals across our border: partner, hub, maritime/aero operator, or unlisted."""

    name: str
    iso: str
    cc: str
    mcc: str
    mnc: str
    gt_prefix: str
    kind: str  # home | roaming | neighbour | hub | sms | maritime | aero | unlisted
    roaming: bool = False
    sms: bool = False
    lte: bool = False
    optimal_routing: bool = False
    map_v2: bool = False  # still speaks MAP v2 on some dialogues (SAI, CL, purge, forwardSM)
    preferred: bool = True  # steering of roaming: our preferred partner in its country
    in_profile: bool = True
    links: list[int] = field(default_factory=list)  # indexes of the SS7 links it reaches us over
    lat: float = 0.0
    lon: float = 0.0

    def gt(self, node: str, i: int = 0) -> str:
        """Global title of one of its nodes: hlr, vlr/msc (i-th), smsc, gmsc, sgsn, scf."""
        base = {"hlr": 10, "vlr": 20, "msc": 20, "smsc": 40, "gmsc": 50, "sgsn": 60, "scf": 70, "router": 80}[node]
        return f"{self.gt_prefix}{base + i:02d}{(i * 37) % 100:02d}"

    @property
    def realm(self) -> str:
        return f"epc.mnc{self.mnc.zfill(3)}.mcc{self.mcc}.3gppnetwork.org"

    @property
    def plmn(self) -> str:
        return self.mcc + self.mnc


@cache
def number_len(iso: str) -> int:
    """Digits in an international mobile number of that country (libphonenumber's example number)."""
    import phonenumbers

    ex = phonenumbers.example_number_for_type(iso, phonenumbers.PhoneNumberType.MOBILE)
    return len(str(ex.country_code)) + len(str(ex.national_number)) if ex else 11


def number(rng, net: Net, prefix: str | None = None) -> str:
    """A mobile number in a network's country: its GT block's first digits (or ``prefix``), the right length."""
    pre = prefix or net.gt_prefix[:len(net.cc) + 2]
    total = number_len(net.iso) if net.cc not in ("882", "883") else 12
    return pre + "".join(str(rng.randrange(10)) for _ in range(max(1, total - len(pre))))


def km(a: Net, b: Net) -> float:
    """Great-circle distance between two networks' reference points."""
    la1, lo1, la2, lo2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 12742 * math.asin(min(1.0, math.sqrt(h)))


def travel_hours(a: Net, b: Net) -> float:
    """Door-to-door time: road below 500 km, otherwise a flight at 800 km/h plus 2.5 h on the ground."""
    d = km(a, b)
    return d / 90 if d < 500 else d / 800 + 2.5


def _gt_block(rng, cc: str, used: set[str]) -> str:
    while True:
        size = 6 if len(cc) <= 2 else 7
        block = cc + "".join(str(rng.randrange(10)) for _ in range(size - len(cc)))
        if block[len(cc)] != "0" and not any(block.startswith(u) or u.startswith(block) for u in used):
            used.add(block)
            return block


def _net(rng, used: set[str], names: set[str], iso: str, kind: str, mnc: str | None = None, **kw) -> Net:
    cc, mcc, lat, lon = COUNTRIES[iso] if iso in COUNTRIES else (*SMALL[iso], float("nan"), float("nan"))
    while True:
        name = f"{rng.choice(STEMS)} {rng.choice(SUFFIX)}"
        if name not in names:
            names.add(name)
            break
    return Net(name=f"{name} {iso}", iso=iso, cc=cc, mcc=mcc, mnc=mnc or f"{rng.randrange(40, 99):02d}",
               gt_prefix=_gt_block(rng, cc, used), kind=kind, lat=lat, lon=lon, **kw)


def build_networks(rng) -> tuple[Net, list[Net], list[Net]]:
    """The home network, its partners (12-20, as listed in the profile), and unlisted networks for attacks."""
    used: set[str] = set()
    names: set[str] = set()
    home_iso = rng.choice(sorted(HOMES))
    home = _net(rng, used, names, home_iso, "home", roaming=True, sms=True, lte=True)
    partners: list[Net] = []
    for iso in rng.sample(HOMES[home_iso], min(len(HOMES[home_iso]), rng.randint(1, 2))):
        partners.append(_net(rng, used, names, iso, "neighbour", roaming=True, sms=True, lte=True))
    pool = [c for c in COUNTRIES if c != home_iso and c not in {p.iso for p in partners} and c not in ("LU", "MT")]
    n_roam = rng.randint(7, 12)
    for iso in rng.sample(pool, n_roam):
        partners.append(_net(rng, used, names, iso, "roaming", roaming=True, sms=rng.random() < 0.8,
                             lte=rng.random() < 0.6))
    # a second network in a few countries: steering of roaming prefers one of them
    for p in rng.sample([p for p in partners if p.kind == "roaming"], rng.randint(1, 3)):
        q = _net(rng, used, names, p.iso, "roaming", roaming=True, sms=True, lte=rng.random() < 0.4)
        q.preferred = False
        partners.append(q)
    for iso in rng.sample(["GB", "CH", "LU", "SG", "US", "MT"], rng.randint(2, 3)):
        partners.append(_net(rng, used, names, iso, "hub", sms=True, mnc="00"))
    for iso in rng.sample([c for c in pool if c not in {p.iso for p in partners}], rng.randint(1, 2)):
        partners.append(_net(rng, used, names, iso, "sms", sms=True))
    sea = _net(rng, used, names, rng.choice(["NO", "GB", "MT"]), "maritime", roaming=True, sms=False,
               mnc=str(rng.randrange(10, 40)))
    air = _net(rng, used, names, rng.choice(["CH", "GB", "IE"]), "aero", roaming=True, sms=False,
               mnc=str(rng.randrange(40, 80)))
    for n, code in ((sea, "882"), (air, "883")):
        used.discard(n.gt_prefix)
        n.gt_prefix = _gt_block(rng, code, used)
        n.cc, n.mcc, n.lat, n.lon = code, "901", float("nan"), float("nan")
    partners += [sea, air]
    for p in rng.sample([p for p in partners if p.kind in ("roaming", "neighbour")], rng.randint(1, 3)):
        p.optimal_routing = True
    v2_share = rng.uniform(0.0, 0.35)
    for p in partners:
        p.map_v2 = p.kind in ("roaming", "hub", "sms", "maritime") and rng.random() < v2_share
    unlisted = [_net(rng, used, names, iso, "unlisted", in_profile=False)
                for iso in rng.sample(sorted(SMALL), rng.randint(6, 10))]
    unlisted += [_net(rng, used, names, iso, "unlisted", in_profile=False)
                 for iso in rng.sample([c for c in pool if c not in {p.iso for p in partners}], rng.randint(4, 8))]
    return home, partners, unlisted


def profile_toml(home: Net, partners: list[Net], msisdn_prefixes: list[str]) -> str:
    """The home network profile in the project's TOML format (DESIGN.md, Interfaces)."""
    def q(items):
        return "[" + ", ".join(f'"{i}"' for i in items) + "]"

    lines = ["[home]", f'name = "{home.name}"', f'country = "{home.iso}"',
             f"mcc_mnc = {q([home.mcc + '-' + home.mnc])}",
             f"gt_prefixes = {q([home.gt_prefix])}", f"msisdn_prefixes = {q(msisdn_prefixes)}", ""]
    for p in partners:
        lines += ["[[partner]]", f'name = "{p.name}"', f'country = "{p.iso}"']
        if p.kind != "hub":
            lines.append(f"mcc_mnc = {q([p.mcc + '-' + p.mnc])}")
        lines += [f"gt_prefixes = {q([p.gt_prefix])}", f"roaming = {str(p.roaming).lower()}",
                  f"sms = {str(p.sms).lower()}", ""]
    return "\n".join(lines)


@dataclass
class Sub:
    """One of our subscribers: identities and where it is registered over time."""

    idx: int
    imsi: str
    msisdn: str
    tmsi: bytes
    lte: bool
    barred: bool = False
    stays: list[tuple[float, float, Net | None, int]] = field(default_factory=list)  # start, end, net, vlr

    def where(self, t: float) -> tuple[Net | None, int] | None:
        """(network or None for home, VLR index) at time t; None if detached."""
        if not self.stays:
            return None, self.idx % 4
        for start, end_, net, vlr in self.stays:
            if start <= t < end_:
                return net, vlr
        return None


def make_subscribers(rng, home: Net, n: int, msisdn_prefixes: list[str]) -> list[Sub]:
    subs = []
    seen: set[str] = set()
    for i in range(n):
        while True:
            msisdn = number(rng, home, rng.choice(msisdn_prefixes))
            if msisdn not in seen:
                seen.add(msisdn)
                break
        imsi = home.mcc + home.mnc + f"{rng.randrange(10**9, 10**10):010d}"
        subs.append(Sub(i, imsi[:15], msisdn, rng.randbytes(4), lte=rng.random() < 0.7))
    return subs
