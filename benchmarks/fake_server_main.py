"""The tests' fake OpenRouter, run in its own process and scripted for the benchmarks.

Unlike the tests, which queue one reply per request, the benchmarks send the
same request many times, so replies here are chosen by method and path and
reused. Each benchmark case gets its own path prefix (its own base URL):

    POST /chat/api/v1/chat/completions     a short non-streamed answer
    POST /chat-est/api/v1/...              the same, served by ESTIMATED_MODEL
    POST /ttft/api/v1/chat/completions     a stream whose first HTTP chunk holds its first
                                           token; the rest comes FIRST_TOKEN_PAUSE later
    POST /stream/api/v1/chat/completions   a STREAM_CHUNKS-chunk answer, sent at a steady
                                           pace over --stream-seconds (like a real stream)
    POST /stream-unpaced/api/v1/...        the same, sent as fast as the server can
    POST /stream-small-unpaced/api/v1/...  SMALL_STREAM_CHUNKS chunks, as fast as it can
    GET  /catalog/api/v1/models            a 400-model catalog
    POST /batch/api/v1/chat/completions    the short answer after --batch-delay (50 ms),
                                           as a model takes a while to answer
    POST /batch-fast/api/v1/...            the short answer at once (batch memory runs)

Run: `python benchmarks/fake_server_main.py [--stream-seconds S]`. It prints one
line, `http://127.0.0.1:PORT`, then serves until its stdin is closed (so it never
outlives the script that started it) or it gets SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fake_openrouter import (  # noqa: E402  (after the path fix above)
    PROCESSING,
    FakeOpenRouter,
    Reply,
    completion,
    stream_of,
)

STREAM_CHUNKS = 20_000
SMALL_STREAM_CHUNKS = 5_000
# The reference machine read the stream with curl in about 0.6 s.
STREAM_SECONDS = 0.5
BATCH_DELAY = 0.05  # seconds before each batch answer
PACE_EVERY = 10  # chunks between two pauses
CATALOG_SIZE = 400
CHAT_ANSWER = "Hello! How can I help you today?"
ESTIMATED_MODEL = "vendor/estimated"  # a model orcli counts by estimate, not exactly
FIRST_TOKEN = "Once"  # what /ttft sends first, before its pause
FIRST_TOKEN_PAUSE = 0.3  # seconds: the rest of the /ttft answer comes after this


class RepeatingFakeOpenRouter(FakeOpenRouter):
    """FakeOpenRouter whose replies are keyed by "METHOD path" and served any number of times."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, Reply] = {}

    def route(self, method: str, path: str, reply: Reply) -> None:
        self.routes[f"{method} {path}"] = reply

    def next_reply(self, method: str, path: str) -> Reply | None:
        reply = self.routes.get(f"{method} {path}")
        with self.lock:
            self.requests.clear()  # nothing reads them here; keep memory flat
            if reply is None:
                self.unscripted.append(f"{method} {path}")
        return reply


class Pace(threading.Event):
    """A pause in a reply's writes: FakeOpenRouter waits on Events, and this one sleeps
    until `at` seconds after the stream began (the Pace at 0 marks the start, per
    connection thread), so sleep overshoot never adds up and the rate stays steady."""

    _start = threading.local()

    def __init__(self, at: float) -> None:
        super().__init__()
        self.at = at

    def wait(self, timeout: float | None = None) -> bool:
        if self.at == 0:
            Pace._start.t = time.perf_counter()
            return True
        delay = Pace._start.t + self.at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        return True


def paced(writes: list[bytes], seconds: float) -> list[object]:
    """The writes spread evenly over `seconds`, with a pause every PACE_EVERY writes."""
    out: list[object] = [Pace(0)]
    for i, write in enumerate(writes, 1):
        out.append(write)
        if i % PACE_EVERY == 0:
            out.append(Pace(seconds * i / len(writes)))
    return out


# ---- what the benchmarks are served ----------------------------------------------

_WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from "
    "at which but have an they you were her she there been one all we their has would when "
    "stream token model answer context request server client python function value return "
    "because through between however example different important following without"
).split()


def stream_pieces(n: int) -> list[str]:
    """n content pieces of one word each (about one token), deterministic."""
    rng = random.Random(8)
    pieces = [rng.choice(_WORDS) + " " for _ in range(n - 1)]
    return pieces + ["end.\n"]


