"""Which of a candidate's statements its passing visible tests need, found by running them in
the sandbox with statements taken out (``agents.statements``): the structure reward credits only
those (``agents.structure.scored_structure``), so code that never runs, or runs without changing a
passing result, earns nothing however much it looks like the reference.

1. Top down: each statement of a level is taken out on its own (the level's variants run at
   once); one whose absence makes a passing test stop passing is kept, and what it contains is
   the next level. The others are taken out for good.
2. The kept statements alone must still pass the same tests; then each is taken out again from
   that smaller program, until none can go (a ``total = 0`` needed only by a loop whose result
   was dropped goes once the loop has gone).

At most ``MAX_PROBES`` variants per candidate: a statement left unprobed stays in the programs
run but is not credited. A variant's tests run under a time limit of five times the slowest
passing test (at least a second, at most the problem's): one that much slower does not pass
them as the candidate does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from codemend import pysource
from codemend.agents.statements import Credited, Path, Statements, introspects
from codemend.problems import Problem
from codemend.records import TestReport
from codemend.sandbox import Sandbox

MAX_PROBES = 48
PROBE_TIME_FACTOR = 5.0
PROBE_MIN_TIME_S = 1.0


async def credit(sandbox: Sandbox, problem: Problem, code: str, report: TestReport) -> Credited | str:
    """The statements of ``code`` (Python, parsing) that the visible tests it passed in
    ``report`` need; or why that cannot be told. Raises ``InfrastructureError`` when the sandbox
    fails."""
    try:
        return await _credit(sandbox, problem, code, report)
    except (RecursionError, MemoryError) as exc:  # a tree too deep to walk, copy or write out
        return f"the code is too deeply nested to take statements out ({type(exc).__name__})"


async def _credit(sandbox: Sandbox, problem: Problem, code: str, report: TestReport) -> Credited | str:
    tree = pysource.parse(code)[0]
    why = introspects(tree)
    if why is not None:
        return why
    if not report.results:
        return "no visible test ran, so no statement can be shown to be needed"
    statements = Statements(tree, problem.entry_point)
    passing = _passed(report)
    if not passing:  # nothing passes, so nothing is needed
        return Credited(needed=frozenset(), statements=statements.count)
    tests = problem.visible_tests()
    again = await sandbox.arun(problem, statements.source(), tests)
    if _passed(again) != passing:
        return "the candidate's visible tests did not pass the same way when run again"
    slowest = max(r.duration_s for r in again.results if r.passed)
    limit = min(problem.time_limit_s, max(PROBE_MIN_TIME_S, PROBE_TIME_FACTOR * slowest))
    search = _Search(sandbox, problem.model_copy(update={"time_limit_s": limit}), statements, passing)
    return await search.run()


class _Search:
    def __init__(self, sandbox: Sandbox, problem: Problem, statements: Statements, passing: set[int]) -> None:
        self.sandbox, self.problem, self.statements, self.passing = sandbox, problem, statements, passing
        self.tests = problem.visible_tests()
        self.everything = statements.everything()
        self.kept: set[Path] = set()
        self.unprobed: set[Path] = set(self.everything)
        self.probes = 0

    async def run(self) -> Credited | str:
        level = self.statements.roots()
        while level:
            batch = level[: max(0, MAX_PROBES - self.probes)]
            if not batch:
                break
            self.unprobed -= set(batch)
            breaks = await self._breaks([self._without(p, also=level) for p in batch])
            needed = [p for p, broke in zip(batch, breaks, strict=True) if broke]
            self.kept.update(needed)
            self._drop_unprobed_below(p for p in batch if p not in needed)
            level = [child for p in needed for child in self.statements.children(p)]
        while True:
            (broken,) = await self._breaks([self._without()])
            if broken:
                return "statements the tests need none of one by one are needed together (redundant code)"
            candidates = sorted(self.kept)[: max(0, MAX_PROBES - self.probes)]
            if not candidates:
                break
            breaks = await self._breaks([self._without(p) for p in candidates])
            spare = {p for p, broke in zip(candidates, breaks, strict=True) if not broke}
            if not spare:
                break
            self.kept = {k for k in self.kept if not any(k[: len(s)] == s for s in spare)}
        return Credited(needed=frozenset(self.kept), statements=self.statements.count, probes=self.probes)

    def _without(self, path: Path | None = None, also: Iterable[Path] = ()) -> set[Path]:
        """What to take out: everything neither kept nor unprobed (nor on the level being probed,
        ``also``), and ``path``."""
        staying = self.kept | self.unprobed | set(also)
        removed = {p for p in self.everything if p not in staying}
        if path is not None:
            removed.add(path)
        return removed

    def _drop_unprobed_below(self, gone: Iterable[Path]) -> None:
        for path in gone:
            self.unprobed = {p for p in self.unprobed if p[: len(path)] != path}

    async def _breaks(self, removals: list[set[Path]]) -> list[bool]:
        """For each set of statements, whether taking them out makes a passing test fail."""
        self.probes += len(removals)
        programs = [self.statements.program(removed) for removed in removals]
        runs = (self.sandbox.arun(self.problem, code, self.tests) for code in programs)
        reports = await asyncio.gather(*runs)
        return [bool(self.passing - _passed(r)) for r in reports]


def _passed(report: TestReport) -> set[int]:
    return {r.index for r in report.results if r.passed}
