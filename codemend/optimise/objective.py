"""What a run optimises, as one value that carries its settings and its behaviour.

``Correctness`` (the default) asks for code that passes the tests; ``Speed`` asks for correct
code that costs less than a baseline, and says how that cost is taken (``cost``: CPU time of
paired fresh-process repetitions, or instructions counted under valgrind), how many
repetitions, and the significance level. The value travels whole from the CLI and the library
call to the graph, the hidden judge, the rewards, the env and Ray (it is a pydantic model, so it
pickles and round-trips through JSON), and every place that behaves differently asks it:

- ``measures``: are correct candidates measured against a baseline?
- ``step_reward``/``final_reward``: the reward of a step, and of the answer;
- ``solved``: may the loop stop at this step?
- ``answer_index``: which step is the answer?

New objectives or cost methods extend these values, never string comparisons at call sites.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from codemend.errors import UserError
from codemend.languages import LanguageName, language
from codemend.optimise.reward import measured_reward, optimised, speed_reward
from codemend.records import CostMethod, ObjectiveName, StepRecord, visible_solved


def best_visible_index(steps: Sequence[StepRecord]) -> int | None:
    """The step whose code is the answer of a correctness run: one that passes the visible tests,
    else the best reward; the latest among ties."""
    scored = [s for s in steps if s.code is not None and s.report is not None]
    if not scored:
        return None
    return max(scored, key=lambda s: (visible_solved(s), s.reward or 0.0, s.index)).index


class Correctness(BaseModel):
    """Pass the tests: the reward is the test reward, the answer the best visible step."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal["correctness"] = "correctness"

    @property
    def measures(self) -> bool:
        """False: a correctness run measures no cost."""
        return False

    def step_reward(self, step: StepRecord, tests_reward: float) -> float:
        """The test reward, unchanged."""
        return tests_reward

    def final_reward(self, step: StepRecord, tests_reward: float | None, hidden_ok: bool) -> float | None:
        """The test reward (on the hidden tests), unchanged."""
        return tests_reward

    def solved(self, step: StepRecord) -> bool:
        """Stop once the step passes its visible tests."""
        return visible_solved(step)

    def answer_index(self, steps: Sequence[StepRecord]) -> int | None:
        """The step that passes the visible tests, else the best rewarded (``best_visible_index``)."""
        return best_visible_index(steps)

    def describe(self) -> str:
        """The objective in words, for the bench's header: ``correctness``."""
        return "correctness"


class Speed(BaseModel):
    """Make correct code cheaper than a baseline (the reference solution, else the first passing
    answer); the reward is the correctness-gated speedup (``optimise.reward``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal["speed"] = "speed"
    cost: CostMethod = Field(
        default="cpu",
        description="cpu: CPU time of paired fresh-process runs, a one-sided Mann-Whitney U test; "
        "instructions: user-space instructions counted under valgrind, one run each (exact).",
    )
    repetitions: int = Field(default=10, ge=2, le=1000, description="cpu: timed runs of each program.")
    warmup: int = Field(default=1, ge=0, le=100, description="cpu: untimed runs of each program first.")
    alpha: float = Field(default=0.05, gt=0, lt=1, description="cpu: significance level of each test.")
    min_speedup: float = Field(
        default=1.05,
        ge=1.0,
        le=10.0,
        description="A difference counts only from this ratio on (faster: at least this much; "
        "slower: at most its inverse), significant or exact: noise and a few instructions of "
        "compilation are not a speedup.",
    )

    @property
    def measures(self) -> bool:
        """True: candidates' costs are measured against the baseline."""
        return True

    def correct(self, step: StepRecord) -> bool:
        """Passes its visible tests and, when measured, was right on the whole workload."""
        m = step.measurement
        return visible_solved(step) and (m is None or m.verdict != "incorrect")

    def step_reward(self, step: StepRecord, tests_reward: float) -> float:
        """The gated reward on the visible workload: 0 unless correct; the baseline itself 0.5."""
        if step.measurement is None:
            return speed_reward(self.correct(step), 1.0)
        return measured_reward(step.measurement, visible_solved(step))

    def final_reward(self, step: StepRecord, tests_reward: float | None, hidden_ok: bool) -> float | None:
        """The gated reward of the answer; its ``measurement`` is the one on the hidden workload
        where the graph took one (``finish``)."""
        ok = visible_solved(step) and hidden_ok
        if step.measurement is None:
            return speed_reward(ok, 1.0)
        return measured_reward(step.measurement, ok)

    def solved(self, step: StepRecord) -> bool:
        """Stop early once a candidate is correct and significantly >= 1.1x faster (%Opt)."""
        return self.correct(step) and optimised(step.measurement, True)

    def answer_index(self, steps: Sequence[StepRecord]) -> int | None:
        """The correct step with the largest credited speedup (the latest among ties); with no
        correct step, as for correctness."""
        ranked = [s for s in steps if s.code is not None and self.correct(s)]
        if not ranked:
            return best_visible_index(steps)

        def credit(s: StepRecord) -> float:
            return s.measurement.credited_speedup if s.measurement is not None else 1.0

        return max(ranked, key=lambda s: (credit(s), s.index)).index

    def unavailable_for(self, name: LanguageName) -> str | None:
        """None when this cost can be taken of programs in language ``name``, else why not:
        instructions are counted for Python candidates only (valgrind runs the sandbox's Python
        candidate process); programs in other languages are measured by CPU time."""
        if self.cost == "instructions" and name != "python":
            return (
                f"instructions are counted for Python candidates only; measure {language(name).display} "
                "programs by CPU time (--cost cpu)"
            )
        return None

    def describe(self) -> str:
        """The objective in words, for the bench's header: how cost is measured."""
        if self.cost == "instructions":
            return "speed (instructions counted under valgrind, one run each)"
        return f"speed (CPU time, {self.repetitions} paired runs each, alpha {self.alpha:g})"


Objective = Annotated[Correctness | Speed, Field(discriminator="name")]
_ADAPTER: TypeAdapter[Correctness | Speed] = TypeAdapter(Objective)


def objective_named(name: ObjectiveName) -> Correctness | Speed:
    """The objective called ``name`` with its default settings (what a stored record's name
    means where only its behaviour is needed: which step is the answer)."""
    return Speed() if name == "speed" else Correctness()


def as_objective(value: object) -> Correctness | Speed:
    """An objective from a value (returned as is), its name, or its settings as a mapping;
    ``UserError`` saying what is wrong otherwise."""
    if isinstance(value, Correctness | Speed):
        return value
    if value in ("correctness", "speed"):
        return objective_named(value)
    if isinstance(value, dict):
        try:
            return _ADAPTER.validate_python(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise UserError(f"invalid objective ({where}: {first['msg']})") from None
    raise UserError(f"objective must be 'correctness', 'speed' or an objective value, got {value!r}")


def speed_objective(
    *, cost: CostMethod = "cpu", repetitions: int = 10, alpha: float = 0.05, min_speedup: float = 1.05
) -> Speed:
    """``Speed`` from command-line values, a ``UserError`` naming the bad one."""
    settings = {
        "name": "speed",
        "cost": cost,
        "repetitions": repetitions,
        "alpha": alpha,
        "min_speedup": min_speedup,
    }
    found = as_objective(settings)
    assert isinstance(found, Speed)
    return found
