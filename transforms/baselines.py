"""Community-blind baseline predictors: which option would a shortcut pick?

Each predictor sees one instance's options and its query, never the community, and returns an
option index. They serve two readers: the shortcut audit (a build whose test split a blind
predictor solves well above chance carries an artefact, DESIGN.md "Shortcut audit") and the
baseline table of `communitybench baselines` and the dataset card.

An option is a dict with ``text`` and, when the caller knows them, ``created_utc`` (int),
``delay_s``, ``reply_rank``, ``expected_exposure`` (float), ``sentiment`` (VADER compound,
computed here when absent) and ``vector`` (L2-normalised). The query has ``text`` and optionally
``vector``. A predictor whose fields are missing raises :class:`MissingFieldError`; its
``requires`` set (``"created_utc"`` for an option field, ``"query.vector"`` for a query field)
lets a caller skip it beforehand (:func:`missing_fields`, :func:`available_predictors`).

Ties go to the lowest index, so every predictor is deterministic. Pure functions: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from transforms.labels import sentiment_scores

BASELINES_VERSION = "baselines_v1"

Predictor = Callable[[list[dict], dict], int]


class MissingFieldError(KeyError):
    """A predictor needs a field the options or the query do not carry."""

    def __str__(self) -> str:  # KeyError's str() is the repr of its argument
        return str(self.args[0]) if self.args else ""


def _values(options: list[dict], field: str, predictor: str) -> np.ndarray:
    missing = [i for i, o in enumerate(options) if o.get(field) is None]
    if missing:
        raise MissingFieldError(
            f"baseline {predictor!r} needs option field {field!r}; options {missing} lack it"
        )
    return np.asarray([o[field] for o in options], dtype=float)


def _check_options(options: list[dict]) -> None:
    if not options:
        raise ValueError("a baseline needs at least one option")


def _argmax(values: np.ndarray) -> int:
    return int(np.argmax(values))  # numpy returns the first maximum: lowest index on ties


def _argmin(values: np.ndarray) -> int:
    return int(np.argmin(values))


def _requires(*fields: str):
    def mark(fn):
        fn.requires = frozenset(fields)
        return fn

    return mark


@_requires("created_utc")
def earliest(options: list[dict], query: dict) -> int:
    """The first reply posted (smallest ``created_utc``): exposure's favourite."""
    _check_options(options)
    return _argmin(_values(options, "created_utc", "earliest"))


@_requires("created_utc")
def latest(options: list[dict], query: dict) -> int:
    """The last reply posted (largest ``created_utc``)."""
    _check_options(options)
    return _argmax(_values(options, "created_utc", "latest"))


@_requires("text")
def longest(options: list[dict], query: dict) -> int:
    """The longest reply, in characters."""
    _check_options(options)
    return _argmax(np.asarray([len(o.get("text") or "") for o in options]))


@_requires("text")
def shortest(options: list[dict], query: dict) -> int:
    """The shortest reply, in characters."""
    _check_options(options)
    return _argmin(np.asarray([len(o.get("text") or "") for o in options]))


@_requires("text")
def most_positive(options: list[dict], query: dict) -> int:
    """The most positive reply by VADER compound polarity (``sentiment`` if precomputed)."""
    _check_options(options)
    if all(o.get("sentiment") is not None for o in options):
        scores = [o["sentiment"] for o in options]
    else:
        scores = sentiment_scores([o.get("text") or "" for o in options])
    return _argmax(np.asarray(scores, dtype=float))


@_requires("vector", "query.vector")
def most_similar_query(options: list[dict], query: dict) -> int:
    """The reply whose embedding is closest (cosine) to the query's."""
    _check_options(options)
    if query.get("vector") is None:
        raise MissingFieldError("baseline 'most_similar_query' needs query field 'vector'")
    missing = [i for i, o in enumerate(options) if o.get("vector") is None]
    if missing:
        raise MissingFieldError(
            f"baseline 'most_similar_query' needs option field 'vector'; options {missing} lack it"
        )
    matrix = np.vstack([np.asarray(o["vector"], dtype=float) for o in options])
    return _argmax(matrix @ np.asarray(query["vector"], dtype=float))


@_requires()
def fixed_first(options: list[dict], query: dict) -> int:
    """Always the option shown first (position 0)."""
    _check_options(options)
    return 0


@_requires("expected_exposure")
def highest_exposure(options: list[dict], query: dict) -> int:
    """The reply the exposure model expects to collect the most votes."""
    _check_options(options)
    return _argmax(_values(options, "expected_exposure", "highest_exposure"))


@_requires("reply_rank")
def first_reply_rank(options: list[dict], query: dict) -> int:
    """The reply with the smallest ``reply_rank`` (1 = first reply in the thread)."""
    _check_options(options)
    return _argmin(_values(options, "reply_rank", "first_reply_rank"))


@_requires("delay_s")
def shortest_delay(options: list[dict], query: dict) -> int:
    """The reply posted soonest after the query (smallest ``delay_s``)."""
    _check_options(options)
    return _argmin(_values(options, "delay_s", "shortest_delay"))


def fixed_position(position: int) -> Predictor:
    """A predictor that always answers ``position`` (the last option when there are fewer)."""
    if position < 0:
        raise ValueError(f"position must be >= 0, got {position}")

    @_requires()
    def predict(options: list[dict], query: dict) -> int:
        _check_options(options)
        return min(position, len(options) - 1)

    predict.__name__ = f"fixed_{position}"
    return predict


PREDICTORS: dict[str, Predictor] = {
    "earliest": earliest,
    "latest": latest,
    "longest": longest,
    "shortest": shortest,
    "most_positive": most_positive,
    "most_similar_query": most_similar_query,
    "fixed_first": fixed_first,
    "highest_exposure": highest_exposure,
    "first_reply_rank": first_reply_rank,
    "shortest_delay": shortest_delay,
}


def missing_fields(name: str, options: list[dict], query: dict) -> list[str]:
    """The fields predictor ``name`` needs that this instance lacks (empty: it can run)."""
    lacking = []
    for field in sorted(PREDICTORS[name].requires):
        if field.startswith("query."):
            if query.get(field.removeprefix("query.")) is None:
                lacking.append(field)
        elif field != "text" and any(o.get(field) is None for o in options):
            lacking.append(field)
    return lacking


def available_predictors(options: list[dict], query: dict) -> list[str]:
    """Names of the predictors whose fields this instance carries, in ``PREDICTORS`` order."""
    return [name for name in PREDICTORS if not missing_fields(name, options, query)]


def chance(n_options: int | Sequence[int] | Iterable[int]) -> float:
    """Expected accuracy of a uniform random pick: 1/k, or the mean of 1/k over instances."""
    if isinstance(n_options, int | np.integer):
        ks = [int(n_options)]
    else:
        ks = [int(k) for k in n_options]
    if not ks or min(ks) < 1:
        raise ValueError(f"chance needs option counts >= 1, got {ks}")
    return float(np.mean([1.0 / k for k in ks]))
