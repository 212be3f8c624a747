"""Which models orcli counts exactly: OpenRouter model id -> Tekken chat template version.

The one place that says so. Every entry uses the Tekken vocabulary orcli ships (see
`orcli.models.tekken`) and one of the chat templates `orcli.models.tokens` counts,
named by mistral-common's tokenizer version. Each entry is checked in
tests/test_tokens.py by encoding chat requests with mistral-common's own tokenizer for
that model and comparing the counts.

Where each entry comes from:
- v3 entries: mistral-common's own model table (`MODEL_NAME_TO_TOKENIZER_CLS` in
  tokens/tokenizers/mistral.py) maps open-mistral-nemo-2407, ministral-8b-2410 and
  mistral-small-2409 to `MistralTokenizer.v3(is_tekken=True)` (tekken_240718.json) and
  pixtral-12b-2409 to `v3(is_tekken=True, is_mm=True)` (tekken_240911.json).
- Devstral 2 (mistralai/devstral-2512): tekken_240911's vocabulary (its vocabulary size,
  131,072) with template v13, the version whose rules match the chat template published
  with Devstral Small 2 (tools listed once at the start, tool calls and results without
  call ids); mistral-common >= 1.8.6 is required for it.

Not here, so counted as labelled estimates: Mistral models whose tokenizer file
mistral-common does not ship (Mistral Small 3.x, Medium 3, Large 3, Magistral,
Codestral 25.x, Devstral Small and Medium, Ministral 3; their tekken.json is on the
Hugging Face hub only), and the SentencePiece models it ships (Mistral 7B, Mixtral,
Mistral Large 2407/2411, Pixtral Large, Codestral 2405): counting those exactly would
need a SentencePiece encoder, which orcli does not carry.
"""

from __future__ import annotations

# OpenRouter id -> mistral-common tokenizer version of its chat template.
TEKKEN_TEMPLATES: dict[str, str] = {
    "mistralai/devstral-2512": "v13",
    "mistralai/mistral-nemo": "v3",  # open-mistral-nemo-2407
    "mistralai/ministral-8b": "v3",  # ministral-8b-2410
    "mistralai/mistral-small": "v3",  # mistral-small-2409
    "mistralai/pixtral-12b": "v3",  # pixtral-12b-2409 (an image makes the count an estimate)
}

# OpenRouter id suffixes that only change routing or price, not the model that runs.
_SAME_MODEL_VARIANTS = frozenset({"free", "nitro", "floor"})


def template_for(model: str) -> str | None:
    """The chat template version orcli counts `model` with exactly, or None (an estimate)."""
    base, _, variant = model.partition(":")
    if variant and variant not in _SAME_MODEL_VARIANTS:
        return None
    return TEKKEN_TEMPLATES.get(base)
