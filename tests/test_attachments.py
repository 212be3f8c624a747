"""-a/--attach: files typed by their first bytes, parts shaped as OpenRouter takes them."""

from __future__ import annotations

import base64
import io
import os
import wave
from pathlib import Path

import pytest

from orcli.errors import ExitStatus, UsageError
from orcli.request.attachments import (
    MAX_ATTACHMENT_BYTES,
    check_modalities,
    load_attachment,
    with_attachments,
)


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 80)
    return buffer.getvalue()


# The first bytes each format really starts with, then some body.
SAMPLES = {
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
    "webp": (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
    "gif": (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif"),
}


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(("data", "mime"), SAMPLES.values(), ids=SAMPLES.keys())
def test_images_become_data_urls_of_their_real_type(tmp_path: Path, data: bytes,
                                                     mime: str) -> None:
    # The name says .bin: the type comes from the bytes, not the extension.
    attachment = load_attachment(write(tmp_path, "picture.bin", data))
    url = attachment.part["image_url"]["url"]
    assert attachment.part["type"] == "image_url"
    assert url == f"data:{mime};base64," + base64.b64encode(data).decode()


def test_pdf_becomes_a_file_part_with_its_name(tmp_path: Path) -> None:
    data = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"
    attachment = load_attachment(write(tmp_path, "report.pdf", data))
    assert attachment.part == {"type": "file", "file": {
        "filename": "report.pdf",
        "file_data": "data:application/pdf;base64," + base64.b64encode(data).decode()}}


AUDIO = {
    "wav": (wav_bytes(), "wav"),
    "mp3 with ID3 tag": (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 20, "mp3"),
    "mp3 bare frame": (b"\xff\xfb\x90\x64" + b"\x00" * 40, "mp3"),
}


@pytest.mark.parametrize(("data", "fmt"), AUDIO.values(), ids=AUDIO.keys())
def test_audio_is_raw_base64_with_its_format(tmp_path: Path, data: bytes, fmt: str) -> None:
    attachment = load_attachment(write(tmp_path, "sound", data))
    assert attachment.part == {"type": "input_audio", "input_audio": {
        "data": base64.b64encode(data).decode(), "format": fmt}}


@pytest.mark.parametrize("url", ["https://example.com/cat.png", "HTTP://example.com/x?y=1"])
def test_urls_are_sent_as_image_urls_as_they_are(url: str) -> None:
    assert load_attachment(url).part == {"type": "image_url", "image_url": {"url": url}}


NOT_ATTACHABLE = {
    "plain text": b"just some notes\n",
    "html named png": b"<!doctype html><html>",
    "empty": b"",
    "aac adts": b"\xff\xf1\x50\x80\x00\x1f\xfc",
    "avi is riff too": b"RIFF\x24\x00\x00\x00AVI LIST",
}


@pytest.mark.parametrize("data", NOT_ATTACHABLE.values(), ids=NOT_ATTACHABLE.keys())
def test_other_files_are_refused_naming_the_file(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, "thing.png", data)
    with pytest.raises(UsageError) as caught:
        load_attachment(path)
    assert caught.value.status == ExitStatus.USAGE
    assert path in caught.value.message and "nothing was sent" in caught.value.message


def test_a_file_over_20_mib_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    with path.open("wb") as file:
        file.write(SAMPLES["png"][0])
        file.truncate(MAX_ATTACHMENT_BYTES + 1)  # sparse: no 20 MiB written to disk
    with pytest.raises(UsageError, match="over 20 MiB"):
        load_attachment(str(path))


def test_a_file_of_exactly_20_mib_is_taken(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    with path.open("wb") as file:
        file.write(SAMPLES["png"][0])
        file.truncate(MAX_ATTACHMENT_BYTES)
    assert load_attachment(str(path)).kind == "image"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_an_endless_file_stops_at_the_limit() -> None:
    # stat says size 0 for a device; the capped read still refuses it.
    with pytest.raises(UsageError, match="over 20 MiB"):
        load_attachment("/dev/zero")


@pytest.mark.parametrize("name", ["missing.png", "."])
def test_unreadable_paths_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(UsageError, match="cannot read it"):
        load_attachment(str(tmp_path / name))


def test_a_text_only_model_refuses_an_image_naming_model_and_inputs(tmp_path: Path) -> None:
    image = load_attachment(write(tmp_path, "cat.png", SAMPLES["png"][0]))
    with pytest.raises(UsageError) as caught:
        check_modalities("mistralai/devstral-2512", [image], ["text"])
    message = caught.value.message
    assert "cat.png" in message and "mistralai/devstral-2512" in message
    assert "accepts only text input" in message


def test_modalities_map_pdf_to_file_and_audio_to_audio(tmp_path: Path) -> None:
    pdf = load_attachment(write(tmp_path, "a.pdf", b"%PDF-1.4\n"))
    sound = load_attachment(write(tmp_path, "a.wav", wav_bytes()))
    check_modalities("m", [pdf, sound], ["text", "file", "audio"])
    with pytest.raises(UsageError, match="is a PDF"):
        check_modalities("m", [pdf], ["text", "image"])
    with pytest.raises(UsageError, match="is audio"):
        check_modalities("m", [sound], ["text", "image", "file"])


def test_unknown_modalities_let_everything_through(tmp_path: Path) -> None:
    image = load_attachment(write(tmp_path, "cat.png", SAMPLES["png"][0]))
    check_modalities("some/model", [image], None)


def test_parts_are_the_text_first_then_the_attachments_in_order() -> None:
    first = load_attachment("https://example.com/1.png")
    second = load_attachment("https://example.com/2.png")
    message = with_attachments({"role": "user", "content": "compare"}, [first, second])
    assert message == {"role": "user", "content": [
        {"type": "text", "text": "compare"}, first.part, second.part]}
    assert with_attachments({"role": "user", "content": "hi"}, []) == {
        "role": "user", "content": "hi"}
