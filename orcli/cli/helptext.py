"""The help texts: epilogs with examples, and option headings without rich.

Click rewraps help paragraphs; a paragraph whose first line is "\\b" is kept as
written, so every example stays on one line that can be copied as is.
"""

from __future__ import annotations

from typer import _click as click
from typer.core import TyperCommand

INPUT = "Input"
CONN = "Model and connection"
BODY = "Request body"
GUARD = "Guards"
ROUTE = "Routing, reasoning and caching"
OUT = "Output"
FILTER = "Filters"
OTHER = "Other options"

ROOT_EPILOG = """\b
Examples:
  orcli chat 'explain SIGPIPE in one paragraph'
  git diff | orcli chat 'write the commit message'
  orcli stream --jsonl 'tell a story' | jq -rj 'select(.type=="content").text'
  orcli models --free --supports tools | cut -f1
  orcli price -f report.txt --compare openai/gpt-4o

\b
Exit codes: 0 ok, 1 bug, 2 usage, 3 key or config, 4 refused by the API,
5 payment (402), 6 rate limited (429), 7 upstream or network failure,
8 refused locally (--max-cost, a budget, context length), 9 batch rows failed,
130 interrupted.

\b
Environment: OPENROUTER_API_KEY, OPENROUTER_BASE_URL, ORCLI_MODEL,
ORCLI_TIMEOUT, ORCLI_RETRIES, ORCLI_CONFIG, ORCLI_LEDGER, ORCLI_TAGS,
ORCLI_BUDGET_DAILY, ORCLI_BUDGET_MONTHLY, NO_COLOR, FORCE_COLOR.
Shell completion: eval "$(orcli completion bash)" (or zsh, fish; see the README).
"""

CHAT_EPILOG = """\b
Examples:
  orcli chat 'explain SIGPIPE in one paragraph'
  git diff --cached | orcli chat -s 'write a one-line commit message'
  orcli chat -f error.log -f app.py 'why does this fail?'
  orcli chat --schema person.json 'invent a person' | jq -r .name
  orcli chat --json 'hi' | jq .usage.cost
  orcli chat --fallback openai/gpt-4o-mini --provider-sort price 'hi'
  orcli chat --cache-ttl 3600 -f fixture.txt 'summarise'   # repeats cost $0

\b
In CI (stdout is only the answer; the exit code says what failed):
  orcli chat --dry-run --max-cost 0.02 -f diff.txt 'review'   # sends nothing
  orcli chat --max-cost 0.02 --usage -f diff.txt 'review' > review.md

On a terminal the answer is rendered as Markdown (--plain prints it as is);
into a pipe or a file it is written byte for byte, as the model sent it.
"""

STREAM_EPILOG = """\b
Examples:
  orcli stream 'tell a story' | tee story.txt
  orcli stream --show-reasoning -m deepseek/deepseek-r1 'is 1001 prime?'
  orcli stream --reasoning-effort low --zdr -m openai/o4-mini 'is 1001 prime?'
  orcli stream --jsonl 'hi' | jq -c 'select(.type == "usage")'

\b
In CI (the partial answer stays when the stream fails; $? says why):
  orcli stream --no-usage -f prompt.md > answer.md || echo "failed: $?"

The text is written as it arrives, also on a terminal: stream never renders
Markdown, so nothing is held back.
"""

MODELS_EPILOG = """\b
Examples:
  orcli models mistral --sort price
  orcli models --supports tools --max-price 1 | cut -f1
  orcli models --free --min-context 100000 --limit 5
  orcli models show mistralai/devstral-2512
  orcli models endpoints mistralai/devstral-2512 --sort throughput
  orcli models --json | jq -r '.[] | select(.context_length > 200000) | .id'

\b
Piped output: one model per line, tab-separated, no header:
  id  context_length  prompt_$/M  completion_$/M  name
endpoints ID, piped: one provider endpoint per line ('-' when unknown):
  provider  tag  quantization  context  max_output  prompt_$/M  completion_$/M
  latency_p50_ms  throughput_p50_tok/s  uptime_%
"""

PRICE_EPILOG = """\b
Examples:
  git diff | orcli price 'review this'
  orcli price -f book.txt --output-tokens 2000 --compare openai/gpt-4o
  orcli price --input-tokens 1000000 --json | jq .total_cost

\b
Piped output: one model per line, tab-separated, cheapest first:
  model  input_tokens  output_tokens  exact|estimate  total_usd
"""



class GroupedCommand(TyperCommand):
    """Plain-text help with the options under headings, without loading rich.

    The headings are the options' `rich_help_panel`, which Typer shows only with
    rich; every section shares one column width so the help reads as one table.
    """

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            title = "Arguments" if param.param_type_name == "argument" else (
                getattr(param, "rich_help_panel", None) or OTHER)
            sections.setdefault(title, []).append(record)
        width = min(30, max((len(t) for rows in sections.values() for t, _ in rows), default=0))
        for title, rows in sections.items():
            with formatter.section(title):
                formatter.write_dl([(term.ljust(width), text) for term, text in rows])
