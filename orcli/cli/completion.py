"""Shell completion: the values offered after -m, --sort, --supports and friends.

These run on every Tab press, so they must answer at once and offline: model ids
come from the cached catalog of any age and are never fetched (no cache, no
ids), and nothing here imports requests. The shell scripts themselves are
Typer's, written to completions/ by scripts/gen_completions.py.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

TOOL_CHOICES = ("auto", "none", "required")
MODALITIES = ("text", "image", "audio", "file", "video")
MODELS_WORDS = ("endpoints", "show")


def enable() -> None:
    """Register Typer's bash/zsh/fish answerers (the app has add_completion=False)."""
    from typer._click.shell_completion import add_completion_class
    from typer._completion_classes import completion_init

    completion_init()
    zsh, fish = _plain_help_classes()
    add_completion_class(zsh, "zsh")
    add_completion_class(fish, "fish")


def _plain_help_classes() -> tuple[type, type]:
    """Typer's zsh and fish answerers, minus the rich import for help texts.

    Typer passes each help text through rich to strip rich markup, which orcli's
    help never contains; loading rich would add about 50 ms to every Tab press.
    """
    import re

    from typer._click.shell_completion import CompletionItem
    from typer._completion_classes import FishComplete, ZshComplete

    class PlainZsh(ZshComplete):
        def format_completion(self, item: CompletionItem) -> str:
            if not item.help:
                return super().format_completion(item)
            # Typer's own escaping, applied to the value and to the help in turn. Typer
            # doubles an apostrophe, but the list sits inside '...', where zsh (without
            # RC_QUOTES) reads '' as nothing: "API's" showed as "APIs". '\'' keeps it.
            value = super().format_completion(CompletionItem(item.value))
            text = super().format_completion(CompletionItem(item.help)).replace("''", "'\\''")
            return f"{value}:{text}"

    class PlainFish(FishComplete):
        def format_completion(self, item: CompletionItem) -> str:
            if not item.help:
                return super().format_completion(item)
            return item.value + "\t" + re.sub(r"\s", " ", item.help)

        def complete(self) -> str:
            # Typer lets fish fall back to file names whenever orcli offers nothing:
            # `-m <Tab>` with no catalog cached listed the directory. Files only
            # where a path goes.
            if os.environ.get("_TYPER_COMPLETE_FISH_ACTION") == "is-args":
                args, incomplete = self.get_completion_args()
                if not self.get_completions(args, incomplete):
                    sys.exit(1 if takes_a_path(args) else 0)
            return super().complete()

    return PlainZsh, PlainFish


# Options whose value is a file, for every command (batch's -o is its --output).
PATH_OPTIONS = frozenset({"-f", "--file", "--messages", "--schema", "--tools", "-C",
                          "--conversation", "-a", "--attach", "--output", "--import"})


def takes_a_path(args: list[str]) -> bool:
    """Whether the word being completed after `args` is a file name."""
    last = args[-1] if len(args) > 1 else ""
    if last in PATH_OPTIONS or (last == "-o" and args[0] == "batch"):
        return True
    # batch's INPUT and spend --import's files are positional paths.
    return args[:1] == ["batch"] and not last.startswith("-")


def complete_model(ctx: typer.Context, incomplete: str) -> list[str]:
    """Model ids from the cached catalog that start with what was typed."""
    return [m for m in _model_ids(ctx) if m.startswith(incomplete)]


def complete_sort(ctx: typer.Context, incomplete: str) -> list[str]:
    """`orcli models --sort`: the catalog's keys, or the endpoints' after `endpoints ID`."""
    from orcli.commands import endpoints
    from orcli.models import catalog

    # Before an option's value click leaves the words typed so far in ctx.args.
    words = list(ctx.params.get("search") or ctx.args or [""])
    keys = endpoints.SORT_KEYS if words[0] == "endpoints" else catalog.SORT_KEYS
    return [key for key in keys if key.startswith(incomplete)]


def complete_provider_sort(incomplete: str) -> list[str]:
    from orcli.request.routing import PROVIDER_SORTS

    return [key for key in PROVIDER_SORTS if key.startswith(incomplete)]


def complete_reasoning_effort(incomplete: str) -> list[str]:
    from orcli.request.routing import REASONING_EFFORTS

    return [word for word in REASONING_EFFORTS if word.startswith(incomplete)]


def complete_tool_choice(incomplete: str) -> list[str]:
    return [word for word in TOOL_CHOICES if word.startswith(incomplete)]


def complete_supports(ctx: typer.Context, incomplete: str) -> list[str]:
    """Parameter names any cached model lists in supported_parameters."""
    names = {p for m in cached_models(ctx) for p in _strings(m.get("supported_parameters"))}
    return sorted(n for n in names if n.startswith(incomplete))


def complete_modality(incomplete: str) -> list[str]:
    return [word for word in MODALITIES if word.startswith(incomplete)]


def complete_models_words(ctx: typer.Context, incomplete: str) -> list[str]:
    """`orcli models show|endpoints ID`: offer the two words first, then the model ids."""
    typed = ctx.params.get("search") or []
    if list(typed) in (["show"], ["endpoints"]):
        return complete_model(ctx, incomplete)
    return [w for w in MODELS_WORDS if w.startswith(incomplete)] if not typed else []


def cached_models(ctx: typer.Context) -> list[dict[str, Any]]:
    """The cached catalog for the base URL the command would use; [] when none."""
    from orcli.models.catalog import cache_dir_from_env, cached_catalog

    models = cached_catalog(completion_base_url(ctx), cache_dir=cache_dir_from_env(os.environ))
    return models or []


def completion_base_url(ctx: typer.Context) -> str:
    """--base-url if typed, else the environment, config file or default, as commands do."""
    from orcli.errors import OrcliError
    from orcli.store.config import DEFAULT_BASE_URL, load_settings

    flag = ctx.params.get("base_url")
    try:
        return load_settings({"base_url": flag}, os.environ, lambda _line: None).base_url
    except OrcliError:
        # A broken config file is reported when a command runs; Tab must stay quiet.
        return flag or os.environ.get("OPENROUTER_BASE_URL") or DEFAULT_BASE_URL


def _model_ids(ctx: typer.Context) -> list[str]:
    return sorted({m["id"] for m in cached_models(ctx) if isinstance(m.get("id"), str)})


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
