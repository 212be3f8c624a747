"""Large catalogs for the benchmarks (issue 14): synthetic entries shaped like OpenRouter's.

`synthetic_catalog(n)` gives n entries of the size and shape of `GET /models` items
(about 1.6 KB each: a description, architecture, pricing, top_provider, a list of
supported parameters). `parse_cost(n)` measures, in this process, the microseconds
per model of reading a cached catalog of n models, as orcli reads it (the
collector off and frozen), and with the collector on for comparison.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orcli.models import catalog  # noqa: E402  (after the path fix above)

PARAMS = ["max_tokens", "temperature", "top_p", "stop", "frequency_penalty", "presence_penalty",
          "seed", "top_k", "min_p", "repetition_penalty", "logit_bias", "tools", "tool_choice",
          "response_format", "structured_outputs", "reasoning", "include_reasoning"]


def synthetic_model(i: int) -> dict[str, Any]:
    """The i-th synthetic catalog entry, id `bench/model-<i>`."""
    return {
        "id": f"bench/model-{i:05d}", "canonical_slug": f"bench/model-{i:05d}-20250101",
        "hugging_face_id": f"bench/Model-{i}-Instruct", "name": f"Bench: Model {i}",
        "created": 1_700_000_000 + i,
        "description": (f"Model {i} is a synthetic entry for the benchmarks, about as long as "
                        "a real description: it is good at code, reasoning and long "
                        "documents, supports tools and structured outputs, and is served by "
                        "several providers at different prices and speeds. ") * 2,
        "context_length": 32_768 + i,
        "architecture": {"modality": "text+image->text", "input_modalities": ["text", "image"],
                         "output_modalities": ["text"], "tokenizer": "Other",
                         "instruct_type": None},
        "pricing": {"prompt": "0.0000011", "completion": "0.0000044", "request": "0",
                    "image": "0", "web_search": "0", "internal_reasoning": "0",
                    "input_cache_read": "0.00000011"},
        "top_provider": {"context_length": 32_768 + i, "max_completion_tokens": 8192,
                         "is_moderated": False},
        "per_request_limits": None, "supported_parameters": PARAMS,
        "default_parameters": {"temperature": None, "top_p": None},
        "reasoning": {"supported_efforts": ["low", "medium", "high"]},
    }


def synthetic_catalog(n: int) -> list[dict[str, Any]]:
    return [synthetic_model(i) for i in range(n)]


def parse_cost(n: int, rounds: int = 5) -> dict[str, float]:
    """Median µs per model to read a cached n-model catalog: as orcli does, and with gc on."""
    url = "http://127.0.0.1:9/bench/api/v1"
    with tempfile.TemporaryDirectory() as tmp:
        path = catalog.write_cache(url, synthetic_catalog(n), cache_dir=Path(tmp), now=time.time())
        raw = path.read_bytes()
        orcli_times, gc_times = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            assert catalog.read_cache(url, Path(tmp)) is not None
            orcli_times.append(time.perf_counter() - start)
            gc.unfreeze()
            gc.collect()
            start = time.perf_counter()
            json.loads(raw)
            gc_times.append(time.perf_counter() - start)
            gc.collect()
    return {"orcli": statistics.median(orcli_times) / n * 1e6,
            "gc on": statistics.median(gc_times) / n * 1e6,
            "bytes per model": len(raw) / n}


if __name__ == "__main__":
    for size in (4_000, 40_000):
        print(size, {k: round(v, 1) for k, v in parse_cost(size).items()})
