"""Dataset card: HF front matter per task/split, diff counts, drop table."""

from __future__ import annotations

from transforms.card import front_matter, release_diff, render_card


def test_front_matter_declares_one_config_per_task():
    text = front_matter("2026.01.02", {"pi": ["train", "test"], "ci": ["dev"]})
    assert text == (
        "---\npretty_name: communitybench 2026.01.02\nlicense: other\nconfigs:\n"
        "- config_name: pi\n  data_files:\n  - split: train\n    path: pi/train.parquet\n"
        "  - split: test\n    path: pi/test.parquet\n"
        "- config_name: ci\n  data_files:\n  - split: dev\n    path: ci/dev.parquet\n---\n"
    )


def test_release_diff_counts_added_removed_kept():
    previous = {"version": "v1", "communities": ["a", "b"], "instances": ["pi:1", "pi:2"]}
    current = {"communities": ["b", "c", "d"], "instances": ["pi:2"]}
    assert release_diff(previous, current) == {
        "previous": "v1",
        "communities": {"added": 2, "removed": 1, "kept": 1},
        "instances": {"added": 0, "removed": 1, "kept": 1},
    }
    assert release_diff(None, current) == {"previous": None}


def test_card_lists_sizes_drops_and_diff():
    card = render_card(
        version="v2",
        splits={"pi": {"train": 8, "dev": 1, "test": 1}},
        stats={
            "communities": 3,
            "drop_reasons": {"stg_comments": {"bot": 5}},
            "profile_methods": {"extractive": 3},
        },
        diff={"previous": "v1", "instances": {"added": 2, "removed": 1, "kept": 7}},
        validation={"success": True, "tables": {"task_pi": {"checks": 12}}},
        manifest_summary={"config_hash": "abc"},
    )
    assert "| pi | 8 | 1 | 1 |" in card
    assert "| stg_comments | bot | 5 |" in card
    assert "| instances | 2 | 1 | 7 |" in card
    assert "Profiles: 3 extractive" in card
    assert card.index("split: train") < card.index("split: dev") < card.index("split: test")


def test_card_shows_the_shortcut_audit():
    row = {
        "task": "pi",
        "split": "test",
        "baseline": "earliest",
        "n": 30,
        "accuracy": 0.5,
        "chance": 0.25,
        "lift": 0.25,
        "ci_low": 0.3312,
        "ci_high": 0.6688,
        "ci_low_family": 0.25,
        "max_lift": 0.1,
        "blocks": True,
    }
    card = render_card(
        version="v2",
        splits={"pi": {"train": 8, "dev": 1, "test": 30}},
        stats={},
        diff={"previous": None},
        validation={"success": True, "tables": {}},
        manifest_summary={},
        shortcut_audit=[
            row,
            {
                **row,
                "baseline": "fixed_first",
                "accuracy": 0.2,
                "lift": -0.05,
                "ci_low": 0.095,
                "ci_high": 0.373,
                "blocks": False,
            },
        ],
    )
    assert "## Shortcut audit" in card and "chance + 0.10" in card
    assert "| pi | test | earliest | 30 | 0.500 | 0.250 | 0.331–0.669 | +0.250 **blocks** |" in card
    assert "| pi | test | fixed_first | 30 | 0.200 | 0.250 | 0.095–0.373 | -0.050 |" in card
    assert "No test instances to audit." in render_card(
        version="v",
        splits={},
        stats={},
        diff={"previous": None},
        validation={"success": True, "tables": {}},
        manifest_summary={},
    )


def test_card_lists_the_estimator_of_each_source():
    rows = [
        {"source": "dump", "estimator": "dirichlet_score", "option_sets": 40, "usable": 31},
        {"source": "stackexchange", "estimator": "beta_updown", "option_sets": 12, "usable": 9},
        {"source": "stackexchange", "estimator": "dirichlet_score", "option_sets": 5, "usable": 5},
    ]
    card = render_card(
        version="v1",
        splits={},
        stats={"estimators": rows},
        diff={"previous": None},
        validation={"success": True, "tables": {}},
        manifest_summary={},
    )
    assert "| dump | dirichlet_score | 40 | 31 |" in card
    assert "| stackexchange | beta_updown | 12 | 9 |" in card
    assert "- **beta_updown**: Beta posterior approval r = (a0+U)/(a0+b0+U+D)" in card
    # a Stack Exchange dump without Votes.xml falls back to scores, and the card says so
    assert (
        "stackexchange: 5 option sets use dirichlet_score (score only): the site dump had no "
        "Votes.xml" in card
    )
    assert "Preference estimators" not in render_card(
        version="v1",
        splits={},
        stats={},
        diff={"previous": None},
        validation={"success": True, "tables": {}},
        manifest_summary={},
    )


def test_card_reports_both_community_levels():
    levels = [
        {
            "level": "forum",
            "found": 2,
            "published": 2,
            "median_size": 150.0,
            "median_stability": None,
            "coverage": 0.61,
        },
        {
            "level": "sub",
            "found": 5,
            "published": 3,
            "median_size": 24.0,
            "median_stability": 0.84,
            "coverage": 0.125,
        },
    ]
    card = render_card(
        version="v2",
        splits={"pi": {"train": 8, "dev": 1, "test": 1}},
        stats={"communities": 3, "levels": levels},
        diff={"previous": None},
        validation={"success": True, "tables": {}},
        manifest_summary={"config_hash": "abc"},
    )
    assert "| forum | 2 | 2 | 150 | - | 61.0% |" in card
    assert "| sub | 5 | 3 | 24 | 0.84 | 12.5% |" in card
    assert "Sub-communities: 3" in card


def test_baseline_table_lists_every_baseline_per_task():
    from transforms.card import baseline_lines

    table = {
        "meta": {"split": "test", "notes": ["ci: no test instances"]},
        "pi": {"longest": {"accuracy": 0.5}, "chance": {"accuracy": 0.25}},
        "dp": {"uniform": {"kendall_tau": 0.0, "top1": 0.4, "jsd": 0.1234}},
    }
    lines = baseline_lines(table)
    assert lines[0] == "## Baselines"
    assert "| pi | chance | 0.250 |" in lines and "| pi | longest | 0.500 |" in lines
    assert "| task | baseline | kendall_tau | top1 | jsd |" in lines
    assert "| dp | uniform | 0.000 | 0.400 | 0.123 |" in lines
    assert "- ci: no test instances" in lines
    assert baseline_lines(None) == []
