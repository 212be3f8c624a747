"""Entry point: run the Typer app and turn every outcome into an exit code, here only."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence

from orcli.errors import ExitStatus, OrcliError
from orcli.render.iostreams import Streams

# Why a write to stdout (or stderr) can fail other than by a closed pipe.
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EBADF,
                           errno.EAGAIN})


def main(argv: Sequence[str] | None = None, streams: Streams | None = None) -> int:
    """Run orcli with these arguments and streams; return the exit status."""
    from orcli.app import App

    streams = App.around(streams) if streams is not None else App.from_process()
    args = list(sys.argv[1:] if argv is None else argv)
    if argv is None:
        _stop_on_hangup_and_term()
    debug = "--debug" in args or streams.env.get("ORCLI_DEBUG") == "1"
    try:
        return _run_reporting(args, streams, debug)
    finally:
        if "stderr" in streams.failed:
            # Bytes stuck in stderr's buffer would fail again at the interpreter's
            # final flush, which then exits 120 whatever the command earned.
            _point_at_devnull(streams.stderr)


def _run_reporting(args: list[str], streams: Streams, debug: bool) -> int:
    try:
        return _run(args, streams)
    except OrcliError as exc:
        _report(streams, exc.message, debug)
        return int(exc.status)
    except KeyboardInterrupt as exc:
        _flush_quietly(streams)
        streams.err("orcli: interrupted" if not isinstance(exc, Terminated)
                    else f"orcli: stopped by {exc.name}")
        return ExitStatus.INTERRUPTED if not isinstance(exc, Terminated) else 128 + exc.signum
    except BrokenPipeError:
        return _reader_gone(streams)
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            return _reader_gone(streams)
        if exc.errno in _WRITE_ERRNOS and exc.filename is None:
            # Disk full, quota, I/O error or a closed stdout: the system's
            # fault, not orcli's, so no "this is a bug" (and exit 1, as cat).
            _report(streams, f"cannot write output: {exc.strerror}", debug)
            _discard_stdout(streams)
            return ExitStatus.INTERNAL
        _report(streams, f"internal error: {exc}", debug, internal=True)
        return ExitStatus.INTERNAL
    except Exception as exc:  # a bug: one line, the traceback only when asked for
        _report(streams, f"internal error: {type(exc).__name__}: {exc}", debug, internal=True)
        return ExitStatus.INTERNAL


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: stopped as by Ctrl-C (printed text ends its line, files stay
    whole), with the exit code a shell gives a process that signal killed."""

    def __init__(self, signum: int) -> None:
        import signal

        super().__init__(signum)
        self.signum = signum
        self.name = signal.Signals(signum).name


def _stop_on_hangup_and_term() -> None:
    import signal

    def stop(signum: int, _frame: object) -> None:
        raise Terminated(signum)

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)


def _run(args: list[str], streams: Streams) -> int:
    _check_utf8(args)
    args = _with_debug_flag(args, streams.env.get("ORCLI_DEBUG") == "1")
    from typer import exceptions as typer_exc
    from typer._click import exceptions as click_exc

    from orcli.cli import build_command
    from orcli.cli.shells import COMPLETE_VAR

    if COMPLETE_VAR in streams.env:
        # Shell completion: Typer answers and exits on its own.
        from orcli.cli.completion import enable

        enable()
        build_command(None).main(args=args, prog_name="orcli", complete_var=COMPLETE_VAR)
    command = build_command(args[0] if args else None)
    try:
        # make_context + invoke rather than command.main: Typer's main turns
        # Ctrl-C and a closed pipe into exit codes of its own before we see them.
        with command.make_context("orcli", args, obj=streams) as ctx:
            result = command.invoke(ctx)
    except click_exc.ClickException as exc:
        exc.show(file=_TextErr(streams))
        return ExitStatus.USAGE
    except typer_exc.Abort:
        raise KeyboardInterrupt from None
    except typer_exc.Exit as exc:
        return int(exc.exit_code)
    return int(result) if isinstance(result, int) else ExitStatus.OK


def _with_debug_flag(args: list[str], from_env: bool) -> list[str]:
    """`orcli --debug chat ...` and ORCLI_DEBUG=1 as `orcli chat --debug ...`.

    Putting it first is the natural slip (git, docker and gh all allow it), and the
    variable must give the request details the flag gives, not only tracebacks.
    """
    if len(args) > 1 and args[0] == "--debug" and not args[1].startswith("-"):
        args = args[1:]
    elif not from_env or "--debug" in args:
        return args
    if not args or args[0].startswith("-") or args[0] == "completion":
        return args  # no command, or one without the flag
    return [args[0], "--debug", *args[1:]]


def _check_utf8(args: list[str]) -> None:
    # Python hands undecodable argv bytes over as lone surrogates, which would
    # fail much later, as an internal error, when the body is encoded.
    from orcli.errors import UsageError

    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise UsageError(f"argument '{shown[:60]}' is not valid UTF-8; nothing was sent") \
                from None


def _report(streams: Streams, message: str, debug: bool, internal: bool = False) -> None:
    # Streams.err makes each line safe: a server's message may hold escape sequences.
    if debug:
        import traceback

        streams.err(traceback.format_exc(), end="")
    text = " ".join(message.split()) if not debug else message
    streams.err(f"orcli: error: {text}")
    if internal and not debug:
        streams.err("orcli: this is a bug; run again with --debug for the traceback")


def _flush_quietly(streams: Streams) -> None:
    try:
        streams.stdout.flush()
    except (OSError, ValueError):
        pass


def _reader_gone(streams: Streams) -> int:
    # The reader closed the pipe (`| head -1`): stop quietly.
    _discard_stdout(streams)
    return ExitStatus.OK


def _discard_stdout(streams: Streams) -> None:
    # So that the interpreter's final flush of the bytes that could not be written
    # cannot fail again (a traceback and exit 120).
    _point_at_devnull(streams.stdout)


def _point_at_devnull(stream: object) -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())  # type: ignore[attr-defined]
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # an in-memory stream (tests) has no file descriptor


class _TextErr:
    """Lets click's usage messages go to our binary stderr."""

    def __init__(self, streams: Streams) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        self.streams.err(text, end="")
        return len(text)

    def flush(self) -> None:
        pass  # Streams.err flushes each write


def entry() -> None:
    """Console-script entry point."""
    import gc

    # Loading Typer, requests and orcli makes some 100,000 objects that live as long
    # as the process; the collector's default (a pass every 700 new objects) walks
    # them again and again, about 5 % of a short command's time. Cycles are still
    # collected, only less often.
    gc.set_threshold(50_000, 20, 100)
    sys.exit(main())


if __name__ == "__main__":
    entry()
