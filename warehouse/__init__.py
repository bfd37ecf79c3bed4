"""The DuckDB warehouse: connections, DDL from ``schemas/`` and the layered SQL runner.

Layers (jaffle-shop style): ``raw_*`` tables written by Python, ``staging/stg_*.sql`` selects
materialised as tables, later ``intermediate``, ``marts`` and ``exports``. Each SQL file is a
single ``select`` ending in ``select * from final``; the runner creates the table from the schema
file's DDL and inserts the select *by name*, so the schema file stays the contract.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

import schemas

SQL_DIR = Path(__file__).resolve().parent


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (creating its folder), UTC session time zone."""
    path = Path(path)
    if read_only and not path.exists():
        raise FileNotFoundError(
            f"warehouse {path} does not exist yet: run `make build-release` (or "
            "`communitybench ingest ...`) first, or point COMMUNITYBENCH_WAREHOUSE elsewhere"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("set TimeZone = 'UTC'")
    return con


def ensure_tables(con: duckdb.DuckDBPyConnection, *, layer: str | None = None) -> list[str]:
    """Create every table of a layer (or all) that does not exist yet; return their names."""
    names = []
    for schema in schemas.all_schemas(layer):
        con.execute(schemas.ddl(schema))
        names.append(schema.name)
    return names


def set_variables(con: duckdb.DuckDBPyConnection, variables: dict) -> None:
    """Expose parameters to SQL files as ``getvariable('<name>')``."""
    for name, value in variables.items():
        con.execute(f"set variable {name} = ?", [value])


def materialize(
    con: duckdb.DuckDBPyConnection, table: str, *, variables: dict | None = None
) -> int:
    """Rebuild ``table`` from ``<layer>/<table>.sql`` into its schema's DDL; return row count."""
    schema = schemas.load_schema(table)
    sql_path = SQL_DIR / schema.layer / f"{table}.sql"
    select = sql_path.read_text(encoding="utf-8")
    set_variables(con, variables or {})
    con.execute("begin transaction")
    try:
        con.execute(schemas.ddl(schema, replace=True))
        con.execute(f"insert into {table} by name {select}")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a table or view of that name exists in the main schema."""
    query = "select count(*) from information_schema.tables where table_name = ?"
    return con.execute(query, [name]).fetchall()[0][0] > 0  # fetchall: no open result left


class StageInputError(RuntimeError):
    """A stage's input tables are missing; the message names them and what builds them."""


def require_tables(con: duckdb.DuckDBPyConnection, *tables: str, hint: str) -> None:
    """Raise StageInputError naming the missing tables and the command that builds them."""
    query = "select table_name from information_schema.tables where table_name in ?"
    present = {row[0] for row in con.execute(query, [list(tables)]).fetchall()}
    missing = [t for t in tables if t not in present]
    if missing:
        raise StageInputError(f"the warehouse has no {', '.join(missing)} table yet: {hint}")


def replace_tables(con: duckdb.DuckDBPyConnection, tables: dict) -> None:
    """Recreate each table from its schema file and insert the Arrow data, in one transaction."""
    con.execute("begin transaction")
    try:
        for name, data in tables.items():
            con.execute(schemas.ddl(schemas.load_schema(name), replace=True))
            con.register("_incoming", data)
            con.execute(f"insert into {name} by name select * from _incoming")
            con.unregister("_incoming")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
