"""Floor for `orcli stream`'s CPU time: a one-command Typer app that POSTs with requests
and passes the raw response bytes through to stdout as they arrive (no SSE, no JSON)."""

import json
import os
import sys
from typing import Annotated

import requests
import typer

app = typer.Typer(add_completion=False)


@app.command()
def stream(prompt: Annotated[list[str], typer.Argument()],
           model: Annotated[str, typer.Option("-m")] = "mistralai/devstral-2512") -> None:
    body = {"model": model, "stream": True,
            "messages": [{"role": "user", "content": " ".join(prompt)}]}
    response = requests.post(
        os.environ["OPENROUTER_BASE_URL"].rstrip("/") + "/chat/completions",
        data=json.dumps(body).encode(), stream=True, timeout=600,
        headers={"Authorization": f"Bearer {os.environ['OPENROUTER_API_KEY']}",
                 "Content-Type": "application/json"},
    )
    response.raise_for_status()
    out = sys.stdout.buffer
    for piece in response.iter_content(chunk_size=None):
        out.write(piece)
        out.flush()


if __name__ == "__main__":
    app()
