"""One-point mutations of a reference solution, for the perf scripts' wrong answers: an integer
constant + 1, or the first comparison replaced by another. Each transformer changes at most one
node and says whether it did (``done``)."""

from __future__ import annotations

import ast

BOUNDARY: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
}
"""Off by one at the boundary (``<`` for ``<=``), equality negated."""
NEGATION: dict[type, type] = {
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
}
"""The comparison negated (``<`` for ``>=``)."""


class BumpInt(ast.NodeTransformer):
    """The first integer constant + 1."""

    done = False

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if not self.done and type(node.value) is int:
            self.done = True
            return ast.copy_location(ast.Constant(node.value + 1), node)
        return node


class SwapCompare(ast.NodeTransformer):
    """The first comparison whose operator ``swap`` maps, replaced by its image."""

    def __init__(self, swap: dict[type, type]) -> None:
        self.swap = swap
        self.done = False

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if not self.done and type(node.ops[0]) in self.swap:
            self.done = True
            node.ops[0] = self.swap[type(node.ops[0])]()
        return node
