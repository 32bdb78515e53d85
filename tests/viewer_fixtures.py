"""A real bench run for the viewer's tests: the scripted HumanEval endpoint on loopback, the real
sandbox, the real runner and store. Test modules load it with
``pytest_plugins = ["viewer_fixtures"]``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from bench_helpers import HumanEvalServer
from viewer_data import PLAN, ViewerRun

from codemend.benchmarks import BenchDeps, BenchSpec, abench, load_humaneval
from codemend.llm import LLMClient, LLMSettings
from codemend.sandbox import LocalSandbox
from codemend.viewer import Site, build_site, open_run


@pytest.fixture(scope="session")
def viewer_run(tmp_path_factory: pytest.TempPathFactory, sandbox: LocalSandbox) -> Iterator[ViewerRun]:
    problems = load_humaneval()[:5]
    server = HumanEvalServer(policy=lambda task, n, seed: PLAN[task][min(n, len(PLAN[task]) - 1)]).start()
    run_dir = tmp_path_factory.mktemp("viewer-run")
    settings = LLMSettings(base_url=server.url, model="scripted", max_attempts=1, timeout_s=10)

    async def go() -> None:
        async with LLMClient(settings) as llm:
            spec = BenchSpec(benchmark="humaneval", rounds=2, limit=5)
            await abench(spec, problems, BenchDeps(llm=llm, sandbox=sandbox), run_dir=run_dir)

    try:
        asyncio.run(go())
    finally:
        server.stop()
    yield ViewerRun(run_dir=run_dir, problems=problems)


@pytest.fixture(scope="session")
def viewer_site(viewer_run: ViewerRun, tmp_path_factory: pytest.TempPathFactory) -> Site:
    return build_site(open_run(viewer_run.run_dir), tmp_path_factory.mktemp("viewer-site") / "site")
