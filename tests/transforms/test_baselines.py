"""Community-blind baseline predictors on hand-built options."""

from __future__ import annotations

import numpy as np
import pytest

from transforms.baselines import (
    PREDICTORS,
    MissingFieldError,
    available_predictors,
    chance,
    fixed_position,
    missing_fields,
)


def unit(*xs: float) -> np.ndarray:
    v = np.asarray(xs, dtype=float)
    return v / np.linalg.norm(v)


# index:         0                       1                         2
OPTIONS = [
    {
        "text": "meh, whatever works",
        "created_utc": 1_700_000_300,
        "delay_s": 300.0,
        "reply_rank": 2,
        "expected_exposure": 4.0,
        "vector": unit(0.0, 1.0),
    },
    {
        "text": "This is wonderful, great and lovely advice, thank you so much!",
        "created_utc": 1_700_000_100,
        "delay_s": 100.0,
        "reply_rank": 1,
        "expected_exposure": 9.5,
        "vector": unit(1.0, 1.0),
    },
    {
        "text": "Terrible idea, awful, it failed badly",
        "created_utc": 1_700_000_900,
        "delay_s": 900.0,
        "reply_rank": 3,
        "expected_exposure": 1.0,
        "vector": unit(1.0, 0.1),
    },
]
QUERY = {"text": "what should I do?", "vector": unit(1.0, 0.0)}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("earliest", 1),  # created 100 s after 1.7e9, the smallest
        ("latest", 2),
        ("longest", 1),  # 62 characters
        ("shortest", 0),  # 19 characters
        ("most_positive", 1),  # "wonderful, great, lovely" vs "terrible, awful, failed"
        ("most_similar_query", 2),  # cos((1, .1), (1, 0)) = .995 > cos((1, 1), (1, 0)) = .707
        ("fixed_first", 0),
        ("highest_exposure", 1),
        ("first_reply_rank", 1),
        ("shortest_delay", 1),
    ],
)
def test_each_predictor_picks_the_option_derived_by_hand(name, expected):
    assert PREDICTORS[name](OPTIONS, QUERY) == expected


def test_the_required_predictors_exist_and_declare_their_fields():
    required = {
        "earliest",
        "latest",
        "longest",
        "shortest",
        "most_positive",
        "most_similar_query",
        "fixed_first",
        "highest_exposure",
    }
    assert required <= set(PREDICTORS)
    assert PREDICTORS["earliest"].requires == {"created_utc"}
    assert PREDICTORS["most_similar_query"].requires == {"vector", "query.vector"}
    assert PREDICTORS["fixed_first"].requires == frozenset()


def test_ties_go_to_the_lowest_index():
    tied = [
        {"text": "abc", "created_utc": 5, "expected_exposure": 2.0, "vector": unit(1, 0)},
        {"text": "xyz", "created_utc": 5, "expected_exposure": 2.0, "vector": unit(1, 0)},
        {"text": "pqr", "created_utc": 5, "expected_exposure": 2.0, "vector": unit(1, 0)},
    ]
    query = {"text": "q", "vector": unit(1, 0)}
    for name in PREDICTORS:
        if not missing_fields(name, tied, query):
            assert PREDICTORS[name](tied, query) == 0, name
    # and when the lowest index is not first among the values, the first maximum still wins
    assert PREDICTORS["longest"]([{"text": "a"}, {"text": "bb"}, {"text": "cc"}], {}) == 1
    assert PREDICTORS["shortest"]([{"text": "bb"}, {"text": "a"}, {"text": "c"}], {}) == 1


def test_sentiment_may_be_precomputed():
    options = [{"text": "awful", "sentiment": 0.9}, {"text": "great", "sentiment": -0.2}]
    assert PREDICTORS["most_positive"](options, {"text": "q"}) == 0


def test_missing_fields_raise_a_clear_key_error():
    bare = [{"text": "a"}, {"text": "bb", "created_utc": 3}]
    with pytest.raises(
        MissingFieldError, match=r"'earliest' needs option field 'created_utc'.*\[0\]"
    ):
        PREDICTORS["earliest"](bare, {"text": "q"})
    with pytest.raises(KeyError):  # a MissingFieldError is a KeyError
        PREDICTORS["highest_exposure"](bare, {"text": "q"})
    with pytest.raises(MissingFieldError, match="query field 'vector'"):
        PREDICTORS["most_similar_query"](OPTIONS, {"text": "q"})
    with pytest.raises(ValueError, match="at least one option"):
        PREDICTORS["fixed_first"]([], {"text": "q"})


def test_requires_lets_a_caller_skip_predictors_beforehand():
    bare = [{"text": "a"}, {"text": "bb", "created_utc": 3}]
    assert missing_fields("earliest", bare, {"text": "q"}) == ["created_utc"]
    assert missing_fields("most_similar_query", OPTIONS, {"text": "q"}) == ["query.vector"]
    assert available_predictors(bare, {"text": "q"}) == [
        "longest",
        "shortest",
        "most_positive",
        "fixed_first",
    ]
    assert available_predictors(OPTIONS, QUERY) == list(PREDICTORS)


def test_fixed_position_caps_at_the_last_option():
    assert fixed_position(2)(OPTIONS, QUERY) == 2
    assert fixed_position(4)(OPTIONS, QUERY) == 2
    assert fixed_position(1).requires == frozenset()
    with pytest.raises(ValueError):
        fixed_position(-1)


def test_chance_is_one_over_k_or_its_mean():
    assert chance(4) == 0.25
    assert chance([3, 5]) == pytest.approx((1 / 3 + 1 / 5) / 2)
    with pytest.raises(ValueError):
        chance([])
    with pytest.raises(ValueError):
        chance(0)
