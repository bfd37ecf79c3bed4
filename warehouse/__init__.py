"""The DuckDB warehouse: connections, DDL from ``schemas/`` and the runner of the SQL models.

SQL that defines data lives here, one model per file, each beside its contract in
``schemas/<layer>/<name>.toml`` (jaffle-shop style; every select ends in ``select * from final``):

- ``staging/stg_*.sql``: selects materialised as tables (``materialize``);
- ``intermediate/int_*.sql``: queries a stage reads into Python (``query``), checked against
  their contract's columns and types;
- ``views/v_*.sql``: analyst views (``create_views``), described by their contracts;
- ``exports/*.sql``: what a release writes;
- ``macros/*.sql``: DuckDB macros the models share (applied before any model runs);
- ``ingest/*.sql``: the statements dump ingestion runs per batch (``statement``).

Python writes the other tables (raw observations, marts computed by ``transforms/``) through
``replace_tables`` so that the schema file stays the contract for them too.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import duckdb

import schemas

SQL_DIR = Path(__file__).resolve().parent


class StageInputError(RuntimeError):
    """A stage's input tables are missing; the message names them and what builds them."""


class ContractError(RuntimeError):
    """A SQL model returned other columns or types than its schema file promises."""


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
    # DuckDB takes 80% of RAM by default; past its limit it spills to <warehouse>.tmp
    limit = os.environ.get("COMMUNITYBENCH_DUCKDB_MEMORY_LIMIT")
    if limit:
        con.execute("set memory_limit = ?", [limit])
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


@cache
def sql_file(relative: str) -> str:
    """The text of ``warehouse/<relative>`` (read once per process)."""
    path = SQL_DIR / relative
    if not path.exists():
        raise FileNotFoundError(f"no SQL file {path}")
    return path.read_text(encoding="utf-8")


def model_sql(name: str) -> str:
    """The select of model ``name``: ``warehouse/<its contract's layer>/<name>.sql``."""
    return sql_file(f"{schemas.load_schema(name).layer}/{name}.sql")


def statement(name: str) -> str:
    """An ingest statement, ``warehouse/ingest/<name>.sql``."""
    return sql_file(f"ingest/{name}.sql")


def apply_macros(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the shared macros of ``macros/*.sql`` on this connection."""
    for path in sorted((SQL_DIR / "macros").glob("*.sql")):
        con.execute(sql_file(f"macros/{path.name}"))


def query(
    con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None
) -> duckdb.DuckDBPyRelation:
    """Run the query model ``name`` and check its columns against its contract."""
    apply_macros(con)
    relation = con.sql(model_sql(name), params=params)
    check_contract(name, relation.columns, [str(t) for t in relation.types])
    return relation


def check_contract(name: str, columns: list[str], types: list[str]) -> None:
    """Raise ContractError when a model's columns or types differ from its schema file."""
    schema = schemas.load_schema(name)
    expected = [(c.name, c.type) for c in schema.columns]
    actual = [(c, t.upper()) for c, t in zip(columns, types, strict=True)]
    if [(c, _base(t)) for c, t in actual] != [(c, _base(t)) for c, t in expected]:
        raise ContractError(
            f"model {name} returned {actual}, but schemas/{schema.layer}/{name}.toml promises "
            f"{expected}: change the SQL or the contract (and the stage's version)"
        )


def _base(duckdb_type: str) -> str:
    """JSON columns come back as VARCHAR-compatible JSON; compare the rest exactly."""
    return "VARCHAR" if duckdb_type == "JSON" else duckdb_type


def materialize(
    con: duckdb.DuckDBPyConnection, table: str, *, variables: dict | None = None
) -> int:
    """Rebuild ``table`` from its model into its schema's DDL, in one transaction; return rows."""
    schema = schemas.load_schema(table)
    apply_macros(con)
    set_variables(con, variables or {})
    con.execute("begin transaction")
    try:
        con.execute(schemas.ddl(schema, replace=True))
        con.execute(f"insert into {table} by name {model_sql(table)}")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return con.execute(f"select count(*) from {table}").fetchall()[0][0]


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a table or view of that name exists in the main schema."""
    query_ = "select count(*) from information_schema.tables where table_name = ?"
    return con.execute(query_, [name]).fetchall()[0][0] > 0  # fetchall: no open result left


def row_count(con: duckdb.DuckDBPyConnection, name: str) -> int:
    """Rows of a table (0 when it does not exist)."""
    if not table_exists(con, name):
        return 0
    return con.execute(f"select count(*) from {name}").fetchall()[0][0]


def replace_tables(con: duckdb.DuckDBPyConnection, tables: dict) -> None:
    """Recreate each table from its schema file and insert the Arrow data (its schema's columns,
    by name), all tables in one transaction."""
    con.execute("begin transaction")
    try:
        for name, data in tables.items():
            schema = schemas.load_schema(name)
            con.execute(schemas.ddl(schema, replace=True))
            if hasattr(data, "select"):  # Arrow tables and polars frames: the contract's columns
                data = data.select(schema.column_names)
            con.register("_incoming", data)
            con.execute(f"insert into {name} by name select * from _incoming")
            con.unregister("_incoming")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def create_views(con: duckdb.DuckDBPyConnection) -> dict:
    """Create or replace every analyst view whose source tables exist; return created/skipped.

    A view's description and column descriptions come from its contract and are stored as
    DuckDB comments (``duckdb_columns()`` shows them). A view whose source tables do not exist
    yet is skipped, and an old copy of it dropped (it would fail on every query).
    """
    summary: dict = {"created": [], "skipped": {}}
    for schema in schemas.all_schemas("views", materialized="view"):
        select = model_sql(schema.name)
        missing = sorted(t for t in con.get_table_names(select) if not table_exists(con, t))
        if missing:
            con.execute(f"drop view if exists {schema.name}")
            summary["skipped"][schema.name] = missing
            continue
        con.execute(f"create or replace view {schema.name} as {select}")
        described = con.execute(f"describe {schema.name}").fetchall()
        check_contract(schema.name, [r[0] for r in described], [r[1] for r in described])
        con.execute(f"comment on view {schema.name} is {_literal(schema.description)}")
        for column in schema.columns:
            con.execute(
                f"comment on column {schema.name}.{column.name} is {_literal(column.description)}"
            )
        summary["created"].append(schema.name)
    return summary


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
