"""``codemend.optimise.reward``: the gated speedup reward, and which speedups are credited."""

from __future__ import annotations

from codemend.optimise import credited, optimised, speed_reward
from codemend.records import SpeedMeasurement


def _measured(verdict: str, speedup: float) -> SpeedMeasurement:
    return SpeedMeasurement.model_validate({"contained": True, "verdict": verdict, "speedup": speedup})


def test_the_reward_is_zero_unless_correct_and_bounded() -> None:
    assert speed_reward(False, 100.0) == 0.0
    assert speed_reward(True, 1.0) == 0.5
    assert speed_reward(True, 4.0) == 1.0 == speed_reward(True, 1000.0)
    assert speed_reward(True, 0.25) == 0.0
    assert 0.5 < speed_reward(True, 2.0) < 1.0


def test_only_significant_speedups_are_credited() -> None:
    assert credited(_measured("faster", 3.0), True) == 3.0
    assert credited(_measured("slower", 0.5), True) == 0.5
    assert credited(_measured("same", 1.3), True) == 1.0  # not significant: as the baseline
    assert credited(_measured("faster", 3.0), False) == 1.0  # incorrect counts as 1.0 (PIE)
    assert optimised(_measured("faster", 1.1), True)
    assert not optimised(_measured("faster", 1.05), True)
    assert not optimised(_measured("same", 2.0), True)
    assert not optimised(_measured("faster", 2.0), False)
