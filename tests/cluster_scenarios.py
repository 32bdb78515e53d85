"""Ray scenarios for the Ray tests (run once per session by ``tests/cluster_fixtures.py``), each in a
fresh network namespace holding only ``lo`` (``in_loopback_namespace``), so that Ray, the scripted
endpoint and the sandbox all bind and talk on 127.0.0.1 and no test traffic can leave the machine.
A scenario prints one JSON object: what it observed; the tests assert on it.

    python tests/cluster_scenarios.py local-vs-ray|cli|cli-failures
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import site
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

# what may differ between two runs of the same bench: timings, and the run id (a timestamp)
TIMING_KEYS = ("wall_s", "created_at", "run_id")
PER_SOLVED = re.compile(r"[0-9.]+ s per solved")


def in_loopback_namespace(argv: list[str], *, timeout: float, env: dict[str, str] | None = None) -> Any:
    """Run ``argv`` in new network and PID namespaces with only ``lo`` up (as root: ``unshare``;
    otherwise inside an unprivileged user namespace too, ``unshare -r``). ``argv`` is the PID
    namespace's init: when it ends the kernel kills whatever it left (Ray's daemons and workers),
    so nothing of a scenario outlives it and no other Ray on the machine is touched."""
    prefix = ["unshare", "--net", "--pid", "--fork", "--mount-proc"]
    if os.geteuid() != 0:
        prefix.insert(1, "-r")
    command = [*prefix, "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *argv]
    # Ray's files (sessions, sockets, the current-cluster address) in a folder of this scenario's
    # own, so that another Ray on the machine neither sees nor removes them (short: socket paths)
    # (Ray writes the address there even when a node's temp_dir is elsewhere, and does not make it).
    # The machine's Ray state does not reach in either: a home of its own (Ray 2.60 turns token
    # authentication on for a `ray start` wherever ~/.ray/auth_token exists) and no token auth,
    # unless a scenario asks for it; the user's site-packages stay importable.
    with tempfile.TemporaryDirectory(prefix="r", dir="/tmp") as ray_tmp:
        os.mkdir(os.path.join(ray_tmp, "ray"))
        os.mkdir(os.path.join(ray_tmp, "home"))
        private = {
            **(os.environ if env is None else env),
            "RAY_TMPDIR": ray_tmp,
            "HOME": os.path.join(ray_tmp, "home"),
            "RAY_AUTH_MODE": "disabled",
            "PYTHONUSERBASE": site.getuserbase(),
        }
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=private, check=False
        )


def comparable(run_dir: Path) -> dict[str, Any]:
    """summary.json and samples.jsonl of a run, without what may differ between two runs."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if not any(t in k for t in TIMING_KEYS)}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return PER_SOLVED.sub("T s per solved", value) if isinstance(value, str) else value

    summary = json.loads((run_dir / "summary.json").read_text())
    samples_text = (run_dir / "samples.jsonl").read_text().replace(summary["run_id"], "RUN")
    samples = [json.loads(line) for line in samples_text.splitlines()]  # trajectory ids hold the run id
    return {"summary": strip(summary), "samples": strip(samples)}


def trajectory_counts(db: Path) -> dict[str, int] | None:
    """Rows per (problem, sample), unfinished ones included: a duplicate would show as 2; None
    when the run left no store (its exit code and stderr, recorded beside, say why)."""
    if not db.is_file():
        return None
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT problem_id || '#' || sample_index, COUNT(*), SUM(finished) FROM trajectories GROUP BY 1"
        ).fetchall()
    return {key: count * 10 + finished for key, count, finished in rows}  # 11: one row, finished


