"""`-a/--attach PATH|URL`: images, PDFs and audio as content parts of the user message.

A file's kind comes from its first bytes, never from its name: a `.png` that is
really HTML is refused here rather than by the provider after it was paid for.
Shapes follow OpenRouter's multimodal docs (image_url, file, input_audio).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from typing import Any

from msgspec import Struct

from orcli.errors import UsageError

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024

# kind -> the catalog's input modality that accepts it, and how a message names it.
MODALITY = {"image": "image", "pdf": "file", "audio": "audio"}
_KIND_WORDS = {"image": "an image", "pdf": "a PDF", "audio": "audio"}
_KNOWN = "PNG, JPEG, WebP or GIF image, a PDF, or WAV or MP3 audio"


class Attachment(Struct, frozen=True):
    """One -a value: what the user gave, its kind and the content part that carries it."""

    label: str
    kind: str  # "image", "pdf" or "audio"
    part: dict[str, Any]


def is_url(value: str) -> bool:
    """http(s):// values are sent as image URLs, not read from disk."""
    return value[:8].lower().startswith(("http://", "https://"))


def load_attachment(value: str) -> Attachment:
    """The attachment for one -a value: a URL as is, else the file read and typed."""
    if is_url(value):
        return Attachment(value, "image", {"type": "image_url", "image_url": {"url": value}})
    return attachment_from_bytes(value, read_attachment_file(value))


def read_attachment_file(path: str) -> bytes:
    """The file's bytes; exit 2 when it cannot be read or is over MAX_ATTACHMENT_BYTES."""
    try:
        with open(path, "rb") as file:
            # The size is checked before reading, so -a on a huge file costs nothing;
            # the capped read still catches what stat cannot size (a pipe, /dev/zero).
            if os.fstat(file.fileno()).st_size > MAX_ATTACHMENT_BYTES:
                raise _too_big(path)
            data = file.read(MAX_ATTACHMENT_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"-a {path}: cannot read it ({exc.strerror}); nothing was sent") from None
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise _too_big(path)
    return data


def _too_big(path: str) -> UsageError:
    return UsageError(f"-a {path} is over {MAX_ATTACHMENT_BYTES >> 20} MiB, the most orcli "
                      "attaches; nothing was sent")


def attachment_from_bytes(path: str, data: bytes) -> Attachment:
    """Type the bytes by their magic number and wrap them in the matching content part."""
    sniffed = sniff(data)
    if sniffed is None:
        raise UsageError(f"-a {path} is not a {_KNOWN} (judged by its first bytes); "
                         "nothing was sent")
    kind, subtype = sniffed
    encoded = base64.b64encode(data).decode("ascii")
    if kind == "image":
        part = {"type": "image_url", "image_url": {"url": f"data:{subtype};base64,{encoded}"}}
    elif kind == "pdf":
        part = {"type": "file", "file": {"filename": os.path.basename(path) or "document.pdf",
                                         "file_data": f"data:{subtype};base64,{encoded}"}}
    else:  # audio: raw base64 plus a format, not a data URL (OpenRouter's audio docs)
        part = {"type": "input_audio", "input_audio": {"data": encoded, "format": subtype}}
    return Attachment(path, kind, part)


def sniff(data: bytes) -> tuple[str, str] | None:
    """(kind, MIME type or audio format) from the first bytes; None for anything else."""
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image", "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image", "image/webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio", "wav"
    if head.startswith(b"%PDF-"):
        return "pdf", "application/pdf"
    if head.startswith(b"ID3") or _is_mp3_frame(head):
        return "audio", "mp3"
    return None


def _is_mp3_frame(head: bytes) -> bool:
    # An MPEG audio frame header: 11 sync bits, then a version that is not the
    # reserved one, layer III, a bitrate index that is not 15, a valid sample rate.
    # (AAC's ADTS header also starts 0xFFF but says layer 0, so it is not taken.)
    if len(head) < 3 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 3
    return version != 1 and layer == 1 and bitrate != 15 and rate != 3


def check_modalities(
    model: str, attachments: Sequence[Attachment], modalities: Sequence[str] | None
) -> None:
    """Exit 2 when the model's known input modalities do not take an attachment's kind."""
    if modalities is None:
        return  # unknown: let the API decide
    accepted = {m.casefold() for m in modalities}
    for attachment in attachments:
        if MODALITY[attachment.kind] not in accepted:
            takes = ", ".join(modalities) if modalities else "nothing listed"
            raise UsageError(
                f"-a {attachment.label} is {_KIND_WORDS[attachment.kind]}, but {model} "
                f"accepts only {takes} input; nothing was sent")


def with_attachments(message: dict[str, Any], attachments: Sequence[Attachment]) -> dict[str, Any]:
    """The user message as a list of parts: its text first, then each attachment in order."""
    if not attachments:
        return message
    content = message.get("content")
    parts = list(content) if isinstance(content, list) else [{"type": "text", "text": content}]
    return {**message, "content": parts + [a.part for a in attachments]}
