"""Floor for `orcli batch -j 16`: 16 threads POSTing the rows, one requests.Session each.

Reads a JSONL file of prompts (JSON strings) and writes one JSON line per answer.
No validation, no retries, no budget: the least a concurrent client must do.
"""

import json
import os
import queue
import sys
import threading

import requests

THREADS = 16
URL = os.environ["OPENROUTER_BASE_URL"].rstrip("/") + "/chat/completions"
HEADERS = {"Authorization": f"Bearer {os.environ['OPENROUTER_API_KEY']}",
           "Content-Type": "application/json", "User-Agent": "floor/1"}
todo: queue.SimpleQueue = queue.SimpleQueue()
out_lock = threading.Lock()


def work() -> None:
    session = requests.Session()
    while (item := todo.get()) is not None:
        number, prompt = item
        body = {"model": "mistralai/devstral-2512",
                "messages": [{"role": "user", "content": prompt}]}
        response = session.post(URL, data=json.dumps(body).encode(), headers=HEADERS,
                                timeout=600)
        response.raise_for_status()
        text = response.json()["choices"][0]["message"]["content"]
        line = json.dumps({"id": str(number), "text": text}) + "\n"
        with out_lock:
            sys.stdout.write(line)
            sys.stdout.flush()


with open(sys.argv[1], encoding="utf-8") as rows:
    for number, line in enumerate(rows, 1):
        todo.put((number, json.loads(line)))
threads = [threading.Thread(target=work) for _ in range(THREADS)]
for thread in threads:
    todo.put(None)
    thread.start()
for thread in threads:
    thread.join()
