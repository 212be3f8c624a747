"""The application object: the process's streams and environment, and what tests replace.

HTTPie's Environment and gh's Factory in one: an `App` is a `Streams` (stdin,
stdout, stderr, their TTY flags, the environment, colour rules) that also makes the
HTTP clients the commands use, with the retry clock and sleep it was given. The
entry point builds one for the process; a test builds one over byte buffers
(`App.for_test`) and hands it a backoff that records its waits instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from orcli.render.iostreams import Streams

if TYPE_CHECKING:
    from orcli.http.client import Client
    from orcli.http.retry import Backoff
    from orcli.store.config import Settings


class App(Streams):
    backoff: Backoff | None = None  # None: the client's own (real sleep, real clock)

    @classmethod
    def around(cls, streams: Streams) -> App:
        """An App over these streams (itself when it already is one)."""
        if isinstance(streams, App):
            return streams
        return cls(**streams.parts())  # type: ignore[arg-type]

    def client(self, settings: Settings, debug: Callable[[str], None] | None = None,
               notify: Callable[[str], None] | None = None, **options: Any) -> Client:
        """An HTTP client for these settings; requests loads only now."""
        from orcli.http.client import Client

        return Client(settings, debug=debug, notify=notify, backoff=self.backoff, **options)


def client_for(streams: Streams, settings: Settings, **options: Any) -> Client:
    """The client the running App makes (commands get an App from the entry point)."""
    return App.around(streams).client(settings, **options)
