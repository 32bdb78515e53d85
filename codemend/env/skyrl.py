"""A SkyRL-gym environment: ``skyrl_gym.make("codemend-repair", env_config=..., extras=row)``.

Written against skyrl-gym 0.4.0 (PyPI; NovaSky-AI/SkyRL ``skyrl-gym/``):
``skyrl_gym/envs/base_text_env.py`` (``BaseTextEnv``: ``init(prompt) -> (messages, metadata)``,
``step(action) -> BaseTextEnvStepOutput(observations, reward, done, metadata,
postprocessed_action)``, ``turns``/``max_turns``, ``get_metrics``) and
``skyrl_gym/envs/registration.py`` (``register(id, entry_point)``; ``make`` builds the class
and refuses one that does not inherit ``skyrl_gym.Env``). SkyRL's generator
(``skyrl/train/generators/skyrl_gym_generator.py``) calls ``make(env_class,
env_config=<skyrl_gym config for that class>, extras=<the row's other columns + max_turns>)``,
so a codemend ``rl`` export row is the ``extras`` as it is: its ``reward_spec.ground_truth``
names the problem, and its ``env_class`` is ``codemend-repair``.

``SkyRLRepairEnv`` subclasses ``BaseTextEnv`` and importing this module registers it; without
skyrl-gym (``pip install 'codemend[skyrl]'``) the module still imports and the class refuses to
be built, saying which extra to install.

Bad input never raises into SkyRL's generator (an exception there ends the whole batch): a row
without codemend's ground truth, an action that is not text, or a step after the episode ended
ends that episode with reward 0, ``done`` and ``metadata["error"]`` saying what was wrong
(counted in ``get_metrics()["errors"]``). A sandbox failure still raises
``InfrastructureError``: it is no answer's fault and must not be scored as one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from codemend.env.core import ChatMessages, EnvConfig
from codemend.env.episode import RowEpisode
from codemend.env.rewards import EnvRewards
from codemend.env.sync import run_sync
from codemend.errors import UserError
from codemend.problems import Problem
from codemend.sandbox import Sandbox

if TYPE_CHECKING:
    BaseTextEnv = object
else:
    try:
        from skyrl_gym.envs.base_text_env import BaseTextEnv
    except ModuleNotFoundError:  # refused in __init__, with the extra to install
        BaseTextEnv = object

ENV_ID = "codemend-repair"
"""The id ``skyrl_gym.make`` knows the environment by (the ``env_class`` of ``rl`` exports)."""
EXTRA = "skyrl"


def config_from(env_config: Mapping[str, Any] | None) -> EnvConfig:
    """``max_turns``, ``reward_mode``, ``discount``, ``constraint_weight``, ``component_weights``
    (e.g. ``{"structure": 0.2}``), ``constraints`` (e.g. ``["security"]``), ``history``, ``feedback``
    (``tests`` or ``trace``) from a framework's config mapping (absent keys keep the defaults)."""
    given = dict(env_config or {})
    rewards = EnvRewards(
        mode=given.get("reward_mode", "final"),
        discount=float(given.get("discount", 0.9)),
        constraint_weight=float(given.get("constraint_weight", 0.0)),
        component_weights={str(k): float(v) for k, v in dict(given.get("component_weights") or {}).items()},
    )
    return EnvConfig(
        max_turns=int(given.get("max_turns", 3)),
        rewards=rewards,
        history=given.get("history", "full"),
        constraints=tuple(given.get("constraints") or ()),
        feedback=given.get("feedback", "tests"),
    )


class SkyRLRepairEnv(BaseTextEnv):
    """One episode of the repair loop per instance, as SkyRL creates them (one per rollout).

    ``env_config`` holds the settings ``config_from`` reads; ``max_turns`` absent there comes
    from ``extras["max_turns"]`` (SkyRL's ``generator.max_turns``), else 3.
    """

    def __init__(
        self,
        env_config: Mapping[str, Any] | None = None,
        extras: Mapping[str, Any] | None = None,
        *,
        sandbox: Sandbox | None = None,
    ) -> None:
        require_skyrl()
        super().__init__()
        extras = extras or {}
        settings = dict(env_config or {})
        if "max_turns" not in settings and extras.get("max_turns") is not None:
            settings["max_turns"] = extras["max_turns"]
        self.config = config_from(settings)
        self.turns = 0
        self.max_turns = self.config.max_turns
        self.episode = RowEpisode(extras, sandbox=sandbox, config=self.config)

    @property
    def problem(self) -> Problem | None:
        """The row's problem; None until ``init``, or when the row names none."""
        return self.episode.problem

    def init(self, prompt: ChatMessages) -> tuple[ChatMessages, dict[str, Any]]:
        """The environment's own first prompt (the row's ``prompt`` is replaced by it, so the
        conversation is the one the repair loop continues); a row that names no problem keeps
        its prompt, and its episode ends at the first step with the error."""
        first = run_sync(self.episode.reset())
        if first is None or self.problem is None:
            return list(prompt), {"error": self.episode.error}
        return first, {"problem_id": self.problem.id}

    def step(self, action: Any) -> dict[str, Any]:
        """One turn for the policy's reply, in SkyRL's step output: the new messages, reward, done
        and the step's info as metadata."""
        self.turns += 1
        result = run_sync(self.episode.step(action))
        return {
            "observations": result.new_messages,
            "reward": result.reward,
            "done": result.done,
            "metadata": result.info,
            "postprocessed_action": None,
        }

    def get_metrics(self) -> dict[str, Any]:
        """Per episode: turns taken, whether the hidden tests passed, whether it ended in error."""
        return {
            "turns": self.turns,
            "hidden_passed": 1.0 if self.episode.info.get("hidden_passed") else 0.0,
            "errors": 1.0 if self.episode.error is not None else 0.0,
        }

    def close(self) -> None:
        """End the running episode, if any."""
        run_sync(self.episode.aclose())


def register_env() -> bool:
    """Register ``SkyRLRepairEnv`` with skyrl-gym as ``codemend-repair`` (once); False when
    skyrl-gym is not installed."""
    try:
        import skyrl_gym
    except ModuleNotFoundError:
        return False
    if ENV_ID not in skyrl_gym.registry:
        skyrl_gym.register(id=ENV_ID, entry_point=f"{__name__}:SkyRLRepairEnv")
    return True


def require_skyrl() -> None:
    """Raise a ``UserError`` naming the extra to install when skyrl-gym is missing."""
    if not register_env():
        raise UserError(f"the SkyRL environment needs skyrl-gym: pip install 'codemend[{EXTRA}]'")


register_env()
