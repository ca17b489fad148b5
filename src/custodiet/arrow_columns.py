"""Arrow arrays from Python lists, built from buffers.

Why not ``pa.array(list)``: its first call imports pandas (pyarrow checks whether the list is a pandas
object), which costs about 0.6 s of start-up, more than the rest of a typical ingest. Building the
buffers ourselves is as exact and, for the string and integer columns of events, nearly as fast.
"""

from __future__ import annotations

import array
from collections.abc import Sequence
from itertools import accumulate
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_MAX_BYTES = (1 << 31) - 1  # a ``string`` array's offsets are 32-bit
_CHUNK = 1 << 20  # values per chunk when a column is too large for one array

if array.array("i").itemsize != 4 or array.array("q").itemsize != 8:  # pragma: no cover - exotic platforms
    raise ImportError("custodiet's Arrow column builder needs 32-bit C int and 64-bit long long")


def _validity(values: Sequence[object]) -> pa.Buffer | None:
    """The validity bitmap of a list with None for nulls, or None when nothing is null."""
    if None not in values:
        return None
    valid = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def string_array(values: Sequence[str | None]) -> pa.Array | pa.ChunkedArray:
    """A ``string`` array of the values (None is null); chunked when one array would overflow."""
    texts = cast(Sequence[str], values) if None not in values else ["" if v is None else v for v in values]
    joined = "".join(texts)  # raises TypeError for anything but str, as pa.array would (ArrowTypeError)
    data = joined.encode("utf-8")
    if len(data) > _MAX_BYTES:
        return pa.chunked_array([string_array(values[i : i + _CHUNK]) for i in range(0, len(values), _CHUNK)],
                                pa.string())
    # all ASCII when the UTF-8 is as long as the text: then byte lengths are character lengths
    lengths = map(len, texts) if len(data) == len(joined) else (len(t.encode("utf-8")) for t in texts)
    offsets = np.zeros(len(values) + 1, dtype=np.int32)  # the total fits: checked against _MAX_BYTES above
    np.cumsum(np.fromiter(lengths, dtype=np.int32, count=len(values)), out=offsets[1:])
    return pa.Array.from_buffers(pa.string(), len(values), [_validity(values), pa.py_buffer(offsets),
                                                            pa.py_buffer(data)])


def binary_array(values: Sequence[bytes | None]) -> pa.Array:
    """A ``binary`` array of the values (None is null); for columns under 2 GiB."""
    blobs = cast(Sequence[bytes], values) if None not in values else [b"" if v is None else v for v in values]
    data = b"".join(blobs)
    if len(data) > _MAX_BYTES:
        raise ValueError(f"binary column of {len(data)} bytes: too large for one array")
    offsets = array.array("i", [0])
    offsets.extend(accumulate(map(len, blobs)))
    return pa.Array.from_buffers(pa.binary(), len(values), [_validity(values), pa.py_buffer(offsets),
                                                            pa.py_buffer(data)])


def int64_array(values: Sequence[int | None], type: pa.DataType | None = None) -> pa.Array:
    """An ``int64`` (or same-width ``type``, e.g. a timestamp) array of the values; None is null."""
    validity = _validity(values)
    ints = cast(Sequence[int], values) if validity is None else [0 if v is None else v for v in values]
    return pa.Array.from_buffers(type or pa.int64(), len(values), [validity, pa.py_buffer(array.array("q", ints))])


def constant_strings(value: str, n: int) -> pa.Array:
    """A ``string`` array of ``n`` copies of ``value``."""
    data = value.encode("utf-8")
    offsets = np.arange(n + 1, dtype=np.int64) * len(data)
    if offsets[-1] > _MAX_BYTES:
        raise ValueError(f"{n} copies of {value!r} do not fit one string array")
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets.astype(np.int32)),
                                                  pa.py_buffer(data * n)])


def from_numpy(values: np.ndarray) -> pa.Array:
    """A one-dimensional numpy array of numbers or booleans as an Arrow array without nulls (numbers share
    the numpy buffer). Like ``pa.array(list)``, ``pa.array(ndarray)`` imports pandas on first use."""
    values = np.ascontiguousarray(values)
    if values.dtype == np.bool_:
        bits = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values), [None, pa.py_buffer(values)])


# Scalars built from buffers: a Python str argument makes pyarrow import pandas (half a second).
_EMPTY, _NULL = string_array([""])[0], string_array([None])[0]


def trimmed_text(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Spaces cut from both ends of every value (as the engine's ``trim``), and a value left empty made null.
    A column with no space and no empty value, the common case, is returned as it is: looking costs a
    fraction of cutting, which copies every value twice."""
    if not pc.any(pc.match_substring(column, " ")).as_py() and not pc.any(pc.equal(column, _EMPTY)).as_py():
        return column
    cut = pc.utf8_trim(column, characters=" ")
    return pc.if_else(pc.equal(cut, _EMPTY), _NULL, cut)
