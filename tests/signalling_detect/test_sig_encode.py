"""The simulator's template-filled TCAP/MAP bytes decode back (with pycrate) to exactly the values set."""

from __future__ import annotations

import pytest

from custodiet.simulate.signalling.encode import MAP_OPS, map_answer, map_invoke, message_codec, plmn_id
from custodiet.simulate.signalling.pcap import crc32c, isdn_address, sccp_address, tbcd

IMSI, MSISDN, GT = "001010000012345", "447700900123", "339900000011"


@pytest.mark.parametrize("opcode", sorted(MAP_OPS))
def test_invoke_template_decodes_to_the_given_values(opcode):
    data = map_invoke(opcode, 0x01020304, imsi=IMSI, msisdn=MSISDN, node_gt=GT)
    codec = message_codec()
    codec.from_ber(data)
    kind, begin = codec.get_val()
    assert kind == "begin"
    assert begin["otid"] == bytes.fromhex("01020304")
    invoke = begin["components"][0][1][1]
    assert invoke["opcode"] == ("local", opcode)
    text = codec.to_asn1()
    op = MAP_OPS[opcode]
    if "imsi" in op.needs:
        assert tbcd(IMSI).hex().upper() in text
    if "msisdn" in op.needs:
        assert isdn_address(MSISDN).hex().upper() in text
    if "gt" in op.needs:
        assert isdn_address(GT).hex().upper() in text
    acn = begin["dialoguePortion"]["encoding"][1][1][1]["application-context-name"]
    assert acn == (0, 4, 0, 0, 1, 0, op.app_context, op.version)


def test_answers_carry_the_transaction_and_error():
    codec = message_codec()
    codec.from_ber(map_answer(70, 7, error_code=21))
    kind, end = codec.get_val()
    assert kind == "end"
    assert end["dtid"] == (7).to_bytes(4, "big")
    assert end["components"][0][1][0] == "returnError"


def test_fixed_lengths_are_enforced():
    with pytest.raises(ValueError, match="imsi"):
        map_invoke(2, 1, imsi="12345", node_gt=GT)


def test_lower_layer_helpers():
    assert crc32c(b"123456789") == 0xE3069283  # the CRC32c check value (RFC 3720 B.4)
    assert tbcd("12345") == bytes.fromhex("2143f5")
    assert plmn_id("310-260") == bytes.fromhex("130062")
    assert plmn_id("208-95") == bytes.fromhex("02f859")
    addr = sccp_address("442079460001", 6)
    assert addr[0] == len(addr) - 1
    assert addr[1:3] == bytes([0x12, 6])
