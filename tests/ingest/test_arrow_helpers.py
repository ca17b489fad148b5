"""Arrow helpers of the ingest that avoid pyarrow's and DuckDB's pandas import."""

from __future__ import annotations

import pyarrow as pa
import pytest

from custodiet.arrow_columns import string_array
from custodiet.ingest.emit import _increasing, prefetched


@pytest.mark.parametrize("values", [
    [], ["a"], [None], ["", None, "x"], ["héllo", "wörld", None, "✓"], [f"{i:010d}" for i in range(1000)],
])
def test_string_array_holds_the_values(values):
    array = string_array(values)
    assert array.type == pa.string()
    assert array.to_pylist() == values
    assert array.null_count == sum(v is None for v in values)
    array.validate(full=True)


@pytest.mark.parametrize(("chunks", "expected"), [
    ([[1, 2, 5]], True), ([[1, 2], [3, 9]], True), ([[1, 3], [3]], False), ([[2, 1]], False),
    ([[], [4], [], [5]], True), ([[4], [], [4]], False), ([], True),
])
def test_increasing_reads_int64_chunks(chunks, expected):
    column = pa.chunked_array([pa.array(c, pa.int64()) for c in chunks], pa.int64())
    assert _increasing(column) is expected
    sliced = column.slice(1)  # chunks with an offset
    values = sliced.to_pylist()
    assert _increasing(sliced) is all(a < b for a, b in zip(values, values[1:], strict=False))


def test_prefetched_keeps_order_and_passes_errors_on():
    assert list(prefetched(iter(range(5)))) == [0, 1, 2, 3, 4]

    def failing():
        yield 1
        raise ValueError("boom")

    got = []
    with pytest.raises(ValueError, match="boom"):
        got.extend(prefetched(failing()))
    assert got == [1]
