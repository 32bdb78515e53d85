"""Problems and their tests."""

from codemend.problems.check_split import SplitCheck, split_check
from codemend.problems.loading import iter_problems, load_problem, load_problems
from codemend.problems.model import AssertTest, IOTest, PerfTest, Problem, Test, Visibility
from codemend.problems.signature import Signature

__all__ = [
    "AssertTest",
    "IOTest",
    "PerfTest",
    "Problem",
    "Signature",
    "SplitCheck",
    "Test",
    "Visibility",
    "iter_problems",
    "load_problem",
    "load_problems",
    "split_check",
]