def placements(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "cluster.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


# -- scenario 1: local vs 2-node cluster, then a node lost mid-run -----------------------------


def runners(address: str, settings: Any, run_dir: Path) -> Any:
    """``codemend.cluster.ray_trajectories`` as the scenarios (and ``perf/ray_overhead.py``) start
    it: one sandbox worker per runner, ``settings`` for the model endpoint."""
    from codemend.cluster import ray_trajectories
    from codemend.prompts import Prompts
    from codemend.settings import SandboxSettings

    return ray_trajectories(
        address,
        llm=settings,
        critic_llm=None,
        prompts=Prompts.load(),
        sandbox=SandboxSettings(),
        run_dir=run_dir,
        workers=1,
    )


def _spec(limit: int) -> Any:
    from codemend.benchmarks import BenchSpec

    return BenchSpec(benchmark="humaneval", limit=limit, samples=2, rounds=2, temperature=0.8)


async def _bench(url: str, run_dir: Path, limit: int, *, address: str | None, on_progress: Any = None) -> Any:
    from codemend.benchmarks import BenchDeps, RunOptions, abench, load_humaneval
    from codemend.llm import LLMClient, LLMSettings
    from codemend.sandbox import LocalSandbox

    problems = load_humaneval()[:limit]
    settings = LLMSettings(base_url=url, model="scripted", max_attempts=2, timeout_s=20, max_concurrency=4)
    with LocalSandbox(workers=2) as sandbox:
        async with LLMClient(settings) as llm:
            deps = BenchDeps(llm=llm, sandbox=sandbox)
            options = RunOptions(concurrency=4, on_progress=on_progress)
            if address is None:
                return await abench(_spec(limit), problems, deps, run_dir=run_dir, options=options)
            from dataclasses import replace

            async with runners(address, settings, run_dir) as backend:
                options = replace(options, backend=backend)
                return await abench(_spec(limit), problems, deps, run_dir=run_dir, options=options)


async def _limiter() -> dict[str, Any]:
    """The endpoint limiter: never more leases out than the limit; a lease never returned expires."""
    from codemend.cluster import limiter_for

    limiter = limiter_for("http://limiter-test.invalid/v1")

    async def hold() -> int:
        token = await limiter.acquire.remote(2, 30.0)
        seen = await limiter.in_flight.remote()
        await asyncio.sleep(0.1)
        await limiter.release.remote(token)
        return int(seen)

    seen = await asyncio.gather(*(hold() for _ in range(6)))
    for _ in range(2):
        await limiter.acquire.remote(2, 0.5)  # a holder that dies: never released
    started = time.monotonic()
    await limiter.acquire.remote(2, 0.5)
    return {"max_in_flight": max(seen), "waited_for_expiry_s": time.monotonic() - started}


async def _speed_bench(address: str, run_dir: Path) -> dict[str, Any]:
    """``--objective speed`` on the cluster: the runners measure, the hidden judge picks by speed."""
    from dataclasses import asdict

    from optimise_helpers import example
    from test_benchmarks_speed import ByProblem

    from codemend.benchmarks import BenchDeps, BenchSpec, RunOptions, abench
    from codemend.llm import LLMClient, LLMSettings
    from codemend.optimise import Speed
    from codemend.sandbox import LocalSandbox
    from codemend.trajectories import TrajectoryStore

    server = ByProblem().start()
    settings = LLMSettings(base_url=server.url, model="scripted", max_attempts=1, timeout_s=10)
    spec = BenchSpec(benchmark="jsonl", rounds=1, objective=Speed(repetitions=5))
    try:
        with LocalSandbox(workers=1) as sandbox:
            async with LLMClient(settings) as llm, runners(address, settings, run_dir) as backend:
                options = RunOptions(concurrency=2, backend=backend)
                deps = BenchDeps(llm=llm, sandbox=sandbox)
                problems = [example("dedupe"), example("fib")]
                out = await abench(spec, problems, deps, run_dir=run_dir, options=options)
    finally:
        server.stop()
    with TrajectoryStore(run_dir / "trajectories.db") as store:
        measured = [s.measurement for t in store.trajectories() for s in t.steps if s.measurement]
    speed = out.summary.speed
    return {
        "summary": None if speed is None else asdict(speed),
        "measurements": [len(m.candidate_s) for m in measured],
        "objective": json.loads((run_dir / "summary.json").read_text())["spec"]["objective"],
    }


def _rewards() -> dict[str, Any]:
    """``codemend.rewards`` in a pool of Ray actors, scoring on the cluster's runners through the
    driver's ``ClusterSandbox``; then the same rows scored here on a local sandbox."""
    import ray
    from bench_helpers import reply_text
    from optimise_helpers import example, fast_solution
    from ray.util import ActorPool

    from codemend import rewards
    from codemend.benchmarks import load_humaneval
    from codemend.benchmarks.humaneval import raw_records
    from codemend.cluster import ClusterSandbox
    from codemend.sandbox import LocalSandbox
    from codemend.trajectories.ground_truth import to_ground_truth

    rows: list[tuple[str, str, dict[str, str]]] = []
    for problem, record in zip(load_humaneval()[:3], raw_records(), strict=False):
        truth = to_ground_truth(problem)
        rows.append((reply_text(record, "right", 0), truth, {}))
        rows.append((reply_text(record, "wrong", 0), truth, {}))
    speed = {"objective": "speed"}
    dedupe = to_ground_truth(example("dedupe"))
    rows.append((f"```python\n{fast_solution('dedupe')}```", dedupe, speed))
    rows.append(("```python\ndef dedupe(xs):\n    return sorted(set(xs))\n```", dedupe, speed))  # wrong

    @ray.remote(num_cpus=0)
    class Scorer:
        def __init__(self, sandbox: Any) -> None:
            rewards.use_sandbox(sandbox)

        def score(self, row: tuple[str, str, dict[str, str]]) -> tuple[float, str]:
            reply, truth, info = row
            node = ray.get_runtime_context().get_node_id()
            return rewards.compute_score("codemend", reply, truth, info), node

    sandbox = ClusterSandbox.connect("auto")
    try:
        scorers = ActorPool([Scorer.remote(sandbox) for _ in range(2)])
        on_cluster = list(scorers.map(lambda a, row: a.score.remote(row), rows))
    finally:
        sandbox.close()
    with LocalSandbox(workers=1) as local:
        rewards.use_sandbox(local)
        try:
            here = [rewards.compute_score("codemend", r, t, i) for r, t, i in rows]
        finally:
            rewards.use_sandbox(None)
    return {"cluster": [score for score, _ in on_cluster], "local": here, "rows": len(rows)}


async def _retry_errors(address: str, run_dir: Path) -> dict[str, Any]:
    """A ``--ray`` run whose endpoint fails one problem (an infrastructure error, never a model
    failure), then ``--resume --retry-errors`` once the endpoint is back."""
    from bench_helpers import HumanEvalServer

    from codemend.benchmarks import BenchDeps, BenchSpec, RunOptions, abench, load_humaneval
    from codemend.llm import LLMClient, LLMSettings
    from codemend.sandbox import LocalSandbox
    from codemend.trajectories import TrajectoryStore

    server = HumanEvalServer(policy=lambda task, attempt, seed: "error" if task == "HumanEval/1" else "right")
    server.start()
    settings = LLMSettings(base_url=server.url, model="scripted", max_attempts=1, timeout_s=10)
    spec = BenchSpec(benchmark="humaneval", rounds=0, limit=2)
    out: dict[str, Any] = {}
    try:
        with LocalSandbox(workers=1) as sandbox:
            async with LLMClient(settings) as llm, runners(address, settings, run_dir) as backend:
                deps = BenchDeps(llm=llm, sandbox=sandbox)
                problems = load_humaneval()[:2]
                once = RunOptions(backend=backend)
                first = await abench(spec, problems, deps, run_dir=run_dir, options=once)
                server.policy = lambda task, attempt, seed: "right"  # the endpoint is back
                again = RunOptions(backend=backend, resume=True, retry_errors=True)
                second = await abench(spec, problems, deps, run_dir=run_dir, options=again)
    finally:
        server.stop()
    for name, result in (("first", first), ("second", second)):
        out[name] = {
            "errors": result.summary.infrastructure_errors,
            "solved": result.summary.solved,
            "resumed": result.result.resumed,
        }
    with TrajectoryStore(run_dir / "trajectories.db") as store:
        out["ids"] = [t.trajectory_id for t in store.trajectories()]
    return out


def local_vs_ray(limit: int = 8) -> dict[str, Any]:
    import ray
    from bench_helpers import HumanEvalServer, fail_then_pass
    from ray.cluster_utils import Cluster

    out: dict[str, Any] = {}
    home = Path(tempfile.mkdtemp(prefix="cmray-", dir="/tmp"))
    node = {"num_cpus": 1, "resources": {"sandbox": 1}, "node_ip_address": "127.0.0.1"}
    server = HumanEvalServer(policy=fail_then_pass(1)).start()
    started = time.monotonic()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={**node, "include_dashboard": False, "temp_dir": str(home / "rt")},
    )
    try:
        worker = cluster.add_node(**node)
        ray.init(
            address=cluster.address, _node_ip_address="127.0.0.1", log_to_driver=False, namespace="codemend"
        )
        out["cluster_start_s"] = time.monotonic() - started
        out["nodes"] = sorted(n["NodeID"] for n in ray.nodes() if n["Alive"])

        out["limiter"] = asyncio.run(_limiter())
        t = time.monotonic()
        asyncio.run(_bench(server.url, home / "local", limit, address=None))
        out["local_s"] = time.monotonic() - t
        t = time.monotonic()
        asyncio.run(_bench(server.url, home / "ray", limit, address=cluster.address))
        out["ray_s"] = time.monotonic() - t
        out["local"] = comparable(home / "local")
        out["ray"] = comparable(home / "ray")
        out["ray_counts"] = trajectory_counts(home / "ray" / "trajectories.db")
        out["ray_placements"] = placements(home / "ray")
        out["speed"] = asyncio.run(_speed_bench(cluster.address, home / "speed"))
        out["rewards"] = _rewards()
        out["retry_errors"] = asyncio.run(_retry_errors(cluster.address, home / "retry"))

        # A node dies mid-run (its raylet and workers killed, no goodbye): its trajectories in
        # flight go to the surviving runner, each stored once.
        server.delay_s = 0.25
        removed: list[float] = []

        def kill_worker_node(progress: Any) -> None:
            if progress.done >= 3 and not removed:
                removed.append(time.monotonic())
                cluster.remove_node(worker, allow_graceful=False)

        t = time.monotonic()
        asyncio.run(
            _bench(server.url, home / "loss", limit, address=cluster.address, on_progress=kill_worker_node)
        )
        out["loss_s"] = time.monotonic() - t
        out["loss_removed"] = bool(removed)
        out["loss"] = comparable(home / "loss")
        out["loss_counts"] = trajectory_counts(home / "loss" / "trajectories.db")
        out["loss_placements"] = placements(home / "loss")
        out["worker_node"] = worker.node_id
        out["server_errors"] = server.errors
    finally:
        ray.shutdown()
        cluster.shutdown()
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
    return out


