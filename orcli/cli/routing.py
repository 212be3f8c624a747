"""The routing, reasoning and caching flags of chat and stream (and batch): argv to
RoutingOptions. What each one becomes in the request is orcli.request.routing's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from orcli.cli.completion import complete_model, complete_provider_sort, complete_reasoning_effort
from orcli.cli.flags import Param
from orcli.cli.helptext import ROUTE

if TYPE_CHECKING:
    from orcli.options import RoutingOptions


def _flag(name: str, kind: Any, decl: str, metavar: str | None, text: str,
          default: Any = None, **extra: Any) -> Param:
    option = typer.Option(decl, metavar=metavar, help=text, rich_help_panel=ROUTE, **extra)
    return Param(name, Annotated[kind, option], default)


def _names(name: str, decl: str, text: str, **extra: Any) -> Param:
    """A repeatable NAME flag."""
    return _flag(name, Optional[list[str]], decl, extra.pop("metavar", "NAME"), text,
                 show_default=False, **extra)


ROUTING_FLAGS = [
    _names("fallback", "--fallback", "Model to fall back to when -m's fails (repeatable, in "
           "order); the guards take the worst case over all of them.", metavar="MODEL",
           autocompletion=complete_model),
    _names("provider", "--provider", "Provider to try first (repeatable, in order; "
           "provider.order)."),
    _names("only", "--only", "Use only this provider (repeatable; provider.only)."),
    _names("ignore", "--ignore", "Never use this provider (repeatable; provider.ignore)."),
    _flag("provider_sort", Optional[str], "--provider-sort", "KEY",
          "Try providers cheapest (price), fastest (throughput) or quickest to answer "
          "(latency) first.", autocompletion=complete_provider_sort),
    _flag("no_fallbacks", bool, "--no-fallbacks", None, "Fail rather than fall back to another "
          "provider when the first choice fails (provider.allow_fallbacks: false).", False),
    _flag("zdr", bool, "--zdr", None, "Only zero-data-retention endpoints.", False),
    _flag("deny_data_collection", bool, "--deny-data-collection", None,
          "Only providers that do not store or train on prompts.", False),
    _flag("require_parameters", bool, "--require-parameters", None,
          "Only providers that support every parameter sent.", False),
    _flag("reasoning_effort", Optional[str], "--reasoning-effort", "LEVEL",
          "none, minimal, low, medium, high or xhigh (reasoning.effort).",
          autocompletion=complete_reasoning_effort),
    _flag("reasoning_tokens", Optional[int], "--reasoning-tokens", "N",
          "Most tokens to reason with (reasoning.max_tokens); not with --reasoning-effort."),
    _flag("cache", bool, "--cache", None, "Use OpenRouter's response cache: an identical "
          "request within the TTL (default 300 s) is answered free.", False),
    _flag("cache_ttl", Optional[int], "--cache-ttl", "SECONDS",
          "How long the cached answer lasts, 1 to 86400; implies --cache."),
]


def routing_options(values: dict[str, Any]) -> RoutingOptions:
    """The RoutingOptions from the values of ROUTING_FLAGS."""
    from orcli.options import RoutingOptions

    return RoutingOptions(
        fallbacks=tuple(values["fallback"] or ()), provider_order=tuple(values["provider"] or ()),
        only=tuple(values["only"] or ()), ignore=tuple(values["ignore"] or ()),
        provider_sort=values["provider_sort"], no_fallbacks=values["no_fallbacks"],
        zdr=values["zdr"], deny_data_collection=values["deny_data_collection"],
        require_parameters=values["require_parameters"],
        reasoning_effort=values["reasoning_effort"],
        reasoning_tokens=values["reasoning_tokens"], cache=values["cache"],
        cache_ttl=values["cache_ttl"])
