"""codemend's reward against verl's default code reward, on the same replies, in one run.

    python perf/reward_throughput.py [--problems N] [--workers 1 2] [--mbpp PATH] [--verl-target DIR]
                                     [--cluster 1 2]

The problems are MBPP's validation and train tasks whose tests are all call-based
(``assert f(literals) == literal``, with arguments and result that JSON carries exactly), in
both formats: a codemend ``rl`` ground truth, and verl's ``prime_code`` test cases
(``fn_name``, one JSON line per argument, the result as JSON). Each gets two replies: the
task's reference code and a wrong variant of it (its first integer constant plus one, else its
first comparison flipped, else a body that returns None).

At each worker count it times

- verl 0.9.1's ``verl.utils.reward_score.prime_code.compute_score`` (a ``multiprocessing``
  manager and process per reply, the reply ``exec``'d next to the comparison; verl's default
  code reward without SandboxFusion) called from a pool of that many threads;
- codemend's ``reward_func`` (TRL's batch call) and ``acompute_score_batch`` (verl's async
  path) on a ``LocalSandbox`` of that many workers,

and prints seconds, scores per second, the ratio codemend/verl (target <= 0.10) and how many
verdicts agree (a codemend score of 1.0 against prime_code's ``True``), listing each
disagreement. ``prime_code`` is verl's: imported from the running environment when verl is
installed there, otherwise installed at run time with ``pip install --no-deps --target`` into a
temporary directory (or ``--verl-target``) and loaded from the wheel's files without the rest of
verl (whose package ``__init__`` needs torch and tensordict); its code is never copied here.

``--cluster N [N ...]`` then runs codemend's side again on the Ray sandbox (``ClusterSandbox``):
for each N, a local Ray cluster of N nodes (``ray.cluster_utils.Cluster``, 1 CPU and ``sandbox:
1`` per node, so one sandbox worker per node; every node shares this machine's cores), each
reply scored on one node. With ``--cluster`` the whole script re-executes itself in fresh
network and PID namespaces holding only ``lo`` (as ``perf/ray_overhead.py`` does), so Ray binds
127.0.0.1 only and everything it started ends with the script; verl's wheel is installed before,
outside (no package index in there). A temporary directory of the wheel is removed at the end.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from mutants import NEGATION, BumpInt, SwapCompare

from codemend.problems import AssertTest, Problem
from codemend.rewards import acompute_score_batch, reward_func, use_sandbox
from codemend.sandbox import LocalSandbox, Sandbox
from codemend.trajectories.ground_truth import to_ground_truth

DEFAULT_MBPP = Path(__file__).resolve().parents[2] / "shared" / "data" / "mbpp" / "mbpp.jsonl"
SPLITS = range(511, 975)  # validation (511-600) and train (601-974)
VERL = "verl==0.9.1"
INSIDE = "CODEMEND_PERF_NAMESPACE"
_CREATED: list[Path] = []


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One reply to score, in both formats."""

    task_id: int
    kind: str  # "reference" or "wrong"
    reply: str
    ground_truth: str  # codemend's
    test_cases: dict[str, Any]  # prime_code's


def _literal(node: ast.expr) -> tuple[bool, Any]:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return False, None
    return _plain(value) and json.loads(json.dumps(value)) == value, value


def _plain(value: Any) -> bool:
    """JSON carries it exactly: no tuples or sets, string keys only."""
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return value is None or isinstance(value, bool | int | float | str)


def _call_based(test: str, entry: str) -> tuple[list[Any], Any] | None:
    """The arguments and expected result of ``assert entry(literals) == literal``, else None."""
    try:
        body = ast.parse(test).body
    except SyntaxError:
        return None
    if len(body) != 1 or not isinstance(body[0], ast.Assert):
        return None
    cmp = body[0].test
    if not (isinstance(cmp, ast.Compare) and len(cmp.ops) == 1 and isinstance(cmp.ops[0], ast.Eq)):
        return None
    call = cmp.left
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == entry):
        return None
    if call.keywords:
        return None
    args = [_literal(a) for a in call.args]
    ok, expected = _literal(cmp.comparators[0])
    if not ok or not all(a[0] for a in args):
        return None
    return [a[1] for a in args], expected


def wrong_variant(code: str, entry: str) -> str:
    """The reference with one mutation (an integer constant + 1, else a flipped comparison),
    else an ``entry`` that returns None."""
    for transformer in (BumpInt(), SwapCompare(NEGATION)):
        tree = transformer.visit(ast.parse(code))
        if transformer.done:
            return ast.unparse(ast.fix_missing_locations(tree))
    return f"def {entry}(*args, **kwargs):\n    return None\n"


