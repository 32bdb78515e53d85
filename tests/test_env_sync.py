"""``SyncRepairEnv``: ``RepairEnv`` with blocking ``reset``/``step``/``close``."""

from __future__ import annotations

import pytest
from env_helpers import reply
from repair_helpers import RIGHT

from codemend.env import RepairEnv, SyncRepairEnv
from codemend.env.core import first_observation
from codemend.errors import UserError
from codemend.problems import Problem
from codemend.sandbox import LocalSandbox

pytest_plugins = ["repair_fixtures"]


def test_sync_wrapper_and_misuse(square: Problem, sandbox: LocalSandbox) -> None:
    env = SyncRepairEnv(RepairEnv(square, sandbox=sandbox))
    with pytest.raises(UserError, match="reset"):
        env.step("anything")
    assert env.reset() == first_observation(square)
    env.reset()  # a second reset ends the running episode cleanly
    result = env.step(reply(RIGHT))
    assert result.done and result.stop_reason == "solved"
    env.close()
