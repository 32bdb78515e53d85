"""The repair loop as a multi-turn RL environment, and adapters to the trainers' interfaces.

``RepairEnv`` (async) and ``SyncRepairEnv`` run the repair graph with the policy as its
generator; ``GymRepairEnv`` (Gymnasium-style), ``SkyRLRepairEnv`` (SkyRL-gym ``BaseTextEnv``),
``make_rollout_func`` (TRL ``GRPOTrainer``) and ``codemend.env.verl.RepairAgentLoop`` (a verl
agent loop; import it from its module, which needs verl) adapt it. Frameworks are imported only
by the adapter that needs them.
"""

from typing import TYPE_CHECKING

from codemend._lazy import lazy_names
from codemend.env.core import TRUNCATING_STOPS, EnvConfig, EnvStep, RepairEnv
from codemend.env.episode import RowEpisode
from codemend.env.gym import GymRepairEnv
from codemend.env.policy import PolicyChannel
from codemend.env.rewards import REWARD_MODES, EnvRewards, RewardMode
from codemend.env.rows import problem_from_row
from codemend.env.sync import SyncRepairEnv
from codemend.env.trl import episode_reward, make_rollout_func, repair_dataset
from codemend.sandbox.shared import shared_sandbox

if TYPE_CHECKING:
    from codemend.env.skyrl import SkyRLRepairEnv

# skyrl-gym (imported by its adapter) costs ~0.7 s to import: only on first use.
__getattr__, __dir__ = lazy_names(__name__, globals(), {"codemend.env.skyrl": ("SkyRLRepairEnv",)})

__all__ = [
    "REWARD_MODES",
    "TRUNCATING_STOPS",
    "EnvConfig",
    "EnvRewards",
    "EnvStep",
    "GymRepairEnv",
    "PolicyChannel",
    "RepairEnv",
    "RewardMode",
    "RowEpisode",
    "SkyRLRepairEnv",
    "SyncRepairEnv",
    "episode_reward",
    "make_rollout_func",
    "problem_from_row",
    "repair_dataset",
    "shared_sandbox",
]
