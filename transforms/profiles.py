"""Community profiles: representative texts, c-TF-IDF terms, tone, extractive profiles, prompts.

The profile is hierarchical, after Lin & Wei (2026): common identity (shared values, worldview,
collective identity), common bond (tone and stances, interaction style, bonding dynamics) and a
one-sentence summary. An LLM writes it from representative texts; offline (or when the LLM
fails) an extractive profile is assembled from distinctive terms, quotes and tone statistics.
Pure functions: no I/O, no clock. Profiles never contain usernames (see `scrub_usernames`).
"""

from __future__ import annotations

import json
import re

import numpy as np
import polars as pl

from transforms.labels import sentiment_scores
from transforms.profile_schema import BOND_FIELDS, IDENTITY_FIELDS, profile_from_llm

PROFILES_VERSION = "profiles_v1"

_TOKEN = re.compile(r"/?u/[A-Za-z0-9_-]+|[A-Za-z0-9_-]+")


def select_representatives(
    vectors: np.ndarray, centroid: np.ndarray, *, n_central: int, n_diverse: int
) -> list[int]:
    """Indices of the texts closest to the centroid, then diverse ones by farthest-point sampling.

    Diverse texts are added greedily, each the farthest (cosine) from every text picked so far,
    so the profile sees the community's range and not only its centre.
    """
    if len(vectors) == 0:
        return []
    vec = np.asarray(vectors, dtype=float)
    vec = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)
    c = np.asarray(centroid, dtype=float)
    sims = vec @ (c / max(float(np.linalg.norm(c)), 1e-12))
    picked = [int(i) for i in np.argsort(-sims, kind="stable")[:n_central]]
    nearest = (vec @ vec[picked].T).max(axis=1)
    for _ in range(min(n_diverse, len(vec) - len(picked))):
        nearest[picked] = np.inf
        nxt = int(np.argmin(nearest))
        picked.append(nxt)
        nearest = np.maximum(nearest, vec @ vec[nxt])
    return picked


def distinctive_terms(
    docs: dict[str, list[str]], *, n_terms: int, exclude: frozenset[str] = frozenset()
) -> dict[str, list[str]]:
    """Top class-based TF-IDF terms per community (Grootendorst 2022, BERTopic's c-TF-IDF).

    W(t, c) = tf(t, c) / |c| * log(1 + A / f(t)), with A the mean number of words per class and
    f(t) the frequency of t over all classes. Unigrams and bigrams, English stop words removed;
    a term sharing a word with a better one is skipped, and terms with a token in ``exclude``
    (lower-cased usernames) are never returned.
    """
    from scipy.sparse import diags
    from sklearn.feature_extraction.text import CountVectorizer

    ids = [cid for cid in sorted(docs) if docs[cid]]
    if not ids:
        return {cid: [] for cid in docs}
    vectorizer = CountVectorizer(
        stop_words="english", ngram_range=(1, 2), token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]{2,}\b"
    )
    counts = vectorizer.fit_transform([" ".join(docs[cid]) for cid in ids]).tocsr()
    vocab = vectorizer.get_feature_names_out()
    words, freq = np.asarray(counts.sum(axis=1)).ravel(), np.asarray(counts.sum(axis=0)).ravel()
    idf = np.log(1 + words.sum() / len(ids) / np.maximum(freq, 1))
    weights = (diags(1 / np.maximum(words, 1)) @ counts @ diags(idf)).tocsr()  # stays sparse
    out = {cid: [] for cid in docs}
    for row, cid in enumerate(ids):
        lo, hi = weights.indptr[row], weights.indptr[row + 1]
        cols, vals = weights.indices[lo:hi], weights.data[lo:hi]
        for j in cols[np.lexsort((cols, -vals))]:
            term = str(vocab[j])
            if len(out[cid]) >= n_terms:
                break
            terms = set(term.split())
            if exclude & terms or any(terms & set(t.split()) for t in out[cid]):
                continue
            out[cid].append(term)
    return out


def tone_statistics(texts: list[str], compounds: list[float]) -> dict:
    """Mean VADER compound, shares of positive/negative texts (|compound| >= 0.05), length, ?/!."""
    n = max(len(texts), 1)
    comp = np.asarray(compounds, dtype=float) if compounds else np.zeros(1)
    return {
        "mean_compound": round(float(comp.mean()), 3),
        "positive_share": round(float((comp >= 0.05).sum() / n), 3),
        "negative_share": round(float((comp <= -0.05).sum() / n), 3),
        "mean_chars": round(float(np.mean([len(t) for t in texts])) if texts else 0.0, 1),
        "question_share": round(sum("?" in t for t in texts) / n, 3),
        "exclamation_share": round(sum("!" in t for t in texts) / n, 3),
    }


