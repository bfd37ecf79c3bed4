"""transforms.vectors: float32 arrays ↔ Arrow list columns (DuckDB FLOAT[])."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from transforms.vectors import vector_column, vectors_from_arrow


def test_round_trip_keeps_rows_and_float32_values():
    vectors = np.arange(12, dtype=np.float64).reshape(4, 3) / 7
    column = vector_column(vectors)
    assert column.type == pa.list_(pa.float32()) and len(column) == 4
    assert column[1].as_py() == [np.float32(v) for v in vectors[1]]
    back = vectors_from_arrow(pa.chunked_array([column[:1], column[1:]]))
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, vectors.astype(np.float32))


def test_no_rows():
    assert vectors_from_arrow(vector_column(np.zeros((0, 5)))).shape == (0, 0)
