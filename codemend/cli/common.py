"""Exit codes and small helpers shared by the commands."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console

from codemend.settings import SandboxSettings, get_settings

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT, EXIT_INFRA = 0, 1, 2, 3

stderr = Console(stderr=True, highlight=False)


def die(message: str, code: int) -> NoReturn:
    stderr.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    sys.exit(code)


_F = TypeVar("_F", bound=Callable[..., Any])


def sandbox_options(func: _F) -> _F:
    """``--sandbox`` and ``--image``, overriding ``CODEMEND_SANDBOX`` / ``CODEMEND_DOCKER_IMAGE``."""
    func = click.option(
        "--image", default=None, help="Docker image for --sandbox docker (default: CODEMEND_DOCKER_IMAGE)."
    )(func)
    return click.option(
        "--sandbox",
        "backend",
        type=click.Choice(["local", "docker"]),
        default=None,
        help="Sandbox backend (default: CODEMEND_SANDBOX, else local).",
    )(func)


def sandbox_settings(backend: str | None, image: str | None) -> SandboxSettings:
    update = {k: v for k, v in (("backend", backend), ("docker_image", image)) if v is not None}
    return get_settings().sandbox.model_copy(update=update)
