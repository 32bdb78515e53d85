"""The run's plots: ``passk_by_round.png`` (pass@k against the repair round, with the resampling
baseline) and ``pass_at_tokens.png`` (repair against resampling at equal tokens). Every estimate
is drawn with its 95% interval as a band; one without an interval (not enough data) is not drawn.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from codemend.benchmarks.intervals import Estimate
from codemend.benchmarks.metrics import BenchSummary

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_MODULES = ("matplotlib.figure", "matplotlib.backends.backend_agg")
_NAN = float("nan")


def preload() -> threading.Thread:
    """Import matplotlib (~0.4 s) in the background while the run waits on models and tests,
    rather than after the last trajectory."""
    thread = threading.Thread(target=lambda: [importlib.import_module(m) for m in _MODULES], daemon=True)
    thread.start()
    return thread


def _figure(rows: int = 1) -> tuple[Figure, list[Axes]]:
    """Matplotlib's Agg canvas: no display, no pyplot global state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4 if rows == 1 else 6), dpi=120)
    FigureCanvasAgg(figure)
    grid = {"height_ratios": [2, 1]} if rows == 2 else None
    axes = figure.subplots(rows, 1, sharex=True, gridspec_kw=grid, squeeze=False)
    return figure, [a for (a,) in axes]


def _known(estimates: list[Estimate | None]) -> list[tuple[float, float, float] | None]:
    out: list[tuple[float, float, float] | None] = []
    for e in estimates:
        if e is not None and e.value is not None and e.low is not None and e.high is not None:
            out.append((e.value, e.low, e.high))
        else:
            out.append(None)
    return out


def _band(axes: Axes, xs: list[float], estimates: list[Estimate | None], label: str) -> bool:
    """A line with its interval as a band, where the estimates have one; False when none has."""
    known = _known(estimates)
    if not any(known):
        return False
    values, lows, highs = ([k[i] if k else _NAN for k in known] for i in range(3))
    line = axes.plot(xs, values, marker="o", label=label)[0]
    axes.fill_between(xs, lows, highs, color=line.get_color(), alpha=0.15, linewidth=0)
    return True


def _bars(axes: Axes, xs: list[float], estimates: list[Estimate | None], label: str) -> bool:
    """Points with their intervals as error bars (where they have one)."""
    known = _known(estimates)
    if not any(known):
        return False
    values, lows, highs = ([k[i] if k else _NAN for k in known] for i in range(3))
    spread = [
        [v - lo for v, lo in zip(values, lows, strict=True)],
        [h - v for v, h in zip(values, highs, strict=True)],
    ]
    axes.errorbar(xs, values, yerr=spread, marker="o", capsize=3, label=label)
    return True


def _finish(axes: Axes, *, drawn: bool, title: str) -> None:
    axes.set_ylim(0, 1.02)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    if drawn:
        axes.legend(loc="lower right", fontsize="small")
    else:
        where = axes.transAxes
        axes.text(0.5, 0.5, "not enough data for an interval", ha="center", va="center", transform=where)


def plot_passk(summary: BenchSummary, path: Path, *, title: str) -> None:
    figure, (axes,) = _figure()
    rounds = list(range(summary.rounds + 1))
    ks = sorted({k for scores in summary.pass_at_k_ci_by_round.values() for k in scores})
    drawn = False
    for i, k in enumerate(ks):  # side by side, so that the bars stay apart
        xs = [r + 0.06 * (i - (len(ks) - 1) / 2) for r in rounds]
        drawn |= _bars(
            axes, xs, [summary.pass_at_k_ci_by_round[r].get(k) for r in rounds], f"repair pass@{k}"
        )
    base = summary.resample_ci
    if base is not None and base.known:
        b = summary.resample_budget
        axes.axhline(base.value or 0.0, linestyle="--", color="grey", label=f"resampling pass@{b}")
        axes.axhspan(base.low or 0.0, base.high or 0.0, color="grey", alpha=0.12, linewidth=0)
        drawn = True
    axes.set_xlabel("repair round")
    axes.set_ylabel("pass@k (hidden tests), 95% interval")
    axes.set_xticks(rounds)
    _finish(axes, drawn=drawn, title=title)
    figure.tight_layout()
    figure.savefig(path)


def plot_pass_at_tokens(summary: BenchSummary, path: Path, *, title: str) -> None:
    """Both strategies against the budget, and below, their paired difference."""
    figure, (top, bottom) = _figure(rows=2)
    eq = summary.equal_tokens
    drawn = False
    if eq is not None:
        xs = [float(p.budget) for p in eq.points]
        drawn |= _band(top, xs, [p.resampling for p in eq.points], "resampling (independent samples)")
        drawn |= _band(top, xs, [p.repair for p in eq.points], f"repair (up to {summary.rounds} rounds)")
        _band(bottom, xs, [p.difference for p in eq.points], "repair - resampling (paired)")
        top.axvline(eq.headline.budget, linestyle=":", color="grey", label="a repair trajectory's mean cost")
        bottom.axvline(eq.headline.budget, linestyle=":", color="grey")
    top.set_ylabel("solved (hidden tests)")
    _finish(top, drawn=drawn, title=title)
    bottom.axhline(0.0, color="black", linewidth=0.8)
    bottom.set_ylabel("repair - resampling")
    bottom.set_xlabel("tokens per problem (prompt + completion)")
    bottom.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
