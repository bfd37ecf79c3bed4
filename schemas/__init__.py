"""Table contracts: one TOML file per table, view or query model, the single source of truth.

``schemas/<layer>/<name>.toml`` describes the model ``warehouse/<layer>/<name>.sql`` when there
is one (a staging table, an intermediate query a stage reads, an analyst view), or a table that
Python writes (raw observations, marts from ``transforms/``). From each file we derive the DuckDB
DDL (``ddl``), the Arrow schema (``arrow_schema``), the check that SQL models return what their
contract says (``warehouse.query`` / ``check_contract``) and, in the release gates, the Great
Expectations suite. File layout::

    name = "raw_comments"
    description = "..."
    materialized = "table"        # table (default) | view | ephemeral (a query a stage reads)
    key = ["obs_id"]              # unique row key (checked by the gates, not enforced by DuckDB)

    [[columns]]
    name = "obs_id"
    type = "VARCHAR"              # a DuckDB type
    nullable = false
    description = "..."
    checks = { in_set = ["a", "b"], min = 0, max = 1, regex = "^t3_" }

The layer is the folder: raw | staging | intermediate | marts | views.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pyarrow as pa

SCHEMA_DIR = Path(__file__).resolve().parent
LAYERS = ("raw", "staging", "intermediate", "marts", "views")
MATERIALIZATIONS = ("table", "view", "ephemeral")

_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "DOUBLE": pa.float64(),
    "FLOAT": pa.float32(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us"),
    "DATE": pa.date32(),
    "JSON": pa.string(),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    nullable: bool = True
    checks: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TableSchema:
    name: str
    layer: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    checks: dict = field(default_factory=dict)
    materialized: str = "table"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")


@cache
def schema_paths() -> dict[str, Path]:
    """Every contract file by model name (names are unique across layers)."""
    paths: dict[str, Path] = {}
    for layer in LAYERS:
        for path in sorted((SCHEMA_DIR / layer).glob("*.toml")):
            if path.stem in paths:
                raise ValueError(
                    f"schema {path.stem!r} is defined twice: {paths[path.stem]}, {path}"
                )
            paths[path.stem] = path
    return paths


@cache
def load_schema(name: str) -> TableSchema:
    """Load the contract ``schemas/<layer>/<name>.toml``."""
    path = schema_paths().get(name)
    if path is None:
        raise KeyError(f"no schema file for {name!r} under {SCHEMA_DIR}/<layer>/")
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    if raw["name"] != name:
        raise ValueError(f"{path}: name {raw['name']!r} does not match the file name")
    materialized = raw.get("materialized", "table")
    if materialized not in MATERIALIZATIONS:
        raise ValueError(f"{path}: materialized must be one of {MATERIALIZATIONS}")
    columns = tuple(
        Column(
            name=c["name"],
            type=c["type"].upper(),
            description=c.get("description", ""),
            nullable=c.get("nullable", True),
            checks=c.get("checks", {}),
        )
        for c in raw["columns"]
    )
    return TableSchema(
        name=name,
        layer=path.parent.name,
        description=raw.get("description", ""),
        key=tuple(raw.get("key", [])),
        columns=columns,
        checks=raw.get("checks", {}),
        materialized=materialized,
    )


def all_schemas(
    layer: str | None = None, *, materialized: str | None = "table"
) -> list[TableSchema]:
    """Every contract (optionally one layer), sorted by name; tables only unless asked."""
    schemas = [load_schema(name) for name in sorted(schema_paths())]
    return [
        s
        for s in schemas
        if (layer is None or s.layer == layer)
        and (materialized is None or s.materialized == materialized)
    ]


def ddl(schema: TableSchema, *, replace: bool = False) -> str:
    """``create table`` DDL for a table contract."""
    if schema.materialized != "table":
        raise ValueError(f"{schema.name} is a {schema.materialized} model, not a table")
    verb = "create or replace table" if replace else "create table if not exists"
    cols = ",\n".join(
        f"    {c.name} {c.type}{'' if c.nullable else ' not null'}" for c in schema.columns
    )
    return f"{verb} {schema.name} (\n{cols}\n);"


def arrow_type(duckdb_type: str) -> pa.DataType:
    """Arrow type for a DuckDB type name (lists as ``T[]``)."""
    if duckdb_type.endswith("[]"):
        return pa.list_(arrow_type(duckdb_type[:-2]))
    return _ARROW_TYPES[duckdb_type]


def arrow_schema(schema: TableSchema) -> pa.Schema:
    """Arrow schema for a table, for writers that build tables in Python."""
    return pa.schema(
        [pa.field(c.name, arrow_type(c.type), nullable=c.nullable) for c in schema.columns]
    )
