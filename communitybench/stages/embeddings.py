"""Stage ``embeddings``: every distinct cleaned text → a vector, cached across rebuilds.

``embeddings`` is a cache keyed by (model, revision, text_hash) that is never replaced: only
texts with no vector for the configured model revision are encoded, longest first, in chunks of
``[runner] embed_chunk`` texts. Each chunk is an ``encode_chunk`` call on the flow's task runner
(this process, or Dask workers) and its vectors are inserted here as they arrive, so an
interrupted run keeps every finished chunk and the rerun encodes only the rest.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
from tqdm import tqdm

import schemas
import warehouse
from communitybench import runner
from communitybench.config import EmbedConfig, RunnerConfig
from communitybench.inference.encoder import encode_chunk, resolve_device
from communitybench.stage import Stage, StageParams, StageResult, Work
from transforms.vectors import vector_column

EMBEDDINGS_VERSION = "embeddings_v1"


class Params(StageParams):
    embed: EmbedConfig
    runner: RunnerConfig


def distinct_texts(con) -> int:
    """Distinct non-empty cleaned texts (what the cache should hold)."""
    texts = con.table("texts").filter("clean_text <> ''")
    return texts.aggregate("count(distinct text_hash)").fetchall()[0][0]


def run(con, params: Params) -> StageResult:
    """Encode the texts that have no cached vector; report cached vs computed."""
    embed = params.embed
    con.execute(schemas.ddl(schemas.load_schema("embeddings")))  # a cache: never replaced
    key = {"model": embed.model, "revision": embed.revision}
    missing = warehouse.query(con, "int_texts_to_embed", key).to_arrow_table()
    total = distinct_texts(con)
    device, rate = None, None
    if missing.num_rows:  # no torch import when everything is cached
        device = embed.device if runner.distributed() else resolve_device(embed.device)
        encode = {**key, "device": device, "batch_size": embed.batch_size}
        encode["cpu_threads"] = embed.cpu_threads
        started = time.perf_counter()
        _embed_missing(con, missing, encode, params.runner)
        rate = round(missing.num_rows / (time.perf_counter() - started), 1)
    where = runner.describe(params.runner)
    note = f"{embed.model} @ {embed.revision}"
    return StageResult(
        name="embeddings",
        version=EMBEDDINGS_VERSION,
        work=(
            Work("texts", computed=missing.num_rows, reused=total - missing.num_rows, note=note),
        ),
        rows={"embeddings": missing.num_rows},
        notes=(
            f"device {device or 'not loaded (everything cached)'}; runner {where}"
            + (f"; {rate:,.1f} texts/s" if rate else ""),
        ),
        details={
            **key,
            "device": device,
            "batch_size": embed.batch_size,
            "texts": total,
            "cached": total - missing.num_rows,
            "computed": missing.num_rows,
            "runner": where,
            "texts_per_s": rate,
        },
    )


def _embed_missing(con, missing: pa.Table, encode: dict, where: RunnerConfig) -> None:
    hashes = missing.column("text_hash").to_pylist()
    texts = missing.column("clean_text").to_pylist()
    size = where.embed_chunk
    starts = range(0, len(texts), size)
    chunks = (texts[start : start + size] for start in starts)
    window = runner.window_size(where)
    results = runner.map_ordered(encode_chunk, chunks, window=window, **encode)
    with tqdm(total=len(texts), desc="embed", unit="text") as bar:
        for start, vectors in zip(starts, results, strict=True):
            expected = min(size, len(texts) - start)
            if len(vectors) != expected:
                raise RuntimeError(
                    f"embedding chunk at {start}: {len(vectors)} vectors for {expected}"
                )
            insert_vectors(
                con, encode["model"], encode["revision"], hashes[start : start + size], vectors
            )
            bar.update(len(vectors))


def insert_vectors(con, model: str, revision: str, hashes: list[str], vectors: np.ndarray) -> None:
    """Append one chunk's vectors to the cache (one Arrow insert, committed on its own)."""
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
        },
        schema=schemas.arrow_schema(schemas.load_schema("embeddings")),
    )
    con.from_arrow(table).insert_into("embeddings")  # the contract's column order


def carried_work(con) -> tuple[Work, ...]:
    return (Work("texts", reused=distinct_texts(con)),)


STAGE = Stage(
    name="embeddings",
    version=EMBEDDINGS_VERSION,
    params=Params,
    run=run,
    doc="encode texts without a cached vector (sentence-transformers; Dask workers when asked)",
    inputs=("texts",),
    outputs=("embeddings",),
    reusable=True,
    carried_work=carried_work,
)