def stream_text(n: int) -> str:
    """The answer text the n-chunk stream carries."""
    return "".join(stream_pieces(n))


_PROVIDERS = {
    "openai": "OpenAI", "anthropic": "Anthropic", "google": "Google", "mistralai": "Mistral",
    "meta-llama": "Meta", "qwen": "Qwen", "deepseek": "DeepSeek", "x-ai": "xAI",
    "cohere": "Cohere", "nousresearch": "Nous", "microsoft": "Microsoft", "amazon": "Amazon",
    "moonshotai": "MoonshotAI", "z-ai": "Z.AI", "nvidia": "NVIDIA", "thedrummer": "TheDrummer",
    "baidu": "Baidu", "minimax": "MiniMax", "ai21": "AI21", "inflection": "Inflection",
}
_FAMILIES = ["chat", "instruct", "coder", "vision", "reasoner", "turbo", "mini", "large",
             "small", "nano", "pro", "flash", "lite", "max", "preview"]
_SIZES = ["7b", "8b", "12b", "14b", "24b", "32b", "70b", "72b", "110b", "235b-a22b", "405b"]
_CONTEXTS = [4096, 8192, 16384, 32768, 32000, 40960, 65536, 128000, 131072, 163840,
             200000, 262144, 400000, 1000000, 1048576]
_PARAMS = ["max_tokens", "temperature", "top_p", "stop", "frequency_penalty",
           "presence_penalty", "seed", "top_k", "min_p", "repetition_penalty", "logit_bias",
           "logprobs", "top_logprobs", "response_format", "structured_outputs", "tools",
           "tool_choice", "reasoning", "include_reasoning", "web_search_options"]
_SENTENCES = [
    "{name} is a {size} parameter model tuned for instruction following and chat.",
    "It was trained on a mix of web text, code and synthetic data with a cutoff in 2025.",
    "The model supports function calling, structured outputs and long-context retrieval.",
    "Compared with the previous release it improves multilingual reasoning and math.",
    "It is well suited to agentic coding workflows, tool use and document question answering.",
    "Read more in the [launch announcement](https://example.com/blog/{slug}).",
    "Usage of this model is subject to the provider's acceptable use policy.",
    "Note: this is a preview release; behaviour may change without notice.",
]


def _price(rng: random.Random, low: float, high: float) -> str:
    # Prices are strings of USD per token, as the API sends them.
    per_million = round(rng.uniform(low, high), 2)
    return f"{per_million / 1_000_000:.10f}".rstrip("0").rstrip(".")


def catalog_model(i: int, rng: random.Random) -> dict[str, Any]:
    """One /models entry with the fields and variety of the real catalog."""
    slug = rng.choice(list(_PROVIDERS))
    family = rng.choice(_FAMILIES)
    size = rng.choice(_SIZES)
    model_id = f"{slug}/{family}-{size}-{2401 + i % 12 * 100 + i // 12}"
    free = i % 17 == 0
    if free:
        model_id += ":free"
    name = f"{_PROVIDERS[slug]}: {family.title()} {size.upper()} {2401 + i}"
    context = rng.choice(_CONTEXTS)
    inputs = ["text"] + (["image"] if rng.random() < 0.35 else []) + (
        ["file"] if rng.random() < 0.15 else [])
    pricing = {"prompt": "0", "completion": "0"} if free else {
        "prompt": _price(rng, 0.02, 15), "completion": _price(rng, 0.1, 75)}
    pricing |= {"request": "0", "image": _price(rng, 0, 5) if "image" in inputs else "0",
                "web_search": "0", "internal_reasoning": "0"}
    if rng.random() < 0.3:
        pricing["input_cache_read"] = _price(rng, 0.01, 1)
    params = sorted(rng.sample(_PARAMS, rng.randint(4, len(_PARAMS))))
    sentences = rng.sample(_SENTENCES, rng.randint(2, 6))
    description = " ".join(sentences).format(name=name, size=size, slug=model_id)
    return {
        "id": model_id,
        "canonical_slug": model_id.split(":")[0] + "-20250101",
        "hugging_face_id": f"{slug}/{family}-{size}" if rng.random() < 0.5 else "",
        "name": name,
        "created": 1_700_000_000 + i * 86_400 + rng.randint(0, 86_399),
        "description": description,
        "context_length": context,
        "architecture": {
            "modality": "+".join(inputs) + "->text",
            "input_modalities": inputs,
            "output_modalities": ["text"],
            "tokenizer": rng.choice(["GPT", "Claude", "Gemini", "Mistral", "Llama3", "Qwen3",
                                     "Other"]),
            "instruct_type": rng.choice([None, "chatml", "llama3", "mistral"]),
        },
        "pricing": pricing,
        "top_provider": {
            "context_length": context,
            "max_completion_tokens": rng.choice([None, 4096, 8192, 16384, 32768, 65536]),
            "is_moderated": rng.random() < 0.2,
        },
        "per_request_limits": None,
        "supported_parameters": params,
        "default_parameters": {"temperature": None, "top_p": None, "frequency_penalty": None},
    }


