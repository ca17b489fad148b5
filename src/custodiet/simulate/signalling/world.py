"""The simulated signalling world: a home network, its roaming partners, hostile networks, subscribers.

Everything here is invented. Identifier ranges, chosen so that no real person or operator is named:

- Home network "Custodiet Test Mobile": MCC-MNC 001-01 (the ITU test network code); subscribers' IMSIs
  are 00101 00000 xxxxx; their MSISDNs are in Ofcom's drama range +44 7700 900000-900999; the home
  network's global titles are in Ofcom's drama range +44 20 7946 0xxx.
- Partner and hostile networks have invented names; their MCC is their country's, their MNC is 95/96 (or
  995/996), and their global titles are the country code followed by 99 (or an area code and 990). They
  are fictional: the profile written by the simulator names them, so attribution never reaches the
  bundled operator table for them.
- Inbound roamers' IMSIs are their network's MCC-MNC followed by 7 zeros and a serial.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from custodiet.geo import distance_km

__all__ = ["World", "SimNetwork", "build_world", "distance_km", "home_subscriber", "roamer_identity",
           "write_profile"]

HOME_NAME = "Custodiet Test Mobile"
HOME_COUNTRY = "GB"
HOME_MCC_MNC = "001-01"
HOME_GT_PREFIX = "442079460"
HOME_MSISDN_PREFIX = "447700900"
HOME_IMSI_PREFIX = "0010100000"

# name, ISO country, country-code part of the GT prefix, MCC-MNC, roaming, sms
PARTNERS: list[tuple[str, str, str, str, bool, bool]] = [
    ("Lutetia Mobile", "FR", "33990", "208-95", True, True),
    ("Seine Telecom", "FR", "33991", "208-96", True, True),
    ("Rheinfunk", "DE", "49990", "262-95", True, True),
    ("Iberia Celular", "ES", "34990", "214-95", True, True),
    ("Tevere Mobile", "IT", "39990", "222-95", True, True),
    ("Polder Telecom", "NL", "31990", "204-95", True, True),
    ("Alpen Net", "CH", "41990", "228-95", True, False),
    ("Nordlys Mobil", "SE", "46990", "240-95", True, True),
    ("Aegean Cell", "GR", "30990", "202-95", True, True),
    ("Tagus Movel", "PT", "351990", "268-95", True, True),
    ("Liberty Wireless", "US", "1202990", "310-995", True, True),
    ("Maple Mobile", "CA", "1416990", "302-995", True, True),
    ("Sertao Movel", "BR", "55990", "724-95", True, True),
    ("Dune Telecom", "AE", "971990", "424-95", True, True),
    ("Ganga Mobile", "IN", "91990", "404-95", True, True),
    ("Protea Cell", "ZA", "27990", "655-95", True, True),
    ("Southern Cross Mobile", "AU", "61990", "505-95", True, True),
    ("Sakura Tsushin", "JP", "81990", "440-95", True, True),
    ("Bosphorus GSM", "TR", "90990", "286-95", True, True),
    ("Nile Mobile", "EG", "20990", "602-95", True, True),
    ("Savanna Tel", "KE", "254990", "639-95", True, False),
    ("Azteca Movil", "MX", "52990", "334-950", True, True),
    ("Merlion Mobile", "SG", "65990", "525-95", True, True),
    ("Siam Cellular", "TH", "66990", "520-95", True, True),
]
# A maritime network (E.164 +882, MCC 901) serving cruise ships, registered in Norway: name, country, GT
# prefix, MCC-MNC. A roaming partner without SMS interworking.
MARITIME = ("Ocean Link Maritime", "NO", "88299", "901-95")

# Networks with no agreement at all: not in the profile; attributed by country code only.
HOSTILE: list[tuple[str, str, str, str]] = [
    ("Mekong Relay", "KH", "855990", "456-95"),
    ("Steppe Link", "MN", "976990", "428-95"),
    ("Altiplano Net", "BO", "591990", "736-95"),
    ("Copperbelt Signalling", "ZM", "260990", "645-95"),
    ("Coral Sea Telecom", "PG", "675990", "537-95"),
    ("Caribe Transit", "HT", "509990", "372-95"),
]

NODE_SUFFIX = {"hlr": "01", "vlr": "11", "sgsn": "15", "smsc": "21", "gsmscf": "31", "gmsc": "41"}
GT_DIGITS = 12


@dataclass(frozen=True)
class SimNetwork:
    name: str
    country: str
    gt_prefix: str
    mcc_mnc: str
    roaming: bool = False
    sms: bool = False
    partner: bool = False
    home: bool = False
    point_code: int = 0
    international: bool = False  # maritime / aeronautical: serves ships and aircraft anywhere

    def gt(self, node: str) -> str:
        suffix = NODE_SUFFIX[node]
        return self.gt_prefix + "0" * (GT_DIGITS - len(self.gt_prefix) - len(suffix)) + suffix

    @property
    def realm(self) -> str:
        mcc, mnc = self.mcc_mnc.split("-")
        return f"epc.mnc{int(mnc):03d}.mcc{mcc}.3gppnetwork.org"

    def host(self, node: str) -> str:
        return f"{node}1.{self.realm}"


@dataclass
class World:
    home: SimNetwork
    partners: list[SimNetwork]
    hostile: list[SimNetwork]
    by_name: dict[str, SimNetwork] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_name = {n.name: n for n in [self.home, *self.partners, *self.hostile]}

    def partners_in(self, country: str) -> list[SimNetwork]:
        return [p for p in self.partners if p.country == country and p.roaming and not p.international]

    @property
    def maritime(self) -> SimNetwork:
        return next(p for p in self.partners if p.international)


def build_world() -> World:
    home = SimNetwork(HOME_NAME, HOME_COUNTRY, HOME_GT_PREFIX, HOME_MCC_MNC, home=True, point_code=100)
    partners = [SimNetwork(n, c, g, m, r, s, partner=True, point_code=1000 + i)
                for i, (n, c, g, m, r, s) in enumerate(PARTNERS)]
    name, country, gt, plmn = MARITIME
    partners.append(SimNetwork(name, country, gt, plmn, True, False, partner=True, point_code=1000 + len(PARTNERS),
                               international=True))
    hostile = [SimNetwork(n, c, g, m, point_code=2000 + i) for i, (n, c, g, m) in enumerate(HOSTILE)]
    return World(home, partners, hostile)


def home_subscriber(i: int) -> tuple[str, str]:
    """(IMSI, MSISDN) of home subscriber ``i`` (0 <= i < 1000)."""
    if not 0 <= i < 1000:
        raise ValueError("the home MSISDN range holds 1,000 subscribers")
    return f"{HOME_IMSI_PREFIX}{i:05d}", f"{HOME_MSISDN_PREFIX}{i:03d}"


def roamer_identity(network: SimNetwork, i: int) -> tuple[str, str]:
    """(IMSI, MSISDN) of an inbound roamer from ``network``."""
    plmn = network.mcc_mnc.replace("-", "")
    imsi = plmn + f"{i:0{15 - len(plmn)}d}"
    msisdn = network.gt_prefix + "5" + f"{i:0{GT_DIGITS - len(network.gt_prefix) - 1}d}"
    return imsi, msisdn


def toml_profile(world: World) -> str:
    """The home network profile (DESIGN.md format) naming the home network and every partner."""
    h = world.home
    lines = ["# Home network profile of the simulated signalling world (all names and ranges invented).",
             "[home]", f'name = "{h.name}"', f'country = "{h.country}"', f'mcc_mnc = ["{h.mcc_mnc}"]',
             f'gt_prefixes = ["{h.gt_prefix}"]', f'msisdn_prefixes = ["{HOME_MSISDN_PREFIX}"]', ""]
    for p in world.partners:
        lines += ["[[partner]]", f'name = "{p.name}"', f'country = "{p.country}"', f'mcc_mnc = ["{p.mcc_mnc}"]',
                  f'gt_prefixes = ["{p.gt_prefix}"]', f"roaming = {str(p.roaming).lower()}",
                  f"sms = {str(p.sms).lower()}", ""]
    return "\n".join(lines)


def write_profile(world: World, path: Path) -> None:
    path.write_text(toml_profile(world), encoding="utf-8")
