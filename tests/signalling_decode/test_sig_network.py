"""The network registry: profile validation, GT ownership, home subscribers, attribution order."""

from __future__ import annotations

from pathlib import Path

import pytest

from custodiet.context.network import NetworkProfile, NetworkProfileError, OperatorTable, Registry

PROFILE = """
[home]
name = "Example Mobile"
country = "US"
mcc_mnc = ["310-260"]
gt_prefixes = ["1206555"]
msisdn_prefixes = ["1206"]

[[partner]]
name = "Island Telecom"
country = "BS"
mcc_mnc = ["364-39"]
gt_prefixes = ["1242357", "12065559"]
roaming = true
sms = true
"""


@pytest.fixture
def profile(tmp_path: Path) -> NetworkProfile:
    path = tmp_path / "network.toml"
    path.write_text(PROFILE)
    return NetworkProfile.load(path)


def test_profile_questions(profile: NetworkProfile) -> None:
    assert profile.home.home
    assert profile.home.roaming
    assert profile.home.mcc_mnc == ("310-260",)
    island = profile.partners[0]
    assert (island.name, island.country, island.roaming, island.sms, island.home) == (
        "Island Telecom", "BS", True, True, False)
    assert profile.network_of_gt("12065551234") is profile.home
    assert profile.network_of_gt("12065559000") is island  # longest prefix wins over the home range
    assert profile.network_of_gt("4479") is None
    assert profile.network_of_gt(None) is None
    assert profile.is_home_gt("12065550000")
    assert not profile.is_home_gt("12423570000")
    assert profile.is_home_subscriber(imsi="310260123456789")
    assert profile.is_home_subscriber(msisdn_digits="12065550100")
    assert not profile.is_home_subscriber(msisdn_digits="4477", imsi="364390000000001")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[home]\ncountry = 'US'\ngt_prefixes = []\n", "home.name"),
        ("[home]\nname = 'A'\ncountry = 'USA'\ngt_prefixes = []\n", "home.country"),
        ("[home]\nname = 'A'\ncountry = 'US'\ngt_prefixes = []\nmcc_mnc = ['310260']\n", "home.mcc_mnc[0]"),
        ("[home]\nname = 'A'\ncountry = 'US'\ngt_prefixes = []\ncolour = 1\n", "home.colour"),
        ("[home]\nname = 'A'\ncountry = 'US'\ngt_prefixes = []\n[[partner]]\nname = 'B'\ncountry = 'FR'\n"
         "gt_prefixes = ['33']\nroaming = 'yes'\n", "partner[0].roaming"),
        ("[[partner]]\nname = 'B'\n", "missing table [home]"),
        ("[home\n", "not valid TOML"),
    ],
)
def test_profile_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "n.toml"
    path.write_text(text)
    with pytest.raises(NetworkProfileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        NetworkProfile.load(path)


def test_attribution_order(profile: NetworkProfile) -> None:
    reg = Registry(profile)
    assert reg.attribute_gt("12423571111").source == "profile"
    assert reg.attribute_gt("12423571111").operator == "Island Telecom"
    swiss = reg.attribute_gt("41794947000")  # bundled table prefix
    assert (swiss.operator, swiss.country, swiss.source) == ("Swisscom", "CH", "registry")
    carrier = reg.attribute_gt("918793714126")  # phonenumbers carrier data
    assert carrier.source == "registry"
    assert carrier.country == "IN"
    assert carrier.operator
    cc = reg.attribute_gt("861370800")
    assert (cc.operator, cc.country, cc.source) == (None, "CN", "country_code")
    assert reg.attribute_gt("").source == "unknown"
    assert reg.attribute_gt("abc").source == "unknown"
    assert reg.attribute_plmn("364-39").source == "profile"
    assert reg.attribute_plmn("228-01").operator == "Swisscom"
    assert reg.attribute_plmn("bad").source == "unknown"
    assert reg.attribute_imsi("234157799119004").country == "GB"


def test_operator_table_errors_point_at_the_line(tmp_path: Path) -> None:
    path = tmp_path / "ops.csv"
    path.write_text("# comment\nmcc_mnc,country,operator,gt_prefixes\n228-01,CH,Swisscom,4179\n22801,CH,X,\n")
    with pytest.raises(ValueError, match=r"ops.csv:4"):
        OperatorTable.load(path)
