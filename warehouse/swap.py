"""Build into a copy of the warehouse, then swap it in, so read-only SQL sessions never wait.

DuckDB lets a file be opened by many read-only processes *or* by one read-write process. A build
that wrote the live file would lock analysts out for its whole run, so a build works on
``<live>.building`` instead: a byte copy of the live file (raw tables are append-only and the
``embeddings`` / ``llm_cache`` tables are caches that must survive rebuilds), or a new file on
the first build. On success the copy is checkpointed, fsynced and renamed over the live path
(``os.replace``, atomic on POSIX). A session that already has the old file open keeps reading its
inode; new sessions see the new build. On failure the live file is untouched and the stale copy
stays for inspection until the next build replaces it.

Only one build runs at a time: ``<live>.lock`` is held with ``fcntl.flock`` for the whole
rebuild and names the holder's pid.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

__all__ = [
    "RebuildError",
    "RebuildLocked",
    "build_lock",
    "building_copy",
    "building_path",
    "lock_path",
    "rebuild",
    "swap_in",
]


class RebuildError(RuntimeError):
    """The building copy could not be made or swapped in; the live file is untouched."""


class RebuildLocked(RebuildError):
    """Another build holds the warehouse's lock file."""


def building_path(live: Path) -> Path:
    """``<live>.building``: where a build writes."""
    return live.with_name(live.name + ".building")


def lock_path(live: Path) -> Path:
    """``<live>.lock``: held by the one build allowed at a time."""
    return live.with_name(live.name + ".lock")


def wal_path(db: Path) -> Path:
    """DuckDB's write-ahead log next to a database file."""
    return db.with_name(db.name + ".wal")


@contextmanager
def rebuild(live: Path | str) -> Iterator[Path]:
    """Hold the build lock, yield a fresh building copy of ``live``, swap it in on success.

    Every connection to the yielded path must be closed when the block ends. If the block
    raises, nothing is swapped: the live file stays byte-identical.
    """
    live = Path(live)
    live.parent.mkdir(parents=True, exist_ok=True)
    with build_lock(live):
        fingerprint = _fingerprint(live)
        building = building_copy(live)
        yield building
        swap_in(building, live, expected=fingerprint)


@contextmanager
def build_lock(live: Path) -> Iterator[None]:
    """Exclusive, non-blocking ``flock`` on ``<live>.lock``; the file holds the holder's pid."""
    path = lock_path(live)
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise RebuildLocked(
                f"another build (pid {holder}) is rebuilding {live} (lock {path}); wait for it "
                "to finish, or stop that process — only one build may run at a time"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def building_copy(live: Path | str) -> Path:
    """Replace any stale ``<live>.building`` with a copy of the live file (or nothing); return it.

    The copy is taken under a read-only DuckDB connection to the live file, which keeps a
    development command from writing it meanwhile; its write-ahead log is copied too, so
    committed but not yet checkpointed changes are kept.
    """
    live = Path(live)
    building = building_path(live)
    for stale in (building, wal_path(building)):
        stale.unlink(missing_ok=True)
    if not live.exists():
        return building
    with _read_lock(live):
        shutil.copyfile(live, building)
        if wal_path(live).exists():
            shutil.copyfile(wal_path(live), wal_path(building))
    return building


def swap_in(building: Path | str, live: Path | str, *, expected: tuple | None = None) -> None:
    """Checkpoint ``building`` and atomically rename it over ``live``.

    Args:
        building: the finished building copy (no open connections left).
        live: the live warehouse path.
        expected: the live file's fingerprint when the copy was taken; if the live file changed
            since (a development command wrote it), nothing is swapped, so no write is lost.
    """
    building, live = Path(building), Path(live)
    if not building.exists():
        raise RebuildError(f"no building copy at {building}: nothing to swap in")
    with duckdb.connect(str(building)) as con:
        con.execute("checkpoint")
    if wal_path(building).exists() and wal_path(building).stat().st_size:
        raise RebuildError(
            f"{building} still has a write-ahead log after a checkpoint: a connection to it is "
            "still open; close it before the swap"
        )
    wal_path(building).unlink(missing_ok=True)
    _fsync(building)
    with _read_lock(live):
        if expected is not None and _fingerprint(live) != expected:
            raise RebuildError(
                f"{live} changed during the build (a development command such as `communitybench "
                f"ingest` wrote it), so the build was not swapped in; its result is in {building}."
                " Run the build again to include those changes"
            )
        # the live WAL (if any) was replayed into the building copy; removed first so that no
        # session can ever pair it with the new file
        wal_path(live).unlink(missing_ok=True)
        os.replace(building, live)
    _fsync(live.parent)


@contextmanager
def _read_lock(live: Path) -> Iterator[None]:
    """A read-only DuckDB connection held open: no other process can write ``live`` meanwhile."""
    if not live.exists():
        yield
        return
    try:
        con = duckdb.connect(str(live), read_only=True)
    except duckdb.IOException as exc:
        raise RebuildError(
            f"cannot read {live}: another process has it open for writing (a development "
            f"command such as `communitybench ingest`?). Wait for it to finish. DuckDB: {exc}"
        ) from None
    try:
        yield
    finally:
        con.close()


def _fingerprint(live: Path) -> tuple | None:
    """Identity and size/mtime of the live file and its WAL (None when there is no live file)."""
    if not live.exists():
        return None
    stats = [live.stat()]
    if wal_path(live).exists():
        stats.append(wal_path(live).stat())
    return tuple((s.st_ino, s.st_size, s.st_mtime_ns) for s in stats)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
