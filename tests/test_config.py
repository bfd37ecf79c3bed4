"""Build config loading: defaults, overrides, and one clear message per bad key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from communitybench.config import BuildConfig, ConfigError, default_config, load_config

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEMO = PROJECT_ROOT / "configs" / "demo.toml"


def test_demo_config_loads_with_documented_values():
    config = load_config(DEMO)
    assert config.name == "demo"
    assert config.source.kind == "demo" and config.source.demo.seed == 7
    assert config.resolve(config.source.demo.out_dir) == PROJECT_ROOT / "data" / "demo"
    assert len(config.config_hash()) == 64


def test_invalid_values_and_unknown_keys_are_named(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[clean]\nmin_chars = "many"\nbot_patern = "x"\n[source]\nkind = "ftp"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "clean.min_chars" in message and "'many'" in message
    assert "clean.bot_patern: unknown key" in message
    assert "source.kind" in message and "'ftp'" in message


def test_bad_regex_and_bad_toml(tmp_path):
    path = tmp_path / "re.toml"
    path.write_text('[clean]\nbot_pattern = "(unclosed"\n')
    with pytest.raises(ConfigError, match="clean.bot_pattern: .*not a valid regular expression"):
        load_config(path)
    path.write_text("[clean\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_config_hash_changes_with_settings(tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text("[clean]\nmin_chars = 20\n")
    b.write_text("[clean]\nmin_chars = 21\n")
    assert load_config(a).config_hash() != load_config(b).config_hash()


def test_runner_section_is_documented_and_not_hashed(tmp_path, monkeypatch):
    """Where work runs never changes what it produces: [runner] stays out of the config hash
    (a switch to Dask must not invalidate reuse); COMMUNITYBENCH_DASK_ADDRESS beats the file."""
    from communitybench import runner as runners
    from communitybench.config import RunnerConfig
    from communitybench.settings import get_settings

    demo = load_config(DEMO)
    assert demo.runner == RunnerConfig()  # the file documents exactly the defaults
    documented = DEMO.read_text().split("[runner]")[1]
    for key in RunnerConfig.model_fields:
        assert f"{key} =" in documented, key
    path = tmp_path / "dask.toml"
    path.write_text('[runner]\nkind = "dask"\naddress = "tcp://10.1.2.3:8786"\nn_workers = 8\n')
    dask = load_config(path)
    assert dask.config_hash() == BuildConfig(name="dask").config_hash()
    assert runners.dask_address(dask.runner) == "tcp://10.1.2.3:8786"
    assert runners.window_size(dask.runner) == 16
    monkeypatch.setenv("COMMUNITYBENCH_DASK_ADDRESS", "tcp://127.0.0.1:9999")
    get_settings.cache_clear()
    try:
        assert runners.describe(dask.runner) == "dask scheduler tcp://127.0.0.1:9999"
    finally:
        monkeypatch.delenv("COMMUNITYBENCH_DASK_ADDRESS")
        get_settings.cache_clear()
    path.write_text('[runner]\nkind = "ray"\n')
    with pytest.raises(ConfigError, match="runner.kind"):
        load_config(path)


def _documented(text: str, section: str, keys: dict) -> list[str]:
    """Keys of ``section`` (and its sub-sections) that the file does not list, set or commented."""
    body = text.split(f"[{section}]\n")[1].split("\n[")[0]
    missing = []
    for key, value in keys.items():
        if isinstance(value, dict):
            missing += _documented(text, f"{section}.{key}", value)
        elif f"\n{key} =" not in "\n" + body and f"# {key} =" not in body:
            missing.append(f"{section}.{key}")
    return missing


def test_demo_toml_documents_every_key_with_its_default(tmp_path, monkeypatch):
    """configs/demo.toml is the documentation of the keys: every section but [reddit] (see
    configs/reddit.example.toml) lists every key, with exactly the built-in default, so a build
    without the file (an installed wheel) is the same demo build."""
    text = DEMO.read_text()
    defaults = BuildConfig(name="demo").model_dump(mode="json", exclude={"path", "name"})
    missing = [
        key
        for section, keys in defaults.items()
        if section != "reddit"
        for key in _documented(text, section, keys)
    ]
    assert missing == []
    assert tomllib.loads(text)["name"] == "demo"
    assert load_config(DEMO).model_dump(exclude={"path"}) == BuildConfig(name="demo").model_dump(
        exclude={"path"}
    )
    monkeypatch.setenv("COMMUNITYBENCH_HOME", str(tmp_path))  # no configs/ there
    assert default_config() == BuildConfig(name="demo")
    monkeypatch.setenv("COMMUNITYBENCH_HOME", str(PROJECT_ROOT))
    assert default_config().path == DEMO
