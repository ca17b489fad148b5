"""X1 XML (TS 103 221-1): the streaming reader and the writer, on small hand-written and written files."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from custodiet.ingest.interception.x1xml import X1_NS, X1Item, read_x1_xml, write_x1_xml

XID = "29f28e1c-f230-486a-a860-f5a784ab9172"
XID2 = "5b1d0e7a-0c43-4b8e-9d0f-6c2f1e3a9b71"

ACTIVATE: dict[str, Any] = {
    "messageType": "ActivateTaskRequest",
    "messageTimestamp": "2026-07-03T10:15:02.123456Z",
    "admfIdentifier": "admf-1",
    "neIdentifier": "ne-core-3",
    "x1TransactionId": "3741800e-971b-4aa9-85f4-466d2b1adc7f",
    "xId": XID,
    "targetIdentifiers": [{"e164Number": "447700900123"}, {"imsi": "234150000000001"}, {"imei": "35209900176148"}],
    "deliveryType": "X2andX3",
    "listOfServiceTypes": ["LALS"],
    "listOfMediationDetails": [{"lIID": "W-2026-0001", "startTime": "2026-07-03T10:00:00.000000Z",
                                "endTime": "2026-10-03T10:00:00.000000Z"}],
}
MODIFY: dict[str, Any] = {
    "messageType": "ModifyTaskRequest",
    "messageTimestamp": "2026-08-01T09:00:00.000000Z",
    "admfIdentifier": "admf-1",
    "neIdentifier": "ne-core-3",
    "x1TransactionId": "3741800e-971b-4aa9-85f4-466d2b1adc80",
    "xId": XID,
    "targetIdentifiers": [{"e164Number": "447700900123"}],
    "deliveryType": "X2Only",
    "listOfMediationDetails": [{"lIID": "W-2026-0002"}],
}
DEACTIVATE: dict[str, Any] = {
    "messageType": "DeactivateTaskRequest",
    "messageTimestamp": "2026-09-01T09:00:00.000000+01:00",
    "admfIdentifier": "admf-1",
    "neIdentifier": "ne-core-3",
    "x1TransactionId": "3741800e-971b-4aa9-85f4-466d2b1adc81",
    "xId": XID,
}

# As an ADMF sends it: ns1 prefix, header then taskDetails in the schema's order, a destination id, and
# an element this reader does not know (correlationID) that it must ignore.
NS1_SAMPLE = f"""<?xml version="1.0" encoding="UTF-8"?>
<ns1:X1Request xmlns:ns1="{X1_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
    <ns1:x1RequestMessage xsi:type="ns1:ActivateTaskRequest">
        <ns1:admfIdentifier>admf-1</ns1:admfIdentifier>
        <ns1:neIdentifier>ne-core-3</ns1:neIdentifier>
        <ns1:messageTimestamp>2026-07-03T10:15:02.123456Z</ns1:messageTimestamp>
        <ns1:version>v1.6.1</ns1:version>
        <ns1:x1TransactionId>3741800e-971b-4aa9-85f4-466d2b1adc7f</ns1:x1TransactionId>
        <ns1:taskDetails>
            <ns1:xId>{XID}</ns1:xId>
            <ns1:targetIdentifiers>
                <ns1:targetIdentifier>
                    <ns1:e164Number>447700900123</ns1:e164Number>
                </ns1:targetIdentifier>
                <ns1:targetIdentifier><ns1:imsi>234150000000001</ns1:imsi></ns1:targetIdentifier>
                <ns1:targetIdentifier><ns1:imei>35209900176148</ns1:imei></ns1:targetIdentifier>
            </ns1:targetIdentifiers>
            <ns1:deliveryType>X2andX3</ns1:deliveryType>
            <ns1:listOfDIDs>
                <ns1:dId>19867c20-8c94-473e-b9cd-8b72b7b05fd4</ns1:dId>
            </ns1:listOfDIDs>
            <ns1:listOfMediationDetails>
                <ns1:mediationDetails>
                    <ns1:LIID>W-2026-0001</ns1:LIID>
                    <ns1:deliveryType>HI2andHI3</ns1:deliveryType>
                    <ns1:StartTime>2026-07-03T10:00:00.000000Z</ns1:StartTime>
                    <ns1:EndTime>2026-10-03T10:00:00.000000Z</ns1:EndTime>
                </ns1:mediationDetails>
            </ns1:listOfMediationDetails>
            <ns1:correlationID>42</ns1:correlationID>
            <ns1:listOfServiceTypes>
                <ns1:serviceType>LALS</ns1:serviceType>
            </ns1:listOfServiceTypes>
        </ns1:taskDetails>
    </ns1:x1RequestMessage>
