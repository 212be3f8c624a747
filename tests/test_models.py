"""`orcli models` through its real entry point against the fake OpenRouter.

The catalog in tests/data/models.json is shaped like OpenRouter's `GET /models`
answer: the auto router with "-1" prices, `:free` variants, image-input models,
a null context length and objects whose zero-price keys are missing.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orcli.models import catalog
from tests.conftest import API_KEY

CATALOG: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "models.json").read_text(encoding="utf-8"))
MODELS: list[dict[str, Any]] = CATALOG["data"]
ALL_IDS = sorted(m["id"] for m in MODELS)
DEVSTRAL = "mistralai/devstral-2512"


def ids(stdout: str) -> list[str]:
    """The first column of piped output."""
    return [line.split("\t")[0] for line in stdout.splitlines()]


def line_for(stdout: str, model_id: str) -> list[str]:
    (line,) = [ln for ln in stdout.splitlines() if ln.split("\t")[0] == model_id]
    return line.split("\t")


def cache_file(tmp_path: Path, base_url: str) -> Path:
    # isolated_env points XDG_CACHE_HOME at tmp_path / "cache".
    return catalog.cache_path(base_url, tmp_path / "cache" / "orcli")


def age_cache(path: Path, seconds: float) -> None:
    """Make the cache look fetched `seconds` earlier."""
    body = json.loads(path.read_text())
    body["fetched_at"] -= seconds
    path.write_text(json.dumps(body))


def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v1"


# ---- listing ----------------------------------------------------------------------------


def test_lists_every_model_by_id_from_one_get(server, run):
    server.json(CATALOG)
    result = run("models")
    assert ids(result.stdout) == ALL_IDS
    assert len(result.stdout.splitlines()) == len(MODELS) == 12
    assert result.stderr == ""
    (sent,) = server.requests
    assert (sent.method, sent.path) == ("GET", "/api/v1/models")


def test_piped_lines_have_exactly_five_tab_separated_columns(server, run):
    server.json(CATALOG)
    out = run("models").stdout
    assert all(len(line.split("\t")) == 5 for line in out.splitlines())
    assert "\x1b" not in out and not out.startswith("id\t")  # no colour, no header
    assert line_for(out, DEVSTRAL) == [DEVSTRAL, "262144", "0.4", "2", "Mistral: Devstral 2 2512"]
    assert line_for(out, "openai/gpt-4o-mini") == [
        "openai/gpt-4o-mini", "128000", "0.15", "0.6", "OpenAI: GPT-4o-mini"]


def test_variable_prices_and_unknown_context_use_fixed_tokens(server, run):
    server.json(CATALOG)
    out = run("models").stdout
    assert line_for(out, "openrouter/auto")[1:4] == ["2000000", "variable", "variable"]
    # `-`, not an empty field: bash's `read` would merge two tabs and shift the columns.
    assert line_for(out, "perplexity/sonar")[1:4] == ["-", "1", "1"]


def test_missing_prices_are_unknown_and_odd_names_stay_on_one_line(server, run):
    server.json({"data": [
        {"id": "tiny/model", "name": "Tiny\tmodel\nv2", "pricing": {"prompt": "0.000001"}},
        {"id": "bare/model"},
    ]})
    out = run("models").stdout
    assert out.splitlines() == ["bare/model\t-\tunknown\tunknown\t",
                                "tiny/model\t-\tunknown\tunknown\tTiny model v2"]


MALFORMED = [
    {"id": "bad/pricing", "name": "Bad pricing", "pricing": "x", "context_length": 4096},
    {"id": "bad/arch", "architecture": "text", "pricing": {"prompt": "0.000001"}},
    {"id": "bad/params", "supported_parameters": 5, "top_provider": "x", "pricing": None},
    {"id": "bad/price", "pricing": {"prompt": "1e999999", "completion": {"a": 1}}},
]


@pytest.mark.parametrize("args", [
    [], ["--supports", "tools"], ["--modality", "image"], ["--free"], ["--max-price", "1"],
    ["--min-context", "1"], ["--sort", "price"], ["--sort", "context", "--reverse"], ["bad"],
])
def test_malformed_entries_are_listed_as_if_their_bad_fields_were_missing(server, run, args):
    server.json({"data": [*MODELS, *MALFORMED]})
    out = run("models", *args).stdout
    listed = [i for i in ids(out) if i.startswith("bad/")]
    expected = {
        # No parameters or modalities to match; prices missing or unreadable are unknown:
        # never free, never under a price.
        "--supports": [], "--modality": [], "--free": [],
        "--max-price": [], "--min-context": ["bad/pricing"],
    }.get(args[0] if args else "", ["bad/arch", "bad/params", "bad/price", "bad/pricing"])
    assert sorted(listed) == expected
    if not args:
        assert line_for(out, "bad/pricing") == ["bad/pricing", "4096", "unknown", "unknown",
                                                "Bad pricing"]
        assert line_for(out, "bad/price")[2:4] == ["unknown", "unknown"]


def test_malformed_entries_show_and_draw_a_table(server, run):
    server.json({"data": [*MODELS, *MALFORMED]})
    shown = run("models", "show", "bad/arch").stdout
    assert "input modalities:      none listed" in shown
    assert "prompt (input):      1 per 1M tokens" in shown
    assert "completion (output): unknown" in shown
    for model_id in ("bad/pricing", "bad/params", "bad/price"):
        assert "prices (USD):" in run("models", "show", model_id).stdout
    table = run("models", "bad", tty=True, env={"COLUMNS": "100", "NO_COLOR": "1"}).stdout
    assert "bad/pricing" in table and "unknown" in table


def test_the_catalog_needs_no_key_and_a_proxy_gets_one_when_set(server, run):
    server.json(CATALOG)
    server.json(CATALOG)
    run("models", key=False)
    run("models", "--refresh")  # a LiteLLM proxy's /models needs the key
    assert "authorization" not in server.requests[0].headers
    assert server.requests[1].headers["authorization"] == f"Bearer {API_KEY}"


# ---- filters ----------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "expected"), [
    (["MISTRAL"], [DEVSTRAL, "mistralai/devstral-2512:free",
                   "mistralai/mistral-small-3.2-24b-instruct"]),
    (["Meta:"], ["meta-llama/llama-3.3-70b-instruct:free"]),  # matches the name only
    (["claude", "sonnet"], ["anthropic/claude-sonnet-4.5"]),  # words joined by a space
    (["sonnet", "claude"], []),
    (["--max-price", "0.2"], ["deepseek/deepseek-chat-v3.1",
                              "meta-llama/llama-3.3-70b-instruct:free",
                              DEVSTRAL + ":free", "mistralai/mistral-small-3.2-24b-instruct",
                              "openai/gpt-4o-mini"]),
    (["--min-context", "262144"], ["anthropic/claude-sonnet-4.5", "google/gemini-2.5-flash",
                                   DEVSTRAL, DEVSTRAL + ":free", "openrouter/auto",
                                   "qwen/qwen3-coder"]),
    (["--supports", "tools"], ["anthropic/claude-sonnet-4.5", "deepseek/deepseek-chat-v3.1",
                               "google/gemini-2.5-flash", DEVSTRAL, DEVSTRAL + ":free",
                               "mistralai/mistral-small-3.2-24b-instruct", "openai/gpt-4o",
                               "openai/gpt-4o-mini", "openrouter/auto", "qwen/qwen3-coder"]),
    (["--supports", "tools", "--supports", "reasoning"], [
        "anthropic/claude-sonnet-4.5", "deepseek/deepseek-chat-v3.1", "google/gemini-2.5-flash",
        "openrouter/auto"]),
    (["--free"], ["meta-llama/llama-3.3-70b-instruct:free", DEVSTRAL + ":free"]),
    (["--modality", "image"], ["anthropic/claude-sonnet-4.5", "google/gemini-2.5-flash",
                               "mistralai/mistral-small-3.2-24b-instruct", "openai/gpt-4o",
                               "openai/gpt-4o-mini", "openrouter/auto", "perplexity/sonar"]),
    (["mistral", "--free", "--supports", "tools"], [DEVSTRAL + ":free"]),
])
def test_filters(server, run, args: list[str], expected: list[str]):
    server.json(CATALOG)
    assert ids(run("models", *args).stdout) == expected


def test_variable_price_never_passes_a_price_ceiling(server, run):
    server.json(CATALOG)
    assert "openrouter/auto" not in ids(run("models", "--max-price", "1000000").stdout)


def test_bad_max_price_is_a_usage_error_before_any_request(server, run):
    result = run("models", "--max-price", "cheap", expect=2)
    assert "--max-price" in result.stderr and server.requests == []


# ---- sorting ----------------------------------------------------------------------------

BY_PRICE = ["meta-llama/llama-3.3-70b-instruct:free", DEVSTRAL + ":free",
            "mistralai/mistral-small-3.2-24b-instruct", "openai/gpt-4o-mini",
            "deepseek/deepseek-chat-v3.1", "qwen/qwen3-coder", "google/gemini-2.5-flash",
            DEVSTRAL, "perplexity/sonar", "openai/gpt-4o", "anthropic/claude-sonnet-4.5"]


@pytest.mark.parametrize(("args", "expected"), [
    (["--sort", "id", "--reverse"], ALL_IDS[::-1]),
    # The variable-priced auto router is left out of price order: last, either way.
    (["--sort", "price"], [*BY_PRICE, "openrouter/auto"]),
    (["--sort", "price", "--reverse"], [
        "anthropic/claude-sonnet-4.5", "openai/gpt-4o", "perplexity/sonar", DEVSTRAL,
        "google/gemini-2.5-flash", "qwen/qwen3-coder", "deepseek/deepseek-chat-v3.1",
        "openai/gpt-4o-mini", "mistralai/mistral-small-3.2-24b-instruct",
        "meta-llama/llama-3.3-70b-instruct:free", DEVSTRAL + ":free", "openrouter/auto"]),
    (["--sort", "context", "--limit", "4"], [
        "openai/gpt-4o", "openai/gpt-4o-mini", "meta-llama/llama-3.3-70b-instruct:free",
        "mistralai/mistral-small-3.2-24b-instruct"]),
    (["--sort", "context", "--reverse", "--limit", "3"], [
        "openrouter/auto", "google/gemini-2.5-flash", "anthropic/claude-sonnet-4.5"]),
    (["--sort", "created", "--limit", "2"], ["openrouter/auto", "openai/gpt-4o"]),
    (["--sort", "created", "--reverse", "--limit", "3"], [
        DEVSTRAL, DEVSTRAL + ":free", "anthropic/claude-sonnet-4.5"]),
    (["--limit", "2"], ALL_IDS[:2]),
    (["--limit", "0"], []),
])
def test_sorting_and_limit(server, run, args: list[str], expected: list[str]):
    server.json(CATALOG)
    assert ids(run("models", *args).stdout) == expected


def test_unknown_context_sorts_last(server, run):
    server.json(CATALOG)
    assert ids(run("models", "--sort", "context").stdout)[-1] == "perplexity/sonar"
    assert ids(run("models", "--sort", "context", "--reverse").stdout)[-1] == "perplexity/sonar"


def test_unknown_sort_key_is_a_usage_error_before_any_request(server, run):
    result = run("models", "--sort", "cost", expect=2)
    assert "--sort must be one of id, price, context, created" in result.stderr
    assert server.requests == []


# ---- JSON -------------------------------------------------------------------------------


def test_json_passes_the_api_objects_through(server, run):
    server.json(CATALOG)
    listed = json.loads(run("models", "--json").stdout)
    assert listed == sorted(MODELS, key=lambda m: m["id"])


def test_json_keeps_filters_and_order(server, run):
    server.json(CATALOG)
    listed = json.loads(run("models", "--free", "--sort", "id", "--reverse", "--json").stdout)
    by_id = {m["id"]: m for m in MODELS}
    assert listed == [by_id[DEVSTRAL + ":free"], by_id["meta-llama/llama-3.3-70b-instruct:free"]]


def test_json_of_nothing_is_an_empty_array(server, run):
    server.json(CATALOG)
    assert json.loads(run("models", "no-such-thing", "--json").stdout) == []


# ---- show -------------------------------------------------------------------------------


def test_show_gives_prices_per_million_and_the_details(server, run):
    server.json(CATALOG)
    out = run("models", "show", DEVSTRAL).stdout
    assert "prompt (input):      0.4 per 1M tokens\n" in out
    assert "completion (output): 2 per 1M tokens\n" in out
    assert "cache read:          0.04 per 1M tokens\n" in out
    assert "context:               262,144 tokens\n" in out
    assert "max output:            65,536 tokens\n" in out
    assert "input modalities:      text\n" in out
    assert "tool_choice, tools" in out
    assert out.endswith("built for agentic coding.\n")


def test_show_gives_each_priced_item_in_its_own_unit(server, run):
    server.json(CATALOG)
    out = run("models", "show", "anthropic/claude-sonnet-4.5").stdout
    assert "cache write:         3.75 per 1M tokens" in out
    assert "cache read:          0.3 per 1M tokens" in out
    # Images and searches are priced each, not per token.
    assert "image input:         0.0048 per image" in out
    assert "web search:          0.01 per search" in out
    assert "request:" not in out and "reasoning:" not in out  # "0" prices are left out


def test_show_per_request_price_unknown_context_and_variable_prices(server, run):
    server.json(CATALOG)
    sonar = run("models", "show", "perplexity/sonar").stdout
    auto = run("models", "show", "openrouter/auto").stdout
    assert "request:             0.005 per request" in sonar
    assert "context:               unknown" in sonar
    assert "prompt (input):      variable\n" in auto
    assert "completion (output): variable\n" in auto


def test_show_lists_prompt_and_completion_even_when_missing(server, run):
    server.json({"data": [{"id": "bare/model"}]})
    out = run("models", "show", "bare/model").stdout
    assert "prompt (input):      unknown" in out
    assert "completion (output): unknown" in out


def test_show_json_is_the_api_object(server, run):
    server.json(CATALOG)
    shown = json.loads(run("models", "show", "google/gemini-2.5-flash", "--json").stdout)
    assert shown == next(m for m in MODELS if m["id"] == "google/gemini-2.5-flash")


@pytest.mark.parametrize(("typed", "suggested"), [
    ("gpt-4o", "openai/gpt-4o"),
    ("mistralai/devstral-2511", DEVSTRAL),
    ("anthropic/claude-sonet-4.5", "anthropic/claude-sonnet-4.5"),
])
def test_show_unknown_id_exits_4_naming_close_ids(server, run, typed: str, suggested: str):
    server.json(CATALOG)
    result = run("models", "show", typed, expect=4)
    assert result.stdout == ""
    assert result.stderr.startswith(f"orcli: error: unknown model '{typed}'; did you mean:")
    assert suggested in result.stderr and len(result.stderr.splitlines()) == 1


def test_show_needs_exactly_one_id(run):
    assert "usage: orcli models show MODEL_ID" in run("models", "show", expect=2).stderr


# ---- cache ------------------------------------------------------------------------------


def test_one_fetch_serves_two_calls(server, run):
    server.json(CATALOG)
    first = run("models").stdout
    second = run("models", "show", DEVSTRAL).stdout
    assert len(server.requests) == 1
    assert ids(first) == ALL_IDS and "0.4 per 1M tokens" in second


def test_refresh_fetches_again(server, run):
    server.json(CATALOG)
    server.json({"data": MODELS[:2]})
    run("models")
    assert ids(run("models", "--refresh").stdout) == sorted(m["id"] for m in MODELS[:2])
    assert len(server.requests) == 2
    # The refreshed list replaced the cache.
    assert len(run("models").stdout.splitlines()) == 2


def test_outage_uses_the_stale_cache_with_a_note(server, run, tmp_path: Path):
    server.json(CATALOG)
    server.json({"error": {"code": 503, "message": "Service Unavailable"}}, status=503)
    run("models")
    age_cache(cache_file(tmp_path, server.base_url), 2 * 3600 + 5 * 60)
    result = run("models", "--retries", "0")
    assert ids(result.stdout) == ALL_IDS
    assert result.stderr.startswith("orcli: note: offline (HTTP 503: Service Unavailable)")
    assert "cached 2 h 5 min ago" in result.stderr and len(result.stderr.splitlines()) == 1


def test_unreachable_server_without_cache_exits_7(run):
    result = run("models", "--retries", "0", base_url=closed_port_url(), expect=7)
    assert result.stdout == ""
    assert result.stderr.startswith("orcli: error: cannot reach http://127.0.0.1:")
    assert len(result.stderr.splitlines()) == 1


def test_server_error_without_cache_exits_7(server, run):
    server.json({"error": {"code": 503, "message": "Service Unavailable"}}, status=503)
    result = run("models", "--retries", "0", expect=7)
    assert result.stderr == "orcli: error: HTTP 503: Service Unavailable\n"


@pytest.mark.parametrize("garbage", ["{not json", "", '{"format": 1, "data": "x"}', "[]"])
def test_corrupt_cache_is_refetched_and_rewritten(server, run, tmp_path: Path, garbage: str):
    server.json(CATALOG)
    server.json(CATALOG)
    run("models")
    path = cache_file(tmp_path, server.base_url)
    path.write_text(garbage)
    assert ids(run("models").stdout) == ALL_IDS
    assert len(server.requests) == 2
    assert catalog.read_cache(server.base_url, path.parent) is not None


def test_caches_are_kept_per_base_url(server, run):
    server.json({"data": MODELS[:1]})
    run("models")
    # Another base URL has no cache yet, so it has to fetch (and cannot).
    run("models", "--retries", "0", base_url=closed_port_url(), expect=7)


# ---- terminal table ---------------------------------------------------------------------


def test_terminal_gets_a_table_with_headers(server, run):
    server.json(CATALOG)
    out = run("models", tty=True, env={"COLUMNS": "120", "NO_COLOR": "1"}).stdout
    lines = out.splitlines()
    assert lines[0].split() == ["id", "context", "$/M", "in", "$/M", "out", "name"]
    assert len(lines) == 1 + len(MODELS)
    assert "\x1b" not in out  # NO_COLOR: plain text
    row = next(ln for ln in lines if ln.startswith(DEVSTRAL + " "))
    assert row.split()[:5] == [DEVSTRAL, "262,144", "0.4", "2", "Mistral:"]
    auto = next(ln for ln in lines if ln.startswith("openrouter/auto "))
    assert auto.split()[1:4] == ["2,000,000", "variable", "variable"]


def test_terminal_table_has_colour_unless_no_color(server, run):
    server.json(CATALOG)
    assert "\x1b[" in run("models", "gpt", tty=True).stdout


def test_narrow_terminal_cuts_names_never_ids_or_prices(server, run):
    server.json({"data": MODELS + [{"id": "odd/model", "name": "[bold]Odd[/bold] " + "x" * 80}]})
    out = run("models", tty=True, env={"COLUMNS": "90", "NO_COLOR": "1"}).stdout
    assert max(len(line) for line in out.splitlines()) == 90
    assert "mistralai/mistral-small-3.2-24b-instruct  " in out
    odd = next(ln for ln in out.splitlines() if ln.startswith("odd/model"))
    assert odd.endswith("…") and "[bold]Odd[/bold]" in odd  # names are not rich markup


def test_very_narrow_terminal_wraps_rather_than_cutting_ids(server, run):
    server.json(CATALOG)
    out = run("models", tty=True, env={"COLUMNS": "40", "NO_COLOR": "1"}).stdout
    auto = next(ln for ln in out.splitlines() if ln.startswith("openrouter/auto "))
    assert auto.split()[1:4] == ["2,000,000", "variable", "variable"]
    assert "mistralai/mistral-small-3.2-24b-instruct " in out


def test_empty_table_says_so_on_stderr(server, run):
    server.json(CATALOG)
    result = run("models", "no-such-model", tty=True)
    assert result.stderr == "orcli: no models match\n"


# ---- imports ----------------------------------------------------------------------------

PROBE = (
    "import sys\n"
    "from orcli.__main__ import main\n"
    "code = main(sys.argv[1:])\n"
    "sys.stderr.write('LOADED:' + ','.join(m for m in ('rich', 'requests') if m in sys.modules))\n"
    "sys.exit(code)\n"
)


def run_probe(args: list[str], env: dict[str, str]) -> tuple[str, str]:
    """Run orcli in a fresh interpreter with stdout piped; return stdout and what it loaded."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, env=env,
                          timeout=30, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr.rpartition("LOADED:")[2]


def test_piped_listing_never_imports_rich_and_a_cached_one_not_requests(server, isolated_env):
    server.json(CATALOG)
    env = isolated_env | {"OPENROUTER_BASE_URL": server.base_url}
    out, loaded = run_probe(["models"], env)
    assert ids(out) == ALL_IDS and loaded == "requests"
    out, loaded = run_probe(["models", "--free"], env)  # from the fresh cache
    assert len(ids(out)) == 2 and loaded == ""