def scrub_usernames(text: str, usernames: frozenset[str]) -> str:
    """Replace u/name mentions and any token equal to a known username (case-insensitive)."""

    def repl(match: re.Match) -> str:
        token = match.group(0)
        if token.lower().lstrip("/").startswith("u/") or token.lower() in usernames:
            return "[user]"
        return token

    return _TOKEN.sub(repl, text or "")


def scrub_profile(value, usernames: frozenset[str]):
    """`scrub_usernames` applied to every string inside a JSON-like value."""
    if isinstance(value, str):
        return scrub_usernames(value, usernames)
    if isinstance(value, list):
        return [scrub_profile(v, usernames) for v in value]
    if isinstance(value, dict):
        return {k: scrub_profile(v, usernames) for k, v in value.items()}
    return value


def _clip(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _tone_word(mean_compound: float) -> str:
    if mean_compound >= 0.25:
        return "Warm, upbeat"
    if mean_compound >= 0.05:
        return "Mildly positive"
    if mean_compound > -0.05:
        return "Matter-of-fact"
    return "Critical, frustrated"


def build_extractive_profile(
    *,
    subreddit: str,
    n_members: int,
    n_texts: int,
    terms: list[str],
    quotes: list[str],
    tone: dict,
    in_group_reply_share: float | None,
    quote_chars: int = 280,
) -> dict:
    """A profile assembled from distinctive terms, representative quotes and tone statistics."""
    top = terms[:3] or ["(no distinctive terms)"]
    listed = ", ".join(top[:-1]) + (" and " if len(top) > 1 else "") + top[-1]
    quotes = [_clip(q, quote_chars) for q in quotes]
    bond = (
        f"{in_group_reply_share:.0%} of their replies to other comments answer a fellow member."
        if in_group_reply_share is not None
        else "No reply threads between members were observed."
    )
    return {
        "profile_method": "extractive",
        "summary": f"A r/{subreddit} community of {n_members} members who keep returning to "
        f"{listed}.",
        "common_identity": {
            "shared_values": "Recurring concerns: " + (", ".join(terms[:8]) or "none") + ".",
            "worldview": f'Typical view: "{quotes[0]}"' if quotes else "No texts available.",
            "collective_identity": f"{n_members} members of r/{subreddit} ({n_texts} texts) "
            f"whose vocabulary sets them apart: {listed}.",
        },
        "common_bond": {
            "tone_and_stances": f"{_tone_word(tone['mean_compound'])} tone (mean VADER compound "
            f"{tone['mean_compound']:+.2f}; {tone['positive_share']:.0%} positive, "
            f"{tone['negative_share']:.0%} negative texts).",
            "interaction_style": f"Texts average {tone['mean_chars']:.0f} characters; "
            f"{tone['question_share']:.0%} ask a question, {tone['exclamation_share']:.0%} "
            "use exclamations.",
            "bonding_dynamics": bond,
        },
        "distinctive_terms": list(terms),
        "representative_quotes": quotes,
        "tone": tone,
    }


def build_profile_messages(
    *, subreddit: str, texts: list[str], terms: list[str], max_text_chars: int
) -> list[dict]:
    """Chat messages asking an LLM for the hierarchical profile as JSON (texts pre-scrubbed)."""
    system = (
        "You describe online communities for a research benchmark. From the sample of texts "
        "written by members of one community, infer what the community shares. Answer with a "
        f"JSON object with keys common_identity {{{', '.join(IDENTITY_FIELDS)}}}, common_bond "
        f"{{{', '.join(BOND_FIELDS)}}} and summary (one sentence, e.g. 'programmers who value "
        "productivity tools'). Every value is a short string. Describe the group, never "
        "individuals: no usernames, no names, no quotes."
    )
    sample = "\n".join(f"{i}. {_clip(t, max_text_chars)}" for i, t in enumerate(texts, 1))
    user = (
        f"Subreddit: r/{subreddit}\n"
        f"Distinctive terms: {', '.join(terms) or '(none)'}\n"
        f"Texts by members of the community:\n{sample}"
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def identifying_usernames(authors) -> frozenset[str]:
    """Lower-cased usernames worth scrubbing: those that cannot be ordinary words.

    A name with a digit, '_' or '-', an inner capital, or 12+ characters is scrubbed wherever it
    appears; a plain word ("gardener") is not, or profiles would lose ordinary vocabulary. u/
    mentions are always scrubbed (`scrub_usernames`).
    """
    keep = re.compile(r"[0-9_-]|.[A-Z]|^.{12,}$")
    return frozenset(a.lower() for a in authors if a and a != "[deleted]" and keep.search(a))


def _representatives(group: pl.DataFrame, centroid, n_central: int, n_diverse: int) -> list[int]:
    vectors = group["vector"].to_list()
    with_vec = [i for i, v in enumerate(vectors) if v is not None]
    if not with_vec or centroid is None:
        return list(range(min(group.height, n_central + n_diverse)))
    picks = select_representatives(
        np.vstack([vectors[i] for i in with_vec]),
        centroid,
        n_central=n_central,
        n_diverse=n_diverse,
    )
    return [with_vec[i] for i in picks]


def prepare_profiles(
    texts: pl.DataFrame,
    communities: pl.DataFrame,
    *,
    reply_shares: dict[str, float],
    usernames: frozenset[str],
    n_terms: int,
    max_tone_texts: int,
    n_central: int,
    n_diverse: int,
    n_quotes: int,
) -> list[dict]:
    """Per community: its facts, representative texts and extractive profile (scrubbed).

    Args:
        texts: community_id, item_id, subreddit, clean_text, vector (null when not embedded).
        communities: community_id, scope, size, centroid.
        reply_shares: Share of each community's replies that answer a fellow member.
        usernames: Lower-cased usernames to scrub (`identifying_usernames`).
        n_terms: Distinctive terms per community.
        max_tone_texts: Texts per community used for tone statistics.
        n_central, n_diverse: Representative texts (see `select_representatives`).
        n_quotes: Quotes in the extractive profile.
    """
    groups = {c: g for (c,), g in texts.group_by(["community_id"], maintain_order=True)}
    docs = {c: g["clean_text"].to_list() for c, g in groups.items()}
    terms = distinctive_terms(docs, n_terms=n_terms, exclude=usernames)
    out = []
    for comm in communities.iter_rows(named=True):
        cid, group = comm["community_id"], groups.get(comm["community_id"], texts.clear())
        body = group["clean_text"].to_list()
        picks = _representatives(group, comm["centroid"], n_central, n_diverse)
        rep_texts = [scrub_usernames(body[i], usernames) for i in picks]
        subreddit = sorted(group["subreddit"].mode().to_list() or [comm["scope"]])[0]
        profile = build_extractive_profile(
            subreddit=subreddit,
            n_members=comm["size"],
            n_texts=len(body),
            terms=terms.get(cid, []),
            quotes=rep_texts[:n_quotes],
            tone=tone_statistics(body[:max_tone_texts], sentiment_scores(body[:max_tone_texts])),
            in_group_reply_share=reply_shares.get(cid),
        )
        out.append(
            {
                **comm,
                "subreddit": subreddit,
                "n_texts": len(body),
                "representative_ids": [group["item_id"][i] for i in picks],
                "representative_texts": rep_texts,
                "extractive": scrub_profile(profile, usernames),
            }
        )
    return out


def profile_row(
    prepared: dict,
    *,
    answer: dict | None,
    reason: str | None,
    model: str | None,
    prompt_hash: str | None,
    usernames: frozenset[str],
) -> dict:
    """The profiles table row: the LLM answer when there is one, else the extractive profile."""
    if answer is not None:
        profile, reason = scrub_profile(profile_from_llm(answer), usernames), None
    else:
        profile, model = prepared["extractive"], None
    return {
        **{k: prepared[k] for k in ("community_id", "scope", "subreddit", "n_texts")},
        "profile_method": profile["profile_method"],
        "summary": profile["summary"],
        **profile["common_identity"],
        **profile["common_bond"],
        "distinctive_terms": prepared["extractive"]["distinctive_terms"],
        "representative_ids": prepared["representative_ids"],
        "profile": json.dumps(profile, sort_keys=True, ensure_ascii=False),
        "n_members": prepared["size"],
        "model": model,
        "prompt_hash": prompt_hash,
        "fallback_reason": reason,
        "profile_version": PROFILES_VERSION,
    }
