"""The release's dataset card (README.md with Hugging Face YAML front matter) and its diff.

Pure functions: dicts in, text out. The YAML front matter declares one config per task with its
split files, so ``datasets.load_dataset(<release dir>, "pi")`` loads that task.
"""

from __future__ import annotations

TASKS = {
    "pi": "Preference Identification — which option the community prefers most (accuracy)",
    "dp": "Preference Distribution Prediction — the community's distribution over the options "
    "(Kendall tau, top-1 accuracy, Jensen-Shannon divergence)",
    "ccg": "Community-Consistent Generation — a reply the community would write and endorse "
    "(references: its most-endorsed replies)",
    "ci": "Community Identification — which candidate community produced the observed "
    "distribution (accuracy)",
}


def front_matter(version: str, splits: dict[str, list[str]]) -> str:
    """YAML front matter: one config per task, one data file per split (parquet)."""
    lines = ["---", f"pretty_name: communitybench {version}", "license: other", "configs:"]
    for task, names in splits.items():
        lines += [f"- config_name: {task}", "  data_files:"]
        for split in names:
            lines += [f"  - split: {split}", f"    path: {task}/{split}.parquet"]
    lines.append("---")
    return "\n".join(lines) + "\n"


def release_diff(previous: dict | None, current: dict) -> dict:
    """Communities and instances added/removed relative to the previous release's ids."""
    if previous is None:
        return {"previous": None}
    out = {"previous": previous["version"]}
    for kind in ("communities", "instances"):
        old, new = set(previous[kind]), set(current[kind])
        out[kind] = {"added": len(new - old), "removed": len(old - new), "kept": len(old & new)}
    return out


def _num(value) -> str:
    return "-" if value is None else f"{value:.3g}"


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def render_card(
    *,
    version: str,
    splits: dict,
    stats: dict,
    diff: dict,
    validation: dict,
    manifest_summary: dict,
    baselines: dict | None = None,
    shortcut_audit: list[dict] | None = None,
) -> str:
    """The whole README.md of a release."""
    order = ("train", "dev", "test")
    lines = [front_matter(version, {t: [x for x in order if x in s] for t, s in splits.items()})]
    lines += [
        f"# communitybench {version}",
        "",
        "Community-level preference benchmark built from forum data by the communitybench "
        "pipeline. Every instance is tied to one community (a cluster of forum members "
        "found from what they write), one query (a thread that asks something), k options "
        "(real top-level replies) and the community's preference distribution over them, "
        "estimated from votes inside threads the community owns.",
        "",
        "## Tasks",
        "",
    ]
    lines += [f"- **{t}** — {d}" for t, d in TASKS.items()]
    lines += ["", "## Size", ""]
    rows = [
        [t, *(counts.get(s, 0) for s in ("train", "dev", "test"))] for t, counts in splits.items()
    ]
    lines += _table(["task", "train", "dev", "test"], rows)
    lines += [
        "",
        f"Sub-communities: {stats.get('communities', 0)} "
        f"(sizes {stats.get('community_size_min', 0)}–{stats.get('community_size_max', 0)},"
        f" median {stats.get('community_size_median', 0)}); members clustered: "
        f"{stats.get('members', 0)}; noise share: {stats.get('noise_share', 0):.1%}.",
        "",
    ]
    levels = stats.get("levels", [])
    if levels:
        lines += [
            "Community levels: a forum community per subreddit with enough members, and stable "
            "sub-communities found inside it (published when their subsample stability reaches "
            "the threshold). Coverage: share of kept comments written by members of a published "
            "community of the level.",
            "",
        ]
        lines += _table(
            ["level", "found", "published", "median size", "median stability", "coverage"],
            [
                [
                    lv["level"],
                    lv["found"],
                    lv["published"],
                    _num(lv["median_size"]),
                    _num(lv["median_stability"]),
                    f"{lv['coverage'] or 0:.1%}",
                ]
                for lv in levels
            ],
        )
        lines += [""]
    methods = stats.get("profile_methods", {})
    if methods:
        lines += [
            "Profiles: "
            + ", ".join(f"{n} {m}" for m, n in sorted(methods.items()))
            + " (extractive = distinctive terms, representative quotes and tone statistics;"
            " llm = written by the model named under Provenance).",
            "",
        ]
    lines += _estimator_lines(stats.get("estimators", []))
    lines += ["## What was dropped before building (staging drop reasons)", ""]
    drops = stats.get("drop_reasons", {})
    lines += _table(
        ["table", "reason", "rows"],
        [[t, r, n] for t, reasons in drops.items() for r, n in reasons.items()],
    )
    lines += ["", "## Changes since the previous release", ""]
    lines += _diff_lines(diff)
    lines += [
        "",
        "## Validation",
        "",
        f"All gates passed: {validation.get('success')}. "
        f"Tables checked: {len(validation.get('tables', {}))}; checks: "
        f"{sum(t['checks'] for t in validation.get('tables', {}).values())}.",
        "",
    ]
    lines += baseline_lines(baselines)
    lines += shortcut_lines(shortcut_audit)
    lines += [
        "## Plots",
        "",
        "![members](plots/members_map.png)",
        "![community sizes](plots/community_sizes.png)",
        "![option distributions](plots/option_distributions.png)",
        "",
    ]
    lines += ["## Provenance", ""]
    lines += [f"- {k}: `{v}`" for k, v in manifest_summary.items()]
    lines += [
        "",
        "## Loading",
        "",
        "```python",
        "import datasets",
        f'ds = datasets.load_dataset("parquet", data_files={{"test": "{version}/pi/'
        'test.parquet"})',
        "# or, from the release folder: "
        'datasets.load_dataset("<path>/releases/' + version + '", "pi")',
        "```",
        "",
        "Authors never appear: the pipeline keeps usernames inside its warehouse and "
        "exports only keyed pseudonyms.",
        "",
    ]
    return "\n".join(lines)


