"""The run directory: every file a ``codemend bench`` run (or a checkpointed ``solve``) leaves, named
in one place, so that the runner, the CLI, the exporter, the viewer and the cluster agree.

    RUN_DIR/
      trajectories.db      the store: runs, problems, trajectories, steps (``STORE_FILE``)
      checkpoints.sqlite   graph checkpoints, with --checkpoints (``CHECKPOINT_FILE``)
      hidden.jsonl         the hidden judge's verdicts, a line per trajectory (``HIDDEN_FILE``)
      samples.jsonl        the answers, human-eval/EvalPlus compatible (``SAMPLES_FILE``)
      summary.json         the metrics (``SUMMARY_FILE``)
      report.md            the same for people (``REPORT_FILE``)
      passk_by_round.png   the plot (``PLOT_FILE``)
      cluster.jsonl        with --ray: where each trajectory ran (``CLUSTER_LOG``)
      .codemend.lock       held while a process uses the run dir (``LOCK_FILE``)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STORE_FILE = "trajectories.db"
CHECKPOINT_FILE = "checkpoints.sqlite"
HIDDEN_FILE = "hidden.jsonl"
SAMPLES_FILE = "samples.jsonl"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.md"
PLOT_FILE = "passk_by_round.png"
CLUSTER_LOG = "cluster.jsonl"
LOCK_FILE = ".codemend.lock"

__all__ = [
    "CHECKPOINT_FILE",
    "CLUSTER_LOG",
    "HIDDEN_FILE",
    "LOCK_FILE",
    "PLOT_FILE",
    "REPORT_FILE",
    "SAMPLES_FILE",
    "STORE_FILE",
    "SUMMARY_FILE",
    "RunLayout",
]


@dataclass(frozen=True, slots=True)
class RunLayout:
    """The paths of one run directory."""

    root: Path

    @property
    def store(self) -> Path:
        return self.root / STORE_FILE

    @property
    def checkpoints(self) -> Path:
        return self.root / CHECKPOINT_FILE

    @property
    def hidden(self) -> Path:
        return self.root / HIDDEN_FILE

    @property
    def samples(self) -> Path:
        return self.root / SAMPLES_FILE

    @property
    def summary(self) -> Path:
        return self.root / SUMMARY_FILE

    @property
    def report(self) -> Path:
        return self.root / REPORT_FILE

    @property
    def plot(self) -> Path:
        return self.root / PLOT_FILE

    @property
    def cluster_log(self) -> Path:
        return self.root / CLUSTER_LOG

    @property
    def lock(self) -> Path:
        return self.root / LOCK_FILE

    def outputs(self) -> list[str]:
        """What a finished bench leaves for people to read, as the CLI lists it."""
        return [REPORT_FILE, SUMMARY_FILE, SAMPLES_FILE, PLOT_FILE]
