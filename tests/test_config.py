"""Configuration: flags > environment > config file > defaults, and its errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from orcli.store.config import DEFAULTS, config_path, resolve_settings
from tests.fake_openrouter import completion


def test_defaults_when_nothing_is_set():
    settings = resolve_settings({}, {}, {}, "none")
    assert settings.model == "mistralai/devstral-2512"
    assert settings.base_url == "https://openrouter.ai/api/v1"
    assert settings.timeout == 600 and settings.retries == 2 and settings.api_key is None
    assert set(settings.sources.values()) == {"default"}


@pytest.mark.parametrize("flag,env,file,expected,source", [
    ("flag/model", "env/model", "file/model", "flag/model", "flag"),
    (None, "env/model", "file/model", "env/model", "environment variable ORCLI_MODEL"),
    (None, None, "file/model", "file/model", "config file /x.toml"),
    (None, None, None, "mistralai/devstral-2512", "default"),
])
def test_precedence_and_where_each_value_came_from(flag, env, file, expected, source):
    settings = resolve_settings({"model": flag}, {"ORCLI_MODEL": env} if env else {},
                               {"model": file} if file else {}, "/x.toml")
    assert settings.model == expected and settings.sources["model"] == source


def test_env_numbers_are_parsed_and_trailing_slash_tolerated():
    settings = resolve_settings({}, {"ORCLI_TIMEOUT": "2.5", "ORCLI_RETRIES": "0",
                                     "OPENROUTER_BASE_URL": "http://localhost:8080/v1/"}, {}, "f")
    assert settings.timeout == 2.5 and settings.retries == 0
    assert settings.base_url == "http://localhost:8080/v1"


def test_settings_repr_hides_the_key():
    settings = resolve_settings({}, {"OPENROUTER_API_KEY": "sk-or-v1-secret"}, {}, "f")
    assert "secret" not in repr(settings)


def test_config_path_order():
    assert config_path({"ORCLI_CONFIG": "/a/b.toml", "XDG_CONFIG_HOME": "/x"}) == Path("/a/b.toml")
    assert config_path({"XDG_CONFIG_HOME": "/x"}) == Path("/x/orcli/config.toml")
    assert config_path({"HOME": "/home/u"}) == Path("/home/u/.config/orcli/config.toml")


def _write_config(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_config_file_values_are_used(run, tmp_path: Path):
    path = _write_config(tmp_path, 'model = "openai/gpt-4o"\ntimeout = 30\n')
    result = run("chat", "hi", "--dry-run", env={"ORCLI_CONFIG": str(path)})
    assert json.loads(result.stdout)["model"] == "openai/gpt-4o"


def test_xdg_config_file_is_found(run, isolated_env):
    path = Path(isolated_env["XDG_CONFIG_HOME"]) / "orcli" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('model = "x/from-xdg"\n')
    assert json.loads(run("chat", "hi", "--dry-run").stdout)["model"] == "x/from-xdg"


def test_flag_beats_env_beats_file(run, tmp_path: Path):
    path = _write_config(tmp_path, 'model = "file/m"\n')
    env = {"ORCLI_CONFIG": str(path), "ORCLI_MODEL": "env/m"}
    assert json.loads(run("chat", "hi", "--dry-run", env=env).stdout)["model"] == "env/m"
    out = run("chat", "hi", "--dry-run", "-m", "flag/m", env=env).stdout
    assert json.loads(out)["model"] == "flag/m"


def test_unparseable_config_exits_3_naming_the_file(run, tmp_path: Path):
    path = _write_config(tmp_path, "model = [unclosed\n")
    result = run("chat", "hi", "--dry-run", env={"ORCLI_CONFIG": str(path)}, expect=3)
    assert result.stderr.startswith(f"orcli: error: config file {path} is not valid TOML")


def test_unknown_config_key_exits_3_naming_key_and_file(run, tmp_path: Path):
    path = _write_config(tmp_path, 'modle = "typo"\n')
    result = run("chat", "hi", "--dry-run", env={"ORCLI_CONFIG": str(path)}, expect=3)
    assert str(path) in result.stderr and "unknown key 'modle'" in result.stderr


def test_wrong_type_in_config_exits_3(run, tmp_path: Path):
    path = _write_config(tmp_path, 'timeout = "soon"\n')
    result = run("chat", "hi", "--dry-run", env={"ORCLI_CONFIG": str(path)}, expect=3)
    assert "timeout" in result.stderr and str(path) in result.stderr


def test_missing_config_file_is_fine(run, tmp_path: Path):
    run("chat", "hi", "--dry-run", env={"ORCLI_CONFIG": str(tmp_path / "nope.toml")})


def test_key_in_a_world_readable_config_warns(server, run, tmp_path: Path):
    path = _write_config(tmp_path, 'api_key = "sk-or-v1-fromfile"\n', mode=0o644)
    server.key = "sk-or-v1-fromfile"
    server.json(completion("ok"))
    result = run("chat", "hi", key=False, env={"ORCLI_CONFIG": str(path)})
    assert "other users can read it" in result.stderr and "fromfile" not in result.stderr
    assert server.requests[0].headers["authorization"] == "Bearer sk-or-v1-fromfile"


def test_key_in_a_private_config_does_not_warn(server, run, tmp_path: Path):
    path = _write_config(tmp_path, 'api_key = "sk-or-v1-fromfile"\n', mode=0o600)
    server.key = "sk-or-v1-fromfile"
    server.json(completion("ok"))
    assert run("chat", "hi", key=False, env={"ORCLI_CONFIG": str(path)}).stderr == ""


def test_app_attribution_is_configurable(server, run, tmp_path: Path):
    path = _write_config(tmp_path, 'app_title = "ci-bot"\napp_url = "https://example.org"\n')
    server.json(completion("ok"))
    run("chat", "hi", env={"ORCLI_CONFIG": str(path)})
    headers = server.requests[0].headers
    assert headers["x-title"] == headers["x-openrouter-title"] == "ci-bot"
    assert headers["http-referer"] == "https://example.org"


def test_bad_env_number_exits_3_naming_the_variable(run):
    result = run("chat", "hi", "--dry-run", env={"ORCLI_TIMEOUT": "soon"}, expect=3)
    assert "ORCLI_TIMEOUT" in result.stderr


def test_bad_flag_value_exits_2(run):
    run("chat", "hi", "--dry-run", "--timeout", "0", expect=2)
    run("chat", "hi", "--dry-run", "--retries", "-1", expect=2)


def test_every_config_key_is_documented_in_the_readme():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for key in DEFAULTS:
        assert f"`{key}`" in readme, f"config key {key} missing from README"


@pytest.mark.parametrize("line", ["retries = 1.5", "retries = true", "timeout = true",
                                  'retries = "3"', "timeout = inf", "timeout = 1e10"])
def test_config_values_of_the_wrong_type_or_range_exit_3(run, tmp_path: Path, line):
    path = _write_config(tmp_path, line + "\n")
    result = run("chat", "hi", "--dry-run", env={"ORCLI_CONFIG": str(path)}, expect=3)
    assert str(path) in result.stderr and line.split()[0] in result.stderr


@pytest.mark.parametrize("name,value", [("ORCLI_RETRIES", "1_0"), ("ORCLI_RETRIES", "1.5"),
                                        ("ORCLI_TIMEOUT", "1_0"), ("ORCLI_TIMEOUT", "inf")])
def test_env_numbers_that_only_python_would_read_exit_3(run, name, value):
    result = run("chat", "hi", "--dry-run", env={name: value}, expect=3)
    assert name in result.stderr


@pytest.mark.parametrize("args", [["--timeout", "inf"], ["--timeout", "1e10"], ["-m", ""],
                                  ["-m", "  "]])
def test_flag_values_out_of_range_exit_2(run, args):
    result = run("chat", "hi", "--dry-run", *args, expect=2)
    assert result.stderr.startswith("orcli: error:")


def test_empty_model_in_config_exits_3(run, tmp_path: Path):
    path = _write_config(tmp_path, 'model = ""\n')
    run("chat", "hi", "--dry-run", env={"ORCLI_CONFIG": str(path)}, expect=3)


@pytest.mark.parametrize("value", ["0_05", "abc", "-1", "nan", "inf", "1e-999999"])
def test_bad_budgets_exit_2(run, value):
    result = run("chat", "hi", "--dry-run", "--max-cost", value, expect=2)
    assert "--max-cost" in result.stderr


def test_environment_value_that_is_not_utf8_exits_3_naming_it(run):
    # os.environ holds undecodable bytes as lone surrogates (surrogateescape).
    result = run("chat", "hi", "--dry-run", env={"ORCLI_MODEL": "caf\udce9"}, expect=3)
    assert "ORCLI_MODEL" in result.stderr and "UTF-8" in result.stderr


@pytest.mark.parametrize("url", ["http://localhost:8080/v1?x=1", "http://localhost:8080/v1#top"])
def test_a_base_url_with_a_query_or_fragment_is_refused(run, url):
    by_flag = run("chat", "--dry-run", "hi", "--base-url", url, key=False, expect=2)
    by_env = run("chat", "--dry-run", "hi", key=False, base_url=url, expect=3)
    assert "?query or #fragment" in by_flag.stderr and "OPENROUTER_BASE_URL" in by_env.stderr
