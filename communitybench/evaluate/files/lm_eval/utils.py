"""lm-evaluation-harness helpers for a communitybench release (shipped in <release>/eval/lm_eval/).

Self-contained: it reads the release it sits in (``../../<task>/<split>.jsonl``) and the prompt
templates beside it (``../prompts/<task>.txt``), and needs only the harness (``datasets``) and the
standard library. Run with, for example::

    lm_eval --model local-chat-completions --include_path <release>/eval/lm_eval \\
        --tasks communitybench_dp --apply_chat_template \\
        --model_args model=NAME,base_url=http://127.0.0.1:8000/v1/chat/completions

PI and CI are ``multiple_choice`` (the choices are the JSON answers ``{"answer": i}``, scored by
log-likelihood: needs a model with log-probabilities); DP and CCG are ``generate_until`` and
parse the JSON answer in ``process_results``. DP returns ``jsd`` (bits), ``kendall_tau`` (tau-b;
0 when either side is constant) and ``top1``; an unusable answer scores the worst values (tau -1,
top-1 0, JSD 1). CCG returns ``reference_f1``, the best unigram F1 against the community's
endorsed replies (``communitybench evaluate`` computes the embedding-based consistency).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

EVAL_DIR = Path(__file__).resolve().parent.parent
RELEASE_DIR = EVAL_DIR.parent


def _dataset(task: str, **kwargs):
    import datasets

    files = {
        split: str(RELEASE_DIR / task / f"{split}.jsonl")
        for split in ("train", "dev", "test")
        if (RELEASE_DIR / task / f"{split}.jsonl").exists()
        and (RELEASE_DIR / task / f"{split}.jsonl").stat().st_size > 0
    }
    return datasets.load_dataset("json", data_files=files)


def load_pi(**kwargs):
    return _dataset("pi")


def load_dp(**kwargs):
    return _dataset("dp")


def load_ci(**kwargs):
    return _dataset("ci")


def load_ccg(**kwargs):
    return _dataset("ccg")


def _template(task: str) -> str:
    return (EVAL_DIR / "prompts" / f"{task}.txt").read_text(encoding="utf-8")


def profile_text(profile) -> str:
    data = json.loads(profile) if isinstance(profile, str) else dict(profile or {})
    lines = [str(data["summary"])] if data.get("summary") else []
    for section in ("common_identity", "common_bond"):
        for key, value in (data.get(section) or {}).items():
            if isinstance(value, list):
                value = "; ".join(str(v) for v in value)
            lines.append(f"{key.replace('_', ' ')}: {value}")
    for key, value in data.items():
        if key not in ("summary", "common_identity", "common_bond", "profile_method"):
            if isinstance(value, list | dict):
                value = json.dumps(value, ensure_ascii=False)
            lines.append(f"{key.replace('_', ' ')}: {value}")
    return "\n".join(lines)


def _forum(doc) -> str:
    for key in ("subreddit", "site", "forum"):
        if doc.get(key):
            return str(doc[key])
    return "unknown"


def _query(doc) -> str:
    return "\n\n".join(p for p in (doc.get("query_title"), doc.get("query_body")) if p)


def _numbered(texts, label: str = "Reply") -> str:
    return "\n\n".join(f"{label} {i}:\n{t}" for i, t in enumerate(texts))


def fields(task: str, doc) -> dict:
    out = {"forum": _forum(doc), "query": _query(doc)}
    if task in ("pi", "dp", "ccg"):
        out["profile"] = profile_text(doc["profile"])
    if task in ("pi", "dp"):
        out |= {"options": _numbered(doc["option_texts"]), "k": doc["k"], "last": doc["k"] - 1}
    if task == "ci":
        shares = [
            f"Reply {i} ({p:.0%} of the approval):\n{t}"
            for i, (t, p) in enumerate(zip(doc["option_texts"], doc["distribution"], strict=True))
        ]
        profiles = doc["candidate_profiles"]
        profiles = json.loads(profiles) if isinstance(profiles, str) else list(profiles)
        out |= {
            "options_with_shares": "\n\n".join(shares),
            "candidates": _numbered([profile_text(p) for p in profiles], "Community"),
            "last_candidate": len(profiles) - 1,
        }
    return out


def pi_text(doc) -> str:
    return _template("pi").format(**fields("pi", doc))


def dp_text(doc) -> str:
    return _template("dp").format(**fields("dp", doc))


def ci_text(doc) -> str:
    return _template("ci").format(**fields("ci", doc))


def ccg_text(doc) -> str:
    return _template("ccg").format(**fields("ccg", doc))


def option_choices(doc) -> list[str]:
    return [json.dumps({"answer": i}) for i in range(doc["k"])]


def candidate_choices(doc) -> list[str]:
    return [json.dumps({"answer": i}) for i in range(len(doc["candidate_ids"]))]


def _json_object(text: str):
    match = re.search(r"\{.*\}", text or "", flags=re.DOTALL)
    if not match:
        return None
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def kendall_tau_b(x, y) -> float:
    pairs = [(i, j) for i in range(len(x)) for j in range(i + 1, len(x))]
    sx = [(x[i] > x[j]) - (x[i] < x[j]) for i, j in pairs]
    sy = [(y[i] > y[j]) - (y[i] < y[j]) for i, j in pairs]
    n0 = len(pairs)
    denominator = math.sqrt((n0 - sx.count(0)) * (n0 - sy.count(0)))
    if denominator == 0:
        return 0.0
    return sum(a * b for a, b in zip(sx, sy, strict=True)) / denominator


def jsd_bits(p, q) -> float:
    sp, sq = sum(p), sum(q)
    p, q = [a / sp for a in p], [b / sq for b in q]
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]

    def kl(a):
        return sum(ai * math.log2(ai / mi) for ai, mi in zip(a, m, strict=True) if ai > 0)

    return (kl(p) + kl(q)) / 2


def _argmax(values) -> int:
    return max(range(len(values)), key=lambda i: (values[i], -i))


def parse_distribution(text: str, k: int):
    data = _json_object(text)
    value = (data or {}).get("distribution")
    if not isinstance(value, list) or len(value) != k:
        return None
    if not all(isinstance(p, int | float) and not isinstance(p, bool) for p in value):
        return None
    if any(p < 0 for p in value) or sum(value) <= 0:
        return None
    return [float(p) / sum(value) for p in value]


def process_dp(doc, results) -> dict:
    target = list(doc["distribution"])
    prediction = parse_distribution(results[0], doc["k"])
    if prediction is None:
        return {"jsd": 1.0, "kendall_tau": -1.0, "top1": 0.0}
    return {
        "jsd": jsd_bits(prediction, target),
        "kendall_tau": kendall_tau_b(prediction, target),
        "top1": float(_argmax(prediction) == _argmax(target)),
    }


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", (text or "").lower())


def _f1(a: list[str], b: list[str]) -> float:
    common = sum(min(a.count(t), b.count(t)) for t in set(a))
    if not a or not b or not common:
        return 0.0
    precision, recall = common / len(a), common / len(b)
    return 2 * precision * recall / (precision + recall)


def process_ccg(doc, results) -> dict:
    data = _json_object(results[0])
    reply = data.get("reply") if data and isinstance(data.get("reply"), str) else results[0]
    generated = _tokens(reply)
    return {"reference_f1": max(_f1(generated, _tokens(r)) for r in doc["reference_texts"])}
