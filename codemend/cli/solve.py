"""``codemend solve PROBLEM``: generate, test, critique and repair one problem.

The final code goes to stdout, a round-by-round summary to stderr (``--json``: the whole result
on stdout). Exit 0 solved, 1 not solved, 2 bad input, 3 infrastructure failure.
"""

from __future__ import annotations

import ast
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from codemend.agents import CRITIC_MODES
from codemend.benchmarks import load_benchmark
from codemend.benchmarks.languages import problem_in
from codemend.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAIL,
    EXIT_INFRA,
    EXIT_OK,
    FiniteRange,
    constraints_option,
    die,
    endpoint_epilog,
    feedback_option,
    max_tokens_help,
    objective_from,
    objective_options,
    parse_prompt_files,
    prompt_options,
    sandbox_options,
    sandbox_settings,
    stderr,
)
from codemend.errors import ContextLengthExceeded, InfrastructureError, UserError
from codemend.languages import LANGUAGES, LanguageName
from codemend.llm import SamplingParams
from codemend.optimise import optimised
from codemend.problems import Problem, load_problem
from codemend.problems.jsonl import loads
from codemend.prompts import Prompts
from codemend.records import SecurityReport, SpeedMeasurement, StepRecord
from codemend.runs import make_run_dir
from codemend.sandbox import Sandbox, open_sandbox
from codemend.settings import SandboxSettings
from codemend.solver import SolveResult, solve


def load_reference(
    ref: str, data: Path | None = None, split: str | None = None, language: LanguageName | None = None
) -> Problem:
    """A problem file, or ``BENCHMARK:ID`` such as ``humaneval:HumanEval/53`` or ``mbpp:11``
    (with ``data``, the benchmark's file); with ``language``, written in that language (as
    ``bench --language``: a problem whose tests call a function is a ``UserError`` saying so)."""
    found = _load_reference(ref, data, split, language)
    if language is None:
        return found
    written = problem_in(found, language)
    if isinstance(written, str):
        raise UserError(f"problem {found.id} cannot be written in {language}: {written}")
    return written


def _load_reference(ref: str, data: Path | None, split: str | None, language: LanguageName | None) -> Problem:
    name, sep, task = ref.partition(":")
    if not sep or Path(ref).exists():
        return load_problem(ref)
    for problem in load_benchmark(name, data, split, language=language):
        if problem.id == task or problem.id.endswith(f"/{task}"):
            return problem
    raise UserError(f"{name} has no problem {task!r}")


