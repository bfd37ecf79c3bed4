"""Human-readable summaries of stage results (CLI tables and Prefect markdown artifacts)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table


def ingest_table(summary: dict) -> Table:
    """Per-file read / loaded / filtered / quarantined-by-reason counts."""
    table = Table(title=f"ingest ({summary['version']})")
    for name in ("file", "lines read", "submissions", "comments", "filtered", "quarantined"):
        table.add_column(name, justify="left" if name == "file" else "right", overflow="fold")
    for row in summary["files"]:
        if row["skipped"]:
            table.add_row(Path(row["path"]).name, "already ingested", "-", "-", "-", "-")
            continue
        reasons = "\n".join(f"{k}={v}" for k, v in row["quarantined"].items()) or "0"
        table.add_row(
            Path(row["path"]).name,
            f"{row['lines_read']:,}",
            f"{row['submissions']:,}",
            f"{row['comments']:,}",
            f"{row['filtered']:,}",
            reasons,
        )
    return table


def staging_table(summary: dict) -> Table:
    """Rows, kept rows and drops per reason for each staging table."""
    table = Table(title=f"staging ({summary['version']})")
    for name in ("table", "rows", "kept", "dropped by reason"):
        table.add_column(
            name, justify="left" if name in ("table", "dropped by reason") else "right"
        )
    for name, row in summary["tables"].items():
        drops = "\n".join(f"{k}={v}" for k, v in row["dropped"].items()) or "-"
        table.add_row(name, f"{row['rows']:,}", f"{row['kept']:,}", drops)
    return table


def reuse_table(rows: list[dict]) -> Table:
    """What each stage reused and computed (``communitybench.reuse`` rows)."""
    table = Table(title="reuse per stage")
    for name in ("stage", "unit", "reused", "computed", "note"):
        table.add_column(name, justify="right" if name in ("reused", "computed") else "left")
    for row in rows:
        table.add_row(
            row["stage"],
            row["unit"],
            f"{row['reused']:,}",
            f"{row['computed']:,}",
            row["note"] or "",
        )
    return table


def reuse_markdown(rows: list[dict]) -> list[str]:
    """Markdown lines of the reuse table."""
    lines = [
        "## reuse per stage",
        "",
        "| stage | unit | reused | computed | note |",
        "|---|---|---:|---:|---|",
    ]
    for row in rows:
        note = (row["note"] or "").replace("|", "\\|")
        lines.append(
            f"| {row['stage']} | {row['unit']} | {row['reused']} | {row['computed']} | {note} |"
        )
    return lines


def summary_markdown(summary: dict) -> str:
    """A markdown rendering of a build summary, for Prefect artifacts."""
    lines = [f"# build summary — config `{summary.get('config')}`", ""]
    if "ingest" in summary:
        lines += [
            "## ingest",
            "",
            "| file | lines | submissions | comments | quarantined |",
            "|---|---:|---:|---:|---|",
        ]
        for row in summary["ingest"]["files"]:
            lines.append(
                f"| {row['path']} | {row['lines_read']} | {row['submissions']} | "
                f"{row['comments']} | {row['quarantined']} |"
            )
    if "staging" in summary:
        lines += ["", "## staging", "", "| table | rows | kept | dropped |", "|---|---:|---:|---|"]
        for name, row in summary["staging"]["tables"].items():
            lines.append(f"| {name} | {row['rows']} | {row['kept']} | {row['dropped']} |")
    if "release" in summary:
        release = summary["release"]
        checks = release["validation"]["tables"]
        lines += [
            "",
            "## release",
            "",
            f"- version: `{release['version']}` at `{release['path']}`",
            f"- validation: passed ({len(checks)} tables, "
            f"{sum(t['checks'] for t in checks.values())} checks)",
            "",
            "| task/split | instances |",
            "|---|---:|",
        ]
        lines += [f"| {k} | {n} |" for k, n in release["gates"]["counts"].items()]
    if summary.get("stage_reuse"):
        lines += ["", *reuse_markdown(summary["stage_reuse"])]
    return "\n".join(lines) + "\n"


def print_tables(*tables: Table) -> None:
    console = Console()
    for table in tables:
        console.print(table)
