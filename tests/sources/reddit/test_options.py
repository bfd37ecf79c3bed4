"""Crawl settings from the [reddit] config section: the example config documents them all."""

from __future__ import annotations

import tomllib

from communitybench.config import RedditConfig, load_config
from communitybench.sources.reddit.options import crawl_options
from tests.fixtures.reddit import OPTIONS, ROOT, crawl_config


def test_example_config_documents_every_crawl_setting():
    path = ROOT / "configs" / "reddit.example.toml"
    config = load_config(path)
    documented = tomllib.loads(path.read_text())["reddit"]
    assert set(documented) == set(RedditConfig.model_fields)
    assert config.source.kind == "reddit"


def test_config_unpacks_to_crawl_options_and_flags_override():
    assert crawl_options(crawl_config().reddit) == OPTIONS  # -1 = expand every stub
    overridden = crawl_options(crawl_config().reddit, subreddits=["r/funny/", " funny"], limit=3)
    assert (overridden.subreddits, overridden.limit) == (("funny",), 3)
    assert overridden.key() != OPTIONS.key()  # other settings: another crawl
