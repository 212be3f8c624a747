"""`orcli models endpoints ID` through its real entry point against the fake OpenRouter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fake_openrouter import endpoint, endpoints_answer, error_body

CATALOG: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "models.json").read_text(encoding="utf-8"))
DEVSTRAL = "mistralai/devstral-2512"
ENDPOINTS = [
    endpoint("Mistral", "mistral", "0.0000004", "0.000002", quantization="fp8",
             latency=512.3, throughput=61.7, uptime=99.5),
    endpoint("DeepInfra", "deepinfra/fp4", "0.0000003", "0.0000012", quantization="fp4",
             max_output=None, latency=None, throughput=None, uptime=None),
    endpoint("Together", "together", "0.0000005", "0.0000025", quantization=None,
             context=131072, latency=250, throughput=120.25, uptime=100),
]


def providers(stdout: str) -> list[str]:
    return [line.split("\t")[0] for line in stdout.splitlines()]


def test_piped_output_is_one_tab_separated_line_per_endpoint(server, run):
    server.json(endpoints_answer(ENDPOINTS))
    result = run("models", "endpoints", DEVSTRAL, key=False)
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert lines == [
        ["Mistral", "mistral", "fp8", "262144", "65536", "0.4", "2", "512.3", "61.7", "99.5"],
        # Unknown values are "-", never empty (bash's `read` would shift the columns) or 0.
        ["DeepInfra", "deepinfra/fp4", "fp4", "262144", "-", "0.3", "1.2", "-", "-", "-"],
        ["Together", "together", "-", "131072", "65536", "0.5", "2.5", "250", "120.25", "100"],
    ]
    assert result.stderr == ""
    (sent,) = server.requests
    assert (sent.method, sent.path) == ("GET", f"/api/v1/models/{DEVSTRAL}/endpoints")
    assert "authorization" not in sent.headers  # no key needed, none set


@pytest.mark.parametrize(("sort", "order"), [
    ("price", ["DeepInfra", "Mistral", "Together"]),
    ("latency", ["Together", "Mistral", "DeepInfra"]),  # lowest first, unknown last
    ("throughput", ["Together", "Mistral", "DeepInfra"]),  # highest first, unknown last
])
def test_sort(server, run, sort: str, order: list[str]):
    server.json(endpoints_answer(ENDPOINTS))
    assert providers(run("models", "endpoints", DEVSTRAL, "--sort", sort).stdout) == order


def test_json_is_the_api_endpoint_objects_in_the_order_asked(server, run):
    server.json(endpoints_answer(ENDPOINTS))
    shown = json.loads(run("models", "endpoints", DEVSTRAL, "--json", "--sort", "price").stdout)
    assert shown == [ENDPOINTS[1], ENDPOINTS[0], ENDPOINTS[2]]


def test_terminal_gets_a_table_with_headers(server, run):
    server.json(endpoints_answer(ENDPOINTS))
    out = run("models", "endpoints", DEVSTRAL, tty=True, env={"COLUMNS": "60"}).stdout
    header = out.splitlines()[0]
    for title in ("provider", "tag", "quant", "context", "$/M in", "p50 ms", "uptime %"):
        assert title in header
    # Too narrow for a row: lines wrap, but no cell is cut.
    assert "deepinfra/fp4" in out and "…" not in out


def test_a_model_without_endpoints_says_so_on_a_terminal(server, run):
    server.json(endpoints_answer([]))
    result = run("models", "endpoints", DEVSTRAL, tty=True)
    assert f"no provider serves {DEVSTRAL}" in result.stderr


def test_unknown_id_exits_4_naming_close_ids_from_the_catalog(server, run):
    server.json(error_body(404, "Model not found"), status=404)
    server.json(CATALOG)
    result = run("models", "endpoints", "mistralai/devstral-2511", expect=4)
    assert result.stdout == ""
    assert result.stderr.startswith(
        "orcli: error: unknown model 'mistralai/devstral-2511'; did you mean:")
    assert DEVSTRAL in result.stderr and len(result.stderr.splitlines()) == 1
    assert [r.path for r in server.requests] == [
        "/api/v1/models/mistralai/devstral-2511/endpoints", "/api/v1/models"]


def test_an_id_without_an_author_is_unknown_without_asking_for_endpoints(server, run):
    server.json(CATALOG)
    result = run("models", "endpoints", "gpt-4o", expect=4)
    assert "did you mean:" in result.stderr and "openai/gpt-4o" in result.stderr
    assert [r.path for r in server.requests] == ["/api/v1/models"]


def test_a_404_for_a_model_the_catalog_lists_is_reported_as_the_api_said(server, run):
    server.json(error_body(404, "Model not found"), status=404)
    server.json(CATALOG)
    result = run("models", "endpoints", DEVSTRAL, expect=4)
    assert f"no endpoints for '{DEVSTRAL}'" in result.stderr


def test_a_web_servers_bare_404_points_at_the_base_url_not_the_model(server, run):
    # A wrong base URL (/v2) gets the server's own 404, not the API's "no such model".
    server.json({"detail": "Not Found"}, status=404)
    result = run("models", "endpoints", DEVSTRAL, expect=4)
    assert "check --base-url / OPENROUTER_BASE_URL" in result.stderr
    assert "unknown model" not in result.stderr and len(server.requests) == 1


def test_an_answer_without_an_endpoints_list_exits_7(server, run):
    server.json({"data": {"id": DEVSTRAL}})
    assert "data.endpoints" in run("models", "endpoints", DEVSTRAL, expect=7).stderr


@pytest.mark.parametrize("args", [["--sort", "id"], ["--sort", "cheap"]])
def test_a_sort_key_endpoints_do_not_have_exits_2_before_any_request(server, run, args):
    result = run("models", "endpoints", DEVSTRAL, *args, expect=2)
    assert "price, latency, throughput" in result.stderr and server.requests == []


def test_endpoints_needs_exactly_one_id(run):
    assert "usage: orcli models endpoints MODEL_ID" in run(
        "models", "endpoints", expect=2).stderr
