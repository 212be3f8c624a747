"""Exact Tekken token counts of plain text, in bounded slices, optionally stopping at a limit.

Every Tekken model shares one vocabulary: the first 130,072 ranks of mistral-common's
tekken_240718.json and tekken_240911.json are the same bytes (checked by
tests/test_tokens.py), so orcli ships them once, as orcli/models/data/tekken_240911.bin
(built by scripts/build_tekken_data.py), read through tiktoken on the first count,
never at import.

Counting never builds the whole token list: the text is cut into slices of about
_SLICE characters where Tekken's pre-tokenizer pieces end (see `_CUT`), each slice is
encoded on its own and only its length is kept, so the count is the same as the whole
text's and memory stays bounded whatever the input's size.
"""

from __future__ import annotations

import functools
import json
import os
import re
from typing import Any

_DATA_FILE = "tekken_240911.bin"
_DATA_FORMAT = 2

# Characters per slice. Large enough that tiktoken's per-call cost vanishes, small
# enough that one slice's token list (about 36 bytes per token in Python) stays a few
# MB; and, when counting stops at a limit, the overshoot stays a fraction of a second.
_SLICE = 1 << 18

# A cut is safe where a Tekken piece ends and the text after it is pieced as if it
# began there. The pattern has no look-behind, so the second holds at any piece
# boundary; the first holds (1) after a number character, always a piece of its own,
# and (2) after a letter followed by whitespace, punctuation or a symbol, since a
# letter piece is a run of letters and marks and takes none of those. Such a cut
# changes no piece on its left either: every look-ahead there (`(?!\S)`) sees the
# same characters, or sees the end of text where it saw whitespace or punctuation
# after a letter, which no whitespace piece ends before. Lone surrogates are never on
# either side of a cut, so replacing them slice by slice, as tiktoken does, matches
# replacing them in the whole text.
# Only ASCII characters on either side: the `regex` module's Unicode tables may be newer
# than the tokenizer's (a code point unassigned for one is a letter for the other), and
# a cut next to such a character could change how the pieces fall.
_CUT = r"[0-9]|[A-Za-z](?=[\t\n\r !-/:-@\[-`{-~])"
_CUT_LAST = r"(?r)" + _CUT

# tiktoken's regex engine gives up on a single whitespace piece of about a million
# characters: a ValueError in tiktoken 0.14, a pyo3 PanicException (which `except
# Exception` misses) in 0.7. Text holding a run of _LONG_RUN goes to
# `_count_with_long_runs`, which never hands tiktoken's regex such a piece. The class
# below is Unicode White_Space, what \s means in Tekken's pattern; Python's own \s would
# add U+001C..U+001F.
_LONG_RUN = 100_000
_WHITE_SPACE = r"[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
# A letter or number followed by whitespace: no Tekken piece spans that gap (for the
# `regex` module, as for tiktoken, \s is White_Space). (?r) searches from the right.
_LETTER_THEN_SPACE = r"[\p{L}\p{N}](?=\s)"
_LETTER_THEN_SPACE_LAST = r"(?r)[\p{L}\p{N}](?=\s)"


def count_text(text: str) -> int:
    """Exact number of Tekken tokens in `text`, with no chat template around it."""
    return count_text_upto(text, None)[0]


def count_text_upto(text: str, limit: int | None) -> tuple[int, bool]:
    """Tokens in `text`, and True; or, once the count passes `limit` with text left, a
    lower bound of the count (more than `limit`, never an overcount) and False."""
    total = 0
    for piece in slices(text):
        if limit is not None and total > limit:
            return total, False
        total += _count_slice(piece)
    return total, True


def slices(text: str, size: int | None = None) -> Any:
    """Consecutive pieces of `text`, cut only at safe points, about `size` characters each.

    A stretch with no safe point in it (a huge run of whitespace or of one symbol)
    stays in one piece: the count must not change, whatever that costs.
    """
    size = size or _SLICE
    if len(text) <= size:
        yield text
        return
    import regex  # a dependency of tiktoken, and loaded by it already

    start = 0
    while len(text) - start > size:
        cut = _cut_near(regex, text, start, start + size)
        if cut is None:
            break
        yield text[start:cut]
        start = cut
    yield text[start:] if start else text


