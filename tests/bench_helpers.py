"""A scripted endpoint that answers HumanEval requests by their content, for the bench tests and
``perf/bench_overhead.py``: trajectories run concurrently, so a queue in request order cannot say
which problem a reply is for."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from scripted_server import Received, Reply, ScriptedServer, Status, Step, ok

from codemend.benchmarks.humaneval import raw_records

Answer = Literal["right", "wrong", "visible_only", "error"]
Policy = Callable[[str, int, int | None], Answer]
"""(task_id, attempt number 0.., the request's seed) -> what to answer."""

_ATTEMPT = re.compile(r"_attempt = (\d+)")
# HumanEval/0 passing its docstring examples but not check(): only neighbours in input order
ADJACENT_ONLY = """from typing import List


def has_close_elements(numbers: List[float], threshold: float) -> bool:
    return any(abs(a - b) < threshold for a, b in zip(numbers, numbers[1:]))
"""


def fail_then_pass(failures: int) -> Policy:
    """Wrong for the first ``failures`` attempts of every problem, then the canonical solution."""
    return lambda task_id, attempt, seed: "wrong" if attempt < failures else "right"


@dataclass
class HumanEvalServer(ScriptedServer):
    """Replies to each request from its content: which HumanEval task it is (its prompt is in the
    message), which attempt (wrong answers carry ``_attempt = N``), and ``policy``."""

    policy: Policy = field(default_factory=lambda: fail_then_pass(1))
    delay_s: float = 0.0
    usage: Callable[[str, int], tuple[int, int]] = lambda task_id, attempt: (100, 40)
    """(task_id, attempt number) -> the (prompt, completion) tokens the reply reports."""

    def __post_init__(self) -> None:
        self.records = list(raw_records())
        self._keys = [(r["prompt"].strip(), r) for r in self.records]

    def _next(self, received: Received) -> Step:
        with self._lock:
            self.requests.append(received)
        content = "\n".join(m["content"] for m in received.body.get("messages", []))
        record = next((r for key, r in self._keys if key in content), None)
        if record is None:
            self.errors.append(f"request {len(self.requests)} is for no HumanEval task")
            return ok("no task")
        found = _ATTEMPT.findall(content)
        attempt = int(found[-1]) + 1 if found else 0
        answer = self.policy(record["task_id"], attempt, received.body.get("seed"))
        if answer == "error":
            return Status(code=500)
        usage = self.usage(record["task_id"], attempt)
        return Reply(texts=(reply_text(record, answer, attempt),), usage=usage, delay_s=self.delay_s)


def reply_text(record: dict[str, Any], answer: Answer, attempt: int) -> str:
    if answer == "right":
        code = record["prompt"] + record["canonical_solution"]
    elif answer == "visible_only" and record["task_id"] == "HumanEval/0":
        code = ADJACENT_ONLY
    else:
        code = record["prompt"] + f"    _attempt = {attempt}\n    return None\n"
    return f"Here you go:\n```python\n{code}```\n"