</ns1:X1Request>
"""

# Default namespace, several messages in one document, a comment holding a tag, the mediation details
# spelled as the shared spec has them (lIID/startTime/endTime) and a Ping between the tasks.
DEFAULT_NS_SAMPLE = f"""<?xml version="1.0"?>
<X1Request xmlns="{X1_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <!-- <x1RequestMessage> in a comment is not a message -->
  <x1RequestMessage xsi:type="ModifyTaskRequest">
    <admfIdentifier>admf-1</admfIdentifier>
    <neIdentifier>ne-core-3</neIdentifier>
    <messageTimestamp>2026-08-01T09:00:00.000000Z</messageTimestamp>
    <version>v1.22.1</version>
    <x1TransactionId>3741800e-971b-4aa9-85f4-466d2b1adc80</x1TransactionId>
    <taskDetails>
      <xId>{XID}</xId>
      <targetIdentifiers><targetIdentifier><e164Number>447700900123</e164Number></targetIdentifier></targetIdentifiers>
      <deliveryType>X2Only</deliveryType>
      <listOfDIDs/>
      <listOfMediationDetails><mediationDetails><lIID>W-2026-0002</lIID></mediationDetails></listOfMediationDetails>
    </taskDetails>
  </x1RequestMessage>
  <x1RequestMessage xsi:type="PingRequest">
    <admfIdentifier>admf-1</admfIdentifier>
  </x1RequestMessage>
  <x1RequestMessage xsi:type="DeactivateTaskRequest">
    <admfIdentifier>admf-1</admfIdentifier>
    <neIdentifier>ne-core-3</neIdentifier>
    <messageTimestamp>2026-09-01T09:00:00.000000+01:00</messageTimestamp>
    <version>v1.22.1</version>
    <x1TransactionId>3741800e-971b-4aa9-85f4-466d2b1adc81</x1TransactionId>
    <xId>{XID}</xId>
  </x1RequestMessage>
</X1Request>
"""


def read(data: str | bytes) -> list[X1Item]:
    raw = data.encode() if isinstance(data, str) else data
    return list(read_x1_xml(io.BytesIO(raw), "x1.xml"))


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based line of the nth occurrence of needle in text."""
    at = -1
    for _ in range(nth):
        at = text.index(needle, at + 1)
    return text.count("\n", 0, at) + 1


def test_ns1_sample_maps_to_the_json_form() -> None:
    (item,) = read(NS1_SAMPLE)
    assert item.error is None
    assert item.message == ACTIVATE
    assert item.line == 3


def test_default_namespace_several_messages_in_order_with_exact_lines() -> None:
    items = read(DEFAULT_NS_SAMPLE)
    assert [i.message for i in items] == [MODIFY, {"messageType": "PingRequest"}, DEACTIVATE]
    assert [i.line for i in items] == [line_of(DEFAULT_NS_SAMPLE, '<x1RequestMessage xsi:type', n) for n in (1, 2, 3)]
    assert [i.line for i in items] == [4, 18, 21]


def test_concatenated_documents_each_with_or_without_a_declaration() -> None:
    without_decl = DEFAULT_NS_SAMPLE.split("\n", 1)[1]
    text = NS1_SAMPLE + without_decl + NS1_SAMPLE.replace("ns1:", "x1:").replace("xmlns:ns1", "xmlns:x1")
    items = read(text)
    assert [i.error for i in items] == [None] * 5
    assert [i.message for i in items] == [ACTIVATE, MODIFY, {"messageType": "PingRequest"}, DEACTIVATE, ACTIVATE]
    starts = [line_of(text, "RequestMessage xsi:type", n) for n in range(1, 6)]
    assert [i.line for i in items] == starts


def test_root_end_and_next_root_on_one_line() -> None:
    one = write_x1_xml([DEACTIVATE]).replace('<?xml version="1.0" encoding="UTF-8"?>\n', "")
    text = one.rstrip("\n") + one  # "</X1Request><X1Request ..." on one line
    items = read(text)
    assert [i.message for i in items] == [DEACTIVATE, DEACTIVATE]
    assert [i.line for i in items] == [2, line_of(text, "<x1RequestMessage", 2)]


