"""The release gates' expectations as DuckDB SQL: memory that does not grow with the table.

Each expectation ``validation.expectations_for`` gives Great Expectations is also written here as
a predicate that is true for a failing row (GX's semantics: NULLs pass every check but
not-null). All of a table's row checks are counted in ONE streaming scan (``count(*) filter``);
only a check that fails runs a second query, ``LIMIT``ed, that names its failing rows by the
table key. Uniqueness is a ``group by`` (DuckDB spills it to disk past its memory limit) and the
username check a join against the warehouse's authors.
"""

from __future__ import annotations

from dataclasses import dataclass

import warehouse
from schemas import TableSchema

ROW = "__row"  # the row number, for tables without a key


@dataclass(frozen=True)
class RowCheck:
    """One expectation: GX's name for it, its column, and the SQL true for a failing row."""

    expectation: str
    column: str | None
    unexpected: str


def derived_columns(schema: TableSchema) -> dict[str, str]:
    """SQL expressions (name -> expression) for the table-level checks of a schema."""
    checks, exprs = schema.checks, {}
    for col in checks.get("sums_to_one", []):
        exprs[f"__sum_{col}"] = f"list_sum({col})"
    for idx, target in checks.get("index_within", {}).items():
        exprs[f"__{idx}_within_{target}"] = f"({idx} >= 0 and {idx} < len({target}))"
    for col, other in checks.get("length_equals", {}).items():
        exprs[f"__len_{col}_is_{other}"] = f"(len({col}) = {other})"
    for idx, (lst, value) in checks.get("points_to", {}).items():
        exprs[f"__{idx}_points_to_{value}"] = f"(coalesce({lst}[{idx} + 1] = {value}, false))"
    return exprs


def literal(value) -> str:
    """A SQL literal for a value of a contract's ``in_set``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def row_checks(schema: TableSchema) -> list[RowCheck]:
    """Every per-row expectation of a table (uniqueness and usernames are set checks)."""
    out = []
    for col in schema.columns:
        name, checks = col.name, col.checks
        value = f"len({name})" if col.type.endswith("[]") else name
        if col.type == "JSON":
            value = f"{name}::varchar"
        if not col.nullable:
            out.append(RowCheck("expect_column_values_to_not_be_null", name, f"{name} is null"))
        if "in_set" in checks:
            values = ", ".join(literal(v) for v in checks["in_set"])
            bad = f"{value} is not null and {value} not in ({values})"
            out.append(RowCheck("expect_column_values_to_be_in_set", name, bad))
        if ("min" in checks or "max" in checks) and not col.type.endswith("[]"):
            bounds = [f"{value} < {checks['min']!r}"] if "min" in checks else []
            bounds += [f"{value} > {checks['max']!r}"] if "max" in checks else []
            bad = f"{value} is not null and ({' or '.join(bounds)})"
            out.append(RowCheck("expect_column_values_to_be_between", name, bad))
        if "regex" in checks:
            pattern = literal(checks["regex"])
            bad = f"{value} is not null and not regexp_matches({value}::varchar, {pattern})"
            out.append(RowCheck("expect_column_values_to_match_regex", name, bad))
    for name, expr in derived_columns(schema).items():
        if name.startswith("__sum_"):
            bad = f"{expr} is not null and ({expr} < 1 - 1e-6 or {expr} > 1 + 1e-6)"
            out.append(RowCheck("expect_column_values_to_be_between", name, bad))
        else:
            out.append(RowCheck("expect_column_values_to_be_in_set", name, f"not {expr}"))
    return out


def base_sql(schema: TableSchema) -> str:
    """The table with its row number (a streaming window: no sort, no materialisation)."""
    return f"select row_number() over () as {ROW}, * from {schema.name}"


def key_columns(schema: TableSchema) -> list[str]:
    return list(schema.key) or [ROW]


def count_failures(con, schema: TableSchema, checks: list[RowCheck]) -> tuple[int, list[int]]:
    """Rows in the table, and failing rows per check: one scan."""
    counts = ", ".join(f"count(*) filter (where {c.unexpected})" for c in checks)
    sql = f"with base as ({base_sql(schema)}) select count(*){', ' if counts else ''}{counts} "
    [row] = con.execute(sql + "from base").fetchall()
    return row[0], list(row[1:])


def failing_keys(con, schema: TableSchema, where: str, limit: int) -> list[dict]:
    """The keys of up to ``limit`` rows for which ``where`` holds, in key order."""
    keys = ", ".join(key_columns(schema))
    sql = (
        f"with base as ({base_sql(schema)}) select distinct {keys} from base "
        f"where {where} order by all limit {int(limit)}"
    )
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def duplicate_keys(con, schema: TableSchema, limit: int) -> tuple[int, list[dict]]:
    """Rows sharing a key with another row (GX counts every such row), and up to ``limit`` keys."""
    keys = ", ".join(schema.key)
    not_null = " and ".join(f"{k} is not null" for k in schema.key)
    groups = (
        f"select {keys}, count(*) as n from {schema.name} where {not_null} "
        f"group by all having count(*) > 1"
    )
    [(rows,)] = con.execute(f"select coalesce(sum(n), 0) from ({groups})").fetchall()
    if not rows:
        return 0, []
    cursor = con.execute(f"select {keys} from ({groups}) order by all limit {int(limit)}")
    names = [d[0] for d in cursor.description]
    return int(rows), [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def username_hits_sql(con, schema: TableSchema) -> str:
    """Per row (``__row`` of ``base``): how many text values equal a username, or JSON tokens
    equal a handle-like username."""
    sources = [t for t in ("stg_comments", "stg_submissions") if warehouse.table_exists(con, t)]
    authors = " union ".join(f"select author from {t} where author is not null" for t in sources)
    authors = authors or "select null::varchar as author where false"
    texts = [c.name for c in schema.columns if c.type == "VARCHAR"]
    lists = [c.name for c in schema.columns if c.type == "VARCHAR[]"]
    jsons = [c.name for c in schema.columns if c.type == "JSON"]
    values = " || ".join([f"[{', '.join(texts)}]" if texts else "[]::varchar[]", *lists])
    token = "'[A-Za-z0-9_-]{3,}'"
    tokens = " || ".join(f"regexp_extract_all({c}::varchar, {token})" for c in jsons) or "[]"
    return f"""
        select {ROW}, count(*) as n from (
            select {ROW}, unnest({values}) as v, false as is_token from base
            union all
            select {ROW}, unnest({tokens}::varchar[]) as v, true as is_token from base
        ) vals
        inner join ({authors}) authors on authors.author = vals.v
        where not is_token or regexp_matches(vals.v, '[0-9_-]|[a-z][A-Z]')
        group by {ROW}
    """


def username_rows(con, schema: TableSchema, limit: int) -> tuple[int, list[dict]]:
    """Rows whose exported columns hold a username, and the keys of up to ``limit`` of them."""
    hits = username_hits_sql(con, schema)
    with_hits = f"with base as ({base_sql(schema)}), hits as ({hits}) "
    [(rows,)] = con.execute(with_hits + "select count(*) from hits").fetchall()
    if not rows:
        return 0, []
    keys = ", ".join(key_columns(schema))
    cursor = con.execute(
        with_hits + f"select distinct {keys} from base semi join hits using ({ROW}) "
        f"order by all limit {int(limit)}"
    )
    names = [d[0] for d in cursor.description]
    return int(rows), [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
