"""``codemend bench`` against a model whose chances are known: read a report when the truth is known.

A scripted OpenAI-compatible endpoint on loopback (the tests' ``HumanEvalServer``) plays a model
of known behaviour (``tests/known_model.py``): each of HumanEval's first ``--problems`` problems is
of a kind drawn from a known population, with its own chance of a right first attempt, of a right
repair, and its own prompt and completion tokens per attempt (a repair prompt is longer). The
problems go to a problems file (``problems.jsonl`` in the run dir) with a ``difficulty`` in their
metadata (``easy`` where the first attempt is right at least half the time), and the real
``codemend bench jsonl --by difficulty`` runs on it against the endpoint, with the real sandbox
and store, and prints its summary; this script then prints the true values the summary estimates
(means over the population of kinds, which the bootstrap over problems targets).

    python examples/known_model_bench.py [--problems 30] [--samples 6] [--rounds 2] [--run-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from bench_helpers import HumanEvalServer  # noqa: E402
from known_model import KnownModel, assign, true_pass_at_k, true_repair, true_resampling  # noqa: E402

from codemend.benchmarks import load_humaneval  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", type=int, default=30)
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--run-dir", type=Path)
    args = parser.parse_args()
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="codemend-known-"))
    problems = [p for p in load_humaneval() if p.visible_tests()][: args.problems]
    model = KnownModel(assign([p.id for p in problems], seed=0))
    run_dir.mkdir(parents=True, exist_ok=True)
    data = run_dir / "problems.jsonl"
    tagged = [p.model_copy(update={"metadata": {"difficulty": _difficulty(model, p.id)}}) for p in problems]
    data.write_text("".join(p.model_dump_json() + "\n" for p in tagged))
    with HumanEvalServer(policy=model.policy, usage=model.usage) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEMEND_", "OPENAI_"))}
        env |= {"CODEMEND_BASE_URL": server.url, "CODEMEND_MODEL": "scripted", "PYTHONPATH": str(ROOT)}
        bench = [
            sys.executable,
            "-m",
            "codemend",
            "bench",
            "jsonl",
            "--data",
            str(data),
            "--by",
            "difficulty",
        ]
        bench += ["--samples", str(args.samples), "--rounds", str(args.rounds), "--run-dir", str(run_dir)]
        done = subprocess.run(bench, env=env, cwd=ROOT, check=False)
        if done.returncode != 0:
            return done.returncode
    budget = _headline_budget(run_dir)
    r = args.rounds
    print(
        f"truth: pass@1 {true_pass_at_k(0, 1):.3f} at round 0, {true_pass_at_k(r, 1):.3f} after {r} "
        f"round(s); at {budget} tokens repair {true_repair(budget, r):.3f}, resampling "
        f"{true_resampling(budget):.3f}; pass@{r + 1} of first attempts {true_pass_at_k(0, r + 1):.3f}"
    )
    return 0


def _difficulty(model: KnownModel, task: str) -> str:
    return "easy" if model.kinds[task].first >= 0.5 else "hard"


def _headline_budget(run_dir: Path) -> int:
    metrics = json.loads((run_dir / "summary.json").read_text())["metrics"]
    return int(metrics["equal_tokens"]["headline"]["budget"])


if __name__ == "__main__":
    sys.exit(main())
