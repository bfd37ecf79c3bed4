"""Representative texts, c-TF-IDF terms, username scrubbing, extractive profiles, the profile
schema (pydantic) and its validation."""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from transforms.profile_schema import (
    BOND_FIELDS,
    IDENTITY_FIELDS,
    PROFILE_SCHEMA,
    profile_from_llm,
    validate_profile,
)
from transforms.profiles import (
    build_extractive_profile,
    build_profile_messages,
    distinctive_terms,
    identifying_usernames,
    prepare_profiles,
    profile_row,
    scrub_usernames,
    select_representatives,
)

VALID = {
    "common_identity": {"shared_values": "a", "worldview": "b", "collective_identity": "c"},
    "common_bond": {"tone_and_stances": "d", "interaction_style": "e", "bonding_dynamics": "f"},
    "summary": "gardeners who love tomatoes",
}


def test_select_representatives_central_then_diverse():
    vectors = np.array([[1, 0], [0.9, 0.1], [0.8, 0.2], [0, 1], [-1, 0]], dtype=float)
    picks = select_representatives(vectors, np.array([1.0, 0.0]), n_central=2, n_diverse=2)
    assert picks[:2] == [0, 1]
    assert picks[2] == 4  # farthest from both picked texts
    assert picks[3] == 3
    assert select_representatives(np.zeros((0, 2)), np.ones(2), n_central=3, n_diverse=1) == []


def test_distinctive_terms_are_class_specific_and_skip_usernames():
    docs = {
        "growers": ["tomatoes need staking", "my tomatoes split again", "Garden_Gnome_42 rocks"]
        * 3,
        "investors": ["index funds beat stock picking", "low cost index funds"] * 3,
    }
    terms = distinctive_terms(docs, n_terms=4, exclude=frozenset({"garden_gnome_42", "rocks"}))
    assert terms["growers"][0] == "tomatoes"
    assert "index" in terms["investors"][0] or "funds" in terms["investors"][0]
    assert not set(terms["growers"]) & set(terms["investors"])
    assert not any("rocks" in t or "gnome" in t for t in terms["growers"])
    # a term sharing a word with a better-ranked one is skipped
    words = [w for t in terms["investors"] for w in t.split()]
    assert len(words) == len(set(words))


def test_identifying_usernames_and_scrubbing():
    names = identifying_usernames(["Garden_Gnome_42", "TomatoQueen", "gardener", None, "[deleted]"])
    assert names == frozenset({"garden_gnome_42", "tomatoqueen"})
    text = "Thanks garden_gnome_42 and u/someone_else, TomatoQueen; every gardener agrees."
    assert scrub_usernames(text, names) == (
        "Thanks [user] and [user], [user]; every gardener agrees."
    )


def test_extractive_profile_fields_and_validation():
    tone = {
        "mean_compound": 0.3,
        "positive_share": 0.6,
        "negative_share": 0.1,
        "mean_chars": 120.0,
        "question_share": 0.2,
        "exclamation_share": 0.05,
    }
    profile = build_extractive_profile(
        subreddit="gardening",
        n_members=12,
        n_texts=80,
        terms=["tomatoes", "staking", "mulch"],
        quotes=["Stake early."],
        tone=tone,
        in_group_reply_share=0.75,
    )
    assert profile["profile_method"] == "extractive"
    assert "tomatoes, staking and mulch" in profile["summary"]
    assert "75%" in profile["common_bond"]["bonding_dynamics"]
    assert "Warm" in profile["common_bond"]["tone_and_stances"]
    core = {k: profile[k] for k in ("common_identity", "common_bond", "summary")}
    assert validate_profile(core) == []


def test_validate_profile_reports_problems():
    assert validate_profile(VALID) == []
    assert validate_profile([1]) == [
        "answer: Input should be a valid dictionary or instance of Profile"
    ]
    broken = {**VALID, "summary": " ", "extra": 1, "common_bond": {"tone_and_stances": "x"}}
    problems = validate_profile(broken)
    assert "extra: Extra inputs are not permitted" in problems
    assert "summary: String should have at least 1 character" in problems  # blank once stripped
    assert "common_bond.interaction_style: Field required" in problems
    assert "common_bond.bonding_dynamics: Field required" in problems
    assert len(problems) == 4
    assert validate_profile({**VALID, "summary": 42}) == ["summary: Input should be a valid string"]


