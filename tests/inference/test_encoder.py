"""communitybench.inference.encoder: device choice, the offline model, and pure encode calls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from communitybench.inference import encoder
from warehouse import StageInputError

TEXTS = [
    "Which board game works best for two players?",
    "Tomatoes split after heavy rain; water evenly.",
    "Which board game works best for two players?",
]


def test_auto_device_follows_torch():
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert encoder.resolve_device("auto") == want
    assert encoder.resolve_device("cpu") == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(StageInputError, match="no CUDA device"):
        encoder.resolve_device("cuda")


def test_the_offline_model_loads_from_its_package():
    location = encoder.model_location(encoder.OFFLINE_MODEL, encoder.OFFLINE_REVISION)
    assert Path(location).is_dir()
    # any other model name is passed through (a local folder or a hub id)
    assert encoder.model_location("some/model", "main") == "some/model"


def test_a_model_that_cannot_be_loaded_says_what_to_use(tmp_path):
    with pytest.raises(StageInputError, match=encoder.OFFLINE_REVISION):
        encoder.load_encoder(str(tmp_path / "no-model-here"), "main", "cpu")


def test_encode_chunk_gives_unit_float32_vectors_whatever_the_batching():
    kwargs = {"model": encoder.OFFLINE_MODEL, "revision": encoder.OFFLINE_REVISION}
    one = encoder.encode_chunk(TEXTS, **kwargs, device="cpu", batch_size=1)
    three = encoder.encode_chunk(TEXTS, **kwargs, device="auto", batch_size=3, cpu_threads=1)
    assert one.shape == (3, 384) and one.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(one, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(one, three, atol=1e-4)
    np.testing.assert_array_equal(one[0], one[2])  # the same text, the same vector
    assert float(one[0] @ one[1]) < 0.5  # unrelated texts are far apart


def test_torch_threads_are_restored():
    before = torch.get_num_threads()
    with encoder.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with encoder.torch_threads(0):  # 0: leave torch's setting
        assert torch.get_num_threads() == before
