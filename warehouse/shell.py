"""A read-only SQL shell on the warehouse (``communitybench sql``, ``make sql``).

The file is opened read-only, so any number of shells run side by side, and a build (which
writes a copy and swaps it in, see ``warehouse/swap.py``) never waits for them. A shell keeps
reading the build it opened; ``.reload`` (or a new shell) switches to the newest one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
from rich.console import Console

import warehouse

err = Console(stderr=True, soft_wrap=True)
HELP = """\
End a statement with ';' (it may span lines). Meta-commands:
  .tables          tables and views, with row counts for tables
  .views           the documented analyst views (v_*) and what they hold
  .schema NAME     columns, types and descriptions of a table or view
  .reload          reopen the file (see the newest build)
  .help            this text
  .quit            leave (or Ctrl-D); Ctrl-C drops the statement being typed"""
META = {".tables": "tables", ".views": "views", ".schema": "schema"}  # warehouse/shell_meta/


class Shell:
    """A read-only connection plus the statement runner and the meta-commands."""

    def __init__(self, path: Path, *, max_rows: int):
        self.path, self.max_rows = path, max_rows
        self.con = open_read_only(path)
        self.inode = path.stat().st_ino

    def close(self) -> None:
        self.con.close()

    def run(self, text: str) -> bool:
        """Run one or more ';'-separated statements (or a meta-command); False on an error."""
        if text.strip().startswith("."):
            return self.meta(text.strip())
        try:
            for statement in duckdb.extract_statements(text):
                self.show(statement.query)
        except duckdb.Error as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            return False
        return True

    def show(self, query: str, params: dict | None = None) -> None:
        """Run one statement; print its result as a table (if it has one)."""
        relation = self.con.sql(query, params=params)
        if relation is not None:
            width = shutil.get_terminal_size((160, 40)).columns
            relation.show(max_rows=self.max_rows, max_width=width)

    def meta(self, line: str) -> bool:
        """The dot commands of HELP."""
        name, _, arg = line.partition(" ")
        arg = arg.strip().rstrip(";")
        if name in META:
            sql = warehouse.sql_file(f"shell_meta/{META[name]}.sql")
            self.show(sql, {"name": arg} if name == ".schema" else None)
            return True
        if name == ".reload":
            self.close()
            self.con = open_read_only(self.path)
            self.inode = self.path.stat().st_ino
            err.print(f"reopened {self.path}")
            return True
        if name != ".help":
            err.print(f"[red]unknown command {name}[/red]")
        err.print(HELP, markup=False, highlight=False)
        return name == ".help"

    def stale(self) -> bool:
        """A newer build was swapped in since the file was opened."""
        try:
            return self.path.stat().st_ino != self.inode
        except FileNotFoundError:
            return False

    def loop(self) -> None:
        """Read statements until Ctrl-D or .quit."""
        _history()
        err.print(f"communitybench sql — {self.path} (read-only). .help for commands.")
        buffer: list[str] = []
        while True:
            if not buffer and self.stale():
                err.print("[yellow]a newer build was swapped in: .reload to see it[/yellow]")
            try:
                line = input("   ...> " if buffer else "cb> ")
            except EOFError:
                break
            except KeyboardInterrupt:
                buffer = []
                print()
                continue
            if not buffer and line.strip() in (".quit", ".exit"):
                break
            if not buffer and line.strip().startswith("."):
                self.run(line)
                continue
            buffer.append(line)
            if line.rstrip().endswith(";"):
                self.run("\n".join(buffer))
                buffer = []
        self.close()


class ShellError(RuntimeError):
    """The warehouse cannot be opened; the message says what to do."""


def open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-only, or raise ShellError saying what to do."""
    try:
        return warehouse.connect(path, read_only=True)
    except FileNotFoundError as exc:
        raise ShellError(str(exc)) from None
    except duckdb.IOException as exc:
        raise ShellError(
            f"cannot open {path}: a development command (`communitybench ingest`, `staging`, "
            "`communities`, `tasks` or `run`) is writing it right now; builds "
            f"(`make build-release`) never lock it. Try again when it is done.\nDuckDB: {exc}"
        ) from None


def _history() -> None:
    """Line editing and a persistent history when readline is available."""
    try:
        import atexit
        import readline
    except ImportError:  # pragma: no cover - readline ships with CPython on Linux
        return
    history = os.environ.get("COMMUNITYBENCH_SQL_HISTORY", "~/.communitybench_sql_history")
    path = Path(history).expanduser()
    try:
        readline.read_history_file(path)
    except OSError:
        pass
    readline.set_history_length(2000)
    atexit.register(_save_history, readline, path)


def _save_history(readline, path: Path) -> None:
    try:
        readline.write_history_file(path)
    except OSError:
        pass
