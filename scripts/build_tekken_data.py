"""Build orcli/models/data/tekken_240911.bin from mistral-common's Tekken vocabulary.

orcli counts Devstral tokens with tiktoken and Mistral's Tekken vocabulary, but must
not depend on mistral-common (about 170 MB installed) at run time. This script turns
mistral-common's `data/tekken_240911.json` (19 MB, base64 tokens in JSON) into a small
file that orcli ships and `orcli.models.tokens` reads.

File layout (format 2; the same input always gives the same bytes):

    one line of JSON, ending in b"\\n":
        {"format": 2, "name": ..., "pattern": ..., "ranks": N, "special_tokens": S,
         "source": ..., "source_sha256": ...}
    then the tokens of ranks 256 to N - 1, in rank order, joined by one NUL byte

Ranks 0 to 255 are the 256 single bytes in byte order (checked below), so they are not
stored, and no longer token holds a NUL byte (checked too): the reader splits the rest
on NUL in one C call instead of walking a length-prefixed list in Python, the part of
loading the vocabulary that Python pays for. The file is not compressed: wheels and
sdists are compressed archives already, and a gzip or zlib layer took about 5 ms per
load to save about 420 KB installed.

Only the first N = default_vocab_size - default_num_special_tokens ranks are kept:
mistral-common cuts the vocabulary there too (tokenizers/tekken.py). The special
tokens themselves ([INST], </s>, ...) are not stored: orcli only needs their number.

One file serves every Tekken model: the script also reads every other tekken_*.json
mistral-common ships (tekken_240718.json, Nemo's, today) and fails unless its kept
ranks and pattern are the same as the ones written, so a new vocabulary in a later
mistral-common cannot go unnoticed (it would need a file of its own, or only what
differs).

Usage (mistral-common installed, e.g. from orcli's `test` extra):
    python scripts/build_tekken_data.py [--source PATH] [--output PATH]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import json
import sys
from pathlib import Path

FORMAT = 2
NAME = "tekken_240911"
SEPARATOR = b"\0"
DEFAULT_OUTPUT = (Path(__file__).resolve().parent.parent / "orcli" / "models" / "data"
                  / f"{NAME}.bin")


def find_source() -> Path:
    """Locate tekken_240911.json inside the installed mistral-common, without importing it."""
    spec = importlib.util.find_spec("mistral_common")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("mistral-common is not installed; pass --source PATH/tekken_240911.json")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / f"{NAME}.json"


def read_ranks(config: dict, vocab: list[dict]) -> list[bytes]:
    """Token bytes in rank order, checked the way tiktoken and the file layout rely on them."""
    count = config["default_vocab_size"] - config["default_num_special_tokens"]
    tokens: list[bytes] = []
    for index, entry in enumerate(vocab[:count]):
        if entry["rank"] != index:
            raise ValueError(f"rank {entry['rank']} found at position {index}")
        token = base64.b64decode(entry["token_bytes"])
        if index < 256 and token != bytes([index]):
            raise ValueError(f"rank {index} should be the single byte {index}")
        if index >= 256 and (len(token) < 2 or SEPARATOR in token):
            raise ValueError(f"rank {index}: {token!r} cannot be stored NUL-separated")
        tokens.append(token)
    if len(tokens) != count or len(set(tokens)) != count:
        raise ValueError("vocabulary is short or holds duplicate tokens")
    return tokens


def encode(source: Path, raw_json: bytes) -> bytes:
    """The data file: a JSON header line, then the tokens past the single bytes."""
    data = json.loads(raw_json)
    config = data["config"]
    tokens = read_ranks(config, data["vocab"])
    header = {
        "format": FORMAT,
        "name": NAME,
        "pattern": config["pattern"],
        "ranks": len(tokens),
        "special_tokens": config["default_num_special_tokens"],
        "source": f"mistral-common: mistral_common/data/{source.name}",
        "source_sha256": hashlib.sha256(raw_json).hexdigest(),
    }
    body = SEPARATOR.join(tokens[256:])
    return json.dumps(header, ensure_ascii=True, sort_keys=True).encode() + b"\n" + body


def check_shared(source: Path, written: list[bytes], pattern: str) -> list[str]:
    """Problems with the other tekken_*.json beside `source`: none when they all match."""
    problems = []
    for other in sorted(source.parent.glob("tekken_*.json")):
        if other == source:
            continue
        data = json.loads(other.read_bytes())
        same = (read_ranks(data["config"], data["vocab"]) == written
                and data["config"]["pattern"] == pattern)
        print(f"{other.name}: {'same ranks and pattern' if same else 'DIFFERENT vocabulary'}")
        if not same:
            problems.append(f"{other.name} differs from {source.name}: it needs its own file")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source", type=Path, help="tekken_240911.json (default: mistral-common's)"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    source = args.source or find_source()
    data = encode(source, source.read_bytes())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    print(f"{args.output}: {len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()}")
    config = json.loads(source.read_bytes())
    problems = check_shared(source, read_ranks(config["config"], config["vocab"]),
                            config["config"]["pattern"])
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
