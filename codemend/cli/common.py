"""Exit codes and small helpers shared by the commands."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console

from codemend.agents.constraints import EXTRA_CONSTRAINTS
from codemend.agents.tracing import FEEDBACK_MODES, TRACE_TOKEN_BUDGET
from codemend.errors import UserError
from codemend.optimise import Correctness, Speed, speed_objective
from codemend.prompts.template import OFFERED
from codemend.settings import EmbeddedSettings, LLMSettings, SandboxSettings, get_settings

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT, EXIT_INFRA = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_TERMINATED = 143  # 128 + SIGTERM

stderr = Console(stderr=True, highlight=False)


def die(message: str, code: int) -> NoReturn:
    """Print ``error: message`` to stderr and exit with ``code``."""
    stderr.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    sys.exit(code)


_F = TypeVar("_F", bound=Callable[..., Any])


def endpoint_epilog() -> str:
    """The endpoint's settings and their defaults, for a command's ``--help``."""
    fields = LLMSettings.model_fields
    return (
        "Model endpoint: CODEMEND_BASE_URL (or OPENAI_BASE_URL), CODEMEND_MODEL, OPENAI_API_KEY; "
        "with none set, the embedded SmolLM2-135M (shared by this user's processes). Each request "
        f"times out after CODEMEND_TIMEOUT={fields['timeout_s'].default:g}s (connecting: "
        f"CODEMEND_CONNECT_TIMEOUT={fields['connect_timeout_s'].default:g}s) and is tried up to "
        f"CODEMEND_MAX_ATTEMPTS={fields['max_attempts'].default} times within "
        f"CODEMEND_MAX_RETRY_TIME={fields['max_retry_time_s'].default:g}s; each retry is reported on "
        "stderr with its cause. The LLM critic reads CODEMEND_CRITIC_* the same way."
    )


def max_tokens_help() -> str:
    """``--max-tokens``'s help, with the defaults that apply when it is not given."""
    embedded = EmbeddedSettings.model_fields["max_tokens"].default
    return (
        "Tokens per model reply at most (default: CODEMEND_MAX_TOKENS, else the endpoint's own limit; "
        f"the embedded model: CODEMEND_EMBEDDED_MAX_TOKENS={embedded})."
    )


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


def constraints_option(func: _F) -> _F:
    """``--constraints NAME`` (repeatable): constraints added to the critic's, off by default."""
    return click.option(
        "--constraints",
        type=click.Choice(EXTRA_CONSTRAINTS),
        multiple=True,
        help="Add a constraint to the critic's (repeatable). security: bandit's static analysis of "
        "each candidate; its findings go in the feedback, and a high-severity one keeps a step "
        "that passes its tests from being solved (needs bandit: pip install 'codemend[security]').",
    )(func)


def feedback_option(func: _F) -> _F:
    """``--feedback tests|trace``: what a repair prompt is told of a failing step."""
    return click.option(
        "--feedback",
        type=click.Choice(FEEDBACK_MODES),
        default="tests",
        show_default=True,
        help="What a repair prompt is told of a failing step: tests, the failing tests' report; "
        "trace, that and an execution trace of the first failing visible test (the blocks of the "
        f"candidate's code it ran and its variables after each, within ~{TRACE_TOKEN_BUDGET} tokens).",
    )(func)


def sandbox_settings(backend: str | None, image: str | None) -> SandboxSettings:
    """The configured sandbox settings with ``--sandbox`` and ``--image`` applied where given."""
    update = {k: v for k, v in (("backend", backend), ("docker_image", image)) if v is not None}
    return get_settings().sandbox.model_copy(update=update)


def prompt_options(func: _F) -> _F:
    """``--prompt-file KIND=PATH`` (repeatable): the user's template for one of codemend's prompts."""
    return click.option(
        "--prompt-file",
        "prompt_files",
        multiple=True,
        metavar="KIND=PATH",
        help=f"Your template for a prompt ({', '.join(OFFERED)}); repeatable. See codemend/prompts/*.md.",
    )(func)


def parse_prompt_files(values: Sequence[str]) -> dict[str, str]:
    """``["repair=my.md"]`` -> ``{"repair": "/abs/my.md"}``; a ``UserError`` says what is wrong."""
    files: dict[str, str] = {}
    for value in values:
        kind, sep, path = value.partition("=")
        if not sep or kind not in OFFERED or not path:
            kinds = ", ".join(OFFERED)
            raise UserError(f"--prompt-file {value!r}: expected KIND=PATH with KIND one of {kinds}")
        if kind in files:
            raise UserError(f"--prompt-file: {kind} given twice")
        if not Path(path).is_file():
            raise UserError(f"--prompt-file {value!r}: no such file {path}")
        files[kind] = str(Path(path).resolve())
    return files


class FiniteRange(click.FloatRange):
    """A float within bounds that is also a number: click's ``FloatRange`` lets ``nan`` through
    (every comparison with it is false)."""

    name = "finite float range"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The number click's ``FloatRange`` accepts, refusing NaN and infinities."""
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


TIME_LIMIT = FiniteRange(0.05, 600.0)
"""Seconds a test may take, everywhere one is taken (as ``Problem.time_limit_s``)."""


OBJECTIVE_KNOBS = ("objective", "cost", "repetitions", "alpha", "min_speedup")


def objective_options(func: _F) -> _F:
    """``--objective`` and the knobs of ``speed``, named alike in every command."""
    speed = Speed.model_fields
    options = [
        click.option(
            "--objective",
            type=click.Choice(["correctness", "speed"]),
            default="correctness",
            show_default=True,
            help="speed: start from a correct program (the reference solution, else the first passing "
            "answer) and ask for faster ones, measured in the sandbox on inputs the model is not shown.",
        ),
        click.option(
            "--cost",
            type=click.Choice(["cpu", "instructions"]),
            default=speed["cost"].default,
            show_default=True,
            help="speed: CPU time of paired fresh runs, or instructions counted under valgrind (exact, "
            "one run each; needs valgrind).",
        ),
        click.option(
            "--repetitions",
            type=click.IntRange(min=2, max=1000),
            default=speed["repetitions"].default,
            show_default=True,
            help="speed, cpu: timed runs of each program.",
        ),
        click.option(
            "--alpha",
            type=FiniteRange(0, 1, min_open=True, max_open=True),
            default=speed["alpha"].default,
            show_default=True,
            help="speed, cpu: significance level of 'faster'.",
        ),
        click.option(
            "--min-speedup",
            type=FiniteRange(1.0, 10.0),
            default=speed["min_speedup"].default,
            show_default=True,
            help="speed: the smallest ratio that counts as faster (or, inverted, slower).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def objective_from(options: dict[str, Any]) -> Correctness | Speed:
    """The objective the command-line options describe (``UserError`` if they do not make one)."""
    if options["objective"] != "speed":
        return Correctness()
    return speed_objective(
        cost=options["cost"],
        repetitions=options["repetitions"],
        alpha=options["alpha"],
        min_speedup=options["min_speedup"],
    )