def test_other_request_types_and_unknown_types_come_back_as_their_type_only() -> None:
    text = f"""<X1Request xmlns="{X1_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:q="{X1_NS}">
<x1RequestMessage xsi:type="q:GetTaskDetailsRequest"><xId>{XID}</xId></x1RequestMessage>
<x1RequestMessage xsi:type="CreateDestinationRequest"/>
<x1RequestMessage xsi:type="FrobnicateRequest"/>
</X1Request>"""
    assert [i.message for i in read(text)] == [
        {"messageType": "GetTaskDetailsRequest"}, {"messageType": "CreateDestinationRequest"},
        {"messageType": "FrobnicateRequest"},
    ]


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        ((f"<ns1:xId>{XID}</ns1:xId>", ""), "ActivateTaskRequest has no <taskDetails>/<xId>"),
        ((f"<ns1:xId>{XID}</ns1:xId>", "<ns1:xId> </ns1:xId>"), "empty <xId>"),
        (("<ns1:neIdentifier>ne-core-3</ns1:neIdentifier>", ""), "ActivateTaskRequest has no <neIdentifier>"),
        ((' xsi:type="ns1:ActivateTaskRequest"', ""), "x1RequestMessage has no xsi:type"),
        (("<ns1:LIID>W-2026-0001</ns1:LIID>", ""), "ActivateTaskRequest has a <mediationDetails> without <LIID>"),
        (("<ns1:deliveryType>X2andX3</ns1:deliveryType>", ""),
         "ActivateTaskRequest has no <taskDetails>/<deliveryType>"),
    ],
)
def test_a_message_that_cannot_be_mapped_names_the_element(edit: tuple[str, str], reason: str) -> None:
    text = NS1_SAMPLE.replace(*edit, 1) + NS1_SAMPLE  # a good document follows
    assert text != NS1_SAMPLE * 2
    first, second = read(text)
    assert first.message is None
    assert first.error == reason
    assert first.line == 3
    assert first.raw.startswith("<ns1:x1RequestMessage")
    assert "admf-1" in first.raw
    assert second.message == ACTIVATE


def test_deactivate_without_xid_is_rejected() -> None:
    text = write_x1_xml([DEACTIVATE]).replace(f"<xId>{XID}</xId>", "")
    (item,) = read(text)
    assert item.message is None
    assert item.error == "DeactivateTaskRequest has no <xId>"


def test_malformed_xml_mid_file_is_one_error_and_later_documents_are_still_read() -> None:
    good = write_x1_xml([ACTIVATE, MODIFY], per_document=2, prefix="ns1")
    bad = write_x1_xml([DEACTIVATE, ACTIVATE], per_document=2).replace("</neIdentifier>", "</neIdentifer>", 1)
    text = good + bad + write_x1_xml([DEACTIVATE])
    items = read(text)
    assert [i.message for i in items] == [ACTIVATE, MODIFY, None, DEACTIVATE]
    error = items[2]
    assert error.line == line_of(text, "</neIdentifer>")
    assert error.error is not None
    assert error.error.startswith("not well-formed XML: Opening and ending tag mismatch")
    assert f"line {error.line}" in error.error  # libxml2's line numbers are rewritten to file lines
    assert not error.cut


def test_garbage_before_a_document_does_not_swallow_it() -> None:
    text = "this is not xml\n" + write_x1_xml([DEACTIVATE])
    items = read(text)
    assert [(i.line, i.message is None) for i in items] == [(1, True), (4, False)]
    assert items[1].message == DEACTIVATE


def test_truncated_file_is_reported_never_read_as_whole() -> None:
    text = write_x1_xml([ACTIVATE, DEACTIVATE], per_document=2)
    cut_at = text.index("<xId>", text.index("DeactivateTaskRequest"))
    items = read(text[:cut_at + 8])
    assert [i.message for i in items[:-1]] == [ACTIVATE]
    last = items[-1]
    assert last.message is None
    assert last.cut
    assert last.error is not None
    assert "x1.xml ends inside an X1Request document" in last.error
    assert last.line == text[:cut_at].count("\n") + 1


def test_document_cut_short_by_the_next_one_is_reported() -> None:
    first = write_x1_xml([ACTIVATE])
    text = first[: first.index("</x1RequestMessage>")] + write_x1_xml([DEACTIVATE])
    items = read(text)
    assert [i.message for i in items] == [None, DEACTIVATE]
    assert items[0].error is not None
    assert "Premature end of data" in items[0].error
    assert not items[0].cut


