"""The ``eval/`` folder every release ships: prompts, lm-evaluation-harness tasks, inspect_ai tasks.

``eval/prompts/`` holds the templates ``communitybench evaluate --model`` asks (and the CCG judge
prompt); ``eval/lm_eval/`` the harness task YAMLs with their ``utils.py``; ``eval/inspect/`` an
inspect_ai task module. All of them read the release folder they sit in.
"""

from __future__ import annotations

import shutil
from pathlib import Path

FILES = Path(__file__).resolve().parent / "files"
PARTS = ("prompts", "lm_eval", "inspect")
README = """# Evaluating a model on this release

- `communitybench evaluate --release <this folder> --predictions preds.jsonl --out metrics.json`
  scores a predictions file (one `{"task", "instance_id", "prediction"}` per line).
- `communitybench evaluate --release <this folder> --model NAME --base-url URL --out metrics.json`
  asks any OpenAI-compatible chat model with the templates in `prompts/`.
- lm-evaluation-harness: `lm_eval --include_path <this folder>/eval/lm_eval --tasks
  communitybench_dp ...` (tasks communitybench_pi, _ci, _dp, _ccg; tag communitybench).
- inspect_ai: `inspect eval <this folder>/eval/inspect/communitybench_tasks.py@pi --model ...`.
- `prompts/judge.txt` is the pairwise CCG judge prompt (asked in both orders).
"""


def write_eval_files(release_dir: Path) -> list[Path]:
    """Copy the evaluation files into ``<release_dir>/eval/``; return the files written."""
    target = Path(release_dir) / "eval"
    for part in PARTS:
        shutil.copytree(
            FILES / part, target / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    (target / "README.md").write_text(README)
    return sorted(p for p in target.rglob("*") if p.is_file())
