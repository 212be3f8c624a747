"""A fake OpenRouter: a real HTTP server on 127.0.0.1, scripted per test.

Each test queues the replies it expects (`server.reply(...)`); every request is
recorded (method, path, headers, body). A reply left unused, or a request with
no reply queued, fails the test at teardown, like gh's httpmock registry.
Shapes follow OpenRouter's wire format: `gen-` ids, `provider`, `usage.cost`,
`: OPENROUTER PROCESSING` comments, usage in the last chunk, errors in a 200.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from contextlib import suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PROCESSING = b": OPENROUTER PROCESSING\n\n"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    """One scripted answer. `writes` are sent one by one, flushed, for streams.

    A write may be bytes, a float (pause, seconds) or a threading.Event (wait
    for the test to set it). `framing` is "length", "chunked" or "close";
    `cut` drops the connection before the body is complete.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    writes: list[Any] = field(default_factory=list)
    framing: str = "length"
    cut: bool = False
    path: str | None = None  # answer only this path (after /api/v1, without the query)
    method: str | None = None  # answer only this method
    sent: threading.Event = field(default_factory=threading.Event)

    def answers(self, method: str, path: str) -> bool:
        route = path.split("?", 1)[0].removeprefix("/api/v1")
        return (self.method in (None, method)) and (self.path in (None, route))


class FakeOpenRouter:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: deque[Reply] = deque()
        self.unscripted: list[str] = []
        self.connections = 0  # TCP connections accepted: shows whether the client reuses them
        self.key: str | None = None  # when set, any Authorization sent must carry this key
        self.bad_auth: list[str] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/v1"

    def start(self) -> FakeOpenRouter:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reply(self, reply: Reply) -> Reply:
        """Queue a reply for the next request (in order)."""
        with self.lock:
            self.replies.append(reply)
        return reply

    def json(self, obj: Any, status: int = 200, headers: dict[str, str] | None = None,
             path: str | None = None, method: str | None = None) -> Reply:
        body = json.dumps(obj).encode()
        h = {"Content-Type": "application/json"} | (headers or {})
        return self.reply(Reply(status, h, [body], path=path, method=method))

    def raw(self, body: bytes, status: int = 200, content_type: str = "text/html") -> Reply:
        return self.reply(Reply(status, {"Content-Type": content_type}, [body]))

    def sse(self, writes: list[Any], framing: str = "chunked", cut: bool = False,
            status: int = 200) -> Reply:
        headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        return self.reply(Reply(status, headers, writes, framing=framing, cut=cut))

    def next_reply(self, method: str, path: str) -> Reply | None:
        """The first queued reply for this method and path (a reply without either
        answers any), in the order the test queued them."""
        with self.lock:
            for reply in self.replies:
                if reply.answers(method, path):
                    self.replies.remove(reply)
                    return reply
            self.unscripted.append(f"{method} {path}")
            return None

    def problems(self) -> list[str]:
        """What the test scripted but never used, what came unscripted, and wrong keys."""
        out = [f"unused reply: HTTP {r.status} {r.writes[:1]!r}" for r in self.replies]
        out += [f"Authorization with another key on {r}" for r in self.bad_auth]
        return out + [f"unscripted request: {r}" for r in self.unscripted]


def _handler_for(fake: FakeOpenRouter) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def setup(self) -> None:
            super().setup()
            with fake.lock:
                fake.connections += 1

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            with fake.lock:
                fake.requests.append(Recorded(method, self.path, headers, body))
                sent = headers.get("authorization")
                if fake.key is not None and sent is not None and sent != f"Bearer {fake.key}":
                    fake.bad_auth.append(f"{method} {self.path}")
            reply = fake.next_reply(method, self.path)
            if reply is None:
                reply = Reply(500, {"Content-Type": "application/json"},
                              [b'{"error":{"code":500,"message":"unscripted request"}}'])
            try:
                _send(self, reply)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client went away (Ctrl-C, head): that is the test's point
            finally:
                reply.sent.set()

    return Handler


