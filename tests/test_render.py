"""communitybench/render.py: the one renderer shows any StageResult, in a terminal and as the
markdown of Prefect artifacts, and ends a list of results with the ``stage_reuse`` table."""

from __future__ import annotations

from rich.console import Console

from communitybench.render import (
    markdown_table,
    render_markdown,
    render_terminal,
    reuse_table,
    rich_table,
)
from communitybench.stage import StageResult, Table, Work, reuse_rows

COMMUNITIES = StageResult(
    name="communities",
    version="communities_v9",
    work=(
        Work("scopes", computed=1, reused=2, note="re-clustered: b"),
        Work("communities", computed=1234, reused=4),
    ),
    dropped={"noise": 5},
    rows={"communities": 7, "memberships": 1500},
    seconds=1.26,
    notes=("one line",),
    tables=(
        Table(
            "per scope", ("scope", "members", "share"), (("a", 10, 0.123456), ("b|c", 2000, None))
        ),
    ),
)
RELEASE = StageResult(
    name="release",
    version="release_v1",
    work=(Work("releases", reused=1, note="v2: files republished from v1"),),
    details={"ok": True},
)


def test_terminal_shows_heading_facts_and_tables():
    console = Console(record=True, width=100, color_system=None)
    render_terminal([COMMUNITIES, RELEASE], console=console)
    assert console.export_text().splitlines() == [
        "communities (communities_v9) 1.3 s",
        "  scopes: 1 computed, 2 reused (re-clustered: b)",
        "  communities: 1,234 computed, 4 reused",
        "  rows written: communities=7, memberships=1,500",
        "  dropped: noise=5",
        "  one line",
        "per scope",
        "┏━━━━━━━┳━━━━━━━━━┳━━━━━━━━┓",
        "┃ scope ┃ members ┃  share ┃",
        "┡━━━━━━━╇━━━━━━━━━╇━━━━━━━━┩",
        "│ a     │      10 │ 0.1235 │",  # numbers right-aligned, floats to 4 digits
        "│ b|c   │   2,000 │      - │",  # None shows as '-'
        "└───────┴─────────┴────────┘",
        "release (release_v1) 0.0 s",
        "  releases: 0 computed, 1 reused (v2: files republished from v1)",
    ]


def test_markdown_has_a_section_per_stage_and_ends_with_the_reuse_table():
    text = render_markdown([COMMUNITIES, RELEASE], title="build v2")
    assert text == "\n".join(
        [
            "# build v2",
            "",
            "## communities (communities_v9, 1.3 s)",
            "",
            "- scopes: 1 computed, 2 reused (re-clustered: b)",
            "- communities: 1,234 computed, 4 reused",
            "- rows written: communities=7, memberships=1,500",
            "- dropped: noise=5",
            "- one line",
            "",
            "**per scope**",
            "",
            "| scope | members | share |",
            "|---|---:|---:|",
            "| a | 10 | 0.1235 |",
            "| b\\|c | 2,000 | - |",  # a pipe in a cell is escaped
            "",
            "## release (release_v1, 0.0 s)",
            "",
            "- releases: 0 computed, 1 reused (v2: files republished from v1)",
            "",
            "**reuse per stage**",
            "",
            "| stage | unit | reused | computed | note |",
            "|---|---|---:|---:|---|",
            "| communities | scopes | 2 | 1 | re-clustered: b |",
            "| communities | communities | 4 | 1,234 |  |",
            "| release | releases | 1 | 0 | v2: files republished from v1 |",
            "",
        ]
    )


def test_no_work_means_no_reuse_table():
    views = StageResult(name="views", version="views_v2", notes=("v_x skipped",))
    assert render_markdown([views]) == "## views (views_v2, 0.0 s)\n\n- v_x skipped\n"


def test_reuse_table_and_the_two_table_renderings_agree():
    rows = reuse_rows([COMMUNITIES, RELEASE])
    table = reuse_table(rows)
    assert table.rows == (
        ("communities", "scopes", 2, 1, "re-clustered: b"),
        ("communities", "communities", 4, 1234, ""),
        ("release", "releases", 1, 0, "v2: files republished from v1"),
    )
    assert rich_table(table).row_count == len(rows) == len(markdown_table(table)) - 4
    booleans = Table("flags", ("name", "on"), (("a", True), ("b", False)))
    assert markdown_table(booleans)[-2:] == ["| a | yes |", "| b | no |"]


def test_text_that_looks_like_markup_prints_as_itself():
    """Bodies, file names and reasons such as "[deleted]" or "[/x]" are data, not rich markup."""
    result = StageResult(
        name="staging",
        version="v",
        dropped={"[deleted]": 2},
        notes=("kept [b]bold[/b] and [/x] as typed",),
        tables=(Table("[t]", ("[c]",), (("[removed]",),)),),
    )
    console = Console(record=True, width=100, color_system=None)
    render_terminal([result], console=console)
    text = console.export_text()
    assert "dropped: [deleted]=2" in text
    assert "kept [b]bold[/b] and [/x] as typed" in text
    assert "[t]" in text and "[c]" in text and "[removed]" in text
