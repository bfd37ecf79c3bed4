"""Table schemas: one TOML file per table, the single source of truth.

From each file we derive the DuckDB DDL (``ddl``), the Arrow schema (``arrow_schema``) and, in the
validation stage, the Great Expectations suite. File layout::

    name = "raw_comments"
    layer = "raw"                 # raw | staging | intermediate | marts | exports
    description = "..."
    key = ["obs_id"]              # unique row key (checked, not enforced by DuckDB)

    [[columns]]
    name = "obs_id"
    type = "VARCHAR"              # a DuckDB type
    nullable = false
    description = "..."
    checks = { in_set = ["a", "b"], min = 0, max = 1, regex = "^t3_" }
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pyarrow as pa

SCHEMA_DIR = Path(__file__).resolve().parent

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

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")


@cache
def load_schema(name: str) -> TableSchema:
    """Load ``schemas/<name>.toml``."""
    path = SCHEMA_DIR / f"{name}.toml"
    if not path.exists():
        raise KeyError(f"no schema file {path}")
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
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
    if raw["name"] != name:
        raise ValueError(f"{path}: name {raw['name']!r} does not match the file name")
    return TableSchema(
        name=name,
        layer=raw["layer"],
        description=raw.get("description", ""),
        key=tuple(raw.get("key", [])),
        columns=columns,
        checks=raw.get("checks", {}),
    )


def all_schemas(layer: str | None = None) -> list[TableSchema]:
    """Every schema (optionally one layer), sorted by name."""
    schemas = [load_schema(p.stem) for p in sorted(SCHEMA_DIR.glob("*.toml"))]
    return [s for s in schemas if layer is None or s.layer == layer]


def ddl(schema: TableSchema, *, replace: bool = False) -> str:
    """``create table`` DDL for a schema (with column comments kept in the schema file)."""
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
