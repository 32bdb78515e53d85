"""``passk_by_round.png``: pass@k against the repair round, with the resampling baseline."""

from __future__ import annotations

import importlib
import threading
from pathlib import Path

from codemend.benchmarks.metrics import BenchSummary

_MODULES = ("matplotlib.figure", "matplotlib.backends.backend_agg")


def preload() -> threading.Thread:
    """Import matplotlib (~0.4 s) in the background while the run waits on models and tests,
    rather than after the last trajectory."""
    thread = threading.Thread(target=lambda: [importlib.import_module(m) for m in _MODULES], daemon=True)
    thread.start()
    return thread


def plot_passk(summary: BenchSummary, path: Path, *, title: str) -> None:
    """Draw with matplotlib's Agg canvas (no display, no pyplot global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    rounds = list(range(summary.rounds + 1))
    ks = sorted({k for scores in summary.pass_at_k_by_round.values() for k in scores})
    for k in ks:
        values = [summary.pass_at_k_by_round[r].get(k, float("nan")) for r in rounds]
        axes.plot(rounds, values, marker="o", label=f"repair pass@{k}")
    if summary.resample_pass is not None:
        b = summary.resample_budget
        axes.axhline(summary.resample_pass, linestyle="--", color="grey", label=f"resampling pass@{b}")
    axes.set_xlabel("repair round")
    axes.set_ylabel("pass@k (hidden tests)")
    axes.set_xticks(rounds)
    axes.set_ylim(0, 1.02)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    if ks or summary.resample_pass is not None:
        axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
