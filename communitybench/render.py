"""The one renderer of stage results: terminal (rich) and markdown (Prefect artifacts).

Any ``StageResult`` renders the same way: a heading per stage, its work / rows / drops / notes,
then its tables; a list of results ends with the ``stage_reuse`` table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.console import Console, Group
from rich.table import Table as RichTable
from rich.text import Text

from communitybench.stage import StageResult, Table, reuse_rows


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_fmt(v)}" for k, v in value.items()) or "-"
    if isinstance(value, list | tuple):
        return ", ".join(_fmt(v) for v in value) or "-"
    return "-" if value is None else str(value)


def _facts(result: StageResult) -> list[str]:
    """The lines every result has: work, rows, drops, notes."""
    lines = [
        f"{w.unit}: {w.computed:,} computed, {w.reused:,} reused"
        + (f" ({w.note})" if w.note else "")
        for w in result.work
    ]
    if result.rows:
        lines.append("rows written: " + _fmt(dict(result.rows)))
    if result.dropped:
        lines.append("dropped: " + _fmt(dict(result.dropped)))
    return lines + list(result.notes)


def _numeric(rows: tuple[tuple, ...], index: int) -> bool:
    values = [row[index] for row in rows if row[index] is not None]
    return bool(values) and all(isinstance(v, int | float) for v in values)


def rich_table(table: Table) -> RichTable:
    """A stage table as a rich table (numbers right-aligned)."""
    # Text, not markup: a value like "[deleted]" must print as itself
    out = RichTable(title=Text(table.title))
    for i, column in enumerate(table.columns):
        out.add_column(Text(column), justify="right" if _numeric(table.rows, i) else "left")
    for row in table.rows:
        out.add_row(*(Text(_fmt(v)) for v in row))
    return out


def render_terminal(results: Iterable[StageResult], console: Console | None = None) -> None:
    """Print results: a heading line per stage, its facts, then its tables."""
    console = console or Console()
    for result in results:
        heading = Text(result.name, style="bold")
        heading.append(f" ({result.version}) {result.seconds:.1f} s")
        parts: list = [
            heading,
            *(Text(f"  {line}") for line in _facts(result)),
            *(rich_table(t) for t in result.tables),
        ]
        console.print(Group(*parts), highlight=False, soft_wrap=True)


def markdown_table(table: Table) -> list[str]:
    """A stage table as markdown lines."""
    lines = [f"**{table.title}**", "", "| " + " | ".join(table.columns) + " |"]
    lines.append(
        "|"
        + "|".join("---:" if _numeric(table.rows, i) else "---" for i in range(len(table.columns)))
        + "|"
    )
    lines += [
        "| " + " | ".join(_fmt(v).replace("|", "\\|") for v in row) + " |" for row in table.rows
    ]
    return lines


def render_markdown(
    results: Iterable[StageResult], *, title: str | None = None, reuse: bool = True
) -> str:
    """Markdown for Prefect artifacts: a section per stage, then (``reuse``) the reuse table."""
    results = list(results)
    lines = [f"# {title}", ""] if title else []
    for result in results:
        lines += [f"## {result.name} ({result.version}, {result.seconds:.1f} s)", ""]
        lines += [f"- {line}" for line in _facts(result)]
        for table in result.tables:
            lines += ["", *markdown_table(table)]
        lines.append("")
    rows = reuse_rows(results) if reuse else []
    if rows:
        lines += markdown_table(reuse_table(rows))
    return "\n".join(lines).rstrip() + "\n"


def reuse_table(rows: list[dict]) -> Table:
    """``stage_reuse`` rows as a stage table."""
    return Table(
        "reuse per stage",
        ("stage", "unit", "reused", "computed", "note"),
        tuple((r["stage"], r["unit"], r["reused"], r["computed"], r["note"] or "") for r in rows),
    )
