"""`orcli price` through the real entry point: decimal costs, counts, catalog, output shapes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from orcli.models.catalog import write_cache
from orcli.models.tokens import count_prompt
from tests.fake_openrouter import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parent.parent
CLOSED = "http://127.0.0.1:9/api/v1"  # nothing listens on the discard port
JSON_FIELDS = ["model", "input_tokens", "output_tokens", "token_count",
               "prompt_price_per_million", "completion_price_per_million", "input_cost",
               "output_cost", "total_cost", "currency"]


def catalog_model(model_id: str, prompt: str, completion: str, context: int | None = 128_000,
                  max_out: int | None = None) -> dict[str, Any]:
    """One GET /models entry as OpenRouter shapes it (prices are strings, USD per token)."""
    return {
        "id": model_id, "name": model_id.title(), "created": 1_750_000_000,
        "context_length": context,
        "architecture": {"modality": "text->text", "input_modalities": ["text"],
                         "output_modalities": ["text"], "tokenizer": "Other"},
        "pricing": {"prompt": prompt, "completion": completion, "request": "0", "image": "0"},
        "top_provider": {"context_length": context, "max_completion_tokens": max_out,
                         "is_moderated": False},
        "supported_parameters": ["max_tokens", "temperature"],
    }


CATALOG = [
    catalog_model("openai/gpt-4o", "0.0000025", "0.00001"),
    catalog_model("vendor/cheap", "0.0000001", "0.0000001"),
    catalog_model("vendor/pricey", "0.000005", "0.000015"),
    catalog_model("openrouter/auto", "-1", "-1", context=2_000_000),
]


def cache_catalog(env: dict[str, str], base_url: str, models: list[dict[str, Any]],
                  age: float) -> None:
    """A cached catalog as a fetch `age` seconds ago would have left it."""
    write_cache(base_url, models, cache_dir=Path(env["XDG_CACHE_HOME"]) / "orcli",
                now=time.time() - age)


def json_lines(stdout: str) -> list[dict[str, Any]]:
    """Each --json line parsed with Decimals, so costs are compared exactly."""
    return [json.loads(line, parse_float=Decimal) for line in stdout.splitlines()]


# --- decimal arithmetic -----------------------------------------------------------------

def test_three_in_seven_out_cost_exactly(run):
    result = run("price", "--input-tokens", "3", "--output-tokens", "7", "--json",
                 base_url=CLOSED)
    [line] = json_lines(result.stdout)
    assert line["total_cost"] == Decimal("0.0000152")
    assert line["input_cost"] == Decimal("0.0000012")
    assert line["output_cost"] == Decimal("0.000014")
    assert '"total_cost": 0.0000152,' in result.stdout  # plain digits, never 1.52E-5


def test_a_million_each_way_costs_exactly_2_40(run):
    result = run("price", "--input-tokens", "1000000", "--output-tokens", "1000000", "--json",
                 base_url=CLOSED)
    [line] = json_lines(result.stdout)
    assert line["total_cost"] == Decimal("2.40")
    plain = run("price", "--input-tokens", "1000000", "--output-tokens", "1000000",
                base_url=CLOSED)
    assert plain.stdout == f"{DEFAULT_MODEL}\t1000000\t1000000\texact\t2.4\n"


def test_json_has_exactly_the_spec_fields_as_numbers(run):
    result = run("price", "--input-tokens", "10", "--json", base_url=CLOSED)
    [line] = json_lines(result.stdout)
    assert list(line) == JSON_FIELDS
    assert line == {
        "model": DEFAULT_MODEL, "input_tokens": 10, "output_tokens": 0, "token_count": "exact",
        "prompt_price_per_million": Decimal("0.4"), "completion_price_per_million": 2,
        "input_cost": Decimal("0.000004"), "output_cost": 0,
        "total_cost": Decimal("0.000004"), "currency": "USD",
    }


# --- the default model: built-in prices, exact counts, no network -------------------------

def test_default_model_needs_no_key_and_no_network(run):
    result = run("price", "hello", "world", key=False, base_url=CLOSED)
    tokens = count_prompt(DEFAULT_MODEL, [{"role": "user", "content": "hello world"}]).tokens
    model, count, output, label, total = result.stdout.removesuffix("\n").split("\t")
    assert (model, count, output, label) == (DEFAULT_MODEL, str(tokens), "0", "exact")
    assert Decimal(total) == Decimal("0.0000004") * tokens
    assert result.stderr == ""


def test_default_price_imports_no_http_client(isolated_env):
    # In a fresh interpreter: nothing else has imported requests there.
    script = ("import sys; from orcli.__main__ import main; code = main(['price', 'hi']); "
              "print(code, 'requests' in sys.modules, 'urllib3' in sys.modules)")
    env = isolated_env | {"OPENROUTER_BASE_URL": CLOSED, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], input=b"", capture_output=True,
                          env=env, timeout=60)
    assert done.stdout.decode().splitlines()[-1] == "0 False False", done.stderr.decode()


def test_input_is_gathered_as_chat_gathers_it(run, tmp_path: Path):
    notes = tmp_path / "notes.txt"
    notes.write_text("file text ✓ 日本語")
    result = run("price", "-s", "Be terse.", "summarize", "-f", str(notes), "--json",
                 stdin="piped\n", base_url=CLOSED)
    messages = [{"role": "system", "content": "Be terse."},
                {"role": "user", "content": "summarize\n\npiped\n\n\nfile text ✓ 日本語"}]
    [line] = json_lines(result.stdout)
    assert line["input_tokens"] == count_prompt(DEFAULT_MODEL, messages).tokens


def test_messages_file_is_counted_with_its_template(run, tmp_path: Path):
    conversation = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"},
                    {"role": "user", "content": "more"}]
    path = tmp_path / "conv.json"
    path.write_text(json.dumps(conversation))
    [line] = json_lines(run("price", "--messages", str(path), "--json", base_url=CLOSED).stdout)
    assert line["input_tokens"] == count_prompt(DEFAULT_MODEL, conversation).tokens
    assert line["token_count"] == "exact"


def test_no_input_exits_2_with_a_hint(run):
    result = run("price", stdin=None, base_url=CLOSED, expect=2)
    assert "no prompt" in result.stderr


def test_input_tokens_with_text_is_a_usage_error(run):
    result = run("price", "hello", "--input-tokens", "5", base_url=CLOSED, expect=2)
    assert "--input-tokens" in result.stderr


def test_input_tokens_leaves_piped_stdin_alone(run):
    result = run("price", "--input-tokens", "5", stdin="ignored", base_url=CLOSED)
    assert result.stdout.split("\t")[1] == "5"


def test_terminal_table_says_exact_for_the_default(run):
    result = run("price", "hello", tty=True, env={"NO_COLOR": "1", "COLUMNS": "120"},
                 base_url=CLOSED)
    assert DEFAULT_MODEL in result.stdout and "(exact)" in result.stdout
    assert "\x1b[" not in result.stdout and "estimate" not in result.stdout


# --- catalog-priced models -----------------------------------------------------------

def test_catalog_model_priced_from_a_fetch_then_the_cache(server, run):
    server.json({"data": CATALOG})
    result = run("price", "-m", "openai/gpt-4o", "--input-tokens", "1000",
                 "--output-tokens", "500", "--json", key=False)
    [line] = json_lines(result.stdout)
    assert line["total_cost"] == Decimal("0.0075")  # 1000 x 2.5/M + 500 x 10/M
    assert line["prompt_price_per_million"] == Decimal("2.5")
    [fetch] = server.requests
    assert (fetch.method, fetch.path) == ("GET", "/api/v1/models")
    assert "authorization" not in fetch.headers
    # A second run finds the cache: the server has no reply queued and gets no request.
    run("price", "-m", "openai/gpt-4o", "--input-tokens", "1")
    assert len(server.requests) == 1


def test_refresh_fetches_again_despite_a_fresh_cache(server, run):
    server.json({"data": CATALOG})
    run("price", "-m", "vendor/cheap", "--input-tokens", "1")
    server.json({"data": [catalog_model("vendor/cheap", "0.000001", "0.000001")]})
    result = run("price", "-m", "vendor/cheap", "--input-tokens", "1", "--refresh", "--json")
    assert json_lines(result.stdout)[0]["total_cost"] == Decimal("0.000001")
    assert len(server.requests) == 2


def test_offline_a_stale_cache_is_used_with_one_note(run, isolated_env):
    cache_catalog(isolated_env, CLOSED, CATALOG, age=2 * 3600 + 600)
    result = run("price", "-m", "vendor/cheap", "--compare", "openai/gpt-4o", "--input-tokens",
                 "1000", "--retries", "0", key=False, base_url=CLOSED)
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == [
        "vendor/cheap", "openai/gpt-4o"]
    [note] = result.stderr.splitlines()
    assert note.startswith("orcli: note: offline (cannot reach")
    assert note.endswith("using the model list cached 2 h 10 min ago")


def test_malformed_catalog_entries_do_not_crash_price(server, run):
    server.json({"data": [*CATALOG, {"id": "bad/pricing", "pricing": "x"},
                          {"id": "bad/rest", "architecture": "text", "top_provider": 5,
                           "supported_parameters": 5, "context_length": "big"}]})
    result = run("price", "--input-tokens", "10", "-m", "bad/rest", "--compare", "bad/pricing",
                 "--compare", "vendor/cheap")
    # Prices missing or not an object are unknown: never 0, and no cost can be told.
    assert result.stdout.splitlines() == [
        "vendor/cheap\t10\t0\texact\t0.000001", "bad/rest\t10\t0\texact\tunknown",
        "bad/pricing\t10\t0\texact\tunknown"]
    assert "bad/pricing lists no prices" in result.stderr
    refused = run("chat", "hi", "-m", "bad/pricing", "--max-cost", "1", expect=4)
    assert "prices of 'bad/pricing' are unknown" in refused.stderr and len(server.requests) == 1


def test_other_models_get_a_labelled_estimate(server, run):
    server.json({"data": CATALOG})
    result = run("price", "hello", "-m", "openai/gpt-4o", "--json")
    [line] = json_lines(result.stdout)
    assert line["token_count"] == "estimate"
    plain = run("price", "hello", "-m", "openai/gpt-4o")
    assert plain.stdout.split("\t")[3] == "estimate"
    table = run("price", "hello", "-m", "openai/gpt-4o", tty=True, env={"COLUMNS": "120"})
    assert "(estimate)" in table.stdout


def test_compare_lists_cheapest_total_first(server, run):
    server.json({"data": CATALOG})
    result = run("price", "--input-tokens", "1000", "--output-tokens", "100",
                 "-m", "vendor/pricey", "--compare", DEFAULT_MODEL, "--compare", "vendor/cheap",
                 "--compare", "openai/gpt-4o", "--json")
    lines = json_lines(result.stdout)
    assert [line["model"] for line in lines] == [
        "vendor/cheap", DEFAULT_MODEL, "openai/gpt-4o", "vendor/pricey"]
    totals = [line["total_cost"] for line in lines]
    assert totals == sorted(totals)


def test_compare_with_the_same_model_twice_lists_it_once(run):
    result = run("price", "--input-tokens", "1", "--compare", DEFAULT_MODEL, base_url=CLOSED)
    assert result.stdout.count(DEFAULT_MODEL) == 1


def test_variable_prices_are_listed_last_without_a_cost(server, run):
    server.json({"data": CATALOG})
    result = run("price", "--input-tokens", "10", "-m", "openrouter/auto",
                 "--compare", "vendor/cheap")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("vendor/cheap\t")
    assert lines[1] == "openrouter/auto\t10\t0\texact\tvariable"
    assert "openrouter/auto has variable prices" in result.stderr
    [_, auto] = json_lines(run("price", "--input-tokens", "10", "-m", "openrouter/auto",
                               "--compare", "vendor/cheap", "--json").stdout)
    assert auto["total_cost"] is None and auto["prompt_price_per_million"] is None


def test_unknown_model_exits_4_with_suggestions(server, run):
    server.json({"data": CATALOG})
    result = run("price", "hi", "-m", "openai/gpt-4", expect=4)
    assert "unknown model 'openai/gpt-4'" in result.stderr
    assert "openai/gpt-4o" in result.stderr and result.stdout == ""


def test_unreachable_catalog_without_cache_exits_7(run):
    result = run("price", "hi", "-m", "openai/gpt-4o", "--retries", "0", base_url=CLOSED,
                 expect=7)
    assert "cannot reach" in result.stderr and result.stdout == ""


def test_input_over_the_context_is_priced_with_a_note(run):
    result = run("price", "--input-tokens", "300000", key=False,
                 base_url="http://127.0.0.1:9/api/v1")
    assert result.stdout.startswith("mistralai/devstral-2512\t300000\t")
    assert "37,856 tokens over mistralai/devstral-2512's context of 262,144" in result.stderr


def test_input_within_the_context_gets_no_note(run):
    result = run("price", "--input-tokens", "262144", key=False,
                 base_url="http://127.0.0.1:9/api/v1")
    assert result.stderr == ""
