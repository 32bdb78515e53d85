"""Overhead of codemend's LLM client over a bare ``httpx`` POST, and the concurrency it reaches.

The scripted server (``tests/scripted_server.py``) runs in a child process so that it does not
compete with the client for the GIL; every request waits ``--delay-ms`` there. Each arm sends
``-n`` requests at concurrency 1 and 32: directly with ``httpx``, then through ``LLMClient``
(retries, limiter, SDK included). Per-request overhead is the difference in mean latency at
concurrency 1 and in client CPU time per request at both (at 32 the latency is dominated by the
single-process server's queue); achieved concurrency is the sum of latencies over the wall time
(Little's law).

    python perf/llm_overhead.py [-n 500] [--delay-ms 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import multiprocessing
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

from codemend.llm import LLMClient, LLMSettings, Message

MESSAGES: list[Message] = [{"role": "user", "content": "Write a function that adds two ints."}]
TARGET_OVERHEAD_MS = 2.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    wall_s: float
    cpu_s: float
    latencies: list[float]

    @property
    def mean_ms(self) -> float:
        return 1000 * statistics.fmean(self.latencies)

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_s / len(self.latencies)

    @property
    def concurrency(self) -> float:
        return sum(self.latencies) / self.wall_s


def _serve(conn: Connection, delay_s: float) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    scripted = importlib.import_module("scripted_server")
    server = scripted.ScriptedServer(default=scripted.Reply(texts=("ok",), delay_s=delay_s))
    server.start()
    conn.send(server.url)
    conn.recv()
    server.stop()


async def _drive(n: int, concurrency: int, send: Callable[[], Awaitable[None]]) -> Run:
    latencies: list[float] = []
    queue = iter(range(n))

    async def worker() -> None:
        for _ in queue:
            started = time.perf_counter()
            await send()
            latencies.append(time.perf_counter() - started)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    return Run(wall_s=wall_s, cpu_s=cpu_s, latencies=latencies)


async def _measure(url: str, n: int, concurrency: int) -> tuple[Run, Run]:
    body = {"model": "bench", "messages": MESSAGES, "max_tokens": 16}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    settings = LLMSettings(base_url=url, model="bench", max_concurrency=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits) as http, LLMClient(settings) as llm:

        async def direct() -> None:
            response = await http.post("/chat/completions", json=body)
            response.raise_for_status()
            assert response.json()["choices"][0]["message"]["content"] == "ok"

        async def client() -> None:
            result = await llm.chat(MESSAGES, max_tokens=16)
            assert result.text == "ok"

        for send in (direct, client):  # warm up: connections, imports, SDK caches
            await _drive(2 * concurrency, concurrency, send)
        return await _drive(n, concurrency, direct), await _drive(n, concurrency, client)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="requests per arm and concurrency")
    parser.add_argument("--delay-ms", type=float, default=5.0, help="server time per request")
    parser.add_argument("--rounds", type=int, default=3, help="repeat; report the median")
    args = parser.parse_args()

    ours, theirs = multiprocessing.get_context("fork").Pipe()
    child = multiprocessing.get_context("fork").Process(
        target=_serve, args=(theirs, args.delay_ms / 1000), daemon=True
    )
    child.start()
    url = ours.recv()
    print(f"scripted server {url} ({args.delay_ms:g} ms per request), n={args.n}, "
          f"median of {args.rounds} rounds; latency = mean per request, cpu = client process "
          "CPU per request")  # fmt: skip
    print(f"{'concurrency':>11} | {'latency ms httpx/client':>24} | {'cpu ms httpx/client':>20} | "
          f"{'overhead ms lat/cpu':>20} | {'achieved httpx/client':>22}")  # fmt: skip
    verdicts = []
    try:
        for concurrency in (1, 32):
            rounds = [asyncio.run(_measure(url, args.n, concurrency)) for _ in range(args.rounds)]
            lat = [statistics.median(r[i].mean_ms for r in rounds) for i in (0, 1)]
            cpu = [statistics.median(r[i].cpu_ms for r in rounds) for i in (0, 1)]
            reached = [statistics.median(r[i].concurrency for r in rounds) for i in (0, 1)]
            over_lat, over_cpu = lat[1] - lat[0], cpu[1] - cpu[0]
            print(f"{concurrency:>11} | {lat[0]:>11.3f} / {lat[1]:<10.3f} | "
                  f"{cpu[0]:>9.3f} / {cpu[1]:<8.3f} | {over_lat:>9.3f} / {over_cpu:<8.3f} | "
                  f"{reached[0]:>10.1f} / {reached[1]:<9.1f}")  # fmt: skip
            # At concurrency 32 the latency is the server's queue; the CPU cost is the overhead.
            overhead = over_cpu if concurrency > 1 else max(over_lat, over_cpu)
            verdicts.append(overhead < TARGET_OVERHEAD_MS and reached[1] >= 0.9 * concurrency)
    finally:
        ours.send("stop")
        child.join(timeout=10)
    ok = all(verdicts)
    print(f"target: overhead < {TARGET_OVERHEAD_MS:g} ms/request and concurrency within 10%: "
          f"{'met' if ok else 'NOT met'}")  # fmt: skip
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
