"""One call's turn for chat and stream: -C's messages, the new ones with -a's parts, the save.

The conversation file stays locked from before it is read until after the
answer is saved (or the call fails), so the whole turn is one step for any
other orcli working on the same file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from msgspec import Struct, field

from orcli.errors import UsageError
from orcli.io.inputs import gather_messages
from orcli.options import AnswerOptions
from orcli.render.iostreams import Streams
from orcli.store.config import Settings

if TYPE_CHECKING:
    from orcli.request.attachments import Attachment
    from orcli.response.result import Result
    from orcli.store.conversation import Conversation


class Turn(Struct):
    """The messages already in the conversation, and the ones this call adds."""

    conversation: Conversation | None
    added: list[dict[str, Any]]  # -s (new conversations only) and the user message
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def messages(self) -> list[dict[str, Any]]:
        before = self.conversation.messages if self.conversation is not None else []
        return [*before, *self.added]

    def save(self, result: Result) -> None:
        """Append this turn and the answer to the conversation file, when there is one."""
        if self.conversation is not None:
            self.conversation.save(*self.added, result.assistant_message())


@contextmanager
def conversation_for(opts: AnswerOptions, streams: Streams) -> Iterator[Conversation | None]:
    """The -C conversation, locked for the whole call; None without -C."""
    if opts.conversation is None:
        yield None
        return
    if opts.messages_path is not None:
        raise UsageError("-C keeps the conversation in its file; --messages cannot be added")
    from orcli.store.conversation import open_conversation

    with open_conversation(opts.conversation,
                           lambda text: streams.err(f"orcli: note: {text}")) as found:
        yield found


def build_turn(opts: AnswerOptions, streams: Streams,
               conversation: Conversation | None) -> Turn:
    """The new messages from PROMPT, stdin and -f, the user message carrying -a's parts."""
    if opts.attach and opts.messages_path is not None:
        raise UsageError("-a adds to the message built from PROMPT, stdin and -f; with "
                         "--messages, put the parts in the file")
    if conversation is not None:
        conversation.check_system(opts.system)
    added = gather_messages(opts, streams)
    if not opts.attach:
        return Turn(conversation, added)
    from orcli.request.attachments import load_attachment, with_attachments

    attachments = [load_attachment(value) for value in opts.attach]
    added[-1] = with_attachments(added[-1], attachments)
    return Turn(conversation, added, attachments)


def check_inputs(body: dict[str, Any], turn: Turn, settings: Settings,
                 env: Mapping[str, str]) -> None:
    """Exit 2 when a model the body may use is known not to take an attachment's kind."""
    if not turn.attachments:
        return
    from orcli.models.catalog import cache_dir_from_env, known_input_modalities
    from orcli.request.attachments import check_modalities

    fallbacks = body.get("models") if isinstance(body.get("models"), list) else []
    models = [str(body.get("model", settings.model)), *map(str, fallbacks)]
    for model in dict.fromkeys(models):
        modalities = known_input_modalities(model, settings.base_url, cache_dir_from_env(env))
        check_modalities(model, turn.attachments, modalities)