def _objects(node):
    """Every object schema inside a JSON schema."""
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value)


def test_profile_schema_fits_openai_strict_mode():
    objects = list(_objects(PROFILE_SCHEMA))
    assert len(objects) == 3  # the profile, common_identity, common_bond (inlined)
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])  # every property required
    props = PROFILE_SCHEMA["properties"]
    assert list(props) == ["common_identity", "common_bond", "summary"]
    assert tuple(props["common_identity"]["properties"]) == IDENTITY_FIELDS
    assert tuple(props["common_bond"]["properties"]) == BOND_FIELDS
    text = json.dumps(PROFILE_SCHEMA)
    assert not [k for k in ("$ref", "$defs", "minLength", '"title"') if k in text]


def test_profile_from_llm_strips_values():
    padded = {**VALID, "summary": "  gardeners  ", "common_bond": {**VALID["common_bond"]}}
    padded["common_bond"]["bonding_dynamics"] = "f\n"
    profile = profile_from_llm(padded)
    assert profile["profile_method"] == "llm" and profile["summary"] == "gardeners"
    assert profile["common_bond"]["bonding_dynamics"] == "f"
    assert profile["common_identity"] == VALID["common_identity"]


def test_prompt_carries_subreddit_terms_and_clipped_texts():
    messages = build_profile_messages(
        subreddit="gardening", texts=["word " * 100], terms=["tomatoes"], max_text_chars=60
    )
    user = messages[1]["content"]
    assert "r/gardening" in user and "tomatoes" in user
    assert len(user.split("1. ", 1)[1]) <= 60
    assert "no usernames" in messages[0]["content"]
    assert all(name in messages[0]["content"] for name in IDENTITY_FIELDS + BOND_FIELDS)


def test_prepare_profiles_and_rows_never_carry_usernames():
    texts = pl.DataFrame(
        {
            "community_id": ["c1"] * 3 + ["c2"] * 2,
            "item_id": ["t1_a", "t1_b", "t1_c", "t1_d", "t1_e"],
            "subreddit": ["gardening"] * 3 + ["investing"] * 2,
            "clean_text": [
                "u/Gnome_42 says stake tomatoes",
                "Gnome_42: tomatoes love sun",
                "mulch tomatoes",
                "index funds",
                "low cost index funds",
            ],
            "vector": [[1.0, 0.0], [0.9, 0.1], None, [0.0, 1.0], [0.1, 0.9]],
        }
    )
    comms = pl.DataFrame(
        {
            "community_id": ["c1", "c2"],
            "scope": ["gardening", "investing"],
            "size": [3, 2],
            "centroid": [[1.0, 0.0], [0.0, 1.0]],
        }
    )
    usernames = identifying_usernames(["Gnome_42"])
    prepared = prepare_profiles(
        texts,
        comms,
        reply_shares={"c1": 0.5},
        usernames=usernames,
        n_terms=5,
        max_tone_texts=100,
        n_central=1,
        n_diverse=1,
        n_quotes=2,
    )
    assert [p["community_id"] for p in prepared] == ["c1", "c2"]
    assert prepared[0]["representative_ids"] == ["t1_a", "t1_b"]  # t1_c has no vector
    assert prepared[0]["subreddit"] == "gardening" and prepared[0]["n_texts"] == 3
    extractive = profile_row(
        prepared[0], answer=None, reason="offline", model="m", prompt_hash=None, usernames=usernames
    )
    assert extractive["profile_method"] == "extractive" and extractive["model"] is None
    assert extractive["fallback_reason"] == "offline"
    llm_answer = {**VALID, "summary": "Gnome_42 and friends who stake tomatoes"}
    llm = profile_row(
        prepared[0], answer=llm_answer, reason=None, model="m", prompt_hash="h", usernames=usernames
    )
    assert llm["profile_method"] == "llm" and llm["summary"].startswith("[user] and friends")
    for row in (extractive, llm):
        assert "gnome_42" not in json.dumps(row).lower()
    assert profile_from_llm(VALID)["common_bond"]["bonding_dynamics"] == "f"
