"""The frozen options of every command, as the command line gave them.

`orcli.cli` fills one of these from argv and hands it to the command's run
function; nothing downstream changes it. Files named by flags are read later,
into new values, so building a request twice gives the same request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from msgspec import Struct, field


class CommandOptions(Struct, frozen=True):
    """What every command's options carry: setting flags, --debug and --no-color."""

    settings_flags: Mapping[str, Any] = field(default_factory=dict)
    debug: bool = False
    no_color: bool = False


class InputOptions(CommandOptions, frozen=True):
    """The input flags that chat, stream and price share."""

    words: Sequence[str] = ()
    files: Sequence[str] = ()
    messages_path: str | None = None
    system: str | None = None
    no_stdin: bool = False


class BodyOptions(Struct, frozen=True):
    """The body flags of chat and stream (None = not given); files are named, not read."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: Sequence[str] = ()
    seed: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    options: Sequence[str] = ()
    schema: str | None = None  # inline JSON or a path
    json_object: bool = False
    tools: str | None = None  # a path
    tool_choice: str | None = None

    @property
    def structured(self) -> bool:
        """Whether the answer is asked for as JSON (printed as is, never as Markdown)."""
        return self.schema is not None or self.json_object


class RoutingOptions(Struct, frozen=True):
    """Routing, reasoning and caching flags (empty or None = not given); request.routing."""

    fallbacks: tuple[str, ...] = ()
    provider_order: tuple[str, ...] = ()  # --provider, in the order given
    only: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    provider_sort: str | None = None
    no_fallbacks: bool = False
    zdr: bool = False
    deny_data_collection: bool = False
    require_parameters: bool = False
    reasoning_effort: str | None = None
    reasoning_tokens: int | None = None
    cache: bool = False
    cache_ttl: int | None = None

    @property
    def caching(self) -> bool:
        """--cache, or --cache-ttl, which implies it."""
        return self.cache or self.cache_ttl is not None


class AnswerOptions(InputOptions, frozen=True):
    """What chat and stream share: the body, routing, the guards and the usage line."""

    body: BodyOptions = field(default_factory=BodyOptions)
    routing: RoutingOptions = field(default_factory=RoutingOptions)
    dry_run: bool = False
    usage: bool | None = None  # None: on when stderr is a terminal
    show_reasoning: bool = False
    max_cost: Decimal | None = None
    tags: Sequence[str] = ()  # --tag KEY=VALUE, for the ledger
    no_ledger: bool = False
    conversation: str | None = None  # -C FILE
    attach: Sequence[str] = ()  # -a PATH|URL, in order


class ChatOptions(AnswerOptions, frozen=True):
    json_out: bool = False
    plain: bool = False


class StreamOptions(AnswerOptions, frozen=True):
    jsonl: bool = False


class ModelsOptions(CommandOptions, frozen=True):
    search: str | None = None
    show_id: str | None = None
    max_price: Decimal | None = None
    min_context: int | None = None
    supports: Sequence[str] = ()
    free: bool = False
    modality: str | None = None
    sort: str = "id"
    reverse: bool = False
    limit: int | None = None
    json_out: bool = False
    refresh: bool = False


class EndpointsOptions(CommandOptions, frozen=True):
    """`orcli models endpoints ID`."""

    model_id: str = ""
    sort: str | None = None  # price, latency or throughput; None: as the API lists them
    json_out: bool = False
    refresh: bool = False  # for the catalog that suggests close ids


class PriceOptions(InputOptions, frozen=True):
    input_tokens: int | None = None
    output_tokens: int = 0
    compare: Sequence[str] = ()
    json_out: bool = False
    refresh: bool = False