ESTIMATORS = {
    "beta_updown": "Beta posterior approval r = (a0+U)/(a0+b0+U+D) on real up (U) and down (D) "
    "votes, normalised over the options",
    "dirichlet_score": "score only: Dirichlet vote share (a0+max(score,0)) normalised over the "
    "options, used where down votes are unknown (Reddit hides them; a Stack Exchange dump "
    "without Votes.xml has none)",
}
EXPOSED = "; votes divided by their expected exposure (posting delay, reply rank) first"
ESTIMATORS |= {f"{name}_exposure": text + EXPOSED for name, text in ESTIMATORS.items()}


def _estimator_lines(rows: list[dict]) -> list[str]:
    """Per source, which estimator produced the distributions (and a warning where a source that
    can have real down votes fell back to scores)."""
    if not rows:
        return []
    lines = ["## Preference estimators per source", ""]
    lines += _table(
        ["source", "estimator", "option sets", "usable (not degenerate)"],
        [[r["source"], r["estimator"], r["option_sets"], r["usable"]] for r in rows],
    )
    lines.append("")
    used = sorted({r["estimator"] for r in rows})
    lines += [f"- **{e}**: {ESTIMATORS.get(e, e)}." for e in used]
    for r in rows:
        if r["source"] == "stackexchange" and not r["estimator"].startswith("beta_updown"):
            lines.append(
                f"- stackexchange: {r['option_sets']} option sets use {r['estimator']} "
                "(score only): the site dump had no Votes.xml, so no up and down votes."
            )
    return [*lines, ""]


def _diff_lines(diff: dict) -> list[str]:
    if not diff.get("previous"):
        return ["First release: nothing to compare."]
    lines = [f"Compared with {diff['previous']}:", ""]
    rows = [
        [kind, d["added"], d["removed"], d["kept"]]
        for kind, d in diff.items()
        if isinstance(d, dict)
    ]
    lines += _table(["", "added", "removed", "kept"], rows)
    if "removed_items" in diff:
        lines += [
            "",
            f"Removed since {diff['previous']}: {diff['removed_items']} items "
            "(deleted, removed or taken down at the source).",
        ]
    return lines


BASELINE_METRICS = {"pi": ("accuracy",), "ci": ("accuracy",), "dp": ("kendall_tau", "top1", "jsd")}


def baseline_lines(baselines: dict | None) -> list[str]:
    """The card's baseline table (``baselines.json``: {task: {baseline: {metric: value}}})."""
    if not baselines:
        return []
    meta = baselines.get("meta", {})
    lines = [
        "## Baselines",
        "",
        f"How far trivial predictors get on the {meta.get('split', 'test')} split "
        "(`communitybench baselines`; `baselines.json` has every figure). Community-blind: "
        "random, uniform, fixed position, longest, shortest, most positive, most similar to the "
        "query, and trained_logreg (a logistic regression on length, position, sentiment and "
        "query similarity fitted on train). Community-aware: most_similar_profile (PI, DP) and "
        "the profile similarities of CI. JSD is in bits (lower is better).",
        "",
    ]
    rows = []
    for task, metrics in BASELINE_METRICS.items():
        for name, values in sorted((baselines.get(task) or {}).items()):
            cells = [f"{values[m]:.3f}" if m in values else "" for m in metrics]
            rows.append([task, name, *cells])
    header_rows: dict[str, list] = {}
    for row in rows:
        header_rows.setdefault(row[0], []).append(row)
    for task, task_rows in header_rows.items():
        lines += _table(["task", "baseline", *BASELINE_METRICS[task]], task_rows)
        lines.append("")
    for note in meta.get("notes", []):
        lines.append(f"- {note}")
    return lines + ([""] if meta.get("notes") else [])


def shortcut_lines(rows: list[dict] | None) -> list[str]:
    """The shortcut audit: community-blind baselines on each test split, against chance."""
    lines = ["## Shortcut audit", ""]
    if not rows:
        return lines + ["No test instances to audit.", ""]
    lines += [
        "Community-blind baselines on each task's test split (DP: the argmax of the "
        "distribution). A baseline far above chance would mean the labels reward a shortcut "
        "(posting order, length, position) rather than community preference; the release gate "
        f"fails above chance + {rows[0]['max_lift']:.2f} when the interval at family-wise 95% "
        f"(Bonferroni over the {len(rows)} rows) excludes chance.",
        "",
    ]
    lines += _table(
        ["task", "split", "baseline", "n", "accuracy", "chance", "95% CI (Wilson)", "lift"],
        [
            [
                r["task"],
                r["split"],
                r["baseline"],
                r["n"],
                f"{r['accuracy']:.3f}",
                f"{r['chance']:.3f}",
                f"{r['ci_low']:.3f}–{r['ci_high']:.3f}",
                f"{r['lift']:+.3f}" + (" **blocks**" if r["blocks"] else ""),
            ]
            for r in rows
        ],
    )
    return lines + [""]
