"""The task prompts a release ships (``eval/prompts/<task>.txt``), their answer schemas, and
answers → predictions.

Templates are ``str.format`` text with the fields below; the release's own copy is used when it
has one, so a model is asked exactly what the release says. Answers are JSON objects:
``{"answer": i}`` (PI, CI), ``{"distribution": [...]}`` (DP), ``{"reply": "..."}`` (CCG).
"""

from __future__ import annotations

from pathlib import Path

from communitybench.evaluate.release import (
    Release,
    candidate_profiles,
    forum_of,
    profile_text,
    query_text,
)

FILES = Path(__file__).resolve().parent / "files"
PROMPT_NAMES = ("pi", "dp", "ci", "ccg", "judge")


def load_templates(release: Release | None = None) -> dict[str, str]:
    """Prompt templates: the release's ``eval/prompts/`` when present, else this package's."""
    out = {}
    for name in PROMPT_NAMES:
        shipped = release.path / "eval" / "prompts" / f"{name}.txt" if release else None
        path = shipped if shipped and shipped.exists() else FILES / "prompts" / f"{name}.txt"
        out[name] = path.read_text(encoding="utf-8")
    return out


def numbered(texts: list[str], label: str = "Reply") -> str:
    return "\n\n".join(f"{label} {i}:\n{t}" for i, t in enumerate(texts))


def prompt_fields(task: str, row: dict) -> dict:
    """The template fields of one instance."""
    fields = {"forum": forum_of(row), "query": query_text(row)}
    if task in ("pi", "dp", "ccg"):
        fields["profile"] = profile_text(row["profile"])
    if task in ("pi", "dp"):
        fields |= {"options": numbered(row["option_texts"]), "k": row["k"], "last": row["k"] - 1}
    if task == "ci":
        shares = [
            f"Reply {i} ({p:.0%} of the approval):\n{t}"
            for i, (t, p) in enumerate(zip(row["option_texts"], row["distribution"], strict=True))
        ]
        profiles = [profile_text(p) for p in candidate_profiles(row)]
        fields |= {
            "options_with_shares": "\n\n".join(shares),
            "candidates": numbered(profiles, "Community"),
            "last_candidate": len(profiles) - 1,
        }
    return fields


def render(task: str, row: dict, templates: dict[str, str]) -> list[dict]:
    """The chat messages for one instance."""
    return [{"role": "user", "content": templates[task].format(**prompt_fields(task, row))}]


def schema(task: str, row: dict) -> dict:
    """The JSON schema of a valid answer to this instance."""
    if task in ("pi", "ci"):
        bound = row["k"] if task == "pi" else len(row["candidate_ids"])
        prop = {"type": "integer", "minimum": 0, "maximum": bound - 1}
        return _object({"answer": prop})
    if task == "dp":
        items = {"type": "number", "minimum": 0, "maximum": 1}
        arr = {"type": "array", "items": items, "minItems": row["k"], "maxItems": row["k"]}
        return _object({"distribution": arr})
    if task == "judge":
        return _object({"winner": {"type": "string", "enum": ["A", "B", "tie"]}})
    return _object({"reply": {"type": "string", "minLength": 1}})


def _object(properties: dict) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def to_prediction(task: str, row: dict, answer: dict) -> tuple[object, str | None]:
    """The prediction an answer makes, or why it cannot be one (the repair turn's message)."""
    if task in ("pi", "ci"):
        value = answer.get("answer")
        bound = row["k"] if task == "pi" else len(row["candidate_ids"])
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < bound:
            return None, f'"answer" must be an integer from 0 to {bound - 1}'
        return value, None
    if task == "dp":
        value = answer.get("distribution")
        k = row["k"]
        ok = isinstance(value, list) and len(value) == k
        ok = ok and all(isinstance(p, int | float) and not isinstance(p, bool) for p in value)
        if not ok or any(p < 0 for p in value) or sum(value) <= 0:
            return None, f'"distribution" must be a list of {k} non-negative numbers'
        total = float(sum(value))
        return [float(p) / total for p in value], None  # a model's rounding is renormalised
    if task == "judge":
        value = answer.get("winner")
        return (
            (value, None) if value in ("A", "B", "tie") else (None, '"winner" must be A, B or tie')
        )
    value = answer.get("reply")
    if not isinstance(value, str) or not value.strip():
        return None, '"reply" must be a non-empty text'
    return value, None