def catalog(n: int = CATALOG_SIZE) -> list[dict[str, Any]]:
    """n models: the auto router (variable prices), the default model, then generated ones."""
    rng = random.Random(400)
    auto = catalog_model(0, rng) | {
        "id": "openrouter/auto", "name": "Auto Router", "context_length": 2_000_000,
        "pricing": {"prompt": "-1", "completion": "-1"}}
    devstral = catalog_model(1, rng) | {
        "id": "mistralai/devstral-2512", "name": "Mistral: Devstral 2 2512",
        "context_length": 262_144,
        "pricing": {"prompt": "0.0000004", "completion": "0.000002", "request": "0",
                    "image": "0", "web_search": "0", "internal_reasoning": "0"}}
    return [auto, devstral] + [catalog_model(i, rng) for i in range(2, n)]


def build_server(stream_seconds: float = STREAM_SECONDS,
                 batch_delay: float = BATCH_DELAY) -> RepeatingFakeOpenRouter:
    """The fake server with every benchmark route scripted."""
    server = RepeatingFakeOpenRouter()
    json_headers = {"Content-Type": "application/json"}
    sse_headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    chat = json.dumps(completion(CHAT_ANSWER)).encode()
    server.route("POST", "/chat/api/v1/chat/completions", Reply(200, json_headers, [chat]))
    estimated = json.dumps(completion(CHAT_ANSWER, model=ESTIMATED_MODEL)).encode()
    server.route("POST", "/chat-est/api/v1/chat/completions",
                 Reply(200, json_headers, [estimated]))
    # Chunked framing is what lets a reply pause (a float in its writes) before the body.
    server.route("POST", "/batch/api/v1/chat/completions",
                 Reply(200, json_headers, [batch_delay, chat], framing="chunked"))
    server.route("POST", "/batch-fast/api/v1/chat/completions",
                 Reply(200, json_headers, [chat]))
    big = stream_of(stream_pieces(STREAM_CHUNKS))
    small = stream_of(stream_pieces(SMALL_STREAM_CHUNKS))
    for prefix, writes in (("stream", paced(big, stream_seconds)), ("stream-unpaced", big),
                           ("stream-small-unpaced", small)):
        server.route("POST", f"/{prefix}/api/v1/chat/completions",
                     Reply(200, sse_headers, writes, framing="chunked"))
    story = [part for part in stream_of([FIRST_TOKEN, " upon", " a", " time."])
             if part != PROCESSING]
    server.route("POST", "/ttft/api/v1/chat/completions", Reply(
        200, sse_headers, [story[0] + story[1], FIRST_TOKEN_PAUSE, b"".join(story[2:])],
        framing="chunked"))
    models = json.dumps({"data": catalog()}).encode()
    server.route("GET", "/catalog/api/v1/models", Reply(200, json_headers, [models]))
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description="The fake OpenRouter for the benchmarks.")
    parser.add_argument("--stream-seconds", type=float, default=STREAM_SECONDS,
                        help="how long the paced stream takes to send (default %(default)s)")
    parser.add_argument("--batch-delay", type=float, default=BATCH_DELAY,
                        help="seconds before each /batch answer (default %(default)s)")
    args = parser.parse_args()
    server = build_server(args.stream_seconds, args.batch_delay).start()
    print(f"http://127.0.0.1:{server.server.server_address[1]}", flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin (or dies)
    except KeyboardInterrupt:
        pass
    server.stop()
    if server.unscripted:
        print("fake server: unscripted requests: " + ", ".join(server.unscripted[:5]),
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
