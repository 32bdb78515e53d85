"""What the critic says about a correct candidate's measured cost."""

from __future__ import annotations

from codemend.records import SpeedMeasurement


def _ms(seconds: float | None) -> str:
    return f"{(seconds or 0.0) * 1000:.1f} ms"


def speed_feedback(m: SpeedMeasurement, baseline: str = "the reference solution") -> str:
    """One paragraph: the verdict, the medians, the workload, the method."""
    workload = "; ".join(f"`{i}`" for i in m.inputs[:3]) + (" ..." if len(m.inputs) > 3 else "")
    if m.verdict == "incorrect":
        where = f" on `{m.failing_input}`" if m.failing_input else ""
        return f"The code is wrong on a performance input{where} ({m.failure}). Keep it correct first."
    costs = (
        f"median CPU time {_ms(m.candidate_median_s)} against {_ms(m.baseline_median_s)} for {baseline}, "
        f"{len(m.candidate_s)} fresh runs each on {workload}"
    )
    speedup = m.speedup or 1.0
    if m.verdict == "faster":
        head = f"Correct and {speedup:.2f}x faster than {baseline} (p = {m.p_faster:.2g})"
        tail = "Make it faster still if you can, keeping it correct."
    elif m.verdict == "slower":
        head = f"Correct, but {1 / speedup:.2f}x slower than {baseline} (p = {m.p_slower:.2g})"
        tail = "Use a better algorithm or data structure; keep it correct."
    else:
        head = f"Correct, but not measurably faster than {baseline} ({speedup:.2f}x, p = {m.p_faster:.2g})"
        tail = "Use a better algorithm or data structure; keep it correct."
    return f"{head}: {costs}. {tail}"


def baseline_note(calls: list[str], reference: bool) -> str:
    """The feedback that opens optimisation: the code shown is correct, here is its workload."""
    what = "This is the reference solution" if reference else "This code is correct: it is now the baseline"
    timed = "; ".join(f"`{c}`" for c in calls[:3]) if calls else "the tests above"
    return (
        f"{what}. It passes every test but may be slow. Its cost is measured (CPU time of fresh "
        f"runs) on: {timed}. Write a faster version that gives exactly the same results."
    )