def test_truncated_gzip_is_reported(tmp_path: Path) -> None:
    text = write_x1_xml([ACTIVATE, MODIFY, DEACTIVATE], per_document=3).encode()
    packed = gzip.compress(text)
    path = tmp_path / "x1.xml.gz"
    path.write_bytes(packed[: len(packed) - 30])
    with gzip.open(path, "rb") as fh:
        items = list(read_x1_xml(fh, path.name))
    assert items[-1].cut
    assert all(i.message is not None for i in items[:-1])


def test_gzip_file_through_gzip_open(tmp_path: Path) -> None:
    messages = [ACTIVATE, MODIFY, DEACTIVATE]
    path = tmp_path / "x1.xml.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(write_x1_xml(messages, per_document=2, prefix="ns1"))
    with gzip.open(path, "rb") as fh:
        items = list(read_x1_xml(fh, path.name))
    assert [i.message for i in items] == messages


def test_entity_expansion_is_refused() -> None:
    bomb = f"""<?xml version="1.0"?>
<!DOCTYPE X1Request [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY x SYSTEM "file:///etc/passwd">
]>
<X1Request xmlns="{X1_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <x1RequestMessage xsi:type="PingRequest"><admfIdentifier>&c;&x;</admfIdentifier></x1RequestMessage>
</X1Request>
"""
    items = read(bomb + write_x1_xml([DEACTIVATE]))
    assert [i.message for i in items] == [None, DEACTIVATE]
    assert items[0].line == 2
    assert items[0].error is not None
    assert "DOCTYPE not allowed" in items[0].error


def test_undeclared_entity_is_an_error_not_expanded() -> None:
    text = write_x1_xml([DEACTIVATE]).replace("admf-1", "&xxe;")
    (item,) = read(text)
    assert item.message is None
    assert item.error is not None
    assert "xxe" in item.error


def test_root_that_is_not_x1request() -> None:
    text = f'<X1Response xmlns="{X1_NS}"><x1ResponseMessage/></X1Response>\n' + write_x1_xml([DEACTIVATE])
    items = read(text)
    assert [i.error for i in items] == ["document root is <X1Response>, not <X1Request>", None]


def test_byte_order_mark_and_blank_file() -> None:
    one = write_x1_xml([DEACTIVATE]).encode()
    assert [i.message for i in read(b"\xef\xbb\xbf" + one)] == [DEACTIVATE]
    items = read(b"\xef\xbb\xbf" + one + b"\xef\xbb\xbf" + one)  # cat of two files, each with its mark
    second = line_of(one.decode() * 2, "<x1RequestMessage", 2)
    assert [(i.line, i.message) for i in items] == [(3, DEACTIVATE), (second, DEACTIVATE)]
    items = read(b"\n\n" + one)  # blank lines before the declaration
    assert [(i.line, i.message) for i in items] == [(5, DEACTIVATE)]
    assert read(b"") == []
    assert read(b"\n\n") == []


def test_other_identifier_kinds_keep_their_element_name() -> None:
    text = write_x1_xml([ACTIVATE]).replace(
        "<imei>35209900176148</imei>", "<sipUri>sip:alice@example.org</sipUri>"
    ).replace(
        "<imsi>234150000000001</imsi>", "<tcpPortRange><low>80</low><high>90</high></tcpPortRange>"
    )
    (item,) = read(text)
    assert item.message is not None
    assert item.message["targetIdentifiers"] == [
        {"e164Number": "447700900123"}, {"tcpPortRange": "low=80,high=90"}, {"sipUri": "sip:alice@example.org"}
    ]


def test_no_service_types_means_no_key() -> None:
    (item,) = read(write_x1_xml([MODIFY]))
    assert item.message == MODIFY
    assert "listOfServiceTypes" not in item.message


