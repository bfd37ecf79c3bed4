"""Human-readable crawl summaries: a rich table for the CLI, markdown for the Prefect artifact."""

from __future__ import annotations

from rich import box
from rich.table import Table

COLUMNS = (  # (header, summary key): threads ok / partial / failed / pending / fully expanded
    ("posts", "submissions"),
    ("ok", "threads_ok"),
    ("partial", "threads_partial"),
    ("failed", "threads_failed"),
    ("pending", "threads_pending"),
    ("full", "fully_expanded"),
    ("comments", "comments"),
)


def crawl_footer(summary: dict) -> list[str]:
    """Run totals, retries and errors, one line each."""
    reasons = ", ".join(f"{k}={v}" for k, v in summary["retries_by_reason"].items()) or "none"
    errors = ", ".join(f"{k}={v}" for k, v in summary["errors"].items()) or "none"
    members = summary["members"]
    return [
        f"crawl {summary['crawl_id']} ({summary['version']}), "
        f"{'finished' if summary['finished'] else 'unfinished'}, "
        f"{summary['attempts']} attempt(s){' — resumed' if summary['resumed'] else ''}",
        f"rows: {summary['totals']['submissions']:,} submissions, "
        f"{summary['totals']['comments']:,} comments "
        f"({members['comments']:,} from {members['histories']:,} member histories)",
        f"requests: {summary['requests']:,}; retries: {summary['retries']:,} ({reasons})",
        f"errors (see crawl_errors): {errors}",
    ]


def crawl_table(summary: dict) -> Table:
    """Per-subreddit counts: posts, threads by status, fully expanded threads, comments."""
    table = Table(
        title=f"reddit crawl ({summary['version']}): posts and threads per subreddit",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("subreddit", no_wrap=True)
    for title, _ in COLUMNS:
        table.add_column(title, justify="right")
    for name, row in summary["subreddits"].items():
        table.add_row(f"r/{name}", *(f"{row[key]:,}" for _, key in COLUMNS))
    return table


def crawl_markdown(summary: dict) -> str:
    """The same summary as markdown (for ``create_markdown_artifact``)."""
    header = "| subreddit | " + " | ".join(title for title, _ in COLUMNS) + " |"
    lines = [f"# reddit crawl `{summary['crawl_id']}`", "", header]
    lines.append("|---|" + "---:|" * len(COLUMNS))
    for name, row in summary["subreddits"].items():
        lines.append(f"| r/{name} | " + " | ".join(str(row[k]) for _, k in COLUMNS) + " |")
    lines += [""] + [f"- {line}" for line in crawl_footer(summary)]
    return "\n".join(lines) + "\n"
