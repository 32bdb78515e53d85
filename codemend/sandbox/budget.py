"""How many workers a sandbox that codemend starts on its own should have: the CPUs this
process is given, not the machine's.

A trainer runs codemend's reward function and environments in many processes at once (verl
starts 8 reward workers by default, each a Ray actor); a sandbox of ``os.cpu_count()`` workers in
each of them would oversubscribe the machine many times over. So the budget is, in order:
``CODEMEND_SANDBOX_WORKERS`` when set; inside a Ray task or actor, the CPUs Ray assigned to it
(an actor is assigned none unless it asked, so it gets 1 worker); otherwise the CPUs this process
may run on (its affinity mask, which ``taskset`` and container CPU sets narrow).
"""

from __future__ import annotations

import math
import os
import sys

from codemend.settings import get_settings


def given_cpus() -> int:
    """The workers for a sandbox this process starts by itself (at least 1)."""
    configured = get_settings().sandbox.workers
    if configured is not None:
        return configured
    assigned = _ray_assigned_cpus()
    if assigned is not None:
        return max(1, math.ceil(assigned))
    return max(1, len(os.sched_getaffinity(0)))


def _ray_assigned_cpus() -> float | None:
    """The CPUs Ray assigned to the current task or actor; None outside a Ray worker (Ray is
    looked at only when this process has imported it already)."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return None
    context = ray.get_runtime_context()
    if context.worker.mode != ray.WORKER_MODE:  # the driver: its machine's CPUs are its own
        return None
    return float(context.get_assigned_resources().get("CPU", 0.0))
