"""communitybench/stage.py: parameters read from the config in one place, typed results, and the
``stage_reuse`` rows written from results."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pydantic
import pytest

from communitybench.config import BuildConfig, EmbedConfig, SplitsConfig
from communitybench.stage import StageParams, StageResult, Table, Work, by_name, reuse_rows

CONFIG = BuildConfig(embed={"model": "m", "batch_size": 8}, splits={"seed": 3})


class Params(StageParams):
    embed: EmbedConfig  # named after a config section: filled from the config
    splits: SplitsConfig
    releases_dir: Path  # not a section: comes from the caller's extras
    version: str | None = None


def test_params_take_their_sections_from_the_config_and_the_rest_from_extras(tmp_path):
    params = Params.from_config(CONFIG, releases_dir=tmp_path, unrelated="ignored")
    assert params.embed == CONFIG.embed and params.embed.batch_size == 8
    assert params.splits.seed == 3
    assert params.releases_dir == tmp_path and params.version is None
    assert Params.from_config(CONFIG, releases_dir=tmp_path, version="v9").version == "v9"
    with pytest.raises(pydantic.ValidationError):
        params.version = "changed"  # frozen: a stage cannot alter what it was given


def test_an_extra_overrides_the_section_of_the_same_name(tmp_path):
    embed = EmbedConfig(model="other")
    params = Params.from_config(CONFIG, releases_dir=tmp_path, embed=embed)
    assert params.embed.model == "other"


def test_a_missing_extra_is_a_validation_error_naming_the_field():
    with pytest.raises(pydantic.ValidationError, match="releases_dir"):
        Params.from_config(CONFIG)


RESULT = StageResult(
    name="communities",
    version="communities_v9",
    work=(
        Work("scopes", computed=1, reused=2, note="re-clustered: b"),
        Work("communities", computed=3, reused=4),
    ),
    dropped={"noise": 5},
    rows={"communities": 7},
    notes=("one line",),
    tables=(Table("per scope", ("scope", "members"), (("a", 10), ("b", 20))),),
    details={"scopes_reused": ["a", "c"]},
)


def test_counts_finds_a_unit_or_names_the_units_there_are():
    assert RESULT.counts("scopes") == Work("scopes", computed=1, reused=2, note="re-clustered: b")
    with pytest.raises(KeyError, match=r"communities counts no 'files' .*'scopes', 'communities'"):
        RESULT.counts("files")


def test_a_result_is_json_able():
    data = json.loads(json.dumps(asdict(RESULT)))  # what Prefect may record
    assert data["work"][0] == {
        "unit": "scopes",
        "computed": 1,
        "reused": 2,
        "note": "re-clustered: b",
    }
    assert data["tables"][0]["rows"] == [["a", 10], ["b", 20]]
    assert data["dropped"] == {"noise": 5} and data["rows"] == {"communities": 7}


def test_reuse_rows_one_per_work_entry_in_order():
    other = StageResult(name="release", version="r", work=(Work("releases", computed=1),))
    empty = StageResult(name="views", version="v")  # no work: no row
    assert reuse_rows([RESULT, empty, other]) == [
        {
            "stage": "communities",
            "unit": "scopes",
            "reused": 2,
            "computed": 1,
            "note": "re-clustered: b",
        },
        {"stage": "communities", "unit": "communities", "reused": 4, "computed": 3, "note": None},
        {"stage": "release", "unit": "releases", "reused": 0, "computed": 1, "note": None},
    ]


def test_by_name_keeps_the_last_result_of_a_stage():
    again = StageResult(name="communities", version="communities_v9")
    assert by_name([RESULT, again]) == {"communities": again}