def read_tests(path: Path) -> list[Any]:
    """Tests from a JSON list (test objects or assert strings) or a Python file: one test per
    top-level statement, or HumanEval's ``def check(candidate)`` split into its asserts."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read: {exc}") from None
    if path.suffix == ".json":
        items = loads(text, str(path))
        if not isinstance(items, list):
            raise UserError(f"{path}: expected a JSON list of tests")
        return [{"code": t} if isinstance(t, str) else t for t in items]
    if "def check(" in text:
        return [{"kind": "check", "code": text}]
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise UserError(f"{path}:{exc.lineno}: {exc.msg}") from None
    except (RecursionError, MemoryError) as exc:  # pathologically nested
        raise UserError(f"{path}: too deeply nested to parse ({type(exc).__name__})") from None
    return [{"code": ast.get_source_segment(text, node)} for node in tree.body]


def _inline_problem(prompt: str, tests_file: Path | None, entry_point: str | None) -> Problem:
    if tests_file is None:
        raise UserError("--prompt needs --tests FILE")
    data = {"id": "prompt", "prompt": prompt, "entry_point": entry_point, "tests": read_tests(tests_file)}
    try:
        return Problem.model_validate(data)
    except ValueError as exc:
        raise UserError(f"{tests_file}: {exc}") from None


_TOO_LONG = ContextLengthExceeded.__name__ + ": "
TOO_LONG_HELP = (
    "shorten the problem's prompt, lower --max-tokens, or use a model with a larger context "
    "(the embedded one: CODEMEND_EMBEDDED_N_CTX)"
)


def _step_line(step: StepRecord) -> str:
    if step.error and step.error.startswith(_TOO_LONG):
        what = step.error.removeprefix(_TOO_LONG)
        return f"[bold]{step.index}[/] {step.kind}: [yellow]prompt too long[/]: {what}"
    if step.error:
        return f"[bold]{step.index}[/] {step.kind}: [magenta]infrastructure error[/]: {step.error}"
    report, critique = step.report, step.critique
    tests = f"{report.n_passed}/{len(report.results)} tests" if report else "not run"
    score = f"score {critique.score:.2f}" if critique else "no critique"
    reward = f"reward {step.reward:.2f}" if step.reward is not None else "no reward"
    cost = f"{step.tokens_in}+{step.tokens_out} tokens, {step.latency_s:.1f}s"
    line = f"[bold]{step.index}[/] {step.kind}: {tests}, {score}, {reward} ({cost})"
    if step.measurement is not None:
        line += f"\n    [dim]{_speed(step.measurement)}[/]"
    if critique and critique.security is not None:
        line += f"\n    [dim]{escape(_security(critique.security))}[/]"  # the reason: text, not markup
    if critique and step.report and not step.report.passed:
        first = critique.feedback.splitlines()[0]
        line += f"\n    [dim]{first}[/]"
    return line


def _security(report: SecurityReport) -> str:
    """``security: 1 high, 1 low (bandit 1.9.4)``, or why there is no analysis."""
    if not report.available:
        return f"security: not available ({report.reason})"
    counts = Counter(f.severity for f in report.findings)
    found = ", ".join(f"{counts[s]} {s}" for s in ("high", "medium", "low") if counts[s]) or "no findings"
    return f"security: {found} ({report.analyser})"


def _speed(m: SpeedMeasurement) -> str:
    if m.verdict == "incorrect":
        return f"speed: incorrect on the workload ({m.failure})"
    where = "hidden inputs" if m.hidden else "visible inputs"
    if m.method == "instructions":
        return (
            f"speed: {m.verdict}, {m.speedup}x on {where} ({m.candidate_instructions:,} instructions vs "
            f"{m.baseline_instructions:,}, counted under valgrind)"
        )
    return (
        f"speed: {m.verdict}, {m.speedup}x on {where} ({m.method} medians {m.candidate_median_s} s vs "
        f"{m.baseline_median_s} s, p_faster {m.p_faster:.3g}, {len(m.candidate_s)} runs each)"
    )


def _summary(result: SolveResult) -> str:
    t = result.trajectory
    colour = {"solved": "green", "unsolved": "red", "infrastructure_error": "magenta"}[t.status]
    hidden = ""
    if t.hidden_report is not None:
        hidden = f", hidden tests {t.hidden_report.n_passed}/{len(t.hidden_report.results)}"
    reward = "none" if t.final_reward is None else f"{t.final_reward:.2f}"
    if t.objective == "speed":
        m = t.final_measurement
        if m is not None:
            hidden += f"; {_speed(m)}"
        elif t.baseline_step is not None and t.final_code == t.steps[t.baseline_step].code:
            hidden += f"; speed: the answer is the baseline (step {t.baseline_step}), 1.0x"
        elif t.final_code is not None and t.final_code == t.problem.reference_solution:
            hidden += "; speed: the answer is the reference solution itself, 1.0x"
        elif t.stop_reason == "no_progress" and t.steps and t.steps[-1].code == t.problem.reference_solution:
            hidden += "; speed: the reply was the reference solution unchanged, nothing faster to measure"
        else:
            hidden += "; speed: no correct candidate to measure"
    return (
        f"[{colour}]{t.status}[/]: stopped ({t.stop_reason}) after {result.rounds} repair(s){hidden}; "
        f"final reward {reward}; {t.tokens_in}+{t.tokens_out} tokens in {t.wall_s:.1f}s"
    )


def _sampling(max_tokens: int | None, temperature: float | None) -> SamplingParams:
    sampling = SamplingParams()
    if max_tokens is not None:
        sampling["max_tokens"] = max_tokens
    if temperature is not None:
        sampling["temperature"] = temperature
    return sampling


@click.command(epilog=endpoint_epilog())
@click.argument("problem_ref", metavar="PROBLEM", required=False)
@click.option("--prompt", "prompt_text", help="The task, instead of PROBLEM (with --tests).")
@click.option("--tests", "tests_file", type=click.Path(dir_okay=False, path_type=Path), help="For --prompt.")
@click.option("--entry-point", help="The function the tests call (with --prompt).")
@click.option("--rounds", type=click.IntRange(min=0), default=3, show_default=True, help="Repairs at most.")
@click.option("--critic", type=click.Choice(CRITIC_MODES), default="tests", show_default=True)
@click.option("--imports", type=click.Choice(["default", "strict"]), default="default", show_default=True)
@constraints_option
@click.option("--history", type=click.Choice(["latest", "full"]), default="latest", show_default=True)
@feedback_option
@click.option("--max-tokens", type=click.IntRange(min=1), help=max_tokens_help())
@click.option("--temperature", type=FiniteRange(min=0))
@click.option("--token-budget", type=click.IntRange(min=1), help="Tokens for the whole solve.")
@click.option("--time-budget", type=FiniteRange(min=0, min_open=True), help="Seconds, whole solve.")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), help="Keep checkpoints here.")
@click.option("--resume", "resume_id", help="Resume trajectory ID from --run-dir.")
@click.option("--data", type=click.Path(exists=True, path_type=Path), help="The benchmark's file (mbpp:11).")
@click.option("--split", help="The benchmark's split, where it has several.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
@click.option(
    "--language",
    type=click.Choice(LANGUAGES),
    help="Write PROBLEM in this language (a stdin/stdout problem; its Python-only parts dropped, as "
    "with bench --language). Default: the problem's own.",
)
@objective_options
@prompt_options
@sandbox_options
def solve_command(
    problem_ref: str | None,
    prompt_text: str | None,
    tests_file: Path | None,
    entry_point: str | None,
    run_dir: Path | None,
    resume_id: str | None,
    data: Path | None,
    split: str | None,
    as_json: bool,
    backend: str | None,
    image: str | None,
    prompt_files: tuple[str, ...],
    **options: Any,
) -> None:
    """Solve PROBLEM (a problem file, or BENCHMARK:ID such as humaneval:HumanEval/53, or mbpp:11 with
    --data), or --prompt with --tests.

    Exit 0 when solved (the visible and the hidden tests pass; with --objective speed, and a
    measurably faster program was found), 1 when not, 2 on bad input (a prompt too long for the
    model's context included), 3 on an infrastructure failure (the sandbox, the model endpoint),
    130 when interrupted.
    """
    language: LanguageName | None = options.pop("language")
    try:
        problem = _problem(problem_ref, prompt_text, tests_file, entry_point, data, split, language)
        if resume_id and run_dir is None:
            raise UserError("--resume needs --run-dir")
        options["prompts"] = Prompts.load(**parse_prompt_files(prompt_files))
        options["objective"] = objective_from(options)
        if run_dir is not None:
            if resume_id and not run_dir.is_dir():
                raise UserError(f"nothing to resume: {run_dir} does not exist")
            make_run_dir(run_dir)  # a directory that cannot be written is refused before any work
    except UserError as exc:
        die(str(exc), EXIT_BAD_INPUT)
    trajectory_id = resume_id or uuid.uuid4().hex
    options["resume"] = resume_id is not None
    if run_dir is not None:
        stderr.print(f"trajectory {trajectory_id} (resume with --run-dir {run_dir} --resume {trajectory_id})")
    result = _run(problem, trajectory_id, run_dir, options, sandbox_settings(backend, image))
    sys.stdout.write(result.model_dump_json(indent=2) + "\n" if as_json else result.code or "")
    stderr.print(_summary(result), soft_wrap=True)
    if result.problem_error is not None:
        die(result.problem_error, EXIT_BAD_INPUT)
    if result.trajectory.status == "infrastructure_error":
        sys.exit(EXIT_INFRA)
    if result.stop_reason == "context_length" and result.code is None:  # not even a first try
        die(f"the problem's prompt does not fit the model's context: {TOO_LONG_HELP}", EXIT_BAD_INPUT)
    sys.exit(EXIT_OK if _succeeded(result) else EXIT_FAIL)


def _succeeded(result: SolveResult) -> bool:
    """Exit 0: the answer passes every test and, for speed, is measurably faster (%Opt) on the
    hidden workload; "same, 0.99x" is no success."""
    t = result.trajectory
    if t.objective != "speed":
        return result.passed
    return result.passed and optimised(t.final_measurement, True)


def _problem(
    ref: str | None,
    prompt: str | None,
    tests: Path | None,
    entry_point: str | None,
    data: Path | None,
    split: str | None,
    language: LanguageName | None = None,
) -> Problem:
    if (ref is None) == (prompt is None):
        raise UserError("give PROBLEM or --prompt (with --tests), not both")
    if ref is not None:
        if tests is not None or entry_point is not None:
            raise UserError("--tests and --entry-point go with --prompt")
        return load_reference(ref, data, split, language)
    if language is not None:
        raise UserError("--language goes with PROBLEM (a problem file or BENCHMARK:ID), not --prompt")
    return _inline_problem(prompt or "", tests, entry_point)


def _run(
    problem: Problem,
    trajectory_id: str,
    run_dir: Path | None,
    options: dict[str, Any],
    backend: SandboxSettings,
) -> SolveResult:
    try:
        with open_sandbox(backend, workers=1) as sandbox:
            return _solve(problem, trajectory_id, run_dir, options, sandbox)
    except UserError as exc:
        die(str(exc), EXIT_BAD_INPUT)
    except InfrastructureError as exc:
        die(str(exc), EXIT_INFRA)


def _solve(
    problem: Problem, trajectory_id: str, run_dir: Path | None, options: dict[str, Any], sandbox: Sandbox
) -> SolveResult:
    return solve(
        problem,
        sandbox=sandbox,
        rounds=options["rounds"],
        critic=options["critic"],
        imports=options["imports"],
        constraints=list(options["constraints"]),
        history=options["history"],
        feedback=options["feedback"],
        sampling=_sampling(options["max_tokens"], options["temperature"]),
        token_budget=options["token_budget"],
        time_budget_s=options["time_budget"],
        prompts=options["prompts"],
        run_dir=run_dir,
        trajectory_id=trajectory_id,
        resume=options["resume"],
        on_step=lambda step: stderr.print(_step_line(step), soft_wrap=True),
        objective=options["objective"],
    )