def _send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    handler.send_response(reply.status)
    for key, value in reply.headers.items():
        handler.send_header(key, value)
    if reply.framing == "length":
        body = b"".join(w for w in reply.writes if isinstance(w, bytes))
        handler.send_header("Content-Length", str(len(body) + (1 if reply.cut else 0)))
        handler.end_headers()
        handler.wfile.write(body)
    elif reply.framing == "chunked":
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        _write_pieces(handler, reply, lambda b: b"%x\r\n%s\r\n" % (len(b), b))
        if not reply.cut:
            handler.wfile.write(b"0\r\n\r\n")
    else:
        handler.send_header("Connection", "close")
        handler.end_headers()
        _write_pieces(handler, reply, lambda b: b)
        handler.close_connection = True
    handler.wfile.flush()
    if reply.cut or reply.framing == "close":
        handler.close_connection = True
        handler.connection.shutdown(socket.SHUT_WR)


def _write_pieces(handler: BaseHTTPRequestHandler, reply: Reply, frame: Any) -> None:
    for piece in reply.writes:
        if isinstance(piece, threading.Event):
            piece.wait(10)
        elif isinstance(piece, (int, float)):
            time.sleep(piece)
        elif piece:
            handler.wfile.write(frame(piece))
            handler.wfile.flush()


# ---- OpenRouter's shapes -------------------------------------------------------

DEFAULT_MODEL = "mistralai/devstral-2512"


def usage(prompt: int = 3, completion: int = 7, cost: float = 0.0000152) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt, "completion_tokens": completion,
        "total_tokens": prompt + completion, "cost": cost, "is_byok": False,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "cost_details": {"upstream_inference_cost": None,
                         "upstream_inference_prompt_cost": 0.0000012,
                         "upstream_inference_completions_cost": 0.000014},
        "completion_tokens_details": {"reasoning_tokens": 0, "image_tokens": 0},
    }


def completion(text: str | None = "Hello!", model: str = DEFAULT_MODEL,
               finish_reason: str = "stop", tool_calls: list[dict] | None = None,
               reasoning: str | None = None, use: dict | None = None) -> dict[str, Any]:
    """A non-streamed chat completion as OpenRouter sends it."""
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None,
                               "reasoning": reasoning}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    return {
        "id": "gen-1764118800-AbCdEfGhIjKlMnOpQrSt", "provider": "Mistral", "model": model,
        "object": "chat.completion", "created": 1764118800,
        "choices": [{"logprobs": None, "finish_reason": finish_reason,
                     "native_finish_reason": finish_reason, "index": 0, "message": message}],
        "usage": use if use is not None else usage(),
    }


def endpoint(provider: str, tag: str, prompt: str = "0.0000004", completion: str = "0.000002",
             quantization: str | None = "fp8", context: int = 262144,
             max_output: int | None = 65536, latency: float | None = 512.3,
             throughput: float | None = 61.7, uptime: float | None = 99.5,
             model: str = DEFAULT_MODEL) -> dict[str, Any]:
    """One object of `GET /models/{author}/{slug}/endpoints`: prices per token, as strings."""
    def stats(p50: float | None) -> dict[str, float] | None:
        return None if p50 is None else {"p50": p50, "p75": p50 * 1.2, "p90": p50 * 1.5,
                                         "p99": p50 * 2}
    return {
        "name": f"{provider} | {model}", "model_id": model, "model_name": model,
        "context_length": context,
        "pricing": {"prompt": prompt, "completion": completion, "request": "0", "image": "0",
                    "discount": 0},
        "provider_name": provider, "tag": tag, "quantization": quantization,
        "max_completion_tokens": max_output, "max_prompt_tokens": None,
        "supported_parameters": ["max_tokens", "temperature", "tools"], "status": 0,
        "uptime_last_30m": uptime, "uptime_last_5m": uptime, "uptime_last_1d": uptime,
        "supports_implicit_caching": False,
        "latency_last_30m": stats(latency), "throughput_last_30m": stats(throughput),
    }


def endpoints_answer(endpoints: list[dict[str, Any]], model: str = DEFAULT_MODEL) -> dict:
    """The whole answer of the endpoints route: the model, its endpoints inside `data`."""
    return {"data": {"id": model, "name": model, "created": 1764118800,
                     "description": "", "architecture": {
                         "tokenizer": "Mistral", "instruct_type": None,
                         "modality": "text->text", "input_modalities": ["text"],
                         "output_modalities": ["text"]},
                     "endpoints": endpoints}}


def tool_call(name: str, arguments: str, call_id: str = "call_abc123") -> dict[str, Any]:
    return {"id": call_id, "index": 0, "type": "function",
            "function": {"name": name, "arguments": arguments}}


