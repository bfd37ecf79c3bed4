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

The gate streams: every expectation is evaluated in DuckDB SQL over the whole table
(``checks.py``: one scan of ``count(*) filter`` per table, a ``LIMIT``ed query naming the failing
rows by the table key of a check that fails), so memory does not grow with the table. Great
Expectations runs the same suite on a bounded sample of each table (at most ``GX_SAMPLE_ROWS``
rows, plus the rows the SQL found failing) for its Data Docs; a failure GX finds there that the
SQL did not is a failure too. Raw tables are checked by SQL only. GX's own DuckDB SQL datasource
fails every expectation in 1.24 (see ENVIRONMENT.md), hence SQL written here.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import schemas
from communitybench.errors import ValidationFailed  # noqa: F401 (importers use this name)
from communitybench.release import checks
from communitybench.release.checks import ROW, derived_columns
from schemas import TableSchema

VALIDATION_VERSION = "validation_v2"  # v2: SQL over every row, GX on a bounded sample
MAX_KEYS_REPORTED = 20
GX_SAMPLE_ROWS = 5_000
SAMPLE_SEED = 7


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


def table_frame(con, schema: TableSchema, source: str | None = None):
    """The table (or the relation ``source`` of its rows) as a pandas frame: list columns as
    their lengths, JSON as text, plus the derived columns."""
    cols = []
    for col in schema.columns:
        if col.type.endswith("[]"):
            cols.append(f"len({col.name}) as {col.name}")
        else:
            cast_to = "VARCHAR" if col.type == "JSON" else col.type
            cols.append(f"{col.name}::{cast_to} as {col.name}")
    cols += [f"{expr} as {name}" for name, expr in derived_columns(schema).items()]
    base = f"select row_number() over () as {ROW}, * from {source or schema.name}"
    select = ", ".join([ROW, *cols])
    if schema.checks.get("exported"):
        select += ", coalesce(hits.n, 0) as __username_hits"
        sql = (
            f"with base as ({base}), hits as ({checks.username_hits_sql(con, schema)}) "
            f"select {select} from base left join hits using ({ROW})"
        )
    else:
        sql = f"with base as ({base}) select {select} from base"
    return con.execute(sql).df()


def validate_tables(con, tables: list[str], *, docs_dir: Path | None = None) -> ValidationSummary:
    """Run the generated suites on the given warehouse tables; build Data Docs if asked."""
    docs_dir = Path(docs_dir).resolve() if docs_dir is not None else None  # GX needs absolute
    context = _context(docs_dir)
    summary = ValidationSummary(docs_dir=str(docs_dir) if docs_dir else None)
    for name in tables:
        schema = schemas.load_schema(name)
        rows, failures, count = sql_failures(con, schema)
        if rows == 0:
            summary.tables[name] = {
                "rows": 0,
                "checks": 0,
                "passed": 0,
                "failed": 0,
                "status": "empty: nothing to check",
            }
            continue
        sampled = 0
        if schema.layer != "raw":  # raw tables: SQL only (they are the largest)
            sampled, extra = _sample_failures(context, con, schema, failures)
            failures += extra
        summary.tables[name] = {
            "rows": rows,
            "checks": count,
            "passed": count - len({(f.expectation, f.column) for f in failures}),
            "failed": len({(f.expectation, f.column) for f in failures}),
            "gx_sample_rows": sampled,
        }
        summary.failures += failures
    if docs_dir is not None:
        context.build_data_docs()  # once: the action per checkpoint re-renders everything
    return summary


def sql_failures(con, schema: TableSchema) -> tuple[int, list[CheckFailure], int]:
    """Every expectation of a table in DuckDB SQL: rows, failures naming up to
    MAX_KEYS_REPORTED failing rows by key, and how many checks ran."""
    present = {
        c for (c,) in con.execute(f"select name from pragma_table_info('{schema.name}')").fetchall()
    }
    missing = [c for c in schema.column_names if c not in present]
    failures = [
        CheckFailure(
            schema.name,
            "expect_table_columns_to_match_set",
            None,
            len(missing),
            [{"missing_column": c} for c in missing],
        )
    ] * bool(missing)
    if missing:  # the row checks would name columns that are not there
        return checks.count_failures(con, schema, [])[0], failures, 1
    row_checks = checks.row_checks(schema)
    rows, counts = checks.count_failures(con, schema, row_checks)
    for check, count in zip(row_checks, counts, strict=True):
        if count:
            keys = checks.failing_keys(con, schema, check.unexpected, MAX_KEYS_REPORTED)
            failures.append(CheckFailure(schema.name, check.expectation, check.column, count, keys))
    set_checks = []
    if schema.key:
        expectation = "expect_column_values_to_be_unique"
        if len(schema.key) > 1:
            expectation = "expect_compound_columns_to_be_unique"
        column = schema.key[0] if len(schema.key) == 1 else None
        set_checks.append((expectation, column, checks.duplicate_keys))
    if schema.checks.get("exported"):
        between = "expect_column_values_to_be_between"
        set_checks.append((between, "__username_hits", checks.username_rows))
    for expectation, column, find in set_checks:
        count, keys = find(con, schema, MAX_KEYS_REPORTED)
        if count:
            failures.append(CheckFailure(schema.name, expectation, column, count, keys))
    return rows, failures, 1 + len(row_checks) + len(set_checks)


def _sample_failures(context, con, schema: TableSchema, failures: list[CheckFailure]):
    """GX on a bounded sample (plus the rows the SQL named): the sample's size, and failures GX
    finds there that the SQL did not report."""
    source = _sample_source(schema, failures)
    frame = table_frame(con, schema, source)
    result = _run_suite(context, schema, frame, docs=False)
    known = {(f.expectation, f.column) for f in failures}
    extra = [_failure(schema, r, frame) for r in result.results if not r.success]
    return len(frame), [f for f in extra if (f.expectation, f.column) not in known]


def _sample_source(schema: TableSchema, failures: list[CheckFailure]) -> str:
    """At most GX_SAMPLE_ROWS rows (reservoir, seeded) plus the rows failures name by key."""
    sample = (
        f"(select * from {schema.name} "
        f"using sample reservoir({GX_SAMPLE_ROWS} rows) repeatable ({SAMPLE_SEED}))"
    )
    named = [k for f in failures for k in f.failing_keys if set(k) <= set(schema.key)]
    if not named or not schema.key:
        return sample
    keys = ", ".join(schema.key)
    values = ", ".join(
        "(" + ", ".join(checks.literal(k[c]) for c in schema.key) + ")" for k in named
    )
    failing = f"(select * from {schema.name} where ({keys}) in (values {values}))"
    return f"(select * from {sample} union select * from {failing})"


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