# -- scenario 2: the CLI against `ray start`, a driver killed and resumed ------------------------


def _free_port() -> int:
    """A free port between Ray's worker ports (10002-19999) and the kernel's ephemeral range
    (32768 and up), where Ray's own components bind at random: a port taken from the ephemeral
    range could be bound by one of them before `ray start` binds it (its Ray Client server then
    failed now and then, and with it the Ray Client bench)."""
    for port in random.sample(range(20000, 30000), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 30000")


RAY = [sys.executable, "-m", "ray.scripts.scripts"]  # the `ray` command of this Python, whatever PATH holds


@contextlib.contextmanager
def ray_head(home: Path, env: dict[str, str] | None = None) -> Iterator[tuple[str, str]]:
    """``ray start --head --block`` on 127.0.0.1 with a private temp dir, in a session of its own:
    stopped by signalling that session (never ``ray stop``, which would end every Ray of the user).
    Yields its GCS address (HOST:PORT) and its Ray Client address (ray://HOST:PORT)."""
    port, client_port = _free_port(), _free_port()
    resources = json.dumps({"sandbox": 1})
    args = [*RAY, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(port)]
    args += ["--ray-client-server-port", str(client_port)]
    args += ["--num-cpus", "1", "--resources", resources, "--include-dashboard", "false"]
    args += ["--temp-dir", str(home / "rt"), "--disable-usage-stats"]
    log = (home / "ray-start.log").open("wb")
    head = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    try:
        deadline = time.monotonic() + 90
        while b"Ray runtime started" not in (home / "ray-start.log").read_bytes():
            if head.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((home / "ray-start.log").read_text(errors="replace")[-3000:])
            time.sleep(0.2)
        yield f"127.0.0.1:{port}", f"ray://127.0.0.1:{client_port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGTERM)
        try:  # what it leaves behind ends with the scenario's PID namespace
            head.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        log.close()


def _client_server_logs(home: Path) -> str:
    """The tails of the head's Ray Client server logs (a specific server that failed to start
    says why only there), for a failing client bench's message."""
    logs = sorted((home / "rt").glob("session_*/logs/ray_client_server*"))
    return "".join(f"\n--- {log.name}:\n{log.read_text(errors='replace')[-1500:]}" for log in logs)


def _finished(db: Path) -> int:
    if not db.is_file():
        return 0
    with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM trajectories WHERE finished = 1").fetchone()[0])
    return 0


def cli(limit: int = 6) -> dict[str, Any]:
    from bench_helpers import HumanEvalServer, fail_then_pass

    out: dict[str, Any] = {}
    home = Path(tempfile.mkdtemp(prefix="cmray-", dir="/tmp"))
    server = HumanEvalServer(policy=fail_then_pass(1), delay_s=0.3).start()
    env = {**os.environ, "CODEMEND_BASE_URL": server.url, "CODEMEND_MODEL": "scripted"}
    env.pop("CODEMEND_RAY_ADDRESS", None)
    common = ["humaneval", "--limit", str(limit), "--samples", "2", "--rounds", "1", "--concurrency", "2"]
    try:
        asyncio.run(_reference(server.url, home / "local", limit))
        with ray_head(home) as (address, client_address):
            run_dir = home / "ray"
            driver = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "codemend",
                    "bench",
                    *common,
                    "--ray",
                    address,
                    "--run-dir",
                    str(run_dir),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            deadline = time.monotonic() + 120
            while _finished(run_dir / "trajectories.db") < 3 and driver.poll() is None:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            out["killed_after"] = _finished(run_dir / "trajectories.db")
            out["killed_while_running"] = driver.poll() is None
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
            resumed = subprocess.run(
                [sys.executable, "-m", "codemend", "bench", "humaneval", "--ray", address, "--run-dir",
                 str(run_dir), "--resume"],
                env=env, capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
            out["resume_exit"] = resumed.returncode
            out["resume_stderr"] = resumed.stderr[-2000:]
            out["resume_stdout"] = resumed.stdout
            bare = subprocess.run(
                [sys.executable, "-m", "codemend", "bench", *common, "--ray", "--run-dir", f"{home}/bare"],
                env={**env, "CODEMEND_RAY_ADDRESS": address}, capture_output=True, text=True, timeout=300,
                check=False,
            )  # fmt: skip
            client = subprocess.run(
                [sys.executable, "-m", "codemend", "bench", *common, "--ray", client_address, "--run-dir",
                 f"{home}/client"],
                env=env, capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
            out["client_exit"] = client.returncode
            out["client_stderr"] = client.stderr[-2000:] + _client_server_logs(home)
            out["evaluate"] = _evaluate(home, env, address)
            out["bare_exit"] = bare.returncode
            out["bare_stderr"] = bare.stderr[-2000:]
        out["ray"] = comparable(run_dir) if (run_dir / "summary.json").is_file() else None
        out["bare"] = comparable(home / "bare") if (home / "bare" / "summary.json").is_file() else None
        out["client"] = comparable(home / "client") if (home / "client" / "summary.json").is_file() else None
        out["client_counts"] = trajectory_counts(home / "client" / "trajectories.db")
        out["local"] = comparable(home / "local")
        out["counts"] = trajectory_counts(run_dir / "trajectories.db")
        out["server_errors"] = server.errors
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
    return out


def _evaluate(home: Path, env: dict[str, str], address: str) -> dict[str, Any]:
    """``codemend evaluate --ray`` and without: the same results file and pass@k."""
    from codemend.benchmarks.humaneval import raw_records

    records = list(raw_records())[:3]
    rows = [{"task_id": r["task_id"], "completion": r["canonical_solution"]} for r in records]
    rows += [{"task_id": r["task_id"], "completion": "    return None\n"} for r in records]
    out: dict[str, Any] = {}
    for where, extra in (("local", []), ("ray", ["--ray", address])):
        samples = home / f"samples-{where}.jsonl"
        samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
        argv = [sys.executable, "-m", "codemend", "evaluate", "humaneval", str(samples), "--k", "1", "--json"]
        done = subprocess.run(
            [*argv, *extra], env=env, capture_output=True, text=True, timeout=300, check=False
        )
        results = Path(f"{samples}_results.jsonl")
        out[where] = {
            "exit": done.returncode,
            "stdout": done.stdout,
            "stderr": done.stderr[-1500:],
            "results": results.read_text().splitlines() if results.is_file() else None,
        }
    return out


async def _reference(url: str, run_dir: Path, limit: int) -> None:
    from codemend.benchmarks import BenchDeps, BenchSpec, RunOptions, abench, load_humaneval
    from codemend.llm import LLMClient, LLMSettings
    from codemend.sandbox import LocalSandbox

    spec = BenchSpec(benchmark="humaneval", limit=limit, samples=2, rounds=1, temperature=0.8)
    with LocalSandbox(workers=2) as sandbox:
        async with LLMClient(LLMSettings(base_url=url, model="scripted", max_concurrency=2)) as llm:
            deps = BenchDeps(llm=llm, sandbox=sandbox)
            await abench(
                spec, load_humaneval()[:limit], deps, run_dir=run_dir, options=RunOptions(concurrency=2)
            )


# -- scenario 3: what the CLI says when the cluster refuses it, or loses a node ------------------


def _descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs (by parent PID, in this PID namespace)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


@contextlib.contextmanager
def ray_worker_node(address: str, home: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A second node (``sandbox: 1``) joining the cluster at ``address``, in a session of its own."""
    args = [*RAY, "start", "--block", "--address", address, "--node-ip-address", "127.0.0.1"]
    args += ["--num-cpus", "1", "--resources", json.dumps({"sandbox": 1}), "--disable-usage-stats"]
    with (home / "ray-worker.log").open("wb") as log:
        node = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while b"Ray runtime started" not in (home / "ray-worker.log").read_bytes():
            if node.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((home / "ray-worker.log").read_text(errors="replace")[-3000:])
            time.sleep(0.2)
        yield node
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(node.pid, signal.SIGKILL)
        node.wait()


def _bench_cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    argv = [sys.executable, "-m", "codemend", "bench", "humaneval", *args]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
    return {"exit": done.returncode, "stdout": done.stdout, "stderr": done.stderr}


def cli_failures(limit: int = 6) -> dict[str, Any]:
    """``codemend bench --ray`` (no CODEMEND_MODEL: the endpoint serves one) against a cluster that
    uses Ray's token authentication, as a `ray start` does where ~/.ray/auth_token exists; then
    against a two-node cluster whose second node dies mid-run (all its processes SIGKILLed)."""
    from bench_helpers import HumanEvalServer, fail_then_pass

    out: dict[str, Any] = {}
    home = Path(tempfile.mkdtemp(prefix="cmray-", dir="/tmp"))
    server = HumanEvalServer(policy=fail_then_pass(1), delay_s=0.3).start()
    env = {**os.environ, "CODEMEND_BASE_URL": server.url}
    for name in ("CODEMEND_MODEL", "CODEMEND_RAY_ADDRESS"):
        env.pop(name, None)
    try:
        token_home = home / "token-home"
        (token_home / ".ray").mkdir(parents=True)
        (token_home / ".ray" / "auth_token").write_text("codemend-test-" + "0" * 32)
        with_token = {k: v for k, v in env.items() if k != "RAY_AUTH_MODE"} | {"HOME": str(token_home)}
        (home / "token").mkdir()
        with ray_head(home / "token", env=with_token) as (address, _):
            one = ("--limit", "1", "--rounds", "0", "--ray", address)
            out["refused"] = _bench_cli(with_token, *one, "--run-dir", str(home / "refused"))
            out["refused_run_dir_left"] = (home / "refused").exists()
            token = {**with_token, "RAY_AUTH_MODE": "token"}  # what the message advises
            out["token"] = _bench_cli(token, *one, "--run-dir", str(home / "with-token"))

        (home / "loss").mkdir()
        with ray_head(home / "loss") as (address, _), ray_worker_node(address, home / "loss") as node:
            run_dir = home / "loss-run"
            args = ["--limit", str(limit), "--rounds", "1", "--concurrency", "2", "--ray", address]
            argv = [sys.executable, "-m", "codemend", "bench", "humaneval", *args, "--run-dir", str(run_dir)]
            driver = subprocess.Popen(
                argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            deadline = time.monotonic() + 120
            while _finished(run_dir / "trajectories.db") < 2 and driver.poll() is None:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            out["killed_while_running"] = driver.poll() is None
            for pid in [node.pid, *_descendants(node.pid)]:  # the node's raylet, agents and workers
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            stdout, stderr = driver.communicate(timeout=300)
            out["loss"] = {"exit": driver.returncode, "stdout": stdout, "stderr": stderr}
            out["loss_placements"] = placements(run_dir)
            out["loss_counts"] = trajectory_counts(run_dir / "trajectories.db")
        out["server_errors"] = server.errors
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
    return out


SCENARIOS = {"local-vs-ray": local_vs_ray, "cli": cli, "cli-failures": cli_failures}

if __name__ == "__main__":
    result = SCENARIOS[sys.argv[1]]()
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)  # everything was shut down above; skip the interpreter's slow teardown of Ray
