"""The shortcut gate: community-blind baselines on each task's test split (``shortcut_audit``).

Runs after the splits are assigned. ``audit_shortcuts`` scores every baseline of
``transforms/shortcuts.py`` on the PI and DP test instances (the option-choice tasks; DP's answer
is the argmax of its distribution) and writes the ``shortcut_audit`` table; ``check_shortcut_gate``
raises ``ShortcutGateFailed`` (a ``ReleaseError``: nothing is published) naming each baseline that
beats chance by more than ``gates.max_shortcut_lift`` with its interval above chance (95%
family-wise over the build's baselines and tasks).
"""

from __future__ import annotations

import warehouse
from communitybench.config import EmbedConfig
from communitybench.release.versions import ReleaseError
from transforms.labels import rows_to_frame
from transforms.shortcuts import apply_gate, gate_failures, group_instances, score_baselines

AUDITED_TASKS = ("pi", "dp")


class ShortcutGateFailed(ReleaseError):
    """A community-blind baseline answers a test split far above chance."""

    def __init__(self, failures: list[str]):
        self.failures = failures
        lines = "\n".join(f"  - {line}" for line in failures)
        super().__init__(
            "shortcut gate failed: a community-blind baseline beats chance on a test split, so "
            "the labels reward a shortcut instead of community preference (see the "
            f"shortcut_audit table; raise gates.max_shortcut_lift only knowingly):\n{lines}"
        )


def audit_shortcuts(con, *, embed: EmbedConfig, max_lift: float) -> list[dict]:
    """Score the baselines on every audited task's test split; write ``shortcut_audit``."""
    params = {"model": embed.model, "revision": embed.revision}
    options = warehouse.query(con, "int_audit_options", params).pl().to_dicts()
    grouped = group_instances(options)
    rows = []
    for task in AUDITED_TASKS:
        instances = [inst for (t, _), inst in grouped.items() if t == task]
        rows += score_baselines(instances, task=task, split="test")
    rows = apply_gate(rows, max_lift=max_lift)
    warehouse.replace_tables(
        con, {"shortcut_audit": rows_to_frame(rows, "shortcut_audit").to_arrow()}
    )
    return rows


def check_shortcut_gate(rows: list[dict]) -> None:
    """Raise ``ShortcutGateFailed`` when any audit row blocks the release."""
    failures = gate_failures(rows)
    if failures:
        raise ShortcutGateFailed(failures)
