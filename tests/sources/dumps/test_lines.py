"""Line batches out of decompressed streams: chunk boundaries, byte-level rejects, resume skips.

Chunks are made tiny so that lines straddle them, a line outgrows a whole chunk and the file
ends without a newline; the expected lines are split by hand from the same bytes.
"""

from __future__ import annotations

import io
import json

import pytest

from communitybench.sources.dumps import lines as mod


def collect(data: bytes, *, chunk: int, skip: int = 0, max_line_bytes: int = 1000):
    batches = list(
        mod.iter_line_batches(
            io.BufferedReader(io.BytesIO(data)),
            batch_lines=3,
            max_line_bytes=max_line_bytes,
            skip_lines=skip,
        )
    )
    kept = [(n, s) for b in batches for n, s in zip(b.line_numbers, b.lines, strict=True)]
    rejected = [(n, reason, raw) for b in batches for n, reason, raw in b.rejected]
    accounted = sorted(n for b in batches for n in range(b.first_line, b.last_line + 1))
    return [(n.as_py(), s.as_py()) for n, s in kept], rejected, accounted


@pytest.mark.parametrize("chunk", [7, 16, 64, 1 << 20])
def test_lines_across_chunk_boundaries(monkeypatch, chunk):
    monkeypatch.setattr(mod, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(mod, "FIRST_CHUNK_BYTES", chunk)
    long = '{"body": "' + "x" * 50 + '"}'  # longer than a 7- or 16-byte chunk
    text = ['{"id": 1}', long, '{"a": "naïve 👍"}', "[1]", "{}", '{"last": true}']
    data = "\n".join(text).encode()  # no newline after the last line

    kept, rejected, accounted = collect(data, chunk=chunk)

    assert [n for n, _ in kept] == [1, 2, 3, 4, 5, 6]
    assert [s.rstrip("\n") for _, s in kept] == text
    assert rejected == []
    assert accounted == [1, 2, 3, 4, 5, 6]  # every line in exactly one batch


@pytest.mark.parametrize("chunk", [9, 1 << 20])
def test_byte_level_rejects_keep_their_line_numbers(monkeypatch, chunk):
    monkeypatch.setattr(mod, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(mod, "FIRST_CHUNK_BYTES", chunk)
    data = (
        b'{"a": 1}\n\n{"b": "\xff\xfe"}\n{"c": "\x00"}\n'
        + b'{"d": "'
        + b"y" * 40
        + b'"}\n{"e": 5}\n'
    )

    kept, rejected, accounted = collect(data, chunk=chunk, max_line_bytes=30)

    assert [(n, s.rstrip("\n")) for n, s in kept] == [(1, '{"a": 1}'), (6, '{"e": 5}')]
    assert [(n, reason) for n, reason, _ in rejected] == [
        (2, "empty_line"),
        (3, "invalid_utf8"),
        (4, "null_byte"),
        (5, "line_too_long"),
    ]
    assert rejected[1][2] == b'{"b": "\xff\xfe"}'  # the raw bytes are kept for the quarantine
    assert accounted == [1, 2, 3, 4, 5, 6]


def test_resume_skips_committed_lines(monkeypatch):
    monkeypatch.setattr(mod, "CHUNK_BYTES", 12)
    monkeypatch.setattr(mod, "FIRST_CHUNK_BYTES", 12)
    data = b"".join(b'{"n": %d}\n' % i for i in range(1, 11))

    kept, _, accounted = collect(data, chunk=12, skip=7)

    assert [n for n, _ in kept] == [8, 9, 10]
    assert [s for _, s in kept] == ['{"n": 8}\n', '{"n": 9}\n', '{"n": 10}\n']
    assert accounted == [8, 9, 10]


def test_a_small_first_chunk_then_large_ones(monkeypatch):
    """The first chunk is small (DuckDB starts early), the next ones large: lines still come
    out whole and in order across the change of size."""
    monkeypatch.setattr(mod, "FIRST_CHUNK_BYTES", 10)
    monkeypatch.setattr(mod, "CHUNK_BYTES", 40)
    text = [json.dumps({"n": i, "pad": "z" * (i % 5)}) for i in range(1, 13)]
    data = ("\n".join(text) + "\n").encode()

    kept, rejected, accounted = collect(data, chunk=40)

    assert [s.rstrip("\n") for _, s in kept] == text
    assert [n for n, _ in kept] == list(range(1, 13)) == accounted
    assert rejected == []


def test_empty_stream_yields_nothing():
    assert collect(b"", chunk=1 << 20) == ([], [], [])
