"""What running on Ray costs: the same bench locally and with ``--ray`` on a 2-node local cluster.

164 HumanEval problems x 3 repair rounds (as ``perf/bench_overhead.py``: the scripted endpoint in
a child process answering at once, wrong ``--failures`` times then the canonical solution), first
through the local runner (one sandbox pool of one worker per core), then through
``codemend.cluster`` on a ``ray.cluster_utils.Cluster`` of 2 nodes on this machine (1 CPU and
``sandbox: 1`` each, so one pool of one worker per node: the same 2 workers). Both clocks start
once the sandbox workers (and, for Ray, the runners) are up. Prints both wall times, their ratio,
and Ray's overhead per trajectory: the driver's round trip minus the time spent on the runner
(dispatch, the wire, the JSON records). Targets: overhead < 20 ms, ratio < 1.3. The two runs'
summary.json and samples.jsonl must be equal apart from timings.

The whole script re-executes itself in fresh network and PID namespaces holding only ``lo``, so
Ray binds 127.0.0.1 only and everything it started ends with the script.

    python perf/ray_overhead.py [--limit 164] [--rounds 3] [--failures 3] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1] / "tests"
INSIDE = "CODEMEND_PERF_NAMESPACE"
TARGET_MS, TARGET_RATIO = 20.0, 1.3


async def _run(url: str, args: argparse.Namespace, run_dir: Path, address: str | None) -> dict[str, Any]:
    from codemend.benchmarks import BenchDeps, BenchSpec, RunOptions, abench, load_humaneval
    from codemend.llm import LLMClient, LLMSettings
    from codemend.sandbox import LocalSandbox

    spec = BenchSpec(benchmark="humaneval", limit=args.limit, rounds=args.rounds, feedback_tests="all")
    problems = load_humaneval()[: args.limit]
    settings = LLMSettings(base_url=url, model="scripted", max_concurrency=args.concurrency)
    options = RunOptions(concurrency=args.concurrency)
    with LocalSandbox(workers=os.cpu_count() or 1) as sandbox:
        async with LLMClient(settings) as llm:
            deps = BenchDeps(llm=llm, sandbox=sandbox)
            if address is None:
                await asyncio.to_thread(sandbox.start)
                started = time.perf_counter()
                await abench(spec, problems, deps, run_dir=run_dir, options=options)
                return {"wall_s": time.perf_counter() - started}
            from cluster_scenarios import runners

            up = time.perf_counter()
            async with runners(address, settings, run_dir) as backend:
                started = time.perf_counter()
                await abench(spec, problems, deps, run_dir=run_dir, options=replace(options, backend=backend))
                wall = time.perf_counter() - started
                timings = backend.timings
            return {
                "wall_s": wall,
                "startup_s": started - up,
                "overhead_ms": timings.overhead_ms(),
                "split_ms": timings.split_ms(),
                "trajectories": len(timings.runner_s),
            }


def inside(args: argparse.Namespace) -> int:
    import ray
    from bench_overhead import _serve  # perf/ is on sys.path when this runs as a script
    from ray.cluster_utils import Cluster

    sys.path.insert(0, str(TESTS))
    from cluster_scenarios import comparable

    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    child = context.Process(target=_serve, args=(theirs, args.failures), daemon=True)
    child.start()
    while not ours.poll(1.0):
        if not child.is_alive():
            print(f"the scripted server died at start (exit code {child.exitcode})", file=sys.stderr)
            return 1
    url = ours.recv()
    home = Path(tempfile.mkdtemp(prefix="cmray-perf-", dir="/tmp"))
    (home / "ray").mkdir()
    os.environ["RAY_TMPDIR"] = str(home)  # Ray writes its address file there, not in /tmp/ray
    node = {"num_cpus": 1, "resources": {"sandbox": 1}, "node_ip_address": "127.0.0.1"}
    print(f"{args.limit} HumanEval problems x {args.rounds} rounds, {args.failures} wrong replies then the "
          f"right one, concurrency {args.concurrency}, {os.cpu_count()} cores")  # fmt: skip
    try:
        local = asyncio.run(_run(url, args, home / "local", None))
        started = time.perf_counter()
        cluster = Cluster(
            initialize_head=True,
            head_node_args={**node, "include_dashboard": False, "temp_dir": str(home / "rt")},
        )
        cluster.add_node(**node)
        ray.init(address=cluster.address, _node_ip_address="127.0.0.1", log_to_driver=False)
        cluster_s = time.perf_counter() - started
        try:
            remote = asyncio.run(_run(url, args, home / "ray", cluster.address))
        finally:
            ray.shutdown()
            cluster.shutdown()
        same = comparable(home / "local") == comparable(home / "ray")
    finally:
        ours.send("stop")
        errors = ours.recv()
        child.join(timeout=10)
        shutil.rmtree(home, ignore_errors=True)
    ratio = remote["wall_s"] / local["wall_s"]
    n = remote["trajectories"]
    print(f"local runner: {local['wall_s']:.2f} s")
    print(f"--ray, 2 nodes: {remote['wall_s']:.2f} s (+ {cluster_s:.1f} s to start the cluster, "
          f"{remote['startup_s']:.1f} s to start the runners and sandbox pools)")  # fmt: skip
    print(f"ratio --ray / local: {ratio:.2f}; wall time difference per trajectory "
          f"{1000 * (remote['wall_s'] - local['wall_s']) / n:.1f} ms")  # fmt: skip
    print(f"Ray's overhead per trajectory (driver round trip - time on the runner, mean of {n}): "
          f"{remote['overhead_ms']:.1f} ms")  # fmt: skip
    split = ", ".join(f"{k} {v:.1f} ms" for k, v in remote["split_ms"].items())
    print(f"  of which (mean per trajectory): {split}")
    print(f"summary.json and samples.jsonl equal apart from timings: {same}")
    if errors:
        print(f"scripted server errors: {errors[:3]}")
    met = remote["overhead_ms"] < TARGET_MS and ratio < TARGET_RATIO
    print(f"targets: overhead < {TARGET_MS:.0f} ms, ratio < {TARGET_RATIO}: {'met' if met else 'NOT met'}")
    return 0 if met and same and not errors else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=164)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--failures", type=int, default=3, help="wrong replies before the right one")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    if os.environ.get(INSIDE) == "1":
        sys.stdout.flush()
        code = inside(args)
        sys.stdout.flush()
        os._exit(code)  # everything is shut down; skip the interpreter's slow teardown of Ray
    prefix = ["unshare", "--net", "--pid", "--fork", "--mount-proc"]
    if os.geteuid() != 0:
        prefix.insert(1, "-r")
    script = 'ip link set lo up && exec "$@"'
    argv = [*prefix, "--", "sh", "-c", script, "sh", sys.executable, *sys.argv]
    sys.exit(subprocess.run(argv, env={**os.environ, INSIDE: "1"}, check=False).returncode)


if __name__ == "__main__":
    main()
