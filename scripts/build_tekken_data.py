"""Build orcli/data/tekken_240911.bin.gz from mistral-common's Tekken vocabulary.

orcli counts Devstral tokens with tiktoken and Mistral's Tekken vocabulary, but must
not depend on mistral-common (about 170 MB installed) at run time. This script turns
mistral-common's `data/tekken_240911.json` (19 MB, base64 tokens in JSON) into a small
file that orcli ships and `orcli.tokens` reads.

File layout (all of it gzip-compressed, written with mtime 0 so a rebuild from the same
input with the same zlib gives the same bytes):

    one line of JSON, ending in b"\\n":
        {"format": 1, "name": ..., "pattern": ..., "ranks": N, "special_tokens": S,
         "source": ..., "source_sha256": ...}
    then N records in rank order, rank 0 first:
        one byte: the token's length L (1..255), then the token's L bytes

Only the first N = default_vocab_size - default_num_special_tokens ranks are kept:
mistral-common cuts the vocabulary there too (tokenizers/tekken.py). The special
tokens themselves ([INST], </s>, ...) are not stored: orcli only needs their number.

Usage (mistral-common installed, e.g. from orcli's `test` extra):
    python scripts/build_tekken_data.py [--source PATH] [--output PATH]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import importlib.util
import json
import struct
import sys
from pathlib import Path

FORMAT = 1
NAME = "tekken_240911"
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "orcli" / "data" / f"{NAME}.bin.gz"


def find_source() -> Path:
    """Locate tekken_240911.json inside the installed mistral-common, without importing it."""
    spec = importlib.util.find_spec("mistral_common")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("mistral-common is not installed; pass --source PATH/tekken_240911.json")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / f"{NAME}.json"


def read_ranks(config: dict, vocab: list[dict]) -> list[bytes]:
    """Token bytes in rank order, checked the way tiktoken will rely on them."""
    count = config["default_vocab_size"] - config["default_num_special_tokens"]
    tokens: list[bytes] = []
    for index, entry in enumerate(vocab[:count]):
        if entry["rank"] != index:
            raise ValueError(f"rank {entry['rank']} found at position {index}")
        token = base64.b64decode(entry["token_bytes"])
        if not 1 <= len(token) <= 255:
            raise ValueError(f"rank {index}: {len(token)} bytes does not fit a one-byte length")
        if index < 256 and token != bytes([index]):
            raise ValueError(f"rank {index} should be the single byte {index}")
        tokens.append(token)
    if len(tokens) != count or len(set(tokens)) != count:
        raise ValueError("vocabulary is short or holds duplicate tokens")
    return tokens


def encode(source: Path, raw_json: bytes) -> bytes:
    """The uncompressed data file: a JSON header line, then length-prefixed tokens."""
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
    body = b"".join(struct.pack("B", len(token)) + token for token in tokens)
    return json.dumps(header, ensure_ascii=True, sort_keys=True).encode() + b"\n" + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source", type=Path, help="tekken_240911.json (default: mistral-common's)"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    source = args.source or find_source()
    raw = encode(source, source.read_bytes())
    packed = gzip.compress(raw, compresslevel=9, mtime=0)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(packed)
    print(f"{args.output}: {len(packed):,} bytes, sha256 {hashlib.sha256(packed).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
