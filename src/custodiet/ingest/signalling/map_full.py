"""Full ASN.1 decoding of a MAP argument with pycrate, for operations the fast path does not know.

Off the hot path (about 1 ms per message): used only for invokes whose opcode has no entry in
``map_ops.PARAMETERS``. The MAP module is chosen by the application-context version: MAP v1/v2
or v3 operations of pycrate's ``TCAP_MAPv2v3`` module.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from custodiet.ingest.signalling import ber
from custodiet.ingest.signalling.map_ops import HEX_FIELDS, IDENTIFIER_FIELDS, TBCD_FIELDS


@lru_cache(maxsize=4)
def _argument_types(version: int) -> dict[int, Any]:
    """opcode -> pycrate ASN.1 object of the operation's argument, for MAP v1/v2 or v3."""
    from pycrate_asn1dir import TCAP_MAPv2v3

    prefix = "MAPv2_" if version <= 2 else "MAP_"
    table: dict[int, Any] = {}
    for module_name in dir(TCAP_MAPv2v3):
        if not module_name.startswith(prefix) or not module_name.endswith("Operations"):
            continue
        module = getattr(TCAP_MAPv2v3, module_name)
        for name in dir(module):
            val = getattr(getattr(module, name), "_val", None)
            if not isinstance(val, dict) or "ArgumentType" not in val:
                continue
            code = val.get("operationCode")
            if isinstance(code, tuple) and code[0] == "local":
                table.setdefault(code[1], val["ArgumentType"])
    return table


def identifiers(parameter: bytes, opcode: int | None, ac_version: int | None) -> dict[str, str]:
    """IMSI / MSISDN / IMEI digits found anywhere in the decoded argument (empty if undecodable)."""
    if opcode is None:
        return {}
    arg_type = _argument_types(3 if ac_version is None or ac_version >= 3 else 2).get(opcode)
    if arg_type is None:
        return {}
    try:
        arg_type.from_ber(parameter)
        value = arg_type.get_val()
    except Exception:  # pycrate raises many error types on malformed input; the caller quarantines
        return {}
    out: dict[str, str] = {}
    _collect(value, out)
    return out


def _collect(value: Any, out: dict[str, str], name: str | None = None) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _collect(item, out, key)
    elif isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        _collect(value[1], out, value[0])  # a CHOICE: (alternative, value)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, out, name)
    elif isinstance(value, bytes) and name in IDENTIFIER_FIELDS and name not in out:
        out[name] = (ber.tbcd(value) if name in TBCD_FIELDS else value.hex() if name in HEX_FIELDS
                     else ber.address_digits(value))
