"""Streaming NDJSON lines out of plain, .gz or .zst files, in batches, with byte-level screening.

Pushshift's .zst files are written with a 2 GiB window, which a default zstd decoder refuses, so
the decoder is opened with ``max_window_size=2**31``. Compression is detected from magic bytes,
not the file name.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_MAGIC = b"\x1f\x8b"
CHUNK_BYTES = 8 << 20


@dataclass
class LineBatch:
    """Lines ``first_line .. first_line+len(lines)-1`` (1-based) that passed byte screening."""

    first_line: int
    line_numbers: list[int]
    lines: list[str]
    rejected: list[tuple[int, str, bytes]] = field(default_factory=list)  # (line, reason, raw)


class _CountingReader(io.RawIOBase):
    """Counts compressed bytes consumed, for an honest progress bar."""

    def __init__(self, raw):
        self.raw = raw
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.raw.readinto(buffer)
        self.consumed += n or 0
        return n


def open_decompressed(path: Path) -> tuple[io.BufferedIOBase, _CountingReader]:
    """Open ``path`` as a decompressed binary stream; also return the raw byte counter."""
    raw = _CountingReader(open(path, "rb"))  # noqa: SIM115 - closed by the caller's stream
    magic = path.open("rb").read(4)
    if magic.startswith(ZSTD_MAGIC):
        dctx = zstandard.ZstdDecompressor(max_window_size=2**31)
        return dctx.stream_reader(raw, read_size=1 << 20), raw
    if magic.startswith(GZIP_MAGIC):
        return gzip.GzipFile(fileobj=raw), raw
    return io.BufferedReader(raw, buffer_size=1 << 20), raw


def iter_line_batches(
    stream, *, batch_lines: int, max_line_bytes: int, skip_lines: int = 0
) -> Iterator[LineBatch]:
    """Yield batches of decoded lines; bad bytes are rejected with a reason, never dropped."""
    pending: list[bytes] = []
    carry = b""
    line_no = 0
    while True:
        chunk = stream.read(CHUNK_BYTES)
        if not chunk:
            break
        parts = (carry + chunk).split(b"\n")
        carry = parts.pop()
        pending.extend(parts)
        while len(pending) >= batch_lines:
            head, pending = pending[:batch_lines], pending[batch_lines:]
            batch = _screen(head, line_no + 1, max_line_bytes, skip_lines)
            line_no += len(head)
            if batch.lines or batch.rejected:
                yield batch
    if carry:
        pending.append(carry)  # a last line without a newline still counts
    if pending:
        batch = _screen(pending, line_no + 1, max_line_bytes, skip_lines)
        if batch.lines or batch.rejected:
            yield batch


def _screen(raw_lines: list[bytes], first: int, max_bytes: int, skip: int) -> LineBatch:
    """Decode lines; reject null bytes, invalid UTF-8, oversize and empty lines."""
    clean = _screen_fast(raw_lines, first, max_bytes, skip)
    if clean is not None:
        return clean
    batch = LineBatch(first_line=first, line_numbers=[], lines=[])
    for offset, raw in enumerate(raw_lines):
        number = first + offset
        if number <= skip:
            continue
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        reason = None
        if not raw.strip():
            reason = "empty_line"
        elif len(raw) > max_bytes:
            reason = "line_too_long"
        elif b"\x00" in raw:
            reason = "null_byte"
        else:
            try:
                batch.lines.append(raw.decode("utf-8"))
                batch.line_numbers.append(number)
                continue
            except UnicodeDecodeError:
                reason = "invalid_utf8"
        batch.rejected.append((number, reason, raw))
    return batch


def _screen_fast(raw_lines: list[bytes], first: int, max_bytes: int, skip: int) -> LineBatch | None:
    """The common case in one C-speed pass: a batch with nothing to reject. None otherwise."""
    if skip >= first or not raw_lines:
        return None
    lengths = list(map(len, raw_lines))
    if min(lengths) == 0 or max(lengths) > max_bytes:
        return None
    joined = b"\n".join(raw_lines)
    if b"\x00" in joined or b"\r" in joined:
        return None
    try:
        text = joined.decode("utf-8")
    except UnicodeDecodeError:
        return None
    numbers = list(range(first, first + len(raw_lines)))
    return LineBatch(first_line=first, line_numbers=numbers, lines=text.split("\n"))