def _entry(code: str, tests: list[str]) -> str | None:
    defined = {n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef)}
    for node in ast.walk(ast.parse(tests[0])):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in defined:
            return node.func.id
    return None


def load_cases(path: Path, limit: int) -> list[Case]:
    """The first ``limit`` call-based validation/train tasks, two replies each."""
    cases: list[Case] = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        tests, code = record["test_list"], record["code"].replace("\r\n", "\n")
        if record["task_id"] not in SPLITS or record.get("test_setup_code"):
            continue
        try:
            entry = _entry(code, tests)
        except SyntaxError:
            continue
        calls = [_call_based(t, entry) for t in tests] if entry else [None]
        if entry is None or any(c is None for c in calls):
            continue
        problem = Problem(
            id=f"mbpp/{record['task_id']}",
            prompt=record["text"],
            entry_point=entry,
            tests=[AssertTest(code=t, visibility="hidden") for t in tests],
        )
        truth = to_ground_truth(problem)
        test_cases = {
            "fn_name": entry,
            "inputs": ["\n".join(json.dumps(a) for a in c[0]) for c in calls if c],
            "outputs": [json.dumps(c[1]) for c in calls if c],
        }
        for kind, body in (("reference", code), ("wrong", wrong_variant(code, entry))):
            reply = f"Here is my solution.\n```python\n{body}\n```\n"
            cases.append(Case(task_id=record["task_id"], kind=kind, reply=reply, ground_truth=truth,
                              test_cases=test_cases))
        if len(cases) >= 2 * limit:
            break
    return cases


def prime_code(target: str | None) -> tuple[ModuleType, str]:
    """verl's ``prime_code`` module and where it came from."""
    try:
        return importlib.import_module("verl.utils.reward_score.prime_code"), "the installed verl"
    except ImportError:
        pass
    where = Path(target or tempfile.mkdtemp(prefix="codemend-verl-"))
    if target is None:
        _CREATED.append(where)  # the wheel installed for this run only: removed at the end
    package = where / "verl" / "utils" / "reward_score" / "prime_code"
    if not package.is_dir():
        install_verl(where)
    spec = importlib.util.spec_from_file_location(
        "verl_prime_code", package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module, f"{VERL} wheel's files in {where} (without verl's package __init__)"


def install_verl(where: Path) -> None:
    """verl's wheel, without its dependencies, into ``where`` (from the package index)."""
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(where), VERL]
    subprocess.run(command, check=True)


def run_verl(compute: Callable[..., Any], cases: list[Case], workers: int) -> tuple[float, list[bool]]:
    """prime_code's verdicts from ``workers`` threads (each call forks its own processes)."""

    def one(case: Case) -> bool:
        success, _ = compute(case.reply, json.dumps(case.test_cases), continuous=True)  # as verl calls it
        return success is True or success == 1.0

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        verdicts = list(pool.map(one, cases))
    return time.perf_counter() - start, verdicts


def run_reward_func(sandbox: Sandbox, cases: list[Case]) -> tuple[float, list[float]]:
    """TRL's call: one batch of every reply, its ground truths as the dataset column."""
    use_sandbox(sandbox)
    start = time.perf_counter()
    scores = reward_func([c.reply for c in cases], ground_truth=[c.ground_truth for c in cases])
    return time.perf_counter() - start, scores


def run_async_batch(sandbox: Sandbox, cases: list[Case]) -> tuple[float, list[float]]:
    """verl's async path: every reply in flight at once on the sandbox's pool."""
    use_sandbox(sandbox)
    start = time.perf_counter()
    results = asyncio.run(
        acompute_score_batch(
            ["codemend"] * len(cases), [c.reply for c in cases], [c.ground_truth for c in cases]
        )
    )
    return time.perf_counter() - start, [float(r["score"]) for r in results]


def report_agreement(cases: list[Case], ours: list[float], theirs: list[bool]) -> None:
    """How many verdicts agree, by reply kind, and each one that does not."""
    for kind in ("reference", "wrong"):
        picked = [(c, o, t) for c, o, t in zip(cases, ours, theirs, strict=True) if c.kind == kind]
        same = sum((o == 1.0) == t for _, o, t in picked)
        passed = sum(o == 1.0 for _, o, _ in picked), sum(t for _, _, t in picked)
        print(f"  {kind:<9}: {same}/{len(picked)} verdicts agree "
              f"(codemend passes {passed[0]}, prime_code passes {passed[1]})")
        for c, o, t in picked:
            if (o == 1.0) != t:
                print(f"    - mbpp/{c.task_id} [{kind}]: codemend {o:.3f}, prime_code {t}")


