"""The flags chat and stream share: prompt, body, guards and the usage line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from orcli.cli.completion import complete_tool_choice
from orcli.cli.flags import (
    COMMON,
    CONNECTION,
    INPUTS,
    LEDGER_FLAGS,
    Param,
    input_options,
    ledger_options,
    parse_usd,
)
from orcli.cli.helptext import BODY, GUARD, INPUT, OUT
from orcli.cli.routing import ROUTING_FLAGS, routing_options

if TYPE_CHECKING:
    from orcli.options import BodyOptions

PromptArg = Annotated[Optional[list[str]], typer.Argument(
    metavar="[PROMPT]...", show_default=False,
    help="Prompt words, joined by spaces; piped stdin is appended after a blank line.")]


def _body_flag(name: str, kind: Any, decls: tuple[str, ...], metavar: str | None, text: str,
               default: Any = None, **extra: Any) -> Param:
    option = typer.Option(*decls, metavar=metavar, help=text, rich_help_panel=BODY, **extra)
    return Param(name, Annotated[kind, option], default)


def option_flag(decls: tuple[str, ...]) -> Param:
    """-o/--option KEY=VALUE (batch keeps -o for --output, so it passes only --option)."""
    return _body_flag("option", Optional[list[str]], decls, "KEY=VALUE",
                      "Any other body field; VALUE is parsed as JSON if it can be, "
                      f"e.g. {decls[0]} top_k=40 (repeatable).", show_default=False)


BODY_FLAGS = [
    _body_flag("temperature", Optional[float], ("-t", "--temperature"), "NUM",
               "Sampling temperature, 0 to 2."),
    _body_flag("top_p", Optional[float], ("--top-p",), "NUM", "Nucleus sampling, 0 to 1."),
    _body_flag("max_tokens", Optional[int], ("--max-tokens",), "N", "Most tokens to generate."),
    _body_flag("stop", Optional[list[str]], ("--stop",), "TEXT", "Stop sequence (repeatable).",
               show_default=False),
    _body_flag("seed", Optional[int], ("--seed",), "N", "Seed for sampling."),
    _body_flag("frequency_penalty", Optional[float], ("--frequency-penalty",), "NUM",
               "-2 to 2."),
    _body_flag("presence_penalty", Optional[float], ("--presence-penalty",), "NUM", "-2 to 2."),
    _body_flag("schema", Optional[str], ("--schema",), "PATH|JSON",
               "Structured output: a JSON Schema, inline or in a file."),
    _body_flag("json_object", bool, ("--json-object",), None, "Ask for a JSON object answer.",
               False),
    _body_flag("tools", Optional[str], ("--tools",), "PATH",
               "File with a JSON array of tool definitions."),
    _body_flag("tool_choice", Optional[str], ("--tool-choice",), "CHOICE",
               "auto, none, required, a function name, or JSON.",
               autocompletion=complete_tool_choice),
]

MaxCostOpt = Annotated[Optional[str], typer.Option(
    "--max-cost", metavar="USD", help="Refuse (exit 8) if the worst case could cost more "
    "than this; sets max_tokens to fit when it is not given.", rich_help_panel=GUARD)]
DryRunOpt = Annotated[bool, typer.Option(
    "--dry-run", help="Print the JSON body that would be sent and exit; no key, and no "
    "network unless --max-cost needs a model's prices from the catalog (the guards still "
    "apply).", rich_help_panel=GUARD)]
UsageOpt = Annotated[Optional[bool], typer.Option(
    "--usage/--no-usage", help="Usage and cost line on stderr [default: on a terminal].",
    rich_help_panel=OUT, show_default=False)]
ShowReasoningOpt = Annotated[bool, typer.Option(
    "--show-reasoning", help="Write the model's reasoning to stderr.", rich_help_panel=OUT)]

ConversationOpt = Annotated[Optional[str], typer.Option(
    "-C", "--conversation", metavar="FILE", help="Continue the conversation kept in FILE "
    "(created if missing); the answer is appended to it.", rich_help_panel=INPUT)]
AttachOpt = Annotated[Optional[list[str]], typer.Option(
    "-a", "--attach", metavar="PATH|URL", help="Attach an image, PDF or audio file, or an "
    "image URL (repeatable).", show_default=False, rich_help_panel=INPUT)]

TURN_FLAGS = [Param("conversation", ConversationOpt), Param("attach", AttachOpt)]
GUARD_FLAGS = [Param("max_cost", MaxCostOpt), Param("dry_run", DryRunOpt, False)]
OUTPUT_FLAGS = [Param("usage", UsageOpt), Param("show_reasoning", ShowReasoningOpt, False)]


def answer_params(*own: Param) -> list[Param]:
    """The parameters of chat or stream: the shared ones, with the command's own among them."""
    return [Param("prompt", PromptArg), *INPUTS, *TURN_FLAGS, *CONNECTION, *BODY_FLAGS,
            option_flag(("-o", "--option")), *ROUTING_FLAGS, *GUARD_FLAGS, *LEDGER_FLAGS,
            *OUTPUT_FLAGS, *own,
            *COMMON]


def body_options(values: dict[str, Any]) -> BodyOptions:
    """The BodyOptions from the values of BODY_FLAGS and the option flag."""
    from orcli.options import BodyOptions

    return BodyOptions(
        temperature=values["temperature"], top_p=values["top_p"],
        max_tokens=values["max_tokens"], stop=tuple(values["stop"] or ()), seed=values["seed"],
        frequency_penalty=values["frequency_penalty"],
        presence_penalty=values["presence_penalty"], options=tuple(values["option"] or ()),
        schema=values["schema"], json_object=values["json_object"], tools=values["tools"],
        tool_choice=values["tool_choice"])


def answer_options(values: dict[str, Any]) -> dict[str, Any]:
    """The AnswerOptions fields shared by chat and stream."""
    return input_options(values, values["prompt"]) | {
        "body": body_options(values), "routing": routing_options(values),
        "dry_run": values["dry_run"], "usage": values["usage"],
        "show_reasoning": values["show_reasoning"],
        "max_cost": parse_usd(values["max_cost"], "--max-cost"),
        "conversation": values["conversation"], "attach": tuple(values["attach"] or ()),
        **ledger_options(values)}
