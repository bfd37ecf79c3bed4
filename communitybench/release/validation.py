"""Validation gates: Great Expectations suites generated from ``schemas/`` and run on the warehouse.

Per table the suite holds: every column exists; non-nullable columns are not null; the key is
unique; column ``checks`` (in_set, min, max, regex); and table ``[checks]`` evaluated on derived
columns computed in DuckDB (``transforms`` of the rule into SQL, see ``derived_columns``):

- ``sums_to_one = ["distribution"]``: the list sums to 1 within 1e-6
- ``index_within = { label = "option_ids" }``: 0 <= label < len(option_ids)
- ``length_equals = { option_ids = "k" }``: len(option_ids) == k
- ``points_to = { label = ["candidate_ids", "community_id"] }``:
  candidate_ids[label] == community_id
- ``exported = true``: no value of any text column equals a known username, and no handle-like
  username appears inside JSON columns (profiles)

GX validates pandas frames (its DuckDB SQL datasource is broken in 1.24, see ENVIRONMENT.md).
Failing expectations name the failing rows by the table key; Data Docs are written to a folder.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import schemas
import warehouse
from schemas import TableSchema

VALIDATION_VERSION = "validation_v1"
MAX_KEYS_REPORTED = 20
ROW = "__row"


@dataclass
class CheckFailure:
    """One failed expectation and the keys of (up to MAX_KEYS_REPORTED) failing rows."""

    table: str
    expectation: str
    column: str | None
    unexpected_count: int
    failing_keys: list[dict]

    def line(self) -> str:
        keys = ", ".join(
            "(" + ", ".join(f"{k}={v!r}" for k, v in row.items()) + ")" for row in self.failing_keys
        )
        target = f"{self.table}.{self.column}" if self.column else self.table
        return f"{target}: {self.expectation} failed for {self.unexpected_count} row(s): {keys}"


@dataclass
class ValidationSummary:
    """Per table: rows, checks passed and failed; the failures; where Data Docs are."""

    tables: dict[str, dict] = field(default_factory=dict)
    failures: list[CheckFailure] = field(default_factory=list)
    docs_dir: str | None = None

    @property
    def success(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict:
        return {
            "version": VALIDATION_VERSION,
            "success": self.success,
            "tables": self.tables,
            "failures": [f.line() for f in self.failures],
            "docs_dir": self.docs_dir,
        }


class ValidationFailed(RuntimeError):
    """Raised when a gate fails; the message names tables, checks and failing row keys."""

    def __init__(self, summary: ValidationSummary):
        self.summary = summary
        lines = "\n".join(f"  - {f.line()}" for f in summary.failures)
        docs = f"\nData Docs: {summary.docs_dir}/index.html" if summary.docs_dir else ""
        super().__init__(f"validation failed — the release is blocked:\n{lines}{docs}")


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


def expectations_for(schema: TableSchema) -> list:
    """The GX expectations of a table, from its schema file."""
    import great_expectations as gx

    ex = gx.expectations
    out = [ex.ExpectTableColumnsToMatchSet(column_set=schema.column_names, exact_match=False)]
    for col in schema.columns:
        if not col.nullable:
            out.append(ex.ExpectColumnValuesToNotBeNull(column=col.name))
        out.extend(_column_checks(col))
    if len(schema.key) == 1:
        out.append(ex.ExpectColumnValuesToBeUnique(column=schema.key[0]))
    elif schema.key:
        out.append(ex.ExpectCompoundColumnsToBeUnique(column_list=list(schema.key)))
    for name in derived_columns(schema):
        if name.startswith("__sum_"):
            out.append(
                ex.ExpectColumnValuesToBeBetween(
                    column=name, min_value=1 - 1e-6, max_value=1 + 1e-6
                )
            )
        else:
            out.append(ex.ExpectColumnValuesToBeInSet(column=name, value_set=[True]))
    if schema.checks.get("exported"):
        out.append(
            ex.ExpectColumnValuesToBeBetween(column="__username_hits", min_value=0, max_value=0)
        )
    return out


def _column_checks(col) -> list:
    import great_expectations as gx

    ex, checks, out = gx.expectations, col.checks, []
    if "in_set" in checks:
        out.append(ex.ExpectColumnValuesToBeInSet(column=col.name, value_set=checks["in_set"]))
    if ("min" in checks or "max" in checks) and not col.type.endswith("[]"):
        out.append(
            ex.ExpectColumnValuesToBeBetween(
                column=col.name, min_value=checks.get("min"), max_value=checks.get("max")
            )
        )
    if "regex" in checks:
        out.append(ex.ExpectColumnValuesToMatchRegex(column=col.name, regex=checks["regex"]))
    return out


def table_frame(con, schema: TableSchema):
    """The table as a pandas frame: list columns as their lengths, JSON as text, plus derived."""
    cols = []
    for col in schema.columns:
        if col.type.endswith("[]"):
            cols.append(f"len({col.name}) as {col.name}")
        else:
            cast_to = "VARCHAR" if col.type == "JSON" else col.type
            cols.append(f"{col.name}::{cast_to} as {col.name}")
    cols += [f"{expr} as {name}" for name, expr in derived_columns(schema).items()]
    base = f"select row_number() over () as {ROW}, * from {schema.name}"
    select = ", ".join([ROW, *cols])
    if schema.checks.get("exported"):
        select += ", coalesce(hits.n, 0) as __username_hits"
        sql = (
            f"with base as ({base}), hits as ({_username_hits_sql(con, schema)}) "
            f"select {select} from base left join hits using ({ROW})"
        )
    else:
        sql = f"with base as ({base}) select {select} from base"
    return con.execute(sql).df()


def _username_hits_sql(con, schema: TableSchema) -> str:
    """Per row: how many text values equal a username, or JSON tokens equal a handle."""
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


def validate_tables(con, tables: list[str], *, docs_dir: Path | None = None) -> ValidationSummary:
    """Run the generated suites on the given warehouse tables; build Data Docs if asked."""
    docs_dir = Path(docs_dir).resolve() if docs_dir is not None else None  # GX needs absolute
    context = _context(docs_dir)
    summary = ValidationSummary(docs_dir=str(docs_dir) if docs_dir else None)
    for name in tables:
        schema = schemas.load_schema(name)
        if warehouse.row_count(con, name) == 0:
            summary.tables[name] = {
                "rows": 0,
                "checks": 0,
                "passed": 0,
                "failed": 0,
                "status": "empty: nothing to check",
            }
            continue
        frame = table_frame(con, schema)
        result = _run_suite(context, schema, frame, docs=False)
        failed = [r for r in result.results if not r.success]
        summary.tables[name] = {
            "rows": len(frame),
            "checks": len(result.results),
            "passed": len(result.results) - len(failed),
            "failed": len(failed),
        }
        summary.failures += [_failure(schema, r, frame) for r in failed]
    if docs_dir is not None:
        context.build_data_docs()  # once: the action per checkpoint re-renders everything
    return summary


def _context(docs_dir: Path | None):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    if docs_dir is not None:
        Path(docs_dir).mkdir(parents=True, exist_ok=True)
        context.add_data_docs_site(
            site_name="communitybench",
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    return context


def _run_suite(context, schema: TableSchema, frame, *, docs: bool):
    import great_expectations as gx

    asset = context.data_sources.add_or_update_pandas("warehouse").add_dataframe_asset(schema.name)
    batch = asset.add_batch_definition_whole_dataframe("all")
    suite = context.suites.add(
        gx.ExpectationSuite(name=schema.name, expectations=expectations_for(schema))
    )
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"validate_{schema.name}", data=batch, suite=suite)
    )
    actions = [gx.checkpoint.UpdateDataDocsAction(name="docs")] if docs else []
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"gate_{schema.name}",
            validation_definitions=[validation],
            actions=actions,
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": list(schema.key) or [ROW],
            },
        )
    )
    result = checkpoint.run(batch_parameters={"dataframe": frame})
    return next(iter(result.run_results.values()))


def _failure(schema: TableSchema, result, frame) -> CheckFailure:
    config = result.expectation_config
    details = result.result or {}
    keys = list(schema.key) or [ROW]
    rows = details.get("unexpected_index_list") or []
    failing = [{k: _plain(row.get(k)) for k in keys} for row in rows if isinstance(row, dict)]
    unique = [dict(t) for t in dict.fromkeys(tuple(r.items()) for r in failing)]
    return CheckFailure(
        table=schema.name,
        expectation=config.type,
        column=config.kwargs.get("column"),
        unexpected_count=int(details.get("unexpected_count") or 0),
        failing_keys=unique[:MAX_KEYS_REPORTED],
    )


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def default_docs_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="communitybench-docs-"))