def time_codemend(label: str, sandbox: Sandbox, cases: list[Case], verl_s: float | None) -> list[float]:
    """Both of codemend's batch paths on ``sandbox``: seconds, scores per second, the ratio to
    ``verl_s``; the async path's scores."""
    ours: list[float] = []
    for name, run in (("reward_func (TRL)", run_reward_func), ("acompute_score_batch", run_async_batch)):
        seconds, ours = run(sandbox, cases)
        ratio = f"  ratio {seconds / verl_s:.3f} (target <= 0.10)" if verl_s else ""
        print(f"  codemend {label} {name:<21} {seconds:7.2f} s  {len(cases) / seconds:7.1f} scores/s{ratio}")
    use_sandbox(None)
    return ours


def cluster_runs(cases: list[Case], sizes: list[int]) -> None:
    """codemend's reward on the Ray sandbox of a local cluster of each size in ``sizes``."""
    import ray
    from ray.cluster_utils import Cluster

    from codemend.cluster import ClusterSandbox

    home = Path(tempfile.mkdtemp(prefix="cmray-reward-", dir="/tmp"))
    (home / "ray").mkdir()
    os.environ["RAY_TMPDIR"] = str(home)  # Ray writes its address file there, not in /tmp/ray
    node: dict[str, Any] = {"num_cpus": 1, "resources": {"sandbox": 1}, "node_ip_address": "127.0.0.1"}
    try:
        for n in sizes:
            started = time.perf_counter()
            head = {**node, "include_dashboard": False, "temp_dir": str(home / f"rt{n}")}
            cluster = Cluster(initialize_head=True, head_node_args=head)
            for _ in range(n - 1):
                cluster.add_node(**node)
            ray.init(address=cluster.address, _node_ip_address="127.0.0.1", log_to_driver=False,
                     namespace="codemend")  # fmt: skip
            try:
                with ClusterSandbox.connect(cluster.address) as box:
                    up = time.perf_counter() - started
                    print(f"Ray cluster of {n} node(s), 1 sandbox worker each (up in {up:.1f} s):")
                    run_reward_func(box, cases[:8])  # warm-up: every runner's pool started
                    time_codemend(f"ray {n} node(s)", box, cases, None)
            finally:
                ray.shutdown()
                cluster.shutdown()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def in_namespaces(verl_target: str | None) -> int:
    """Run this script again in fresh network and PID namespaces holding only ``lo``; verl's
    wheel is installed out here first (no package index in there) unless verl is importable."""
    prefix = ["unshare", "--net", "--pid", "--fork", "--mount-proc"]
    if os.geteuid() != 0:
        prefix.insert(1, "-r")
    extra: list[str] = []
    if verl_target is None and importlib.util.find_spec("verl") is None:
        made = Path(tempfile.mkdtemp(prefix="codemend-verl-"))
        _CREATED.append(made)
        install_verl(made)
        extra = ["--verl-target", str(made)]
    script = 'ip link set lo up && exec "$@"'
    argv = [*prefix, "--", "sh", "-c", script, "sh", sys.executable, *sys.argv, *extra]
    try:
        return subprocess.run(argv, env={**os.environ, INSIDE: "1"}, check=False).returncode
    finally:
        _remove_created()


def main() -> int:
    """Parse the arguments, time both rewards at each worker count, print the comparison."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--problems", type=int, default=200, help="call-based MBPP tasks (two replies each)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--mbpp", type=Path, default=DEFAULT_MBPP, help="MBPP's mbpp.jsonl")
    parser.add_argument("--verl-target", default=None, help="where to pip-install verl (default: a temp dir)")
    parser.add_argument("--cluster", type=int, nargs="*", default=[], help="Ray cluster sizes (nodes)")
    args = parser.parse_args()
    if args.cluster and os.environ.get(INSIDE) != "1":
        return in_namespaces(args.verl_target)
    cases = load_cases(args.mbpp, args.problems)
    module, origin = prime_code(args.verl_target)
    tasks = len(cases) // 2
    print(f"{len(cases)} replies: {tasks} call-based MBPP validation/train tasks x (reference, wrong)")
    print(f"verl prime_code from {origin}")
    for n in args.workers:
        verl_s, theirs = run_verl(module.compute_score, cases, n)
        print(f"workers {n}:")
        print(f"  verl prime_code.compute_score  {verl_s:7.2f} s  {len(cases) / verl_s:7.1f} scores/s")
        with LocalSandbox(workers=n) as sandbox:
            sandbox.start()
            ours = time_codemend("local", sandbox, cases, verl_s)
        report_agreement(cases, ours, theirs)
    if args.cluster:
        cluster_runs(cases, args.cluster)
        sys.stdout.flush()
        _remove_created()
        os._exit(0)  # Ray is shut down; skip the interpreter's slow teardown of it
    _remove_created()
    return 0


def _remove_created() -> None:
    """Remove the temporary directories this run installed verl's wheel into."""
    for path in _CREATED:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