def error_body(code: int | str | None, message: str, metadata: dict | None = None) -> dict:
    error: dict[str, Any] = {"code": code, "message": message}
    if metadata is not None:
        error["metadata"] = metadata
    return {"error": error}


# Error bodies as OpenRouter really sends them (see its errors page and client issues).
ERR_401_USER = error_body(401, "User not found.")
ERR_401_COOKIE = error_body(401, "No cookie auth credentials found")
ERR_402 = error_body(
    402, "This request requires more credits, or fewer max_tokens. You requested up to 65536 "
    "tokens, but can only afford 1234. To increase, visit https://openrouter.ai/settings/credits "
    "and upgrade to a paid account")
ERR_403_MODERATION = error_body(403, "mistralai/devstral-2512 requires moderation on OpenAI. "
                                "Your input was flagged for \"harassment\".", {
                                    "reasons": ["harassment"],
                                    "flagged_input": "some flagged te...",
                                    "provider_name": "OpenAI", "model_slug": DEFAULT_MODEL})
ERR_400_MODEL = error_body(400, "nosuch/model is not a valid model ID")
ERR_429 = error_body(429, "Rate limit exceeded: free-models-per-day. Add 10 credits to unlock "
                     "1000 free model requests per day",
                     {"headers": {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0"}})
ERR_502_PROVIDER = error_body(502, "Provider returned error", {
    "raw": "{\"error\":{\"message\":\"upstream overloaded\"}}", "provider_name": "Mistral"})
ERR_200 = {"error": {"code": 502, "message": "Provider returned error",
                     "metadata": {"raw": "upstream connect error", "provider_name": "Mistral"}},
           "user_id": "user_2abc"}


def chunk(content: str | None = None, finish_reason: str | None = None,
          reasoning: str | None = None, tool_calls: list[dict] | None = None,
          role: bool = False) -> dict[str, Any]:
    """One chat.completion.chunk."""
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = "assistant"
    if content is not None:
        delta["content"] = content
    if reasoning is not None:
        delta["reasoning"] = reasoning
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    return {"id": "gen-1764118800-AbCdEfGhIjKlMnOpQrSt", "provider": "Mistral",
            "model": DEFAULT_MODEL, "object": "chat.completion.chunk", "created": 1764118800,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason,
                         "native_finish_reason": finish_reason, "logprobs": None}]}


def usage_chunk(shape: str = "empty-choices", **kw: Any) -> dict[str, Any]:
    """The last chunk: usage with `choices: []` (docs) or one empty delta (captures)."""
    base = chunk()
    base["choices"] = [] if shape == "empty-choices" else [
        {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": "stop",
         "native_finish_reason": "stop", "logprobs": None}]
    base["usage"] = usage(**kw)
    return base


def data(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\n\n"


DONE = b"data: [DONE]\n\n"


def stream_of(pieces: list[str], usage_shape: str = "empty-choices",
              finish: str = "stop") -> list[bytes]:
    """A whole OpenRouter stream: processing comments, content chunks, finish, usage, DONE."""
    out = [PROCESSING, data(chunk("", role=True))]
    for i, piece in enumerate(pieces):
        out.append(data(chunk(piece)))
        if i == 0:
            out.append(PROCESSING)
    out.append(data(chunk("", finish_reason=finish)))
    out.append(data(usage_chunk(usage_shape)))
    out.append(DONE)
    return out


def ignore_client_resets(fake: FakeOpenRouter) -> None:
    """Keep socketserver from printing a traceback when a client resets its connection.

    A client killed mid-stream (SIGINT, `| head`) resets the socket; the handler
    then fails reading the next request. That is the test's point, not a fault.
    """
    import sys

    default = fake.server.handle_error

    def handle_error(request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            default(request, client_address)

    fake.server.handle_error = handle_error  # type: ignore[method-assign]


# ---- faults below HTTP, for tests/test_reliability.py ----------------------------

@dataclass
class Drip:
    """A RawFaultServer act: send `data` one byte every `every` seconds (forever with
    `repeat`), until the test ends: a server that is always almost answering."""

    data: bytes
    every: float = 0.05
    repeat: bool = False


class RawFaultServer:
    """A TCP server on 127.0.0.1 that misbehaves below HTTP, one scripted act per connection.

    Acts, used in order: "reset" (read the request, then send a TCP RST), "close"
    (read the request, then close without a word), "silent" (read the request and
    say nothing until `release` is set), or bytes (sent as the whole raw answer,
    then close). A connection with no act left, or an act left unused, fails
    the test at teardown, as with FakeOpenRouter.
    """

    def __init__(self, *acts: str | bytes | Drip) -> None:
        self.acts: deque[str | bytes | Drip] = deque(acts)
        self.connections = 0
        self.unscripted = 0
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/api/v1"

    def start(self) -> RawFaultServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.sock.close()

    def problems(self) -> list[str]:
        out = [f"unused act: {act!r}" for act in self.acts]
        return out + [f"{self.unscripted} unscripted connection(s)"] if self.unscripted else out

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # stopped
            with self.lock:
                self.connections += 1
                act = self.acts.popleft() if self.acts else None
                self.unscripted += act is None
            threading.Thread(target=self._perform, args=(conn, act), daemon=True).start()

    def _perform(self, conn: socket.socket, act: str | bytes | Drip | None) -> None:
        import struct

        with conn:
            _read_request(conn)
            if isinstance(act, Drip):
                self._drip(conn, act)
            elif act == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif act == "silent":
                self.release.wait(10)
            elif isinstance(act, bytes):
                with suppress(OSError):  # the client may give up before it has all
                    conn.sendall(act)


    def _drip(self, conn: socket.socket, act: Drip) -> None:
        data = act.data
        while data and not self.release.wait(act.every):
            try:
                conn.sendall(data[:1])
            except OSError:
                return  # the client gave up: the point of the test
            data = data[1:] + (data[:1] if act.repeat else b"")


def _read_request(conn: socket.socket) -> bytes:
    """Read one HTTP request (headers and a Content-Length body) off a raw socket."""
    data = b""
    conn.settimeout(5)
    try:
        while b"\r\n\r\n" not in data:
            piece = conn.recv(65536)
            if not piece:
                return data
            data += piece
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            piece = conn.recv(65536)
            if not piece:
                break
            body += piece
    except OSError:
        pass
    return data


# ---- account endpoints: GET /key and GET /generation (OpenRouter's API reference) -------

def key_data(limit: float | None = 100, remaining: float | None = 74.5,
             usage_total: float = 25.5) -> dict[str, Any]:
    """GET /key's answer."""
    return {"data": {
        "label": "sk-or-v1-au7...890", "limit": limit, "limit_remaining": remaining,
        "limit_reset": "monthly" if limit is not None else None,
        "include_byok_in_limit": False, "usage": usage_total, "usage_daily": 1.25,
        "usage_weekly": 7.5, "usage_monthly": usage_total, "byok_usage": 0,
        "byok_usage_daily": 0, "byok_usage_weekly": 0, "byok_usage_monthly": 0,
        "is_free_tier": False, "is_provisioning_key": False,
        "rate_limit": {"requests": 1000, "interval": "1h",
                       "note": "This field is deprecated and safe to ignore."}}}


def generation_data(generation_id: str = "gen-1764118800-AbCdEfGhIjKlMnOpQrSt",
                    total_cost: float = 0.0015) -> dict[str, Any]:
    """GET /generation?id=...'s answer."""
    return {"data": {
        "id": generation_id, "upstream_id": "chatcmpl-791bcf62", "total_cost": total_cost,
        "cache_discount": None, "upstream_inference_cost": 0.0012,
        "created_at": "2026-11-26T01:00:00.433273+00:00", "model": DEFAULT_MODEL,
        "app_id": 12345, "streamed": True, "cancelled": False, "provider_name": "Mistral",
        "latency": 1250, "moderation_latency": 50, "generation_time": 1200,
        "finish_reason": "stop", "native_finish_reason": "stop", "tokens_prompt": 10,
        "tokens_completion": 25, "native_tokens_prompt": 10, "native_tokens_completion": 25,
        "native_tokens_completion_images": 0, "native_tokens_reasoning": 5,
        "native_tokens_cached": 3, "num_media_prompt": None, "num_media_completion": None,
        "num_search_results": None, "origin": "", "usage": total_cost, "is_byok": False,
        "api_type": "completions"}}


ERR_404_GENERATION = error_body(404, "Generation not found")