def _cut_near(regex: Any, text: str, start: int, target: int) -> int | None:
    """The safe cut nearest before `target` (after its slice's first half), else after it."""
    # endpos one past the window so that the look-ahead sees the character after a letter.
    found = regex.search(_CUT_LAST, text, pos=start + (target - start) // 2, endpos=target + 1)
    if found is None:
        found = regex.search(_CUT, text, pos=target)
    if found is None or found.end() >= len(text):
        return None
    return found.end()


def _count_slice(text: str) -> int:
    """Tokens in one slice; the long-run path keeps huge whitespace off tiktoken's regex."""
    if len(text) >= _LONG_RUN and _may_hold_long_run(text) and re.search(_long_run_pattern(), text):
        return _count_with_long_runs(text)
    return len(_tekken()[0].encode_ordinary(text))


def _count_with_long_runs(text: str) -> int:
    """Count text with huge whitespace runs, cutting it only where Tekken's pieces end.

    tiktoken splits text into pieces with Tekken's regex and encodes each piece alone,
    so cutting text where one piece ends, before a whitespace character, changes no
    count. A letter or number followed by whitespace always marks such a place; so does
    the start of each whitespace piece that Python's `regex` module (tiktoken's own
    dependency) finds with the same pattern in the stretch around a long run. The
    pieces too long for tiktoken's regex are then encoded on their own, without it.
    """
    import regex

    encoding = _tekken()[0]
    text = _without_surrogates(text)
    total = done = 0
    for run in re.finditer(_long_run_pattern(), text):
        if run.start() < done:
            continue  # inside the stretch counted for the previous run
        before = regex.search(_LETTER_THEN_SPACE_LAST, text, pos=done, endpos=run.start() + 1)
        after = regex.search(_LETTER_THEN_SPACE, text, pos=run.end())
        start = before.end() if before else done
        end = after.end() if after else len(text)
        total += len(encoding.encode_ordinary(text[done:start]))
        total += _count_stretch(text[start:end])
        done = end
    return total + len(encoding.encode_ordinary(text[done:]))


def _may_hold_long_run(text: str) -> bool:
    """A fast filter for `_long_run_pattern`: False means text holds no such run."""
    # A run of _LONG_RUN characters covers a whole block of half that length starting at a
    # multiple of the half, and str.isspace stops at a block's first other character, so
    # this looks at few characters where the regex (12 ms per MiB) looks at each.
    # isspace's whitespace is \s plus U+001C..U+001F: a superset, as a filter needs.
    half = _LONG_RUN // 2
    blocks = range(0, len(text) - half + 1, half)
    return any(text[start : start + half].isspace() for start in blocks)


def _long_run_pattern() -> str:
    """A maximal whitespace run of at least _LONG_RUN characters (re caches the compiled form)."""
    return rf"(?<!{_WHITE_SPACE}){_WHITE_SPACE}{{{_LONG_RUN},}}"


def _count_stretch(stretch: str) -> int:
    """Count a stretch that starts and ends on piece boundaries, piece by long piece."""
    import regex

    encoding, pattern = _tekken()
    total = cut = 0
    for piece in regex.finditer(pattern, stretch):
        # Only whitespace pieces trouble tiktoken's regex, and only before whitespace is
        # a cut safe: at any other character the regex's (?!\S) would see something else
        # than the end of the string, and the text before the cut could split otherwise.
        too_long = piece.end() - piece.start() >= _LONG_RUN
        if too_long and re.match(_WHITE_SPACE, piece.group()):
            total += len(encoding.encode_ordinary(stretch[cut : piece.start()]))
            # Byte-pair encoding of this one piece, without the regex.
            total += len(encoding._encode_single_piece(piece.group().encode("utf-8")))
            cut = piece.end()
    return total + len(encoding.encode_ordinary(stretch[cut:]))


def _without_surrogates(text: str) -> str:
    """Replace lone surrogates with U+FFFD, as tiktoken does before it encodes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def vocabulary_loaded() -> bool:
    """Whether this process has read the vocabulary already (counting is cheap then)."""
    return _tekken.cache_info().currsize > 0


@functools.cache
def _tekken() -> tuple[Any, str]:
    """The Tekken tiktoken.Encoding and its regex pattern, read from orcli's data file once."""
    import tiktoken

    # A path beside this module rather than importlib.resources, whose import costs
    # about 3 ms: pip installs orcli as plain files, never zipped.
    with open(os.path.join(os.path.dirname(__file__), "data", _DATA_FILE), "rb") as file:
        raw = file.read()
    header_line, _, body = raw.partition(b"\n")
    header = json.loads(header_line)
    if header["format"] != _DATA_FORMAT:
        raise RuntimeError(f"{_DATA_FILE}: unknown format {header['format']}")
    # Ranks 0-255 are the single bytes; the file holds the longer tokens NUL-separated (see
    # scripts/build_tekken_data.py), so bytes.split makes every key in one C call.
    # Token ids would be rank + 1,000 (the control tokens come first); counts need no ids.
    ranks = {bytes([byte]): byte for byte in range(256)}
    ranks.update(zip(body.split(b"\0"), range(256, header["ranks"]), strict=True))
    del raw, body  # the 1 MB file is not needed once tiktoken holds the ranks
    encoding = tiktoken.Encoding(
        name=header["name"], pat_str=header["pattern"], mergeable_ranks=ranks, special_tokens={}
    )
    return encoding, header["pattern"]
