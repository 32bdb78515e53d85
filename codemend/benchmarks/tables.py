"""The report's sentences and Markdown tables. Every estimate is shown with its 95% interval, or
as "not enough data" saying what is missing: never a number without its interval.

Each table takes ``(group, summary)`` rows: one row group with ``group`` None for the run as a
whole, or one per value of a ``--by`` key, which then heads a first column.
"""

from __future__ import annotations

from collections.abc import Sequence

from codemend.benchmarks.intervals import Estimate
from codemend.benchmarks.metrics import BenchSummary

Rows = Sequence[tuple[str | None, BenchSummary]]


def fmt(e: Estimate | None, *, signed: bool = False) -> str:
    """``0.412 [0.350, 0.471]``; a difference ``+0.040 [-0.021, +0.102]``."""
    if e is None:
        return "n/a"
    if e.value is None or e.low is None or e.high is None:
        return e.missing or "not enough data"
    spec = "+.3f" if signed else ".3f"
    value, low, high = (round(x, 3) + 0.0 for x in (e.value, e.low, e.high))  # no "-0.000"
    return f"{value:{spec}} [{low:{spec}}, {high:{spec}}]"


def _winner(diff: Estimate) -> str:
    if diff.low is not None and diff.low > 0:
        return "repair beats resampling"
    if diff.high is not None and diff.high < 0:
        return "resampling beats repair"
    return "neither beats the other clearly"


def _zero(diff: Estimate) -> str:
    return "excludes zero" if diff.excludes_zero() else "includes zero"


def equal_tokens_verdict(s: BenchSummary) -> str:
    """Does repair beat resampling at equal tokens, and how sure are we: one sentence."""
    if s.rounds == 0:
        return "Equal tokens: no repair rounds (--rounds 0), nothing to compare."
    eq = s.equal_tokens
    if eq is None:
        return "Equal tokens: cannot tell, not enough data (no scored trajectory with token counts)."
    h = eq.headline
    where = f"{h.budget} tokens per problem, what a repair trajectory spends on average"
    if not h.difference.known:
        return f"Equal tokens ({where}): cannot tell, {h.difference.missing}."
    return (
        f"At equal tokens ({where}), {_winner(h.difference)}: repair solves {fmt(h.repair)} of problems, "
        f"independent samples {fmt(h.resampling)}; the difference {fmt(h.difference, signed=True)} "
        f"{_zero(h.difference)} (95% interval, bootstrap over {h.difference.problems} problems)."
    )


def equal_calls_verdict(s: BenchSummary) -> str:
    b = s.resample_budget
    diff = s.repair_minus_resample
    if diff is None or not diff.known:
        why = diff.missing if diff is not None else "no scored problem"
        return f"Equal model calls ({b} per problem): cannot tell, {why}."
    return (
        f"At equal model calls ({b} per problem), {_winner(diff)}: repair pass@1 {fmt(s.repair_ci)}, "
        f"resampling pass@{b} {fmt(s.resample_ci)}; the difference {fmt(diff, signed=True)} "
        f"{_zero(diff)}; tokens {s.resample_tokens:.0f} for resampling against repair's "
        f"{s.tokens_per_trajectory:.0f} per trajectory."
    )


class _Cells:
    """Table cells: an estimate without an interval is "not enough data", its reason said once
    under the table."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def __call__(self, e: Estimate | None, *, signed: bool = False) -> str:
        if e is not None and not e.known:
            reason = (e.missing or "not enough data").removeprefix("not enough data: ")
            if reason not in self.reasons:
                self.reasons.append(reason)
            return "not enough data"
        return fmt(e, signed=signed)

    def table(self, head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
        lines = [
            "| " + " | ".join(head) + " |",
            "|" + "---|" * len(head),
            *("| " + " | ".join(r) + " |" for r in rows),
        ]
        if self.reasons:
            lines += ["", "Not enough data: " + "; ".join(self.reasons) + "."]
        return lines


def _lead(key: str | None, name: str | None, s: BenchSummary) -> list[str]:
    return [] if key is None else [name or "", str(s.scored_problems)]


def _lead_head(key: str | None) -> list[str]:
    return [] if key is None else [key, "problems"]


def round_table(rows: Rows, key: str | None = None) -> list[str]:
    cell = _Cells()
    ks = sorted({k for _, s in rows for scores in s.pass_at_k_ci_by_round.values() for k in scores})
    head = [*_lead_head(key), "round", *(f"pass@{k}" for k in ks), "passing trajectories"]
    head.append("generator tokens (mean, to date)")
    body = []
    for name, s in rows:
        scored = s.trajectories - s.infrastructure_errors - s.unscored
        for r in range(s.rounds + 1):
            cells = [*_lead(key, name, s), str(r)]
            cells += [cell(s.pass_at_k_ci_by_round.get(r, {}).get(k)) for k in ks]
            cells += [f"{s.passing_by_round[r]}/{scored}", f"{s.generator_tokens_by_round[r]:.0f}"]
            body.append(cells)
    return cell.table(head, body)


def calls_table(rows: Rows, key: str | None = None) -> list[str]:
    cell = _Cells()
    b = rows[0][1].resample_budget
    if key is None:
        s = rows[0][1]
        return cell.table(
            ["method", "model calls (generator)", "score", "tokens per problem"],
            [
                [f"repair, {s.rounds} round(s)", f"up to {b}", f"pass@1 {cell(s.repair_ci)}",
                 f"{s.tokens_per_trajectory:.0f}"],
                ["resampling", str(b), f"pass@{b} {cell(s.resample_ci)}", f"{s.resample_tokens:.0f}"],
                ["repair - resampling", "", cell(s.repair_minus_resample, signed=True), ""],
            ],
        )  # fmt: skip
    head = [*_lead_head(key), "repair pass@1", f"resampling pass@{b}", "repair - resampling"]
    body = [
        [
            *_lead(key, n, s),
            cell(s.repair_ci),
            cell(s.resample_ci),
            cell(s.repair_minus_resample, signed=True),
        ]
        for n, s in rows
    ]
    return cell.table(head, body)


def tokens_table(rows: Rows, key: str | None = None) -> list[str]:
    cell = _Cells()
    head = [*_lead_head(key), "token budget", "first attempts' worth", "resampling", "repair"]
    head.append("repair - resampling")
    body = []
    for name, s in rows:
        eq = s.equal_tokens
        if eq is None:
            body.append([*_lead(key, name, s), "not enough data", "", "", "", ""])
            continue
        for p in eq.points:
            budget = f"{p.budget} (repair's own)" if p is eq.headline else str(p.budget)
            worth = f"{p.budget / eq.sample_tokens:.1f}" if eq.sample_tokens else ""
            cells = [budget, worth, cell(p.resampling), cell(p.repair), cell(p.difference, signed=True)]
            body.append([*_lead(key, name, s), *cells])
    return cell.table(head, body)


def flips_table(rows: Rows, key: str | None = None) -> list[str]:
    cell = _Cells()
    head = [*_lead_head(key), "round", "fail -> pass", "pass -> fail"]
    body = []
    for name, s in rows:
        scored = s.trajectories - s.infrastructure_errors - s.unscored
        for r, f in sorted(s.flips_by_round.items()):
            up = f"{cell(f.fail_to_pass)} ({f.fail_to_pass_count} of {scored})"
            down = f"{cell(f.pass_to_fail)} ({f.pass_to_fail_count} of {scored})"
            body.append([*_lead(key, name, s), str(r), up, down])
    return cell.table(head, body)
