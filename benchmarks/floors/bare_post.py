"""Floor for `echo hi | orcli chat`: the same POST with requests and no CLI framework."""

import json
import os
import sys

import requests

body = {"model": "mistralai/devstral-2512",
        "messages": [{"role": "user", "content": sys.stdin.read()}]}
response = requests.post(
    os.environ["OPENROUTER_BASE_URL"].rstrip("/") + "/chat/completions",
    data=json.dumps(body).encode(),
    headers={"Authorization": f"Bearer {os.environ['OPENROUTER_API_KEY']}",
             "Content-Type": "application/json", "User-Agent": "floor/1",
             "X-OpenRouter-Title": "orcli", "X-Title": "orcli",
             "HTTP-Referer": "https://github.com/orcli"},
    timeout=600,
)
response.raise_for_status()
sys.stdout.write(response.json()["choices"][0]["message"]["content"] + "\n")