@pytest.mark.parametrize("prefix", [None, "ns1", "x1"])
@pytest.mark.parametrize("per_document", [1, 2, 5])
def test_round_trip(prefix: str | None, per_document: int) -> None:
    messages = [ACTIVATE, MODIFY, DEACTIVATE, {**ACTIVATE, "xId": XID2, "listOfServiceTypes": ["voice", "data"]}]
    text = write_x1_xml(messages, per_document=per_document, prefix=prefix)
    assert text.count("<?xml") == -(-len(messages) // per_document)
    items = read(text)
    assert [i.message for i in items] == messages
    assert [i.line for i in items] == [line_of(text, "RequestMessage xsi:type", n) for n in range(1, 5)]


def test_writer_follows_the_schema_order_and_names() -> None:
    root = etree.fromstring(write_x1_xml([ACTIVATE]).encode())
    q = f"{{{X1_NS}}}"
    message = root[0]
    assert message.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "ActivateTaskRequest"
    assert [c.tag.removeprefix(q) for c in message] == [
        "admfIdentifier", "neIdentifier", "messageTimestamp", "version", "x1TransactionId", "taskDetails"
    ]
    details = message.find(f"{q}taskDetails")
    assert details is not None
    assert [c.tag.removeprefix(q) for c in details] == [
        "xId", "targetIdentifiers", "deliveryType", "listOfDIDs", "listOfMediationDetails", "listOfServiceTypes"
    ]
    mediation = details.find(f"{q}listOfMediationDetails/{q}mediationDetails")
    assert mediation is not None
    assert [(c.tag.removeprefix(q), c.text) for c in mediation] == [
        ("LIID", "W-2026-0001"), ("deliveryType", "HI2andHI3"),
        ("StartTime", "2026-07-03T10:00:00.000000Z"), ("EndTime", "2026-10-03T10:00:00.000000Z"),
    ]
    assert details.findtext(f"{q}targetIdentifiers/{q}targetIdentifier/{q}e164Number") == "447700900123"


def test_writer_escapes_text_and_rejects_incomplete_messages() -> None:
    odd = {**DEACTIVATE, "neIdentifier": "ne<&>1"}
    assert [i.message for i in read(write_x1_xml([odd]))] == [odd]
    with pytest.raises(ValueError, match="message 1: xId"):
        write_x1_xml([DEACTIVATE, {**DEACTIVATE, "xId": ""}])
    with pytest.raises(ValueError, match="targetIdentifiers"):
        write_x1_xml([{**ACTIVATE, "targetIdentifiers": []}])
    assert write_x1_xml([]) == ""


def test_large_file_streams_with_exact_lines_past_libxml2_line_limit() -> None:
    # libxml2 reports element lines above 65,535 approximately; the reader's own count must stay exact.
    messages = [{**DEACTIVATE, "xId": f"00000000-0000-0000-0000-{n:012d}"} for n in range(9_000)]
    text = write_x1_xml(messages, per_document=len(messages))  # one document: libxml2 counts from its start
    assert text.count("\n") > 70_000
    items = read(text)
    assert [i.message for i in items] == messages
    expected, at, line, counted = [], -1, 1, 0
    for _ in messages:
        at = text.index("<x1RequestMessage", at + 1)
        line += text.count("\n", counted, at)
        counted = at
        expected.append(line)
    assert [i.line for i in items] == expected


def test_block_boundaries_do_not_split_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    from custodiet.ingest.interception import x1xml

    monkeypatch.setattr(x1xml, "BLOCK_BYTES", 7)
    first, second = (write_x1_xml([m], prefix="ns1") for m in (ACTIVATE, DEACTIVATE))
    text = first + "\ufeff" + second + "<!-- <x1RequestMessage> -->\n"
    items = read(text)
    assert [i.message for i in items] == [ACTIVATE, DEACTIVATE]
    assert [i.line for i in items] == [3, line_of(text, "<ns1:x1RequestMessage", 2)]


def test_every_cut_point_is_reported_and_never_yields_a_partial_message() -> None:
    messages = [ACTIVATE, MODIFY, DEACTIVATE, ACTIVATE]
    text = write_x1_xml(messages, per_document=2, prefix="ns1").encode()
    last_root_end = text.rindex(b"</ns1:X1Request>") + len(b"</ns1:X1Request>")
    for cut in range(0, len(text), 7):
        items = read(text[:cut])
        got = [i.message for i in items if i.message is not None]
        assert got == messages[: len(got)], cut  # whole messages, in order, never a part of one
        whole = not text[:cut].strip() or text[:cut].rstrip().endswith(b"</ns1:X1Request>")
        assert cut >= last_root_end or whole or items[-1].cut, cut  # a cut inside a document is reported


def test_a_stray_markup_character_anywhere_never_raises_and_never_invents_a_message() -> None:
    messages = [ACTIVATE, DEACTIVATE]
    text = write_x1_xml(messages, per_document=1)
    for at in range(0, len(text), 11):
        for stray in ("<", "&"):
            items = read(text[:at] + stray + text[at:])
            assert all(i.message in messages for i in items if i.message is not None), (at, stray)
