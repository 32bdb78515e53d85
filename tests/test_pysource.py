"""``codemend.pysource``: parsing model-written code once, from any thread."""

from __future__ import annotations

import ast
from concurrent.futures import ThreadPoolExecutor

from codemend import pysource


def test_threads_parsing_at_once_get_the_trees_a_lone_parse_gives() -> None:
    """The reward's scorers extract code from several threads at once; CPython 3.11's AST
    converter keeps its recursion depth per interpreter, and two parses at once raised
    ``SystemError: AST constructor recursion depth mismatch`` (seen once in
    perf/reward_throughput.py, not reproducible on demand: this checks the trees and that no
    parse raises, over more distinct replies than the memo holds)."""
    codes = [
        f"def f{i}(a):\n    return [[x * {i} for x in range(a) if x % 2] for _ in ({'(' * 20}a{')' * 20},)]\n"
        for i in range(64)
    ]
    alone = [ast.dump(ast.parse(code, "<reply>")) for code in codes]
    with ThreadPoolExecutor(8) as pool:
        trees = list(pool.map(lambda code: ast.dump(pysource.parse(code)[0]), codes * 4))
    assert trees == alone * 4
