"""-a/--attach: files typed by their first bytes, parts shaped as OpenRouter takes them."""

from __future__ import annotations

import base64
import io
import json
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
from tests.fake_openrouter import completion
from tests.test_guards import cache_models
from tests.test_price import catalog_model


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


# ---- end to end: what chat and stream send ---------------------------------------------

PNG = SAMPLES["png"][0]


def test_attachments_go_after_the_text_in_the_request_and_the_conversation(
        server, run, tmp_path: Path) -> None:
    image = write(tmp_path, "cat.png", PNG)
    conversation = tmp_path / "chat.json"
    server.json(completion("Two cats."))
    run("chat", "-m", "some/vision-model", "-C", str(conversation), "-a", image,
        "--attach", "https://example.com/dog.jpg", "What is in these?")
    user = {"role": "user", "content": [
        {"type": "text", "text": "What is in these?"},
        {"type": "image_url",
         "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()}},
        {"type": "image_url", "image_url": {"url": "https://example.com/dog.jpg"}}]}
    assert server.requests[0].json()["messages"] == [user]
    assert json.loads(conversation.read_text())[0] == user


def test_the_default_model_refuses_an_image_before_sending(server, run, tmp_path: Path) -> None:
    result = run("stream", "-a", write(tmp_path, "cat.png", PNG), "describe", expect=2)
    assert "mistralai/devstral-2512 accepts only text input" in result.stderr
    assert server.requests == []


def test_the_cached_catalog_says_what_a_model_takes(server, run, isolated_env,
                                                    tmp_path: Path) -> None:
    seeing = catalog_model("vision/model", "0", "0")
    seeing["architecture"]["input_modalities"] = ["text", "image"]
    cache_models(isolated_env, server.base_url, [seeing])
    server.json(completion("A cat."))
    run("chat", "-m", "vision/model", "-a", write(tmp_path, "cat.png", PNG), "describe")
    result = run("chat", "-m", "vision/model", "-a", write(tmp_path, "a.wav", wav_bytes()),
                 "transcribe", expect=2)
    assert "vision/model accepts only text, image input" in result.stderr
    assert len(server.requests) == 1


def test_a_fallback_that_cannot_take_the_attachment_is_refused(server, run, isolated_env,
                                                               tmp_path: Path) -> None:
    result = run("chat", "-m", "vision/model", "-o", 'models=["mistralai/devstral-2512"]',
                 "-a", write(tmp_path, "cat.png", PNG), "describe", expect=2)
    assert "mistralai/devstral-2512 accepts only text input" in result.stderr


def test_attach_with_messages_exits_2(run, tmp_path: Path) -> None:
    messages = write(tmp_path, "m.json", b'[{"role": "user", "content": "hi"}]')
    result = run("chat", "--messages", messages, "-a", "https://example.com/x.png", expect=2)
    assert "put the parts in the file" in result.stderr
