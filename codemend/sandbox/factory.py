"""Choosing a backend from the settings (``CODEMEND_SANDBOX``, ``--sandbox``)."""

from __future__ import annotations

from typing import Literal

from codemend.sandbox.base import Sandbox
from codemend.sandbox.docker import DockerSandbox
from codemend.sandbox.local import LocalSandbox
from codemend.settings import SandboxSettings


def open_sandbox(
    settings: SandboxSettings,
    *,
    workers: int | None = None,
    isolation: Literal["auto", "namespaces", "rlimits"] = "auto",
) -> Sandbox:
    """A not-yet-started sandbox of the configured backend (``isolation`` applies to local)."""
    if settings.backend == "docker":
        return DockerSandbox(image=settings.docker_image, base_url=settings.docker_host, workers=workers)
    return LocalSandbox(workers=workers, isolation=isolation, bwrap_path=settings.bwrap_path)
