"""Documented views for analysts: ``warehouse/views/v_*.sql``.

Each file is one ``select`` ending in ``select * from final``, headed by comments that describe
the view and, after ``-- columns:``, each column as ``--   name: description``. The build
creates the views at its end (inside the building copy, before the swap); the descriptions are
stored as DuckDB comments, so ``select * from duckdb_columns() where table_name = 'v_instances'``
shows them. A view whose source tables do not exist yet is skipped (and an old copy dropped).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

import warehouse

VIEWS_DIR = Path(__file__).resolve().parent
VIEWS_VERSION = "views_v1"


@dataclass(frozen=True)
class View:
    name: str
    description: str
    columns: dict[str, str]
    select: str


def load_view(path: Path) -> View:
    """Parse a view file: header description, documented columns and the select."""
    text = path.read_text(encoding="utf-8")
    description, columns, in_columns = [], {}, False
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        body = line[2:].strip()
        if body == "columns:":
            in_columns = True
        elif in_columns:
            name, _, doc = body.partition(":")
            columns[name.strip()] = doc.strip()
        else:
            description.append(body)
    return View(path.stem, " ".join(description), columns, text)


def all_views() -> list[View]:
    """Every ``v_*.sql`` view, sorted by name."""
    return [load_view(p) for p in sorted(VIEWS_DIR.glob("v_*.sql"))]


def missing_tables(con: duckdb.DuckDBPyConnection, view: View) -> list[str]:
    """The tables a view reads that the warehouse does not have yet."""
    tables = con.get_table_names(view.select)
    return sorted(t for t in tables if not warehouse.table_exists(con, t))


def create_views(con: duckdb.DuckDBPyConnection) -> dict:
    """Create or replace every view whose source tables exist; return created and skipped."""
    summary = {"version": VIEWS_VERSION, "created": [], "skipped": {}}
    for view in all_views():
        missing = missing_tables(con, view)
        if missing:
            # a view left from an earlier build would fail on every query
            con.execute(f"drop view if exists {view.name}")
            summary["skipped"][view.name] = missing
            continue
        con.execute(f"create or replace view {view.name} as {view.select}")
        _comment(con, view)
        summary["created"].append(view.name)
    return summary


def run_views(warehouse_path: Path) -> dict:
    """Open the warehouse and create the analyst views (the build's last step)."""
    with warehouse.connect(warehouse_path) as con:
        return create_views(con)


def _comment(con: duckdb.DuckDBPyConnection, view: View) -> None:
    con.execute(f"comment on view {view.name} is {_literal(view.description)}")
    actual = {row[0] for row in con.execute(f"describe {view.name}").fetchall()}
    for column, doc in view.columns.items():
        if column in actual:
            con.execute(f"comment on column {view.name}.{column} is {_literal(doc)}")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
