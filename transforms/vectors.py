"""Vectors in Arrow: the FLOAT[] columns DuckDB stores embeddings and centroids in."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def vector_column(vectors: np.ndarray) -> pa.ListArray:
    """A float32 (n, dim) array as an Arrow list column (DuckDB FLOAT[]), without copies."""
    n, dim = vectors.shape
    values = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).ravel())
    offsets = pa.array(np.arange(n + 1, dtype=np.int32) * dim)
    return pa.ListArray.from_arrays(offsets, values)


def vectors_from_arrow(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """An Arrow list<float> column of equal-length vectors as a float32 (n, dim) array."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    n = len(column)
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    flat = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return flat.reshape(n, -1)
