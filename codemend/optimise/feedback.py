"""What the critic says about a correct candidate's measured cost, and the note that opens an
optimisation. Both quote only what the model may see: visible performance inputs by their text,
hidden and generated ones by their number and size."""

from __future__ import annotations

from codemend.optimise.workload import describe_hidden
from codemend.problems import Problem
from codemend.records import SpeedMeasurement


def _ms(seconds: float | None) -> str:
    return f"{(seconds or 0.0) * 1000:.1f} ms"


def _workload(m: SpeedMeasurement) -> str:
    return "; ".join(f"`{i}`" for i in m.inputs[:3]) + (" ..." if len(m.inputs) > 3 else "")


def _costs(m: SpeedMeasurement, baseline: str) -> str:
    if m.method == "instructions":
        return (
            f"{m.candidate_instructions or 0:,} instructions against {m.baseline_instructions or 0:,} for "
            f"{baseline} (counted exactly, start-up excluded) on {_workload(m)}"
        )
    return (
        f"median CPU time {_ms(m.candidate_median_s)} against {_ms(m.baseline_median_s)} for {baseline}, "
        f"{len(m.candidate_s)} fresh runs each on {_workload(m)}"
    )


def _significance(m: SpeedMeasurement, p: float | None) -> str:
    return "" if m.method == "instructions" else f", p = {p or 1.0:.2g}"


def speed_feedback(m: SpeedMeasurement, baseline: str = "the reference solution") -> str:
    """One paragraph: the verdict, the costs, the workload (as the model may see it), the method."""
    if m.verdict == "incorrect":
        where = f" on `{m.failing_input}`" if m.failing_input else ""
        return f"The code is wrong on a performance input{where} ({m.failure}). Keep it correct first."
    speedup = m.speedup or 1.0
    if m.verdict == "faster":
        head = f"Correct and {speedup:.2f}x faster than {baseline}{_significance(m, m.p_faster)}"
        tail = "Make it faster still if you can, keeping it correct."
    elif m.verdict == "slower":
        head = f"Correct, but {1 / speedup:.2f}x slower than {baseline}{_significance(m, m.p_slower)}"
        tail = "Use a better algorithm or data structure; keep it correct."
    else:
        measured = f"{speedup:.2f}x{_significance(m, m.p_faster)}"
        head = f"Correct, but not measurably faster than {baseline} ({measured})"
        tail = "Use a better algorithm or data structure; keep it correct."
    return f"{head}: {_costs(m, baseline)}. {tail}"


def timed_on(problem: Problem) -> str:
    """The workload as the model may know it: visible inputs quoted, the rest described."""
    visible = [
        t.call or f"stdin of {len(t.stdin or '')} characters"
        for t in problem.perf_tests
        if t.visibility == "visible"
    ]
    quoted = "; ".join(f"`{c}`" for c in visible[:3]) + (" ..." if len(visible) > 3 else "")
    hidden = describe_hidden(problem)
    if quoted and hidden:
        return f"{quoted}, and on {hidden}"
    return quoted or hidden or "the tests above"


def baseline_note(problem: Problem, reference: bool, method: str = "cpu") -> str:
    """The feedback that opens optimisation: the code shown is correct, here is its workload."""
    what = "This is the reference solution" if reference else "This code is correct: it is now the baseline"
    how = "instructions executed" if method == "instructions" else "CPU time of fresh runs"
    return (
        f"{what}. It passes every test but may be slow. Its cost is measured ({how}) on: "
        f"{timed_on(problem)}. Write a faster version that gives exactly the same results on every input."
    )
